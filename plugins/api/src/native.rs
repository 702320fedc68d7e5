//! The plugin-author side: a plain-Rust trait and the adapter that turns it into the
//! FFI-safe [`Representation`] and [`PluginRootMod`].

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RStr, RString, RVec};

use crate::{
    Context, ContextColumn, INTERFACE_VERSION, Matrix, PluginRootMod, PluginRootMod_Ref,
    Representation, Representation_TO, RepresentationBox,
};

/// What a native plugin implements, in ordinary Rust types; [`root_module`] does the FFI.
pub trait NativePlugin: Send + Sized + 'static {
    /// The plugin's id, as in its `plugin.toml`.
    const NAME: &'static str;
    /// The plugin's version, as in its `plugin.toml`.
    const VERSION: &'static str;

    /// Builds the plugin from its JSON config (the `[config]` of `plugin.toml`, as JSON).
    fn new(config_json: &str) -> Result<Self, String>;

    /// Number of columns `transform` returns for input with `input_dim` columns.
    fn output_dim(&self, input_dim: usize) -> usize;

    /// Learns from `x`; stateless representations keep this default.
    fn fit(&mut self, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {
        let _ = (x, context);
        Ok(())
    }

    /// Returns `x.rows() × output_dim(x.cols())` values, row-major.
    fn transform(&self, x: Matrix<'_>, context: Context<'_>) -> Result<Vec<f32>, String>;
}

/// The plugin's [`INTERFACE_VERSION`], for the `abi_version` field of a hand-built root module.
pub extern "C" fn abi_version() -> u32 {
    INTERFACE_VERSION
}

extern "C" fn name<P: NativePlugin>() -> RString {
    RString::from(P::NAME)
}

extern "C" fn version<P: NativePlugin>() -> RString {
    RString::from(P::VERSION)
}

extern "C" fn new<P: NativePlugin>(config_json: RStr<'_>) -> RResult<RepresentationBox, RString> {
    // Unwinding out of an `extern "C"` fn aborts the process; catching here turns a
    // constructor panic into an error the host can record.
    match catch_unwind(|| P::new(config_json.as_str())) {
        Ok(Ok(plugin)) => ROk(into_representation(plugin)),
        Ok(Err(reason)) => RErr(reason.into()),
        Err(payload) => RErr(panic_reason("new", payload).into()),
    }
}

/// The root module for plugin type `P`; call it from the `#[export_root_module]` function.
///
/// Each call leaks one small module struct, which is what `abi_stable` expects: the export
/// machinery calls it once per process and keeps the reference for the library's lifetime.
pub fn root_module<P: NativePlugin>() -> PluginRootMod_Ref {
    PluginRootMod {
        abi_version,
        name: name::<P>,
        version: version::<P>,
        new: new::<P>,
    }
    .leak_into_prefix()
}

/// Wraps a plugin value as the FFI-safe trait object, with shape checks and panic capture.
pub fn into_representation<P: NativePlugin>(plugin: P) -> RepresentationBox {
    Representation_TO::from_value(
        Adapter {
            plugin,
            poisoned: OnceLock::new(),
        },
        TD_Opaque,
    )
}

/// Checks inputs and outputs at the boundary so every plugin gets the same validation, and
/// converts panics into errors.
struct Adapter<P> {
    plugin: P,
    /// Set by the first panic: the plugin's state may be half-updated, so later calls are refused.
    poisoned: OnceLock<String>,
}

impl<P: NativePlugin> Adapter<P> {
    fn inputs<'a>(
        &self,
        x: RSlice<'a, f32>,
        n: u64,
        d: u64,
        context: &'a [ContextColumn],
    ) -> Result<(Matrix<'a>, Context<'a>), String> {
        if let Some(reason) = self.poisoned.get() {
            return Err(format!(
                "plugin is unusable after an earlier panic: {reason}"
            ));
        }
        let x = Matrix::from_ffi(x, n, d)?;
        let context = Context::new(context);
        context.check(x.rows())?;
        Ok((x, context))
    }

    fn poison(&self, method: &str, payload: Box<dyn Any + Send>) -> RString {
        let reason = panic_reason(method, payload);
        let _ = self.poisoned.set(reason.clone());
        reason.into()
    }
}

impl<P: NativePlugin> Representation for Adapter<P> {
    fn output_dim(&self, input_dim: u32) -> u32 {
        let dim = self.plugin.output_dim(input_dim as usize);
        u32::try_from(dim)
            .unwrap_or_else(|_| panic!("{}: output_dim({input_dim}) = {dim} exceeds u32", P::NAME))
    }

    fn fit(
        &mut self,
        x: RSlice<'_, f32>,
        n: u64,
        d: u64,
        context: RVec<ContextColumn>,
    ) -> RResult<(), RString> {
        let (x, ctx) = match self.inputs(x, n, d, &context) {
            Ok(inputs) => inputs,
            Err(e) => return RErr(format!("fit: {e}").into()),
        };
        match catch_unwind(AssertUnwindSafe(|| self.plugin.fit(x, ctx))) {
            Ok(Ok(())) => ROk(()),
            Ok(Err(e)) => RErr(e.into()),
            Err(payload) => RErr(self.poison("fit", payload)),
        }
    }

    fn transform(
        &self,
        x: RSlice<'_, f32>,
        n: u64,
        d: u64,
        context: RVec<ContextColumn>,
    ) -> RResult<RVec<f32>, RString> {
        let (x, ctx) = match self.inputs(x, n, d, &context) {
            Ok(inputs) => inputs,
            Err(e) => return RErr(format!("transform: {e}").into()),
        };
        let out = match catch_unwind(AssertUnwindSafe(|| {
            let out = self.plugin.transform(x, ctx)?;
            Ok::<_, String>((out, self.plugin.output_dim(x.cols())))
        })) {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => return RErr(e.into()),
            Err(payload) => return RErr(self.poison("transform", payload)),
        };
        let (values, k) = out;
        if Some(values.len()) != x.rows().checked_mul(k) {
            return RErr(
                format!(
                    "transform returned {} values for {} rows, but output_dim({}) = {k} \
                 promises {} × {k}",
                    values.len(),
                    x.rows(),
                    x.cols(),
                    x.rows()
                )
                .into(),
            );
        }
        ROk(values.into())
    }
}

fn panic_reason(method: &str, payload: Box<dyn Any + Send>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string());
    format!("plugin panicked in {method}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{CONTROL, PLATE};

    /// Centers on control rows; the config string picks a misbehaviour to test the adapter.
    struct Toy {
        mode: String,
        mean: Vec<f32>,
    }

    impl NativePlugin for Toy {
        const NAME: &'static str = "toy";
        const VERSION: &'static str = "1.2.3";

        fn new(config_json: &str) -> Result<Self, String> {
            match config_json {
                "panic-new" => panic!("constructor exploded"),
                "reject" => Err("config: missing field `k`".into()),
                mode => Ok(Toy {
                    mode: mode.to_string(),
                    mean: Vec::new(),
                }),
            }
        }

        fn output_dim(&self, input_dim: usize) -> usize {
            input_dim
        }

        fn fit(&mut self, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {
            if self.mode == "panic-fit" {
                panic!("boom at row {}", x.rows());
            }
            let controls = context.controls().ok_or("no control column")?;
            let mut sum = vec![0.0; x.cols()];
            let mut count = 0.0;
            for (row, _) in x.iter_rows().zip(controls).filter(|(_, c)| *c) {
                sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                count += 1.0;
            }
            self.mean = sum.into_iter().map(|s| s / count).collect();
            Ok(())
        }

        fn transform(&self, x: Matrix<'_>, _context: Context<'_>) -> Result<Vec<f32>, String> {
            let mut out: Vec<f32> = x
                .iter_rows()
                .flat_map(|r| r.iter().zip(&self.mean).map(|(v, m)| v - m))
                .collect();
            if self.mode == "bad-len" {
                out.pop();
            }
            Ok(out)
        }
    }

    fn new_toy(config: &str) -> RResult<RepresentationBox, RString> {
        root_module::<Toy>().new()(RStr::from_str(config))
    }

    fn controls(flags: &[bool]) -> RVec<ContextColumn> {
        let values = flags.iter().map(|c| if *c { "true" } else { "false" });
        RVec::from(vec![ContextColumn::new(CONTROL, values).unwrap()])
    }

    // 3 rows × 2 cols; rows 0 and 2 are controls with mean (2, 20).
    const X: [f32; 6] = [1.0, 10.0, 5.0, 50.0, 3.0, 30.0];

    #[test]
    fn root_module_reports_identity() {
        let module = root_module::<Toy>();
        assert_eq!(module.name()().as_str(), "toy");
        assert_eq!(module.version()().as_str(), "1.2.3");
        assert_eq!(module.abi_version()(), INTERFACE_VERSION);
        assert!(module.check_interface_version().is_ok());
    }

    #[test]
    fn fit_then_transform_through_the_trait_object() {
        let mut rep = new_toy("center").unwrap();
        assert_eq!(rep.output_dim(2), 2);
        let x = RSlice::from_slice(&X);
        rep.fit(x, 3, 2, controls(&[true, false, true])).unwrap();
        let out = rep.transform(x, 3, 2, RVec::new()).unwrap();
        assert_eq!(out.as_slice(), &[-1.0, -10.0, 3.0, 30.0, 1.0, 10.0]);
    }

    #[test]
    fn config_errors_and_constructor_panics_become_reasons() {
        let err = new_toy("reject")
            .into_result()
            .err()
            .expect("config must be refused");
        assert_eq!(err.as_str(), "config: missing field `k`");
        let err = new_toy("panic-new")
            .into_result()
            .err()
            .expect("panic must be caught");
        assert_eq!(err.as_str(), "plugin panicked in new: constructor exploded");
    }

    #[test]
    fn shape_and_context_mismatches_are_refused_before_the_plugin_runs() {
        let mut rep = new_toy("center").unwrap();
        let x = RSlice::from_slice(&X);
        let err = rep.fit(x, 2, 2, controls(&[true, true])).unwrap_err();
        assert_eq!(
            err.as_str(),
            "fit: matrix holds 6 values but its shape is 2 × 2"
        );
        let err = rep.fit(x, 3, 2, controls(&[true, true])).unwrap_err();
        assert!(
            err.contains("has 2 values but the matrix has 3 rows"),
            "{err}"
        );
        let plate = RVec::from(vec![ContextColumn::new(PLATE, ["P1"; 3]).unwrap()]);
        let err = rep.fit(x, 3, 2, plate).unwrap_err();
        assert_eq!(err.as_str(), "no control column");
    }

    #[test]
    fn panic_in_fit_is_reported_and_poisons_the_plugin() {
        let mut rep = new_toy("panic-fit").unwrap();
        let x = RSlice::from_slice(&X);
        let err = rep.fit(x, 3, 2, controls(&[true; 3])).unwrap_err();
        assert_eq!(err.as_str(), "plugin panicked in fit: boom at row 3");
        let err = rep.transform(x, 3, 2, RVec::new()).unwrap_err();
        assert!(
            err.contains("unusable after an earlier panic: plugin panicked in fit"),
            "{err}"
        );
    }

    #[test]
    fn output_of_the_wrong_length_is_refused() {
        let mut rep = new_toy("bad-len").unwrap();
        let x = RSlice::from_slice(&X);
        rep.fit(x, 3, 2, controls(&[true; 3])).unwrap();
        let err = rep.transform(x, 3, 2, RVec::new()).unwrap_err();
        assert!(err.contains("returned 5 values for 3 rows"), "{err}");
    }
}
