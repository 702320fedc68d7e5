//! `test-hang`: never returns from `fit`, to prove the host's timeout kills a stuck worker.
//! No config.

use std::time::Duration;

use abi_stable::export_root_module;
use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};

/// Sleeps forever in `fit`.
struct Hang;

impl NativePlugin for Hang {
    const NAME: &'static str = "test-hang";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(_config_json: &str) -> Result<Self, String> {
        Ok(Hang)
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        input_dim
    }

    fn fit(&mut self, x: Matrix<'_>, _context: Context<'_>) -> Result<(), String> {
        eprintln!("test-hang: sleeping forever in fit on {} rows", x.rows());
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
        Ok(x.as_slice().to_vec())
    }
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    root_module::<Hang>()
}
