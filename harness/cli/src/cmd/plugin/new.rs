//! `cpbench plugin new`: scaffold a plugin folder.
//!
//! The folder holds a manifest that `cpbench plugin check` accepts as soon as the artifact exists
//! (the exported `model.onnx`, or the built native library), a README saying what to do next and,
//! for native plugins, a crate that already builds and works (it centers profiles on the control
//! rows it is fitted on), so authors start from running code rather than from a blank page.
//!
//! The native crate builds wherever it is written, with a plain `cargo build --release` in its
//! folder: it is a workspace of its own (so cargo never looks for a parent workspace, not even
//! inside a cpbench checkout), it depends on the cpbench-plugin-api this binary was built with
//! (the checkout's `plugins/api` by path while that checkout is still where it was built, else
//! the published release of the same version), and its `plugin.toml` names the built library by
//! its path, `target/release/lib<crate>.so`, relative to the manifest.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use cpbench_core::io::write_bytes_atomic;

use crate::Outcome;

/// Which kind of plugin to scaffold.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ONNX model run by ONNX Runtime.
    Onnx,
    /// A Rust cdylib built against cpbench-plugin-api.
    Native,
    /// Any program, run in its own process; scaffolded in the language of `--lang`.
    Command,
}

/// Language of a `command` plugin's scaffold.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// A Python program with pinned requirements, run in an environment cpbench builds.
    Python,
}

/// Arguments of `cpbench plugin new`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plugin id: lowercase letters, digits and '-'.
    pub id: String,
    /// Kind of plugin.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Folder the plugin folder is created in.
    #[arg(long, default_value = "plugins")]
    pub dir: PathBuf,
    /// Language of a `command` plugin.
    #[arg(long, value_enum, default_value = "python")]
    pub lang: Lang,
    /// Name of the ONNX model's input tensor.
    #[arg(long = "input-name", default_value = "input")]
    pub input_name: String,
    /// Name of the ONNX model's output tensor.
    #[arg(long = "output-name", default_value = "output")]
    pub output_name: String,
}

/// Writes the scaffold; refuses to touch an existing folder.
pub fn run(args: Args) -> Result<Outcome> {
    let id = &args.id;
    let valid = !id.is_empty()
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "plugin id `{id}`: use lowercase letters, digits and '-', starting with a letter or digit"
        );
    }
    let folder = args.dir.join(id);
    if folder.exists() {
        bail!(
            "{} already exists; choose another id or remove it",
            folder.display()
        );
    }
    let files = match args.kind {
        Kind::Onnx => onnx_files(id, &args.input_name, &args.output_name),
        Kind::Native => native_files(id, &folder),
        Kind::Command => match args.lang {
            Lang::Python => super::new_command::python_files(id),
        },
    };
    let dirs = match args.kind {
        Kind::Onnx | Kind::Command => folder.clone(),
        Kind::Native => folder.join("src"),
    };
    std::fs::create_dir_all(dirs)?;
    for (name, text) in &files {
        write_bytes_atomic(&folder.join(name), text.as_bytes())?;
    }
    outln!("created {}:", folder.display());
    for (name, _) in &files {
        outln!("  {name}");
    }
    match args.kind {
        Kind::Command => {
            outln!(
                "next: write your method in plugin.py, pin what it imports in requirements.txt,"
            );
            outln!("fill description and license in plugin.toml, then check it:");
            outln!("  {} plugin check {}", this_program(), shell_quote(&folder));
        }
        Kind::Onnx => outln!(
            "next: export your model to {}/model.onnx (input '{}', output '{}'), edit plugin.toml, \
             then run `cpbench plugin check {}`",
            folder.display(),
            args.input_name,
            args.output_name,
            folder.display()
        ),
        Kind::Native => {
            // Commands to paste as they are, from the folder this command ran in.
            let crate_manifest = shell_quote(&folder.join("Cargo.toml"));
            outln!("next: build the plugin and check it:");
            outln!("  cargo build --release --manifest-path {crate_manifest}");
            outln!("  {} plugin check {}", this_program(), shell_quote(&folder));
            outln!(
                "then replace `fit` and `transform` in src/lib.rs with your method and fill in \
                 plugin.toml (`plugin check` says what a submission still lacks)"
            );
        }
    }
    Ok(Outcome::Ok)
}

fn onnx_files(id: &str, input: &str, output: &str) -> Vec<(&'static str, String)> {
    let manifest = format!(
        r#"schema_version = 1
id = "{id}"
version = "0.1.0"
kind = "onnx"
role = "method"
description = "TODO: one line on what this representation is"
license = "TODO: SPDX license of the model and its weights"
# citation = "TODO"
# Datasets or benchmark ids the model saw in training (flags contaminated scores).
training_datasets = []

[input]
level = "well"
# dim = 0     # number of input features; checked when given

[output]
level = "well"
# dim = 0     # width of the embedding; checked when given

[onnx]
model = "model.onnx"
# sha256 = "..."   # pin the model once it is final: `sha256sum model.onnx`
shape = "profile"   # profile [N, d] -> [N, k]; image, set or lookup for the other shapes
input = "{input}"
output = "{output}"
# The model's input features in order, one name per line (`plugin check` wants it: without it
# the model gets the benchmark's feature columns by position, whatever their names).
# features = "features.txt"
batch_size = 256
# Add "cuda" first to run on a GPU where there is one (the report notes a CPU fallback).
execution_providers = ["cpu"]
"#
    );
    let readme = format!(
        "# {id}\n\nAn ONNX representation plugin for cpbench.\n\n\
         1. Export the model to `model.onnx` with input tensor `{input}` (`float32 [N, d]`) and \
         output tensor `{output}` (`float32 [N, k]`). `plugins/contrastive-mlp/train.py` is a \
         worked example of training and exporting such a model.\n\
         2. Fill in `description`, `license`, `training_datasets` and the `[input]`/`[output]` \
         dims in `plugin.toml`; list the model's input features in `features.txt` and name it \
         in `[onnx] features`; pin the model's `sha256` (`plugin check` prints it).\n\
         3. Run `cpbench plugin check plugins/{id}` until every check passes.\n"
    );
    vec![("plugin.toml", manifest), ("README.md", readme)]
}

fn native_files(id: &str, folder: &Path) -> Vec<(&'static str, String)> {
    let lib = format!("cpbench_plugin_{}", id.replace('-', "_"));
    let built = format!(
        "target/release/{}",
        cpbench_host::native::library_file_name(&lib)
    );
    let api = api_dependency(folder);
    let cargo = format!(
        r#"[package]
name = "cpbench-plugin-{id}"
description = "cpbench native plugin {id}"
version = "0.1.0"
edition = "2024"
publish = false

# A workspace of its own: `cargo build --release` works in this folder wherever it is, also
# inside another workspace's tree (a cpbench checkout's plugins/), and builds into ./target.
[workspace]

[lib]
name = "{lib}"
crate-type = ["cdylib"]

[dependencies]
{api}
# `#[export_root_module]` expands to `::abi_stable` paths, so the plugin names it directly, with
# the minor version cpbench-plugin-api uses (cargo then builds one abi_stable for both).
abi_stable = "{ABI_STABLE}"
"#
    );
    let manifest = format!(
        r#"schema_version = 1
id = "{id}"
version = "0.1.0"
kind = "native"
role = "method"
description = "TODO: one line on what this representation is"
license = "TODO: SPDX license"
training_datasets = []

[input]
level = "well"

[output]
level = "well"

[native]
# The built library, relative to this file: `cargo build --release` writes it there. (A crate
# name such as "{lib}" is searched for in --plugin-lib-dir folders instead.)
library = "{built}"
# sha256 = "..."   # pins the built library: for one shipped prebuilt (a rebuild changes it)
timeout_s = 600
memory_limit_mib = 8192
"#
    );
    let source = format!(
        r#"//! cpbench native plugin `{id}`: profiles centered on the mean of the control rows it is
//! fitted on. Replace `fit` and `transform` with your method.

use abi_stable::export_root_module;
use cpbench_plugin_api::{{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module}};

/// The plugin's state: what `fit` learned.
pub struct Plugin {{
    mean: Vec<f32>,
}}

impl NativePlugin for Plugin {{
    const NAME: &'static str = "{id}";
    const VERSION: &'static str = "0.1.0";

    fn new(_config_json: &str) -> Result<Self, String> {{
        Ok(Plugin {{ mean: Vec::new() }})
    }}

    fn output_dim(&self, input_dim: usize) -> usize {{
        input_dim
    }}

    fn fit(&mut self, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {{
        // Fit on the control rows when the benchmark marks them, else on every row given.
        let controls = context.controls().unwrap_or_else(|| vec![true; x.rows()]);
        let mut sum = vec![0.0f64; x.cols()];
        let mut count = 0usize;
        for (row, _) in x.iter_rows().zip(&controls).filter(|(_, c)| **c) {{
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += f64::from(*v));
            count += 1;
        }}
        if count == 0 {{
            return Err("no rows to fit on".into());
        }}
        self.mean = sum.iter().map(|s| (s / count as f64) as f32).collect();
        Ok(())
    }}

    fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {{
        if self.mean.len() != x.cols() {{
            return Err("transform called before fit, or with another width".into());
        }}
        Ok(x.iter_rows()
            .flat_map(|r| r.iter().zip(&self.mean).map(|(v, m)| v - m))
            .collect())
    }}
}}

/// The root module the cpbench worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {{
    root_module::<Plugin>()
}}
"#
    );
    let readme = format!(
        "# {id}\n\nA native (Rust, abi_stable) representation plugin for cpbench. It runs in a \
         worker process: a panic, crash, hang or memory blow-up fails only its own run.\n\n\
         1. Implement `fit` (it sees only the rows the benchmark allows, with plate, well, batch, \
         control and split context; never labels) and `transform` in `src/lib.rs`.\n\
         2. `cargo build --release` in this folder: the crate is a workspace of its own and \
         builds to `{built}`, the library `plugin.toml` names. (With `CARGO_TARGET_DIR` set, \
         cargo writes it there instead: pass `--plugin-lib-dir $CARGO_TARGET_DIR/release` to \
         cpbench.)\n\
         3. `cpbench plugin check .` until every check passes; then `cpbench run --plugin .` \
         or `cpbench leaderboard --plugins .` score it.\n"
    );
    vec![
        ("Cargo.toml", cargo),
        ("plugin.toml", manifest),
        ("src/lib.rs", source),
        ("README.md", readme),
        (".gitignore", "/target/\n".to_string()),
    ]
}

/// The abi_stable requirement of the scaffold: the minor version cpbench-plugin-api depends on.
const ABI_STABLE: &str = "0.11";

/// The `cpbench-plugin-api` dependency line of a scaffold in `folder`, with a comment saying
/// where it comes from.
///
/// The API this binary was built with: the checkout's `plugins/api` by path while that checkout
/// is where it was built and still holds the same version (relative when the plugin is inside
/// it, so a clone of the repository builds it too), otherwise the published release.
fn api_dependency(folder: &Path) -> String {
    let version = cpbench_host::native::API_VERSION;
    let published = format!("cpbench-plugin-api = \"{version}\"");
    // This crate is harness/cli of the checkout; the API crate is plugins/api beside it.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some((checkout, api)) = checkout
        .canonicalize()
        .ok()
        .map(|root| (root.clone(), root.join("plugins/api")))
        .filter(|(_, api)| is_api_crate(api, version))
    else {
        return format!(
            "# The release of the plugin API this cpbench was built with.\n{published}"
        );
    };
    let folder = lenient_canonical(folder);
    match folder.strip_prefix(&checkout) {
        Ok(inside) => format!(
            "# The plugin API of the cpbench checkout this plugin sits in. Built outside that \
             checkout,\n# the plugin uses the published release instead: {published}\n\
             cpbench-plugin-api = {{ path = {} }}",
            toml_string(&relative_path(inside, Path::new("plugins/api")))
        ),
        Err(_) => format!(
            "# The plugin API of the cpbench checkout that made this scaffold, the one its cpbench \
             speaks.\n# Without that checkout, use the published release: {published}\n\
             cpbench-plugin-api = {{ path = {} }}",
            toml_string(&api)
        ),
    }
}

/// `path` as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether `dir` holds the cpbench-plugin-api crate at `version`.
fn is_api_crate(dir: &Path, version: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let has = |line: &str| text.lines().any(|l| l.trim() == line);
    has(r#"name = "cpbench-plugin-api""#) && has(&format!(r#"version = "{version}""#))
}

/// `path` made absolute with symlinks resolved as far as it exists (the scaffold's folder does
/// not exist yet), so that it compares with the canonical checkout path.
fn lenient_canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// The path from folder `from` to `to`, both relative to the same root.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    out.extend(&to[common..]);
    out
}

/// How the user ran this program (`cpbench`, `target/release/cpbench`, ...), so that printed
/// commands work when pasted in the same folder.
fn this_program() -> String {
    let program = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cpbench"));
    shell_quote(&program)
}

/// `path` as one POSIX shell word: unchanged when it is plain, single-quoted otherwise.
fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap()
    }

    #[test]
    fn the_api_comes_from_the_checkout_relative_inside_it_absolute_outside() {
        let inside = api_dependency(&checkout().join("plugins/not-yet/deeper"));
        assert!(
            inside.ends_with(r#"cpbench-plugin-api = { path = "../../api" }"#),
            "{inside}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let outside = api_dependency(&tmp.path().join("my-plugin"));
        let api = checkout().join("plugins/api");
        let line = format!("cpbench-plugin-api = {{ path = {} }}", toml_string(&api));
        assert!(outside.ends_with(&line), "{outside}");
        // Both name the published release for builds without the checkout.
        let published = format!(
            "cpbench-plugin-api = \"{}\"",
            cpbench_host::native::API_VERSION
        );
        assert!(inside.contains(&published) && outside.contains(&published));
        assert!(is_api_crate(&api, cpbench_host::native::API_VERSION));
        assert!(!is_api_crate(&api, "0.0.0-other"));
    }

    #[test]
    fn the_scaffold_names_the_abi_stable_minor_version_of_the_api() {
        let manifest = std::fs::read_to_string(checkout().join("plugins/api/Cargo.toml")).unwrap();
        let requirement = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("abi_stable = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("plugins/api/Cargo.toml names abi_stable");
        assert!(
            requirement.starts_with(&format!("{ABI_STABLE}.")),
            "the API needs abi_stable {requirement}, the scaffold writes {ABI_STABLE}"
        );
    }

    #[test]
    fn paths_are_made_relative_and_quoted_for_the_shell_and_toml() {
        assert_eq!(
            relative_path(Path::new("plugins/x"), Path::new("plugins/api")),
            PathBuf::from("../api")
        );
        assert_eq!(
            relative_path(Path::new("a/b/c"), Path::new("plugins/api")),
            PathBuf::from("../../../plugins/api")
        );
        assert_eq!(
            shell_quote(Path::new("/tmp/x-1/Cargo.toml")),
            "/tmp/x-1/Cargo.toml"
        );
        assert_eq!(shell_quote(Path::new("my dir/it's")), r"'my dir/it'\''s'");
        assert_eq!(toml_string(Path::new(r#"a"b\c"#)), r#""a\"b\\c""#);
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap();
        assert_eq!(
            lenient_canonical(&tmp.path().join("not/yet")),
            real.join("not/yet")
        );
    }
}
