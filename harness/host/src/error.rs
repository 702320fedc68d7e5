//! Errors of plugin loading and execution.
//!
//! Every message names what the user has to look at (the runtime library, the model file, the
//! tensor) and, where there is one, the command that fixes it. ONNX Runtime's own messages are
//! carried as text so that callers do not depend on `ort`'s error types.

use std::path::PathBuf;

use crate::onnx::ElementType;

/// How to install ONNX Runtime; ends every "runtime not found / not loadable" message.
const INSTALL_HINT: &str = "to install ONNX Runtime 1.31.1, run `ci/setup-onnxruntime.sh` (CPU) \
     or `ci/setup-onnxruntime.sh --gpu` and then `source .ort/gpu.env` (CUDA) in the repository root";

/// An error of the plugin host.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `ORT_DYLIB_PATH` is set but names no file.
    #[error("{var} is set to {}, but there is no file there; fix or unset {var} ({INSTALL_HINT})", path.display())]
    RuntimeEnvPathMissing {
        /// The environment variable (`ORT_DYLIB_PATH`).
        var: &'static str,
        /// The path it names.
        path: PathBuf,
    },

    /// No ONNX Runtime library was found.
    #[error(
        "ONNX Runtime not found: ORT_DYLIB_PATH is not set and there is no {relative} in {searched} \
         or any folder above; {INSTALL_HINT}, or set ORT_DYLIB_PATH to an ONNX Runtime shared library",
        searched = display_paths(searched)
    )]
    RuntimeNotFound {
        /// The library's path relative to a repository root.
        relative: &'static str,
        /// The folders whose ancestors were searched (current directory, executable's folder).
        searched: Vec<PathBuf>,
    },

    /// The ONNX Runtime library exists but could not be loaded or initialized.
    #[error("could not load ONNX Runtime from {}: {message}; {INSTALL_HINT}", path.display())]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What went wrong, as reported by the loader or ONNX Runtime.
        message: String,
    },

    /// An execution provider name that cpbench does not know.
    #[error("unknown execution provider '{name}': expected 'cuda' or 'cpu'")]
    UnknownProvider {
        /// The name as given.
        name: String,
    },

    /// The model file does not exist.
    #[error("ONNX model file {} does not exist", path.display())]
    ModelNotFound {
        /// The model file.
        path: PathBuf,
    },

    /// ONNX Runtime could not create a session for the model.
    #[error("could not load ONNX model {} with {provider}: {message}", path.display())]
    ModelLoad {
        /// The model file.
        path: PathBuf,
        /// The execution provider that was being set up.
        provider: &'static str,
        /// ONNX Runtime's message.
        message: String,
    },

    /// CUDA was required (`require_gpu`) but could not be used.
    #[error(
        "CUDA was required for ONNX model {} but is not available: {reason}; for CUDA run \
         `ci/setup-onnxruntime.sh --gpu` and `source .ort/gpu.env` on a machine with an NVIDIA GPU, \
         or allow the CPU fallback",
        path.display()
    )]
    CudaRequired {
        /// The model file.
        path: PathBuf,
        /// Why CUDA could not be used.
        reason: String,
    },

    /// An ONNX model whose declared inputs or outputs do not fit its plugin manifest.
    #[error("ONNX model {} does not fit its plugin.toml: {message}", path.display())]
    OnnxContract {
        /// The model file.
        path: PathBuf,
        /// What differs and what to change.
        message: String,
    },

    /// Data handed to an ONNX plugin that does not fit it (lengths, offsets, channels, features).
    #[error("input for ONNX model {}: {message}", path.display())]
    OnnxInput {
        /// The model file.
        path: PathBuf,
        /// What is wrong with the input.
        message: String,
    },

    /// A file a plugin manifest names (vocabulary, feature list) with unusable contents.
    #[error("{}: {message}", path.display())]
    PluginFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// An input name that the model does not have.
    #[error("ONNX model {} has no input '{name}'; its inputs are {}", path.display(), names(expected))]
    UnknownInput {
        /// The model file.
        path: PathBuf,
        /// The name given.
        name: String,
        /// The model's input names.
        expected: Vec<String>,
    },

    /// An input given twice.
    #[error("input '{name}' of ONNX model {} is given more than once", path.display())]
    DuplicateInput {
        /// The model file.
        path: PathBuf,
        /// The input name.
        name: String,
    },

    /// A model input that was not given.
    #[error("ONNX model {} needs input '{name}', which was not given", path.display())]
    MissingInput {
        /// The model file.
        path: PathBuf,
        /// The input name.
        name: String,
    },

    /// An input of the wrong element type.
    #[error("input '{name}' of ONNX model {} must be {expected}, got {got}", path.display())]
    InputType {
        /// The model file.
        path: PathBuf,
        /// The input name.
        name: String,
        /// The model's element type.
        expected: ElementType,
        /// The element type given.
        got: ElementType,
    },

    /// An input whose shape does not fit the model's (rank or a fixed dimension differs).
    #[error(
        "input '{name}' of ONNX model {} must have shape {} (-1 = any), got {got:?}",
        path.display(),
        dims(expected)
    )]
    InputShape {
        /// The model file.
        path: PathBuf,
        /// The input name.
        name: String,
        /// The model's dimensions, -1 where dynamic.
        expected: Vec<i64>,
        /// The shape given.
        got: Vec<usize>,
    },

    /// An output name that the model does not have.
    #[error("ONNX model {} has no output '{name}'; its outputs are {}", path.display(), names(available))]
    UnknownOutput {
        /// The model file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The model's output names.
        available: Vec<String>,
    },

    /// An output of an element type the caller cannot receive.
    #[error("output '{name}' of ONNX model {} is {got}, expected {expected}", path.display())]
    OutputType {
        /// The model file.
        path: PathBuf,
        /// The output name.
        name: String,
        /// The element type asked for.
        expected: ElementType,
        /// The model's element type.
        got: ElementType,
    },

    /// ONNX Runtime failed while running the model.
    #[error("running ONNX model {} failed (inputs {}; output '{output}'): {message}", path.display(), names(inputs))]
    Run {
        /// The model file.
        path: PathBuf,
        /// The input names given.
        inputs: Vec<String>,
        /// The output asked for.
        output: String,
        /// ONNX Runtime's message.
        message: String,
    },

    /// A plugin artifact (model, table, library) whose SHA-256 differs from the one pinned.
    #[error(
        "{key} {}: SHA-256 is {actual}, but the plugin manifest pins {expected}; the file changed \
         since the manifest was written: restore it, or update `{key_sha}` if the change is intended",
        path.display(),
        key_sha = sha_key(key)
    )]
    ArtifactHash {
        /// The manifest key naming the artifact, e.g. `onnx.model`.
        key: String,
        /// The artifact file.
        path: PathBuf,
        /// The digest the manifest pins.
        expected: String,
        /// The digest of the file on disk.
        actual: String,
    },

    /// A file of a plugin could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Reading a table or profiles failed.
    #[error(transparent)]
    Core(#[from] cpbench_core::Error),

    /// The input handed to a plugin does not fit it (missing column, wrong level, no rows).
    #[error("plugin '{plugin}': {message}")]
    Input {
        /// The plugin id.
        plugin: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// The plugin's worker was stopped from outside its computation (a timeout, memory
    /// running out, a kill signal): rerunning the same inputs may succeed, so such a failure
    /// is recorded but not cached.
    #[error("plugin '{plugin}' failed: {message}")]
    Interrupted {
        /// The plugin id.
        plugin: String,
        /// Why, including the tail of the plugin's stderr where there is one.
        message: String,
    },

    /// The plugin itself failed while running (its own error, a crash, a timeout).
    #[error("plugin '{plugin}' failed: {message}")]
    Failed {
        /// The plugin id.
        plugin: String,
        /// Why, including the tail of the plugin's stderr where there is one.
        message: String,
    },
}

/// The manifest key that pins the digest of the artifact under `key`.
fn sha_key(key: &str) -> String {
    match key.rsplit_once('.') {
        Some((table, _)) => format!("{table}.sha256"),
        None => format!("{key}.sha256"),
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        // Both the current directory and the executable's path were unavailable.
        return "no folder (current directory and executable path unknown)".to_owned();
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(" or ")
}

fn names(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn dims(dims: &[i64]) -> String {
    let shown: Vec<String> = dims.iter().map(i64::to_string).collect();
    format!("[{}]", shown.join(", "))
}
