//! A run split across machines: `cpbench run --shard i/n --out-shard FILE` computes part `i` of
//! the sharded tasks' work, and `cpbench merge` turns every part into the run's files.
//!
//! Every part runs the plugin and the benchmark's preprocessing (deterministic, so each part
//! scores the same profiles), then computes only its share of the costly tasks: a mAP task's
//! queries `Shard::range(queries)` and a k-means task's restarts `Shard::range(restarts)` (at k
//! and at every k of a sweep). Other tasks, the views and the λ sweep are left to the merge.
//! The merge runs the plugin and preprocessing once more, computes the other tasks, and finishes
//! the sharded ones from the parts: p-values, q-values, means, SDs and best restarts are computed
//! over every part's values in query and restart order, so the result (timing aside), the plot
//! data and the report are the bytes of an unsharded run.
//!
//! A part's file names what it is a part of (`cpbench_results::shard`): the benchmark and plugin
//! ids, and, folded into its `input_sha256`, the hashes a result's identity holds (benchmark
//! manifest, data files, plugin artifacts); its key adds the harness build and the part count.
//! A part whose file already holds this key is not recomputed (a workflow's rerun).
//!
//! A part whose plugin or scoring fails records why and holds no share. The merge then runs the
//! plugin itself and scores every task whole: when that fails, the result is the failure an
//! unsharded run records (same reasons); when it all succeeds (the part's failure came from
//! outside: a lost node, a timeout), the merge refuses with
//! [`crate::error::Error::PartsIncomplete`] and writes nothing (rerun the parts).

use std::collections::BTreeMap;
use std::path::Path;

use cpbench_metrics::retrieval::{ApShard, ApTable, Shard};
use cpbench_results::shard::{
    KmeansShard, MapShard, RestartColumns, SHARD_FORMAT, SHARD_VERSION, ShardFile, TaskShard,
};

use crate::error::{Context, Result};
use crate::eval::kmeans::{RestartsPart, ScoredRestart};
use crate::{bail, err};

use super::tasks::TaskPart;

/// The `kind` of a run's shard files.
pub const RUN_KIND: &str = "run";

/// A part's AP rows as a shard file holds them (floating point as bits).
pub fn map_shard(part: ApShard) -> MapShard {
    MapShard {
        pos_pairs_seen: part.n_pos,
        neg_pairs_seen: part.n_neg,
        row: part.table.row,
        label: part.table.label,
        average_precision_bits: part
            .table
            .average_precision
            .iter()
            .map(|v| v.to_bits())
            .collect(),
        n_pos_pairs: part.table.n_pos_pairs,
        n_total_pairs: part.table.n_total_pairs,
    }
}

/// The AP rows of a shard file's part, as the metrics crate merges them.
pub fn ap_shard(m: &MapShard) -> ApShard {
    ApShard {
        table: ApTable {
            row: m.row.clone(),
            label: m.label.clone(),
            average_precision: m
                .average_precision_bits
                .iter()
                .map(|b| f64::from_bits(*b))
                .collect(),
            n_pos_pairs: m.n_pos_pairs.clone(),
            n_total_pairs: m.n_total_pairs.clone(),
        },
        n_pos: m.pos_pairs_seen,
        n_neg: m.neg_pairs_seen,
    }
}

fn restart_columns(runs: &[ScoredRestart]) -> RestartColumns {
    RestartColumns {
        seed: runs.iter().map(|r| r.seed).collect(),
        iterations: runs.iter().map(|r| r.iterations).collect(),
        inertia_bits: runs.iter().map(|r| r.inertia.to_bits()).collect(),
        nmi_bits: runs.iter().map(|r| r.nmi.to_bits()).collect(),
        ari_bits: runs.iter().map(|r| r.ari.to_bits()).collect(),
        purity_bits: runs.iter().map(|r| r.purity.to_bits()).collect(),
    }
}

fn scored_restarts(c: &RestartColumns) -> Vec<ScoredRestart> {
    (0..c.seed.len())
        .map(|i| ScoredRestart {
            seed: c.seed[i],
            inertia: f64::from_bits(c.inertia_bits[i]),
            iterations: c.iterations[i],
            nmi: f64::from_bits(c.nmi_bits[i]),
            ari: f64::from_bits(c.ari_bits[i]),
            purity: f64::from_bits(c.purity_bits[i]),
            labels: Vec::new(),
        })
        .collect()
}

/// A task's part as its shard file holds it.
pub fn task_shard(task: &str, part: TaskPart) -> TaskShard {
    let (map, kmeans) = match part {
        TaskPart::Map(ap) => (Some(map_shard(ap)), None),
        TaskPart::Kmeans(r) => (
            None,
            Some(KmeansShard {
                first: r.first,
                at_k: restart_columns(&r.at_k),
                sweep: r.sweep.iter().map(|s| restart_columns(s)).collect(),
            }),
        ),
    };
    TaskShard {
        task: task.to_string(),
        map,
        kmeans,
    }
}

fn task_part(name: &str, t: &TaskShard) -> Result<TaskPart> {
    Ok(match (&t.map, &t.kmeans) {
        (Some(m), None) => TaskPart::Map(ap_shard(m)),
        (None, Some(k)) => TaskPart::Kmeans(RestartsPart {
            first: k.first,
            at_k: scored_restarts(&k.at_k),
            sweep: k.sweep.iter().map(scored_restarts).collect(),
        }),
        _ => bail!(
            "{name}: task `{}` holds not exactly one of map and kmeans",
            t.task
        ),
    })
}

/// The parts of one run, checked complete and consistent, ready for the merge.
pub struct MergeParts {
    /// How many parts.
    pub count: usize,
    /// Each sharded task's parts, in part order.
    pub tasks: BTreeMap<String, Vec<TaskPart>>,
    /// The first part that failed and why (then no part's share is used).
    pub failed: Option<String>,
}

/// Collects `files` (every part once, checked by `check_complete`) into each task's parts in
/// part order; refuses parts that do not share the same tasks.
pub fn merge_parts(files: &[(String, ShardFile)]) -> Result<MergeParts> {
    let mut sorted: Vec<&(String, ShardFile)> = files.iter().collect();
    sorted.sort_by_key(|(_, f)| f.index);
    let count = sorted.first().map_or(0, |(_, f)| f.count);
    // A failed part holds no share: the merge runs the plugin itself, and when that fails too
    // the run failed, with the reason an unsharded run records.
    let failed = sorted
        .iter()
        .find(|(_, f)| f.failed.is_some())
        .map(|(_, f)| {
            format!(
                "part {}/{} failed: {}",
                f.index,
                f.count,
                f.failed.as_deref().unwrap_or_default()
            )
        });
    if failed.is_some() {
        return Ok(MergeParts {
            count,
            tasks: BTreeMap::new(),
            failed,
        });
    }
    let ids = |f: &ShardFile| -> Vec<String> {
        f.tasks.iter().flatten().map(|t| t.task.clone()).collect()
    };
    let (first_name, first) = sorted[0];
    let expected = ids(first);
    let mut tasks: BTreeMap<String, Vec<TaskPart>> = BTreeMap::new();
    for (name, f) in &sorted {
        if f.kind != RUN_KIND || f.tasks.is_none() {
            bail!("{name}: not a part of a `cpbench run` (kind `{}`)", f.kind);
        }
        if ids(f) != expected {
            bail!(
                "{name} holds shares of tasks [{}], {first_name} of [{}]: the parts did not \
                 score the same tasks",
                ids(f).join(", "),
                expected.join(", ")
            );
        }
        for t in f.tasks.iter().flatten() {
            tasks
                .entry(t.task.clone())
                .or_default()
                .push(task_part(name, t)?);
        }
    }
    Ok(MergeParts {
        count,
        tasks,
        failed: None,
    })
}

/// What identifies a run's parts: the `args` and `input_sha256` of their shard files.
pub fn run_identity(
    benchmark: &cpbench_results::BenchmarkRef,
    plugin: &cpbench_results::PluginRef,
    dataset_files: &[cpbench_results::DatasetFile],
) -> (Vec<String>, String) {
    let args = vec![
        format!("--benchmark={}@v{}", benchmark.id, benchmark.version),
        format!("--plugin={}@{}", plugin.id, plugin.version),
    ];
    let inputs = serde_json::json!({
        "benchmark": benchmark,
        "plugin": plugin,
        "dataset_files": dataset_files,
    });
    let sha = cpbench_core::hash::sha256_bytes(inputs.to_string().as_bytes());
    (args, sha)
}

/// A run's shard file.
pub fn shard_file(
    shard: Shard,
    harness: cpbench_results::HarnessInfo,
    (args, input_sha256): (Vec<String>, String),
    tasks: Vec<TaskShard>,
    failed: Option<String>,
) -> ShardFile {
    let key = ShardFile::key_of(RUN_KIND, shard.count, &args, &input_sha256, &harness);
    ShardFile {
        format: SHARD_FORMAT.into(),
        version: SHARD_VERSION,
        kind: RUN_KIND.into(),
        index: shard.index,
        count: shard.count,
        harness,
        args,
        input_sha256,
        key,
        map: None,
        tasks: Some(tasks),
        failed,
    }
}

/// Reads a shard file; errors name it.
pub fn read_shard_file(path: &Path) -> Result<ShardFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| err!("{}: not a cpbench shard file ({e})", path.display()))
}
