# Sourced by the ci/*.sh scripts. Where cargo puts build outputs, as cargo itself resolves it
# (CARGO_TARGET_DIR, build.target-dir in a config file, or ./target): scripts never assume
# ./target, so a user's shared build folder works.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}
