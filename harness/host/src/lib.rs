//! cpbench's plugin host: loads representation plugins and runs them.
//!
//! At this stage it provides the ONNX Runtime foundation ([`onnx`]) that ONNX plugins run on;
//! table and native plugins are built beside it.

#![warn(missing_docs)]

pub mod error;
pub mod onnx;

pub use error::HostError;
