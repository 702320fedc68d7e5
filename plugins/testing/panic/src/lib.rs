//! `test-panic`: panics on purpose, to prove a plugin panic fails only its own run.
//!
//! Config (JSON): `stage` = `"new"`, `"fit"` (default) or `"transform"`: where to panic;
//! `guard` = `"adapter"` (default) or `"none"`:
//!
//! - `"adapter"` goes through cpbench-plugin-api's `NativePlugin` adapter, which catches the
//!   panic and returns it as an error ("plugin panicked in fit: ...");
//! - `"none"` panics where nothing catches it: in `new`, unwinding out of an `extern "C"` fn
//!   aborts the process (SIGABRT); in `fit` or `transform`, abi_stable's guard around the trait
//!   object's methods prints "Attempted to panic across the ffi boundary" and exits with code 1.
//!
//! The host must classify all three as a panic.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, RResult, RSlice, RStr, RString, RVec};
use cpbench_plugin_api::{
    Context, ContextColumn, Matrix, NativePlugin, PluginRootMod, PluginRootMod_Ref, Representation,
    Representation_TO, RepresentationBox, abi_version, root_module,
};
use serde::Deserialize;

const NAME: &str = "test-panic";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stage {
    New,
    Fit,
    Transform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Guard {
    Adapter,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_stage")]
    stage: Stage,
    #[serde(default = "default_guard")]
    guard: Guard,
}

fn default_stage() -> Stage {
    Stage::Fit
}

fn default_guard() -> Guard {
    Guard::Adapter
}

fn parse(config_json: &str) -> Result<Config, String> {
    serde_json::from_str(config_json).map_err(|e| format!("{NAME}: invalid config: {e}"))
}

/// Panics at its configured stage, behind the `NativePlugin` adapter.
struct Guarded {
    stage: Stage,
}

impl NativePlugin for Guarded {
    const NAME: &'static str = NAME;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(config_json: &str) -> Result<Self, String> {
        let stage = parse(config_json)?.stage;
        if stage == Stage::New {
            panic!("{NAME}: deliberate panic in new");
        }
        Ok(Guarded { stage })
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        input_dim
    }

    fn fit(&mut self, x: Matrix<'_>, _context: Context<'_>) -> Result<(), String> {
        if self.stage == Stage::Fit {
            panic!("{NAME}: deliberate panic in fit on {} rows", x.rows());
        }
        Ok(())
    }

    fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
        if self.stage == Stage::Transform {
            panic!("{NAME}: deliberate panic in transform on {} rows", x.rows());
        }
        Ok(x.as_slice().to_vec())
    }
}

/// Panics at its configured stage with no adapter in between, so abi_stable's guard sees it.
struct Unguarded {
    stage: Stage,
}

impl Representation for Unguarded {
    fn output_dim(&self, input_dim: u32) -> u32 {
        input_dim
    }

    fn fit(
        &mut self,
        _x: RSlice<'_, f32>,
        n: u64,
        _d: u64,
        _context: RVec<ContextColumn>,
    ) -> RResult<(), RString> {
        if self.stage == Stage::Fit {
            panic!("{NAME}: deliberate unguarded panic in fit on {n} rows");
        }
        RResult::ROk(())
    }

    fn transform(
        &self,
        x: RSlice<'_, f32>,
        n: u64,
        _d: u64,
        _context: RVec<ContextColumn>,
    ) -> RResult<RVec<f32>, RString> {
        if self.stage == Stage::Transform {
            panic!("{NAME}: deliberate unguarded panic in transform on {n} rows");
        }
        RResult::ROk(x.to_rvec())
    }
}

extern "C" fn name() -> RString {
    NAME.into()
}

extern "C" fn version() -> RString {
    env!("CARGO_PKG_VERSION").into()
}

extern "C" fn new(config_json: RStr<'_>) -> RResult<RepresentationBox, RString> {
    let config = match parse(config_json.as_str()) {
        Ok(c) => c,
        Err(e) => return RErr(e.into()),
    };
    match (config.guard, config.stage) {
        (Guard::Adapter, _) => root_module::<Guarded>().new()(config_json),
        (Guard::None, Stage::New) => panic!("{NAME}: deliberate unguarded panic in new"),
        (Guard::None, stage) => RResult::ROk(Representation_TO::from_value(
            Unguarded { stage },
            TD_Opaque,
        )),
    }
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    PluginRootMod {
        abi_version,
        name,
        version,
        new,
    }
    .leak_into_prefix()
}
