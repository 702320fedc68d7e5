//! `test-segfault`: writes to an unmapped address in `fit`, to prove a crashing plugin (SIGSEGV)
//! fails only its own run. No config.

use abi_stable::export_root_module;
use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};

/// Crashes in `fit`.
struct Segfault;

impl NativePlugin for Segfault {
    const NAME: &'static str = "test-segfault";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(_config_json: &str) -> Result<Self, String> {
        Ok(Segfault)
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        input_dim
    }

    fn fit(&mut self, x: Matrix<'_>, _context: Context<'_>) -> Result<(), String> {
        eprintln!(
            "test-segfault: writing to address 0x10 in fit on {} rows",
            x.rows()
        );
        // The first page is never mapped on Linux, so this store faults. A null pointer would
        // not do: debug builds check for null and panic instead of faulting.
        let address = std::hint::black_box(0x10usize) as *mut u32;
        // SAFETY: none; crashing the process is this test plugin's purpose.
        unsafe { address.write_volatile(0xdead) };
        Ok(())
    }

    fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
        Ok(x.as_slice().to_vec())
    }
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    root_module::<Segfault>()
}
