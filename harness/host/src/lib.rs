//! cpbench's plugin host: loads representation plugins and runs them.
//!
//! [`plugin::run_plugin`] is the one entry point for every plugin kind: feature and embedding
//! tables, builtin controls, ONNX models ([`onnx`]) and native plugins in a worker process.

#![warn(missing_docs)]

pub mod error;
pub mod native;
pub mod onnx;
pub mod plugin;
pub mod process;

pub use error::HostError;
