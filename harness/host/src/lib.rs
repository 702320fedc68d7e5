//! cpbench's plugin host: loads representation plugins and runs them.
//!
//! [`plugin::run_plugin`] is the one entry point for every plugin kind: feature and embedding
//! tables, builtin controls, ONNX models ([`onnx`]), native plugins in a worker process and
//! programs in any language ([`command`]).

#![warn(missing_docs)]

pub mod command;
pub mod error;
pub mod native;
pub mod onnx;
pub mod plugin;
pub mod process;

pub use error::HostError;
