//! ONNX Runtime: locating and loading the shared library, and running ONNX models on it.
//!
//! [`init_runtime`] loads the library once per process; [`OnnxModel`] wraps one model in a
//! session on the first execution provider that works and records which one that was;
//! [`OnnxPlugin`] runs a plugin's model on profiles, image crops, sets or lookup keys.

mod model;
mod plugin;
mod runtime;

pub use model::{ElementType, OnnxModel, Provider, ProviderFallback, TensorInfo, TensorInput};
pub use plugin::{LookupResult, OnnxPlugin, SetEncoding};
pub use runtime::{
    ORT_DYLIB_ENV, ORT_VERSION, REPO_RUNTIME_RELATIVE, RuntimeInfo, RuntimeLocation, RuntimeSource,
    init_runtime, locate_runtime,
};
