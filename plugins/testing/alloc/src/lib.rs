//! `test-alloc`: allocates and touches memory in `fit` until an allocation fails, to prove the
//! worker's memory limit stops a runaway plugin.
//!
//! Config (JSON): `max_mib` (default 8192): give up with an error after this much, so that a
//! run without a memory limit fails instead of exhausting the machine.

use abi_stable::export_root_module;
use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};
use serde::Deserialize;

/// Size of each allocation.
const CHUNK_MIB: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_max_mib")]
    max_mib: usize,
}

fn default_max_mib() -> usize {
    8192
}

/// Allocates without bound (up to `max_mib`) in `fit`.
struct Alloc {
    max_mib: usize,
}

impl NativePlugin for Alloc {
    const NAME: &'static str = "test-alloc";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(config_json: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config_json)
            .map_err(|e| format!("test-alloc: invalid config: {e}"))?;
        Ok(Alloc {
            max_mib: config.max_mib,
        })
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        input_dim
    }

    fn fit(&mut self, _x: Matrix<'_>, _context: Context<'_>) -> Result<(), String> {
        let mut held: Vec<Vec<u8>> = Vec::new();
        while held.len() * CHUNK_MIB < self.max_mib {
            // Non-zero fill writes every page, so the memory is really used, not just reserved.
            held.push(std::hint::black_box(vec![1u8; CHUNK_MIB << 20]));
            eprintln!("test-alloc: holding {} MiB", held.len() * CHUNK_MIB);
        }
        Err(format!(
            "test-alloc: allocated {} MiB without running out of memory",
            held.len() * CHUNK_MIB
        ))
    }

    fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
        Ok(x.as_slice().to_vec())
    }
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    root_module::<Alloc>()
}
