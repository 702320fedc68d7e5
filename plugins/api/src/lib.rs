//! cpbench-plugin-api: the ABI-stable interface a native cpbench plugin implements.
//!
//! A native plugin is a `cdylib` that exports one root module, [`PluginRootMod`]. The host
//! loads it in a worker subprocess (never in the host itself, so a crash fails only that
//! plugin's run), checks [`INTERFACE_VERSION`], calls `new` with the plugin's JSON config, and
//! then drives the returned [`Representation`] through `fit` and `transform` on row-major `f32`
//! matrices. Layout compatibility is checked by `abi_stable` when the library loads.
//!
//! # Label firewall
//!
//! Besides the features, a plugin receives only the per-row context in
//! [`context::ALLOWED_CONTEXT`] (plate, well, batch, control flag, split), as
//! [`ContextColumn`]s, which cannot be built with any other name. Benchmark labels (MoA,
//! pathway, complex, perturbation identity) never cross this interface.
//!
//! # Writing a plugin
//!
//! Implement [`NativePlugin`] with ordinary Rust types and export [`root_module`]; the adapter
//! behind it checks shapes, converts panics into errors and wraps the result for FFI. The
//! plugin crate needs `crate-type = ["cdylib"]` and a direct `abi_stable` dependency of the
//! same version as this crate's, because `#[export_root_module]` expands to `::abi_stable`
//! paths.
//!
//! ```
//! use abi_stable::export_root_module;
//! use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};
//!
//! /// Subtracts the mean of the control rows seen in `fit`.
//! struct CenterOnControls {
//!     mean: Vec<f32>,
//! }
//!
//! impl NativePlugin for CenterOnControls {
//!     const NAME: &'static str = "center-on-controls";
//!     const VERSION: &'static str = "0.1.0";
//!
//!     fn new(_config_json: &str) -> Result<Self, String> {
//!         Ok(CenterOnControls { mean: Vec::new() })
//!     }
//!
//!     fn output_dim(&self, input_dim: usize) -> usize {
//!         input_dim
//!     }
//!
//!     fn fit(&mut self, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {
//!         let controls = context.controls().ok_or("needs the control context column")?;
//!         let mut sum = vec![0.0f64; x.cols()];
//!         let mut count = 0usize;
//!         for (row, _) in x.iter_rows().zip(&controls).filter(|(_, c)| **c) {
//!             sum.iter_mut().zip(row).for_each(|(s, v)| *s += f64::from(*v));
//!             count += 1;
//!         }
//!         if count == 0 {
//!             return Err("no control rows to fit on".into());
//!         }
//!         self.mean = sum.iter().map(|s| (s / count as f64) as f32).collect();
//!         Ok(())
//!     }
//!
//!     fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
//!         if self.mean.len() != x.cols() {
//!             return Err("transform called before fit, or with another width".into());
//!         }
//!         Ok(x.iter_rows().flat_map(|r| r.iter().zip(&self.mean).map(|(v, m)| v - m)).collect())
//!     }
//! }
//!
//! #[export_root_module]
//! pub fn get_library() -> PluginRootMod_Ref {
//!     root_module::<CenterOnControls>()
//! }
//! # fn main() {
//! #     let module = get_library();
//! #     assert_eq!(module.name()().as_str(), "center-on-controls");
//! #     module.check_interface_version().unwrap();
//! # }
//! ```

pub mod context;
mod matrix;
mod native;
mod representation;

/// Re-exported so plugins and hosts name the same `abi_stable` types (`RVec`, `RString`, ...).
pub use abi_stable;
use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr, RString};
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings};

pub use context::{Context, ContextColumn};
pub use matrix::Matrix;
pub use native::{NativePlugin, abi_version, into_representation, root_module};
pub use representation::{Representation, Representation_TO, RepresentationBox};

/// Version of this interface's semantics; the host refuses a plugin that reports another.
///
/// `abi_stable` already rejects layout changes at load time; this number covers changes in
/// meaning (e.g. what a context column holds) that leave the layout untouched.
pub const INTERFACE_VERSION: u32 = 1;

/// This crate's own version (`cpbench-plugin-api` on crates.io), for tools that write a plugin
/// crate depending on it, such as `cpbench plugin new`.
///
/// Distinct from [`INTERFACE_VERSION`]: see the crate's README for how the two move.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module a native plugin exports: its identity and its constructor.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix))]
#[sabi(missing_field(panic))]
pub struct PluginRootMod {
    /// The [`INTERFACE_VERSION`] the plugin was built against.
    pub abi_version: extern "C" fn() -> u32,
    /// The plugin's id, as in its `plugin.toml`.
    pub name: extern "C" fn() -> RString,
    /// The plugin's version, as in its `plugin.toml`.
    pub version: extern "C" fn() -> RString,
    /// Builds a representation from the plugin's JSON config, or says why it cannot.
    #[sabi(last_prefix_field)]
    pub new: extern "C" fn(config_json: RStr<'_>) -> RResult<RepresentationBox, RString>,
}

impl RootModule for PluginRootMod_Ref {
    declare_root_module_statics! {PluginRootMod_Ref}

    const BASE_NAME: &'static str = "cpbench_plugin";
    const NAME: &'static str = "cpbench plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

impl PluginRootMod_Ref {
    /// Fails with a readable message when the plugin was built for another [`INTERFACE_VERSION`].
    pub fn check_interface_version(self) -> Result<(), String> {
        let found = self.abi_version()();
        if found == INTERFACE_VERSION {
            Ok(())
        } else {
            Err(format!(
                "plugin '{}' was built for cpbench plugin interface version {found}, \
                 but this cpbench speaks version {INTERFACE_VERSION}; rebuild the plugin \
                 against the matching cpbench-plugin-api",
                self.name()()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::prefix_type::PrefixTypeTrait;
    use abi_stable::sabi_trait::TD_Opaque;
    use abi_stable::std_types::{RErr, ROk, RSlice, RVec};

    /// Implements the FFI trait directly, without the [`NativePlugin`] adapter.
    struct Scale {
        factor: f32,
    }

    impl Representation for Scale {
        fn output_dim(&self, input_dim: u32) -> u32 {
            input_dim
        }

        fn fit(
            &mut self,
            x: RSlice<'_, f32>,
            _n: u64,
            _d: u64,
            _context: RVec<ContextColumn>,
        ) -> RResult<(), RString> {
            // Scale so that the largest absolute value becomes 1.
            let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if max == 0.0 {
                return RErr("all-zero input".into());
            }
            self.factor = 1.0 / max;
            ROk(())
        }

        fn transform(
            &self,
            x: RSlice<'_, f32>,
            _n: u64,
            _d: u64,
            _context: RVec<ContextColumn>,
        ) -> RResult<RVec<f32>, RString> {
            ROk(x.iter().map(|v| v * self.factor).collect())
        }
    }

    #[test]
    fn trait_object_dispatches_to_the_implementation() {
        let mut rep: RepresentationBox =
            Representation_TO::from_value(Scale { factor: 1.0 }, TD_Opaque);
        let x = [2.0f32, -4.0, 1.0, 0.5];
        let m = Matrix::new(&x, 2, 2).unwrap();
        assert_eq!(rep.output_dim(2), 2);
        rep.fit(m.as_rslice(), 2, 2, RVec::new()).unwrap();
        let out = rep.transform(m.as_rslice(), 2, 2, RVec::new()).unwrap();
        assert_eq!(out.as_slice(), &[0.5, -1.0, 0.25, 0.125]);
        let err = rep
            .fit(RSlice::from_slice(&[0.0]), 1, 1, RVec::new())
            .unwrap_err();
        assert_eq!(err.as_str(), "all-zero input");
    }

    extern "C" fn future_version() -> u32 {
        INTERFACE_VERSION + 1
    }

    extern "C" fn future_name() -> RString {
        "from-the-future".into()
    }

    extern "C" fn refuse(_config: RStr<'_>) -> RResult<RepresentationBox, RString> {
        RErr("never built".into())
    }

    #[test]
    fn interface_version_mismatch_is_readable() {
        let module = PluginRootMod {
            abi_version: future_version,
            name: future_name,
            version: future_name,
            new: refuse,
        }
        .leak_into_prefix();
        let err = module.check_interface_version().unwrap_err();
        let expected = format!(
            "plugin 'from-the-future' was built for cpbench plugin interface version {}, \
             but this cpbench speaks version {INTERFACE_VERSION}",
            INTERFACE_VERSION + 1
        );
        assert!(err.starts_with(&expected), "{err}");
    }
}
