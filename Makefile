# The two commands of the README. Both install what they need (Rust crates from crates.io through
# cargo, ONNX Runtime from PyPI through ci/setup-onnxruntime.sh) and can run on a fresh machine.

.PHONY: run test setup

# The main job: the leaderboard of every shipped benchmark x plugin into reports/site/.
# `make run ARGS=--no-browser` skips the headless-Chromium check of the pages.
run:
	bash ci/main.sh $(ARGS)

# Every test of the workspace.
test:
	bash ci/test.sh

# Only the set-up both commands do first.
setup:
	bash ci/setup-onnxruntime.sh
