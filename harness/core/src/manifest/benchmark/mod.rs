//! `benchmark.toml`: a dataset, the roles of its metadata columns, the preprocessing applied
//! to every plugin's output, and the tasks that score it.
//!
//! [`BenchmarkManifest`] and its validation order live here; each section has its own module,
//! with its types and the checks that belong to it:
//!
//! - `data` — `[data]`: the profile table, its annotation files, generated data and images.
//! - `columns` — `[columns]`: the roles metadata columns play, and row selections
//!   (`controls`, `all`, a row filter) that rely on them.
//! - `prep` — `[[preprocess]]`: the operations and the parameters each takes.
//! - `task` — `[[task]]`: the metrics and the parameters each takes.
//! - `lambda_sweep` — `[lambda_sweep]`: one task rescored over several sphering λ.
//! - `params` — the parameter-table check shared by steps and tasks: which keys are present,
//!   allowed, required, or exclusive.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::source::Doc;
use super::{DataRef, Loaded, Manifest, ManifestError};
use crate::datacache::DataCache;

mod columns;
mod data;
mod lambda_sweep;
mod params;
mod prep;
mod task;
mod typed;

#[cfg(test)]
pub(crate) mod tests;

pub use columns::{
    Columns, ControlSpec, SPLIT_FILE_LABEL_COLUMN, SplitSide, SplitSpec, TRAIN_SPLIT_SUFFIX,
    train_split_benchmark,
};
pub use data::{
    Annotation, DataLocation, DataSpec, JoinTable, RemoteFile, etag_parts, is_s3_etag, split_url,
};
pub use lambda_sweep::LambdaSweepSpec;
pub use prep::{PrepOp, PrepStep};
pub use task::{Metric, Similarity, Task, VoteTies};
pub use typed::{
    EnrichmentTask, KmeansTask, KnnTask, LeakageTask, MapTask, PartitionTask, PrecisionAtKTask,
    RelationsTask, ReplicatingTask, TaskParams,
};

/// A benchmark: one profile table, its column roles, preprocessing and scored tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkManifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// Benchmark id: lowercase letters, digits and '-', e.g. `lincs-sq00015054`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Benchmark version (>= 1); bump it whenever data, preprocessing or tasks change.
    #[schemars(range(min = 1))]
    pub version: u32,
    /// Short human-readable title shown in reports.
    pub title: String,
    /// Longer description shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The profile table and the annotation files tasks use.
    pub data: DataSpec,
    /// Which metadata columns play which role; only roles that tasks or steps use are needed.
    #[serde(default)]
    pub columns: Columns,
    /// Preprocessing steps applied in order to every plugin's output before scoring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preprocess: Vec<PrepStep>,
    /// The tasks scored on the preprocessed profiles (`[[task]]`, at least one).
    #[serde(rename = "task")]
    pub tasks: Vec<Task>,
    /// Datasets whose information the data or labels carry (e.g. `CORUM`); a plugin trained on
    /// one of them, or on this benchmark, is flagged as contaminated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// Re-score one task over several sphering regularizations (CNN-1 paper, Fig. 6B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_sweep: Option<LambdaSweepSpec>,
}

impl Manifest for BenchmarkManifest {
    fn precheck(doc: &Doc<'_>) -> Result<(), ManifestError> {
        BenchmarkManifest::precheck_tasks(doc)
    }

    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        doc.check_schema_version(self.schema_version)?;
        doc.check_slug("id", &self.id)?;
        doc.check_min("version", self.version.into(), 1)?;
        doc.check_nonempty("title", &self.title)?;
        self.validate_data(doc)?;
        self.validate_columns(doc)?;
        for (i, step) in self.preprocess.iter().enumerate() {
            self.validate_step(doc, i, step)?;
        }
        if self.tasks.is_empty() {
            return Err(doc.invalid("task", "a benchmark needs at least one [[task]]"));
        }
        for (i, task) in self.tasks.iter().enumerate() {
            if let Some(first) = self.tasks[..i].iter().position(|t| t.id == task.id) {
                return Err(doc.invalid(
                    format!("task[{i}].id"),
                    format!("duplicate task id `{}` (also task[{first}])", task.id),
                ));
            }
            self.validate_task(doc, i, task)?;
        }
        self.validate_lambda_sweep(doc)?;
        Ok(())
    }
}

impl Loaded<BenchmarkManifest> {
    /// Where a data file is: a local one resolved against the manifest's folder, a remote one
    /// at its place in `cache` (which holds it once fetched).
    pub fn locate(
        &self,
        location: &DataLocation,
        sha256: Option<&str>,
        cache: &DataCache,
    ) -> PathBuf {
        match location {
            DataLocation::Local(p) => self.resolve(p),
            DataLocation::Remote(r) => cache.blob_path(r, sha256),
        }
    }

    /// The profile table's path (see [`Self::locate`]).
    pub fn profiles_path(&self, cache: &DataCache) -> PathBuf {
        let data = &self.manifest.data;
        self.locate(&data.profiles, data.sha256.as_deref(), cache)
    }

    /// The profile table, annotation files, split file and blocklists, resolved (remote ones at
    /// their place in `cache`), with their pinned digests.
    pub fn data_files(&self, cache: &DataCache) -> Vec<DataRef> {
        let data = &self.manifest.data;
        let mut out = vec![DataRef {
            key: "data.profiles".to_string(),
            path: self.profiles_path(cache),
            sha256: data.sha256.clone(),
            remote: data.profiles.remote().cloned(),
        }];
        out.extend(data.images.iter().map(|images| DataRef {
            key: "data.images".to_string(),
            path: self.resolve(images),
            sha256: data.images_sha256.clone(),
            remote: None,
        }));
        out.extend(data.annotations.iter().enumerate().map(|(i, a)| DataRef {
            key: format!("data.annotations[{i}].path"),
            path: self.locate(&a.path, a.sha256.as_deref(), cache),
            sha256: a.sha256.clone(),
            remote: a.path.remote().cloned(),
        }));
        out.extend(data.join.iter().enumerate().map(|(i, j)| DataRef {
            key: format!("data.join[{i}].path"),
            path: self.locate(&j.path, j.sha256.as_deref(), cache),
            sha256: j.sha256.clone(),
            remote: j.path.remote().cloned(),
        }));
        if let Some(split) = &self.manifest.columns.split
            && let Some(file) = &split.file
        {
            out.push(DataRef {
                key: "columns.split.file".to_string(),
                path: self.resolve(file),
                sha256: split.sha256.clone(),
                remote: None,
            });
        }
        out.extend(
            self.manifest
                .preprocess
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.blocklist.as_ref().map(|b| DataRef {
                        key: format!("preprocess[{i}].blocklist"),
                        path: self.resolve(b),
                        sha256: None,
                        remote: None,
                    })
                }),
        );
        out
    }

    /// Every metadata column the manifest names, with the key that names it, so a check can
    /// compare them with the profile table's header. Preprocessing `columns` lists are left out:
    /// they may name feature columns.
    pub fn referenced_columns(&self) -> Vec<(String, String)> {
        let m = &self.manifest;
        let c = &m.columns;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut one = |key: String, col: &str| out.push((key, col.to_string()));
        for (role, col) in [
            ("perturbation", &c.perturbation),
            ("plate", &c.plate),
            ("well", &c.well),
            ("batch", &c.batch),
        ] {
            if let Some(col) = col {
                one(format!("columns.{role}"), col);
            }
        }
        for (i, col) in c.replicate.iter().enumerate() {
            one(format!("columns.replicate[{i}]"), col);
        }
        if let Some(ctl) = &c.control {
            one("columns.control.column".into(), &ctl.column);
        }
        for (i, col) in c.labels.iter().enumerate() {
            one(format!("columns.labels[{i}]"), col);
        }
        if let Some(split) = &c.split {
            one("columns.split.column".into(), &split.column);
        }
        for (i, j) in m.data.join.iter().enumerate() {
            for (k, col) in j.on.iter().enumerate() {
                one(format!("data.join[{i}].on[{k}]"), col);
            }
        }
        for (i, expr) in m.data.rows.iter().enumerate() {
            if let Ok(f) = crate::filter::RowFilter::parse(expr) {
                one(format!("data.rows[{i}]"), &f.column);
            }
        }
        for (i, s) in m.preprocess.iter().enumerate() {
            for (j, col) in s.by.iter().flatten().enumerate() {
                one(format!("preprocess[{i}].by[{j}]"), col);
            }
            if let Some(col) = &s.batch {
                one(format!("preprocess[{i}].batch"), col);
            }
        }
        for (i, t) in m.tasks.iter().enumerate() {
            for (name, list) in t.params.column_lists() {
                for (j, col) in list.iter().enumerate() {
                    one(format!("task[{i}].{name}[{j}]"), col);
                }
            }
            for (name, col) in t.params.columns() {
                one(format!("task[{i}].{name}"), col);
            }
        }
        out
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.manifest.tasks.iter().find(|t| t.id == id)
    }
}
