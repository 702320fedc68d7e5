//! Running any plugin on a benchmark's rows: the one entry point for every plugin kind.
//!
//! The caller (a benchmark run, `cpbench plugin apply`, `cpbench plugin check`) builds a
//! [`PluginInput`] from its profiles. That struct is the label firewall on the host side: it holds
//! the feature matrix, the allowed context columns (built only through
//! [`cpbench_plugin_api::ContextColumn`], which refuses label names), the perturbation keys that
//! embedding tables and lookup models need, and labels only for a plugin whose manifest says
//! `sees_labels = true` ([`PluginInput::with_labels`] refuses every other plugin). Nothing else of
//! the benchmark's metadata reaches a plugin.

mod apply;
mod artifacts;
mod builtin;
mod check;
mod command_run;
mod context;
mod native_run;
mod onnx_run;
mod table;

use std::path::PathBuf;

use cpbench_core::manifest::Loaded;
use cpbench_core::manifest::{PluginKind, PluginManifest};
use cpbench_plugin_api::ContextColumn;

pub use apply::{Applied, ApplySpec, ImageStack, apply_to_profiles};
pub use artifacts::{Artifact, ArtifactSet, verify_artifacts};
pub use check::{CheckItem, CheckReport, CheckStatus, check_plugin};
pub use command_run::prepare_environment;
pub use context::{ContextRoles, build_context};

use crate::error::HostError;

/// A loaded plugin: its validated manifest and where it lives.
pub type Plugin = Loaded<PluginManifest>;

/// Loads and validates `plugin.toml` in `dir` (or the manifest file itself).
pub fn load_plugin(path: &std::path::Path) -> Result<Plugin, HostError> {
    let file = if path.is_dir() {
        path.join("plugin.toml")
    } else {
        path.to_path_buf()
    };
    cpbench_core::manifest::load_plugin(&file).map_err(|e| HostError::Input {
        plugin: path.display().to_string(),
        message: e.to_string(),
    })
}

/// What a plugin is given: features, allowed context, keys, and labels only if it may see them.
#[derive(Debug, Clone)]
pub struct PluginInput<'a> {
    /// Row-major `n × d` features.
    pub features: &'a [f32],
    /// Number of rows.
    pub n: usize,
    /// Number of features.
    pub d: usize,
    /// Names of the `d` features, in order.
    pub feature_names: &'a [String],
    /// Allowed per-row context (plate, well, batch, control flag, split).
    pub context: Vec<ContextColumn>,
    /// Rows the plugin may fit on (e.g. controls, or the train split).
    pub fit_rows: Vec<bool>,
    /// Per-row perturbation (or gene) key, for embedding tables and lookup models.
    pub keys: Option<Vec<String>>,
    /// Row offsets of sets (cells of a well), for set encoders: set `s` is rows `sets[s]..sets[s+1]`.
    pub sets: Option<Vec<usize>>,
    /// Image crops, for image encoders.
    pub images: Option<Images<'a>>,
    labels: Option<Labels>,
}

/// A stack of image crops, channel-first in memory.
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    /// `n × c × h × w` pixel values.
    pub pixels: &'a [f32],
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

/// Label columns handed to a positive control, one value (or none) per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Column names, for messages.
    pub names: Vec<String>,
    /// `columns[j][i]` is row `i`'s value in column `j`.
    pub columns: Vec<Vec<Option<String>>>,
}

impl<'a> PluginInput<'a> {
    /// Input with features and context only; every row may be fitted on.
    pub fn new(
        features: &'a [f32],
        n: usize,
        feature_names: &'a [String],
        context: Vec<ContextColumn>,
    ) -> Result<PluginInput<'a>, String> {
        let d = feature_names.len();
        if features.len() != n * d {
            return Err(format!(
                "feature matrix has {} values, expected {n} rows × {d} features",
                features.len()
            ));
        }
        if let Some(c) = context.iter().find(|c| c.len() != n) {
            return Err(format!(
                "context column '{}' has {} values for {n} rows",
                c.name(),
                c.len()
            ));
        }
        Ok(PluginInput {
            features,
            n,
            d,
            feature_names,
            context,
            fit_rows: vec![true; n],
            keys: None,
            sets: None,
            images: None,
            labels: None,
        })
    }

    /// Hands `labels` to `plugin`, refusing unless its manifest says `sees_labels = true`.
    ///
    /// This is the only way labels enter a [`PluginInput`]; manifests only allow
    /// `sees_labels` on `role = "control"` plugins.
    pub fn with_labels(mut self, plugin: &Plugin, labels: Labels) -> Result<Self, HostError> {
        if !plugin.manifest.sees_labels {
            return Err(HostError::Input {
                plugin: plugin.manifest.id.clone(),
                message: "labels may only be given to a control with `sees_labels = true` \
                          (label firewall)"
                    .into(),
            });
        }
        if let Some((j, col)) = labels
            .columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.len() != self.n)
        {
            return Err(HostError::Input {
                plugin: plugin.manifest.id.clone(),
                message: format!(
                    "label column '{}' has {} values for {} rows",
                    labels.names.get(j).map_or("?", String::as_str),
                    col.len(),
                    self.n
                ),
            });
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// The labels, if this input carries any.
    pub fn labels(&self) -> Option<&Labels> {
        self.labels.as_ref()
    }

    /// The context column called `name`, if present.
    pub fn context_values(
        &self,
        name: &str,
    ) -> Option<&[cpbench_plugin_api::abi_stable::std_types::RString]> {
        self.context
            .iter()
            .find(|c| c.name() == name)
            .map(ContextColumn::values)
    }
}

/// Which input rows the output rows describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputRows {
    /// One output row per input row, in order.
    All,
    /// Output row `i` describes input row `rows[i]`; the others had no representation.
    Subset(Vec<usize>),
    /// One output row per set of [`PluginInput::sets`].
    Sets,
}

/// What a plugin produced, with what is needed to record how.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginOutput {
    /// Row-major `rows × k` representation.
    pub data: Vec<f32>,
    /// Width of the representation.
    pub k: usize,
    /// Which input rows the output rows belong to.
    pub rows: OutputRows,
    /// Names of the `k` output columns.
    pub feature_names: Vec<String>,
    /// ONNX execution provider that ran, e.g. `CPUExecutionProvider`.
    pub execution_provider: Option<String>,
    /// Anything the user should know about the run (fallbacks, coverage, chunked sets).
    pub notes: Vec<String>,
    /// Keys an embedding table or lookup model had no vector for, sorted, each once.
    pub missing_keys: Vec<String>,
}

impl PluginOutput {
    /// Number of output rows.
    pub fn n_rows(&self) -> usize {
        self.data.len().checked_div(self.k).unwrap_or(0)
    }
}

/// How the host runs plugins: where native plugins' workers and libraries come from, and how
/// many threads ONNX Runtime uses.
#[derive(Debug, Clone, Default)]
pub struct RunEnv {
    /// How to start a plugin worker; `None`: the running executable's `plugin-worker`.
    pub worker: Option<crate::native::WorkerCommand>,
    /// Folders searched for native plugin libraries, in order: for a crate name after the
    /// running executable's build folder, for a `[native] library` file that is not where its
    /// manifest says by its file name. The binary fills them from `--plugin-lib-dir` and
    /// `CPBENCH_PLUGIN_LIB_DIR`.
    pub library_dirs: Vec<PathBuf>,
    /// ONNX Runtime's intra-op thread count for `onnx` plugins; `None`: its default.
    pub onnx_threads: Option<usize>,
    /// Threads a `command` plugin is told to use; `None`: `RAYON_NUM_THREADS`, else the cores.
    pub command_threads: Option<usize>,
    /// Cache root for `command` plugins' Python environments; `None`: `CPBENCH_CACHE_DIR`, else
    /// the user's cache folder.
    pub cache_root: Option<PathBuf>,
}

/// Runs `plugin` on `input`: checks its artifacts, dispatches on its kind, checks the output.
pub fn run_plugin(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    env: &RunEnv,
) -> Result<PluginOutput, HostError> {
    let m = &plugin.manifest;
    if input.labels.is_some() && !m.sees_labels {
        // `with_labels` already refuses this; checked again so no future constructor can bypass it.
        return Err(input_error(
            plugin,
            "labels reached a plugin that may not see them",
        ));
    }
    // An ONNX model checks its own input width after picking its listed features.
    if let Some(dim) = m.input.dim
        && m.kind != PluginKind::Onnx
        && input.images.is_none()
        && input.keys.is_none()
        && dim as usize != input.d
    {
        return Err(input_error(
            plugin,
            &format!(
                "expects {dim} input features ([input] dim), the benchmark provides {}",
                input.d
            ),
        ));
    }
    // Native plugins hash their library once it is resolved; everything else is checked here,
    // before any work, so a changed model or table never produces a score.
    if m.kind != PluginKind::Native {
        verify_artifacts(plugin, None)?;
    }
    let out = match m.kind {
        PluginKind::FeatureTable => table::run_feature_table(plugin, input)?,
        PluginKind::EmbeddingTable => table::run_embedding_table(plugin, input)?,
        PluginKind::Builtin => builtin::run_builtin(plugin, input)?,
        PluginKind::Onnx => onnx_run::run_onnx(plugin, input, env.onnx_threads)?,
        PluginKind::Native => native_run::run_native_plugin(plugin, input, env)?,
        PluginKind::Command => command_run::run_command_plugin(plugin, input, env)?,
    };
    check_output(plugin, input, &out)?;
    Ok(out)
}

fn check_output(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    out: &PluginOutput,
) -> Result<(), HostError> {
    let failed = |message: String| HostError::Failed {
        plugin: plugin.manifest.id.clone(),
        message,
    };
    let expected_rows = match &out.rows {
        OutputRows::All => input.n,
        OutputRows::Subset(rows) => rows.len(),
        OutputRows::Sets => input.sets.as_ref().map_or(0, |s| s.len().saturating_sub(1)),
    };
    if out.data.len() != expected_rows * out.k {
        return Err(failed(format!(
            "returned {} values, expected {expected_rows} rows × {} columns",
            out.data.len(),
            out.k
        )));
    }
    if out.feature_names.len() != out.k {
        return Err(failed(format!(
            "named {} output columns for a width of {}",
            out.feature_names.len(),
            out.k
        )));
    }
    if let Some(dim) = plugin.manifest.output.dim
        && dim as usize != out.k
    {
        return Err(failed(format!(
            "returned {} columns, but its manifest declares [output] dim = {dim}",
            out.k
        )));
    }
    if let Some(i) = out.data.iter().position(|v| !v.is_finite()) {
        return Err(failed(format!(
            "returned a non-finite value at output row {}, column {}",
            i / out.k.max(1),
            i % out.k.max(1)
        )));
    }
    Ok(())
}

fn input_error(plugin: &Plugin, message: &str) -> HostError {
    HostError::Input {
        plugin: plugin.manifest.id.clone(),
        message: message.to_string(),
    }
}

/// Output column names `<prefix>_0000`, ... for representations without feature names.
pub fn numbered_names(prefix: &str, k: usize) -> Vec<String> {
    (0..k).map(|i| format!("{prefix}_{i:04}")).collect()
}
