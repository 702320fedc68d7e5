//! `cpbench plugin new`: scaffold a plugin folder.
//!
//! The folder holds a manifest that `cpbench plugin check` accepts as soon as the artifact exists
//! (the exported `model.onnx`, or the built native library), a README saying what to do next and,
//! for native plugins, a crate that already builds and works (it centers profiles on the control
//! rows it is fitted on), so authors start from running code rather than from a blank page.

use std::path::PathBuf;

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
        Kind::Native => native_files(id),
    };
    let dirs = match args.kind {
        Kind::Onnx => folder.clone(),
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
        Kind::Onnx => outln!(
            "next: export your model to {}/model.onnx (input '{}', output '{}'), edit plugin.toml, \
             then run `cpbench plugin check {}`",
            folder.display(),
            args.input_name,
            args.output_name,
            folder.display()
        ),
        Kind::Native => outln!(
            "next: add \"{}\" to [workspace] members in Cargo.toml, run `cargo build --workspace`, \
             then `cpbench plugin check {}`",
            folder.display(),
            folder.display()
        ),
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

fn native_files(id: &str) -> Vec<(&'static str, String)> {
    let lib = format!("cpbench_plugin_{}", id.replace('-', "_"));
    let cargo = format!(
        r#"[package]
name = "cpbench-plugin-{id}"
description = "cpbench native plugin {id}"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish = false

[lib]
name = "{lib}"
crate-type = ["cdylib", "rlib"]

[dependencies]
cpbench-plugin-api.workspace = true
# `#[export_root_module]` expands to `::abi_stable` paths, so the plugin names it directly.
abi_stable.workspace = true
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
library = "{lib}"
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
         1. Add `plugins/{id}` to `[workspace] members` in the repository's Cargo.toml (host and \
         plugins must be built from one workspace).\n\
         2. Implement `fit` (it sees only the rows the benchmark allows, with plate, well, batch, \
         control and split context; never labels) and `transform` in `src/lib.rs`.\n\
         3. `cargo build --workspace`, then `cpbench plugin check plugins/{id}`.\n"
    );
    vec![
        ("Cargo.toml", cargo),
        ("plugin.toml", manifest),
        ("src/lib.rs", source),
        ("README.md", readme),
    ]
}
