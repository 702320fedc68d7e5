//! `cpbench plugin check`: what a method developer runs before submitting a plugin.
//!
//! Each step is reported as passed or failed with what it saw; later steps are skipped once the
//! plugin cannot be loaded. The dry run uses a small synthetic fixture shaped for the plugin's
//! input (profiles with CellProfiler-style names, keys from its own table or vocabulary, crops,
//! sets) with plate, well, batch, control and split context and a label column that only a
//! `sees_labels` control receives.
//!
//! The submission step wants what a reviewer and an auditor need: a description that is not the
//! scaffold's `TODO`, every model or table pinned by its SHA-256 (the message prints the digest
//! to paste), and an ONNX profile or set model's feature list (without it the model would get the
//! benchmark's feature columns by position, silently, whatever their names).
//!
//! The thread-count check runs the plugin at 1 and at 2 threads and wants the same bits: a
//! native plugin in workers started with `RAYON_NUM_THREADS` set (rayon, and faer's default
//! parallelism on it, read it), an ONNX model with that many ONNX Runtime intra-op threads. A
//! native plugin gets a larger input for it (`THREAD_CHECK_PLATES` plates and
//! `THREAD_CHECK_WIDTH` correlated features where its input width is free): parallel libraries
//! split work only above a size, and a sum split in two parts rounds differently from one summed
//! whole.

use std::path::Path;

use cpbench_core::manifest::{Layout, OnnxShape, PluginKind};
use cpbench_core::{Level, Profiles};
use cpbench_metrics::rng::SplitMix64;
use polars::prelude::*;

use super::{
    ApplySpec, ArtifactSet, ContextRoles, ImageStack, Plugin, PluginOutput, RunEnv,
    apply_to_profiles, load_plugin, verify_artifacts,
};
use crate::error::HostError;
use crate::native::WorkerCommand;
use crate::onnx::OnnxPlugin;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// What was checked.
    pub name: String,
    /// Passed, failed or skipped.
    pub status: CheckStatus,
    /// What was seen.
    pub detail: String,
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
    /// Not run because an earlier check failed.
    Skip,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Checks in the order they ran.
    pub items: Vec<CheckItem>,
}

impl CheckReport {
    /// Whether every check that ran passed and none was skipped.
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.status == CheckStatus::Pass)
    }

    fn push(&mut self, name: &str, result: Result<String, String>) -> bool {
        let (status, detail) = match result {
            Ok(d) => (CheckStatus::Pass, d),
            Err(d) => (CheckStatus::Fail, d),
        };
        self.items.push(CheckItem {
            name: name.to_string(),
            status,
            detail,
        });
        status == CheckStatus::Pass
    }

    fn skip(&mut self, names: &[&str]) {
        for n in names {
            self.items.push(CheckItem {
                name: n.to_string(),
                status: CheckStatus::Skip,
                detail: "skipped: an earlier check failed".into(),
            });
        }
    }
}

const LATER: [&str; 5] = [
    "dry run",
    "output shape",
    "determinism",
    "thread count",
    "label firewall",
];

/// The thread counts the thread-count check compares.
const THREAD_COUNTS: [usize; 2] = [1, 2];
/// Plates (of 12 rows, 4 of them controls) in the thread-count check's input of a native plugin.
const THREAD_CHECK_PLATES: usize = 40;
/// Features in the thread-count check's input of a native plugin whose input width is free: wide
/// enough that a covariance and its eigendecomposition take faer's parallel paths.
const THREAD_CHECK_WIDTH: usize = 400;
/// Shared factors of the thread-count check's features: correlated features make an
/// ill-conditioned covariance, as real profiles do, and its small directions carry rounding
/// differences into the `f32` output that independent features would round away.
const THREAD_CHECK_FACTORS: usize = 8;

/// Checks the plugin at `path` (a folder or its plugin.toml).
pub fn check_plugin(path: &Path, env: &RunEnv) -> CheckReport {
    let mut report = CheckReport::default();
    let plugin = match load_plugin(path) {
        Ok(p) => p,
        Err(e) => {
            report.push("manifest", Err(e.to_string()));
            report.skip(&["artifacts"]);
            report.skip(&LATER);
            return report;
        }
    };
    let m = &plugin.manifest;
    report.push(
        "manifest",
        Ok(format!(
            "{} {} ({}, role {}, input {} → output {})",
            m.id,
            m.version,
            m.kind.as_str(),
            format!("{:?}", m.role).to_lowercase(),
            format!("{:?}", m.input.level).to_lowercase(),
            format!("{:?}", m.output.level).to_lowercase()
        )),
    );
    // A native plugin's library is part of its artifacts: resolving it is the load check.
    let library = match &m.native {
        Some(native) => match crate::native::resolve_native_library(
            &native.library,
            &plugin.dir,
            &env.library_dirs,
        ) {
            Ok(path) => Some(path),
            Err(e) => {
                report.push("artifacts", Err(e.to_string()));
                report.skip(&LATER);
                return report;
            }
        },
        None => None,
    };
    let verified = verify_artifacts(&plugin, library.as_deref());
    let hashes = verified.as_ref().map(|set| {
        set.artifacts
            .iter()
            .map(|a| format!("{} {}", a.key, &a.sha256[..12]))
            .collect::<Vec<_>>()
            .join(", ")
    });
    if !report.push("artifacts", hashes.map_err(|e| e.to_string())) {
        report.skip(&LATER);
        return report;
    }
    if let Ok(set) = &verified {
        report.push("submission", submission(&plugin, set));
    }
    let fixture = match Fixture::for_plugin(&plugin) {
        Ok(f) => f,
        Err(e) => {
            report.push("dry run", Err(e.to_string()));
            report.skip(&LATER[1..]);
            return report;
        }
    };
    let first = apply_to_profiles(&plugin, &fixture.profiles, &fixture.spec, env);
    let first = match first {
        Ok(a) => {
            report.push(
                "dry run",
                Ok(format!(
                    "{} fixture rows × {} → {} rows × {}{}",
                    fixture.profiles.n_rows(),
                    fixture.profiles.n_features(),
                    a.profiles.n_rows(),
                    a.output.k,
                    a.output
                        .execution_provider
                        .as_deref()
                        .map(|p| format!(" on {p}"))
                        .unwrap_or_default()
                )),
            );
            a
        }
        Err(e) => {
            report.push("dry run", Err(e.to_string()));
            report.skip(&LATER[1..]);
            return report;
        }
    };
    report.push("output shape", output_shape(&plugin, &first.output));
    let second = apply_to_profiles(&plugin, &fixture.profiles, &fixture.spec, env);
    report.push(
        "determinism",
        match second {
            Ok(b) if b.profiles.features() == first.profiles.features() => {
                Ok("two runs gave identical output".into())
            }
            Ok(b) => {
                let differing = b
                    .profiles
                    .features()
                    .iter()
                    .zip(first.profiles.features())
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count();
                Err(format!(
                    "two runs on the same input differ in {differing} values: seed every random \
                     choice (results must be reproducible)"
                ))
            }
            Err(e) => Err(format!("second run failed: {e}")),
        },
    );
    report.push("thread count", thread_count(&plugin, &fixture, env));
    report.push(
        "label firewall",
        firewall(&plugin, &fixture, &first.profiles, env),
    );
    report
}

/// What a submitted plugin's manifest needs beyond loading: a real description, its model or
/// table pinned (the digest to paste is in the message), an ONNX profile or set model's feature
/// list. All problems at once, so one edit fixes them.
fn submission(plugin: &Plugin, set: &ArtifactSet) -> Result<String, String> {
    let m = &plugin.manifest;
    let mut problems = Vec::new();
    if m.description.trim().is_empty() || m.description.contains("TODO") {
        problems.push(
            "`description` still says TODO: say in one line what the representation is and what \
             it was trained on"
                .to_string(),
        );
    }
    // The digest to paste, from the artifacts just hashed.
    let digest = |key: &str| {
        set.artifacts
            .iter()
            .find(|a| a.key == key)
            .map_or("<sha256>", |a| a.sha256.as_str())
    };
    let pin = |key: &str, sha_key: &str| {
        let sha = digest(key);
        format!("`{sha_key}` is missing: pin the file with {sha_key} = \"{sha}\"")
    };
    let mut what = vec!["description"];
    if let Some(onnx) = &m.onnx {
        what.push("model pinned");
        if onnx.sha256.is_none() {
            problems.push(pin("onnx.model", "onnx.sha256"));
        }
        if matches!(onnx.shape, OnnxShape::Profile | OnnxShape::Set) {
            what.push("feature list");
            if onnx.features.is_none() {
                problems.push(
                    "`onnx.features` is missing: without it the model gets the benchmark's \
                     feature columns by position, whatever their names; list the features it \
                     was trained on, one per line, in a file named there"
                        .to_string(),
                );
            }
        }
    }
    if m.license.contains("TODO") {
        problems.push("`license` still says TODO: give the SPDX license of the plugin".to_string());
    }
    if let Some(command) = &m.command {
        what.push("files pinned");
        for (i, f) in command.files.iter().enumerate() {
            if f.sha256.is_none() {
                let key = format!("command.files[{i}]");
                let sha = digest(&key);
                problems.push(format!(
                    "`{key}.sha256` is missing: pin `{}` with {{ path = \"{}\", sha256 = \"{sha}\" }}",
                    f.path.display(),
                    f.path.display()
                ));
            }
        }
        if command.files.is_empty() {
            problems.push(
                "`command.files` is empty: list the scripts and weights the command runs from, so \
                 that results record them and a changed file is recomputed"
                    .to_string(),
            );
        }
    }
    if let Some(embedding) = &m.embedding {
        what.push("table pinned");
        if embedding.sha256.is_none() {
            problems.push(pin("embedding.table", "embedding.sha256"));
        }
    }
    if problems.is_empty() {
        Ok(what.join(", "))
    } else {
        Err(problems.join("; "))
    }
}

/// Runs the plugin at each of [`THREAD_COUNTS`] and compares the outputs bit for bit.
fn thread_count(plugin: &Plugin, fixture: &Fixture, env: &RunEnv) -> Result<String, String> {
    let (how, larger) = match plugin.manifest.kind {
        PluginKind::Native => ("RAYON_NUM_THREADS of the plugin worker", true),
        PluginKind::Onnx => ("ONNX Runtime intra-op threads", false),
        PluginKind::Command => (
            "the job's threads and the BLAS/OpenMP thread variables",
            true,
        ),
        kind => {
            return Ok(format!(
                "`{}` plugins run in cpbench's own code, with no threads of their own: nothing \
                 to compare",
                kind.as_str()
            ));
        }
    };
    let larger_fixture;
    let fixture = if larger {
        larger_fixture = Fixture::sized(
            plugin,
            THREAD_CHECK_PLATES,
            THREAD_CHECK_WIDTH,
            Some(THREAD_CHECK_FACTORS),
        )
        .map_err(|e| e.to_string())?;
        &larger_fixture
    } else {
        fixture
    };
    let mut runs = Vec::new();
    for threads in THREAD_COUNTS {
        let env = with_threads(env, threads).map_err(|e| format!("{threads} threads: {e}"))?;
        let applied = apply_to_profiles(plugin, &fixture.profiles, &fixture.spec, &env)
            .map_err(|e| format!("run at {threads} threads failed: {e}"))?;
        runs.push((threads, applied.profiles));
    }
    let (ta, a) = &runs[0];
    let (tb, b) = &runs[1];
    let shape = |p: &Profiles| (p.n_rows(), p.n_features());
    if shape(a) != shape(b) {
        let ((ra, ca), (rb, cb)) = (shape(a), shape(b));
        return Err(format!(
            "{ra} rows × {ca} columns at {ta} thread(s), {rb} rows × {cb} at {tb}"
        ));
    }
    let (n, k) = shape(a);
    let advice = if plugin.manifest.kind == PluginKind::Command {
        "e.g. one BLAS thread for reductions: `OPENBLAS_NUM_THREADS = \"1\"` in [command.env]"
    } else {
        "e.g. faer with a fixed `Par`, not the global default"
    };
    match first_difference(a.features(), b.features()) {
        None => Ok(format!(
            "identical output at {ta} and {tb} threads ({how}; {} rows × {} → {n} rows × {k})",
            fixture.profiles.n_rows(),
            fixture.profiles.n_features()
        )),
        Some((at, count)) => {
            let (row, col) = (at / k.max(1), at % k.max(1));
            Err(format!(
                "output differs between {ta} and {tb} threads ({how}) in {count} of {} values; \
                 first at row {} of {n}, column {}: {:?} at {ta} thread(s), {:?} at {tb}. Sum in \
                 an order that does not depend on the thread count ({advice})",
                n * k,
                row + 1,
                a.feature_names()[col],
                a.features()[at],
                b.features()[at]
            ))
        }
    }
}

/// The index of the first value whose bits differ, and how many differ.
fn first_difference(a: &[f32], b: &[f32]) -> Option<(usize, usize)> {
    let mut differing = a
        .iter()
        .zip(b)
        .enumerate()
        .filter(|(_, (x, y))| x.to_bits() != y.to_bits())
        .map(|(i, _)| i);
    let first = differing.next()?;
    Some((first, 1 + differing.count()))
}

/// `env` running plugins at `threads` threads: native workers with `RAYON_NUM_THREADS` set, ONNX
/// models with that many intra-op threads.
fn with_threads(env: &RunEnv, threads: usize) -> Result<RunEnv, String> {
    let mut worker = match &env.worker {
        Some(w) => w.clone(),
        None => WorkerCommand::current_exe()
            .map_err(|e| format!("cannot locate the cpbench executable for the worker: {e}"))?,
    };
    worker.env.retain(|(k, _)| k != "RAYON_NUM_THREADS");
    worker
        .env
        .push(("RAYON_NUM_THREADS".into(), threads.to_string().into()));
    Ok(RunEnv {
        worker: Some(worker),
        onnx_threads: Some(threads),
        command_threads: Some(threads),
        ..env.clone()
    })
}

fn output_shape(plugin: &Plugin, out: &PluginOutput) -> Result<String, String> {
    match plugin.manifest.output.dim {
        Some(dim) if dim as usize != out.k => Err(format!(
            "output has {} columns, [output] dim says {dim}",
            out.k
        )),
        Some(dim) => Ok(format!("{dim} columns, as [output] dim declares")),
        None => Ok(format!(
            "{} columns ([output] dim not declared; declaring it lets cpbench check it)",
            out.k
        )),
    }
}

/// Runs the plugin again with the fixture's labels reassigned: the output of a plugin that may
/// not see labels must not change; a positive control's must.
fn firewall(
    plugin: &Plugin,
    fixture: &Fixture,
    first: &Profiles,
    env: &RunEnv,
) -> Result<String, String> {
    let relabelled = fixture.with_rotated_labels().map_err(|e| e.to_string())?;
    let again = apply_to_profiles(plugin, &relabelled.profiles, &relabelled.spec, env)
        .map_err(|e| format!("run with reassigned labels failed: {e}"))?;
    let same = again.profiles.features() == first.features();
    let label = fixture.spec.label_columns.join(", ");
    match (plugin.manifest.sees_labels, same) {
        (false, true) => Ok(format!(
            "output unchanged when {label} is reassigned: the plugin saw only plate, well, batch, \
             split and control"
        )),
        (false, false) => Err(format!(
            "output changed when only {label} was reassigned: labels reached a plugin that may \
             not see them"
        )),
        (true, false) => Ok(format!(
            "control with sees_labels = true: its output follows {label}, as a positive control's should"
        )),
        (true, true) => Err(format!(
            "sees_labels = true, but the output ignores {label}: a positive control must encode labels"
        )),
    }
}

/// A small table shaped for one plugin, and how its columns map to roles.
struct Fixture {
    profiles: Profiles,
    spec: ApplySpec,
}

/// Plates of the fixture (the thread-count check uses more).
const PLATES: usize = 2;
const ROWS_PER_PLATE: usize = 12;

impl Fixture {
    /// The same fixture with each label value moved to the next row (and the last to the first).
    fn with_rotated_labels(&self) -> Result<Fixture, HostError> {
        let mut meta = self.profiles.meta().clone();
        for name in &self.spec.label_columns {
            let values = self.profiles.meta_strings(name)?;
            let mut rotated = values.clone();
            rotated.rotate_right(1);
            let column = Column::new(name.as_str().into(), rotated);
            meta.replace(name, column)
                .map_err(|e| cpbench_core::Error::Shape(e.to_string()))?;
        }
        Ok(Fixture {
            profiles: Profiles::new(
                meta,
                self.profiles.features().to_vec(),
                self.profiles.feature_names().to_vec(),
                self.profiles.level(),
            )?,
            spec: self.spec.clone(),
        })
    }

    fn for_plugin(plugin: &Plugin) -> Result<Fixture, HostError> {
        Fixture::sized(plugin, PLATES, CP.len(), None)
    }

    /// The fixture with `plates` plates, and `width` features when the plugin's input width is
    /// free (12 CellProfiler-style names, then numbered ones). Features are independent standard
    /// normal values, or with `factors`, correlated as real profiles are: each a mix of that many
    /// shared factors plus 1% noise of its own.
    fn sized(
        plugin: &Plugin,
        plates: usize,
        width: usize,
        factors: Option<usize>,
    ) -> Result<Fixture, HostError> {
        let m = &plugin.manifest;
        let n = plates * ROWS_PER_PLATE;
        let mut plate = Vec::new();
        let mut well = Vec::new();
        let mut pert = Vec::new();
        let mut moa = Vec::new();
        for p in 0..plates {
            for r in 0..ROWS_PER_PLATE {
                plate.push(format!("P{}", p + 1));
                well.push(format!(
                    "{}{:02}",
                    (b'A' + (r / 6) as u8) as char,
                    r % 6 + 1
                ));
                // Four controls per plate, four treatments in duplicate.
                let t = if r < 4 {
                    "control".to_string()
                } else {
                    format!("t{}", (r - 4) / 2 + 4 * p)
                };
                moa.push(if r < 4 {
                    "none".to_string()
                } else {
                    format!("moa{}", (r - 4) % 2)
                });
                pert.push(t);
            }
        }
        let keys: Option<Vec<String>> = match m.kind {
            PluginKind::EmbeddingTable => Some(super::table::embedding_keys(plugin)?),
            _ => None,
        };
        if let Some(keys) = &keys {
            // Every row gets a key from the plugin's own table, except the last, which is absent
            // from it: coverage reporting is part of what is checked.
            for (i, p) in pert.iter_mut().enumerate() {
                *p = if i + 1 == n {
                    "__not_in_the_table__".into()
                } else {
                    keys[i % keys.len()].clone()
                };
            }
        }
        let onnx = match &m.onnx {
            Some(spec) => Some(OnnxPlugin::load(spec, &plugin.dir)?),
            None => None,
        };
        if let Some(vocab) = onnx.as_ref().and_then(OnnxPlugin::vocabulary) {
            for (i, p) in pert.iter_mut().enumerate() {
                *p = if i + 1 == n {
                    "__not_in_the_vocabulary__".into()
                } else {
                    vocab[i % vocab.len()].clone()
                };
            }
        }
        let names = feature_names(plugin, onnx.as_ref(), width);
        let mut rng = SplitMix64::new(0);
        let d = names.len();
        let x: Vec<f32> = match factors {
            None => (0..n * d).map(|_| rng.standard_normal() as f32).collect(),
            Some(f) => {
                // Every feature a mix of `f` shared factors plus 1% noise of its own.
                let z: Vec<f64> = (0..n * f).map(|_| rng.standard_normal()).collect();
                let a: Vec<f64> = (0..f * d).map(|_| rng.standard_normal()).collect();
                (0..n * d)
                    .map(|at| {
                        let (i, j) = (at / d, at % d);
                        let mix: f64 = (0..f).map(|l| z[i * f + l] * a[l * d + j]).sum();
                        (mix + 0.01 * rng.standard_normal()) as f32
                    })
                    .collect()
            }
        };
        let images = match onnx.as_ref() {
            Some(model) if model.shape() == OnnxShape::Image => Some(crops(
                model.input_dims(),
                m.onnx.as_ref().and_then(|o| o.layout),
                n,
                &mut rng,
            )),
            _ => None,
        };
        let split: Vec<&str> = (0..n)
            .map(|i| if i % 3 == 0 { "test" } else { "train" })
            .collect();
        let meta = df!(
            "Metadata_Plate" => &plate,
            "Metadata_Well" => &well,
            "Metadata_Batch" => plate.iter().map(|p| format!("B{p}")).collect::<Vec<_>>(),
            "Metadata_Split" => split,
            "Metadata_Perturbation" => &pert,
            "Metadata_moa" => &moa,
        )
        .map_err(|e| cpbench_core::Error::Shape(e.to_string()))?;
        let level = m.input.level.profile_level().unwrap_or(Level::Well);
        let profiles = Profiles::new(meta, x, names, level)?;
        let controls: Vec<bool> = (0..n).map(|i| i % ROWS_PER_PLATE < 4).collect();
        let key_column = match (m.kind, m.onnx.as_ref().map(|o| o.shape)) {
            (PluginKind::EmbeddingTable, _) | (_, Some(OnnxShape::Lookup)) => {
                Some("Metadata_Perturbation".to_string())
            }
            _ => None,
        };
        let spec = ApplySpec {
            roles: ContextRoles {
                plate: Some("Metadata_Plate".into()),
                well: Some("Metadata_Well".into()),
                batch: Some("Metadata_Batch".into()),
                split: Some("Metadata_Split".into()),
            },
            fit_rows: Some(controls.clone()),
            controls: Some(controls),
            key_column,
            label_columns: vec!["Metadata_moa".into()],
            // Sets for set encoders: rows grouped by batch and split (never by a label, which the
            // firewall check reassigns).
            set_by: if m.onnx.as_ref().map(|o| o.shape) == Some(OnnxShape::Set) {
                vec!["Metadata_Batch".into(), "Metadata_Split".into()]
            } else {
                Vec::new()
            },
            images,
        };
        Ok(Fixture { profiles, spec })
    }
}

/// CellProfiler-style feature names, so that compartment, channel and positional selectors have
/// something to select.
const CP: [&str; 12] = [
    "Cells_AreaShape_Area",
    "Cells_Intensity_MeanIntensity_DNA",
    "Cells_Intensity_MeanIntensity_RNA",
    "Cytoplasm_Texture_SumAverage_ER_3_0",
    "Cytoplasm_Intensity_MeanIntensity_Mito",
    "Nuclei_AreaShape_Eccentricity",
    "Nuclei_Intensity_IntegratedIntensity_DNA",
    "Nuclei_Texture_Contrast_DNA_5_0",
    "Nuclei_Granularity_2_DNA",
    "Nuclei_Location_Center_X",
    "Cells_Correlation_Correlation_AGP_Mito",
    "Cytoplasm_RadialDistribution_FracAtD_RNA_2of4",
];

/// Feature names for the fixture: the plugin's declared width, else `free` of them, the
/// CellProfiler-style [`CP`] names first.
fn feature_names(plugin: &Plugin, onnx: Option<&OnnxPlugin>, free: usize) -> Vec<String> {
    if let Some(features) = onnx.and_then(OnnxPlugin::features) {
        return features.to_vec();
    }
    let width = match onnx {
        Some(model) if matches!(model.shape(), OnnxShape::Image | OnnxShape::Lookup) => Some(1),
        Some(model) => model.input_dim(),
        None => None,
    }
    .or(plugin.manifest.input.dim.map(|d| d as usize));
    match width {
        Some(d) => (0..d).map(|i| format!("feature_{i:04}")).collect(),
        None => (0..free)
            .map(|i| match CP.get(i) {
                Some(name) => name.to_string(),
                None => format!("feature_{i:04}"),
            })
            .collect(),
    }
}

/// Random crops shaped as the model's input (`[N, C, H, W]` or NHWC), stored channel-first.
fn crops(dims: &[i64], layout: Option<Layout>, n: usize, rng: &mut SplitMix64) -> ImageStack {
    let dim = |i: usize, default: usize| {
        dims.get(i)
            .and_then(|&d| usize::try_from(d).ok())
            .unwrap_or(default)
    };
    let (c, h, w) = match layout {
        Some(Layout::Nhwc) => (dim(3, 5), dim(1, 64), dim(2, 64)),
        _ => (dim(1, 5), dim(2, 64), dim(3, 64)),
    };
    let pixels = (0..n * c * h * w)
        .map(|_| rng.next_open01() as f32)
        .collect();
    ImageStack { pixels, c, h, w }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_compares_bits() {
        assert_eq!(first_difference(&[1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(
            first_difference(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.5, 3.0, 4.5]),
            Some((1, 2))
        );
        // Equal as numbers, not as bits; the same NaN is the same output.
        assert_eq!(first_difference(&[0.0], &[-0.0]), Some((0, 1)));
        assert_eq!(first_difference(&[f32::NAN], &[f32::NAN]), None);
    }

    #[test]
    fn with_threads_sets_the_worker_variable_once_and_the_onnx_and_command_threads() {
        let mut worker = WorkerCommand::new("/usr/bin/cpbench");
        worker.env.push(("RAYON_NUM_THREADS".into(), "8".into()));
        let env = RunEnv {
            worker: Some(worker),
            library_dirs: vec!["/lib/plugins".into()],
            onnx_threads: None,
            command_threads: None,
            cache_root: None,
        };
        let one = with_threads(&env, 1).unwrap();
        let w = one.worker.unwrap();
        let rayon: Vec<_> = w
            .env
            .iter()
            .filter(|(k, _)| k == "RAYON_NUM_THREADS")
            .collect();
        assert_eq!(rayon, [&("RAYON_NUM_THREADS".into(), "1".into())]);
        assert!(w.env.iter().any(|(k, _)| k == "RUST_BACKTRACE"));
        assert_eq!(w.program, Path::new("/usr/bin/cpbench"));
        assert_eq!(one.onnx_threads, Some(1));
        assert_eq!(one.command_threads, Some(1));
        assert_eq!(one.library_dirs, env.library_dirs);
    }
}
