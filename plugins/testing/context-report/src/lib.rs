//! `test-context-report`: returns its input unchanged and reports every context column it
//! received, so a test can prove what crosses the label firewall.
//!
//! Two channels, written on every `fit` and `transform` call:
//!
//! - **stderr** (unless the config says `"stderr": false`), one line per call:
//!   `cpbench-test-context-report: {"call":"fit","rows":N,"cols":D,"columns":[{"name":"plate","rows":N},...]}`
//!   (the JSON after the prefix is one object; the host keeps the tail of a worker's stderr);
//! - **a JSON file**, when the config names one (`{"report": "/path/report.json"}`): rewritten
//!   after each call as `{"fit": CALL, "transform": CALL}` (a key is absent until that call
//!   happened), where `CALL` = `{"rows": N, "cols": D, "columns": [{"name", "rows", "values"}]}`
//!   lists the columns in the order received, with every value.
//!
//! Config (JSON): `report` (optional path), `stderr` (bool, default true), `stdout` (bool,
//! default false: also print the line on stdout, to prove that a plugin printing there cannot
//! corrupt the worker's protocol; the worker points stdout at stderr), `thread_sums` (bool,
//! default false: instead of the identity, subtract from each row its mean, summed in `f32` in
//! as many parts as `RAYON_NUM_THREADS` says, as a parallel reduction would split it; the output
//! then follows the thread count in its last bits, which `cpbench plugin check` must catch).

use std::sync::Mutex;

use abi_stable::export_root_module;
use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Prefix of the stderr report lines.
const PREFIX: &str = "cpbench-test-context-report: ";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    report: Option<String>,
    #[serde(default = "yes")]
    stderr: bool,
    #[serde(default)]
    stdout: bool,
    #[serde(default)]
    thread_sums: bool,
}

fn yes() -> bool {
    true
}

/// Identity map that records what it was given.
struct ContextReport {
    report: Option<String>,
    stderr: bool,
    stdout: bool,
    thread_sums: bool,
    /// Calls seen so far, by name; a mutex because `transform` takes `&self`.
    calls: Mutex<Map<String, Value>>,
}

impl ContextReport {
    fn record(&self, call: &str, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {
        let summary: Vec<Value> = context
            .columns()
            .iter()
            .map(|c| json!({"name": c.name(), "rows": c.len()}))
            .collect();
        let line = json!({"call": call, "rows": x.rows(), "cols": x.cols(), "columns": summary});
        if self.stderr {
            eprintln!("{PREFIX}{line}");
        }
        if self.stdout {
            println!("{PREFIX}{line}");
        }
        let Some(path) = &self.report else {
            return Ok(());
        };
        let columns: Vec<Value> = context
            .columns()
            .iter()
            .map(|c| {
                let values: Vec<&str> = c.values().iter().map(|v| v.as_str()).collect();
                json!({"name": c.name(), "rows": c.len(), "values": values})
            })
            .collect();
        let mut calls = self.calls.lock().map_err(|e| e.to_string())?;
        calls.insert(
            call.to_string(),
            json!({"rows": x.rows(), "cols": x.cols(), "columns": columns}),
        );
        let text = serde_json::to_string_pretty(&*calls).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("test-context-report: cannot write report {path}: {e}"))
    }
}

impl NativePlugin for ContextReport {
    const NAME: &'static str = "test-context-report";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(config_json: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config_json)
            .map_err(|e| format!("test-context-report: invalid config: {e}"))?;
        Ok(ContextReport {
            report: config.report,
            stderr: config.stderr,
            stdout: config.stdout,
            thread_sums: config.thread_sums,
            calls: Mutex::new(Map::new()),
        })
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        input_dim
    }

    fn fit(&mut self, x: Matrix<'_>, context: Context<'_>) -> Result<(), String> {
        self.record("fit", x, context)
    }

    fn transform(&self, x: Matrix<'_>, context: Context<'_>) -> Result<Vec<f32>, String> {
        self.record("transform", x, context)?;
        if !self.thread_sums {
            return Ok(x.as_slice().to_vec());
        }
        let parts = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&t| t > 0)
            .unwrap_or(1);
        let mut out = Vec::with_capacity(x.rows() * x.cols());
        for i in 0..x.rows() {
            let row = x.row(i);
            let mean = split_sum(row, parts) / row.len().max(1) as f32;
            out.extend(row.iter().map(|v| v - mean));
        }
        Ok(out)
    }
}

/// The `f32` sum of `values` in `parts` contiguous parts, each summed alone, then added in order.
fn split_sum(values: &[f32], parts: usize) -> f32 {
    let size = values.len().div_ceil(parts).max(1);
    values.chunks(size).map(|c| c.iter().sum::<f32>()).sum()
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    root_module::<ContextReport>()
}
