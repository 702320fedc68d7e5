//! One benchmark task on the preprocessed profiles: long-form scores plus plot data.
//!
//! A task's typed parameters ([`Task::params`]: only the keys its metric takes) become the
//! parameter type of its metric (`Origin::Manifest`, so messages name the manifest key) and is computed by the same `evaluate` function `cpbench eval` calls: a
//! benchmark score and an ad-hoc `cpbench eval` on the same profiles are one number by
//! construction. Scores are read from the metric's typed report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cpbench_core::Profiles;
use cpbench_core::manifest::{
    BenchmarkManifest, Columns, EnrichmentTask, KmeansTask, KnnTask, LeakageTask, MapTask,
    PrecisionAtKTask, RelationsTask, ReplicatingTask, Task, TaskParams, VoteTies,
};
use cpbench_metrics::Similarity;
use cpbench_metrics::knn::VoteTie;
use cpbench_metrics::retrieval::{ApShard, Shard};
use cpbench_results::Score;
use cpbench_results::figures::{KCurve, KCurves, KPoint, LeakageBar, MapGroup, MapGroups};
use serde_json::{Value, json};

use crate::error::{Context, Result};
use crate::eval::kmeans::RestartsPart;
use crate::eval::{self, kmeans, knn, leakage, map, precision, relations, replicating};
use crate::params::Origin;
use crate::reporter::Silent;
use crate::table::Source;
use crate::{bail, err};

/// Where a task finds the benchmark's roles and files.
pub struct TaskEnv<'a> {
    /// The benchmark manifest.
    pub manifest: &'a BenchmarkManifest,
    /// The `[[data.annotations]]` files by name, resolved (remote ones in the data cache).
    pub annotations: &'a BTreeMap<String, PathBuf>,
    /// The profile file as named in messages.
    pub file: &'a str,
}

impl TaskEnv<'_> {
    fn source(&self) -> Source {
        Source::named(self.file)
    }
}

/// What one task produced.
#[derive(Default)]
pub struct TaskOutput {
    /// Scores in emission order.
    pub scores: Vec<Score>,
    /// Seeds used, by what they seeded.
    pub seeds: BTreeMap<String, u64>,
    /// Per-group mAP, when the task is a mAP task.
    pub map_groups: Option<MapGroups>,
    /// Clustering curves, when the task sweeps k.
    pub k_curves: Option<KCurves>,
    /// Leakage bar, when the task is batch leakage.
    pub leakage: Option<LeakageBar>,
}

/// `controls` (the `[columns] control` rows) or a row filter, as a filter expression.
pub fn rows_expr(expr: &str, columns: &Columns) -> Result<String> {
    if expr.trim() != "controls" {
        return Ok(expr.to_string());
    }
    let Some(c) = &columns.control else {
        bail!("`controls` needs a [columns] control entry in the benchmark");
    };
    Ok(format!("{} in [{}]", c.column, c.values.join(", ")))
}

fn score(task: &Task, metric: &str, variant: &str, value: f64) -> Score {
    Score {
        task: task.id.clone(),
        metric: metric.into(),
        variant: variant.into(),
        value,
        sd: None,
        ci: None,
        n: None,
        params: BTreeMap::new(),
        primary: false,
    }
}

fn with(mut s: Score, key: &str, value: Value) -> Score {
    s.params.insert(key.into(), value);
    s
}

fn similarity_of(s: Option<cpbench_core::manifest::Similarity>, default: Similarity) -> Similarity {
    s.map_or(default, eval::similarity)
}

/// Runs `task` on `profiles`; errors name the task.
pub fn run_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    run_task_with(task, profiles, env, Vec::new())
}

/// One task's share of a sharded run (`cpbench run --shard i/n`): the work that is split.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskPart {
    /// A mAP task: the average precisions of the part's queries.
    Map(ApShard),
    /// A k-means task: the part's restarts (at k and at every k of the sweep).
    Kmeans(RestartsPart),
}

/// Whether a task's work is split across the parts of a sharded run: mAP tasks (by query)
/// and k-means tasks (by restart), the costly ones. The merge computes every other task whole.
pub fn is_sharded(task: &Task) -> bool {
    matches!(task.params, TaskParams::Map(_) | TaskParams::Kmeans(_))
}

/// The part `shard` of a sharded task ([`is_sharded`]); the same bits [`run_task`] computes
/// for those queries or restarts. Errors name the task.
pub fn task_part(
    task: &Task,
    profiles: Profiles,
    env: &TaskEnv<'_>,
    shard: Shard,
) -> Result<TaskPart> {
    let out = match &task.params {
        TaskParams::Map(t) => map_params(t, env).and_then(|(params, _)| {
            map::evaluate_shard(profiles, &params, &env.source(), &Silent, shard).map(TaskPart::Map)
        }),
        TaskParams::Kmeans(t) => {
            kmeans::evaluate_part(profiles, &kmeans_params(t), &env.source(), shard)
                .map(TaskPart::Kmeans)
        }
        _ => Err(err!(
            "this task is not split across the parts of a sharded run"
        )),
    };
    out.with_context(|| format!("task `{}` ({})", task.id, task.metric()))
}

/// [`run_task`] of a task from the parts of every shard (in part order; [`is_sharded`] tasks
/// only): the same output, bit for bit. With no parts, the task is computed whole.
pub fn run_task_with(
    task: &Task,
    profiles: Profiles,
    env: &TaskEnv<'_>,
    parts: Vec<TaskPart>,
) -> Result<TaskOutput> {
    let out = if parts.is_empty() {
        match &task.params {
            TaskParams::Map(p) => map_task(task, p, profiles, env, None),
            TaskParams::Enrichment(p) => enrichment_task(task, p, &profiles, env),
            TaskParams::PrecisionAtK(p) => precision_task(task, p, &profiles, env),
            TaskParams::Replicating(p) => replicating_task(task, p, &profiles, env),
            TaskParams::Kmeans(p) => kmeans_task(task, p, profiles, env, None),
            TaskParams::KnnAccuracy(p) => knn_task(task, p, &profiles, env),
            TaskParams::BatchLeakage(p) => leakage_task(task, p, &profiles, env),
            TaskParams::Relations(p) => relations_task(task, p, &profiles, env),
            TaskParams::Partition(_) => Err(err!(
                "metric `partition` compares two label columns of a file; it has no meaning on \
                 a plugin's profiles (use `cpbench eval partition`)"
            )),
        }
    } else {
        merged(task, profiles, env, parts)
    };
    out.with_context(|| format!("task `{}` ({})", task.id, task.metric()))
}

fn merged(
    task: &Task,
    profiles: Profiles,
    env: &TaskEnv<'_>,
    parts: Vec<TaskPart>,
) -> Result<TaskOutput> {
    match &task.params {
        TaskParams::Map(p) => {
            let shards = parts
                .into_iter()
                .map(|part| match part {
                    TaskPart::Map(s) => Ok(s),
                    TaskPart::Kmeans(_) => Err(err!("a part holds k-means restarts, not APs")),
                })
                .collect::<Result<Vec<_>>>()?;
            map_task(task, p, profiles, env, Some(shards))
        }
        TaskParams::Kmeans(p) => {
            let runs = parts
                .into_iter()
                .map(|part| match part {
                    TaskPart::Kmeans(r) => Ok(r),
                    TaskPart::Map(_) => Err(err!("a part holds APs, not k-means restarts")),
                })
                .collect::<Result<Vec<_>>>()?;
            kmeans_task(task, p, profiles, env, Some(runs))
        }
        _ => Err(err!(
            "the parts hold a share of this task, but it is not split across parts"
        )),
    }
}

/// The map evaluation's parameters for a task, and its similarity.
fn map_params(t: &MapTask, env: &TaskEnv<'_>) -> Result<(map::Params, Similarity)> {
    let reference = match &t.reference {
        Some(r) => Some(rows_expr(r, &env.manifest.columns)?),
        None => None,
    };
    let similarity = similarity_of(t.similarity, Similarity::Cosine);
    let params = map::Params {
        pos_sameby: t.pos_sameby.clone(),
        pos_diffby: t.pos_diffby.clone(),
        neg_sameby: t.neg_sameby.clone(),
        neg_diffby: t.neg_diffby.clone(),
        reference,
        multilabel: t.multilabel.as_ref().map(|(labels, _)| labels.clone()),
        sep: t
            .multilabel
            .as_ref()
            .map_or_else(|| "|".into(), |(_, sep)| sep.clone()),
        similarity,
        map_by: None,
        null_size: t.null_size.map_or(10_000, |n| n as usize),
        seed: t.seed.unwrap_or(0),
        threshold: t.threshold.unwrap_or(0.05),
        copairs_null: false,
        // Unlabelled rows (DMSO has no MoA) are not queries; copairs users drop them first.
        drop_missing: true,
        threads: 0,
        origin: Origin::Manifest,
    };
    Ok((params, similarity))
}

fn map_task(
    task: &Task,
    t: &MapTask,
    profiles: Profiles,
    env: &TaskEnv<'_>,
    parts: Option<Vec<ApShard>>,
) -> Result<TaskOutput> {
    let (params, similarity) = map_params(t, env)?;
    let out = match parts {
        None => map::evaluate(profiles, &params, &env.source(), &Silent)?,
        Some(parts) => map::evaluate_merged(profiles, &params, &env.source(), &Silent, parts)?,
    };
    let task_params = BTreeMap::from([
        ("similarity".to_string(), json!(similarity.name())),
        ("null_size".to_string(), json!(params.null_size)),
        ("threshold".to_string(), json!(params.threshold)),
    ]);
    let variant = "copairs-0.5";
    let finite =
        |v: &mut dyn Iterator<Item = f64>| -> Vec<f64> { v.filter(|x| x.is_finite()).collect() };
    let group_maps = finite(&mut out.groups.iter().map(|g| g.mean_average_precision));
    let query_aps = finite(&mut out.average_precision.iter().copied());
    if group_maps.is_empty() {
        bail!("no group has positive pairs: nothing to score");
    }
    let mut scores = Vec::new();
    let mut s = score(task, "map", variant, mean(&group_maps));
    s.n = Some(group_maps.len() as u64);
    s.params = task_params.clone();
    s.primary = true;
    scores.push(s);
    let mut s = score(task, "mean-ap", variant, mean(&query_aps));
    s.n = Some(query_aps.len() as u64);
    s.params = task_params.clone();
    scores.push(s);
    if let Some(f) = out.fraction {
        let mut s = score(task, "fraction-retrieved", variant, f);
        s.n = Some(group_maps.len() as u64);
        s.params = task_params;
        s.primary = true;
        scores.push(s);
    }
    let groups = out
        .groups
        .iter()
        .zip(&out.group_labels)
        .filter_map(|(g, label)| {
            let (m, p, q) = (g.mean_average_precision, g.p_value, g.corrected_p_value);
            if !(m.is_finite() && p.is_finite() && q.is_finite()) {
                return None;
            }
            Some(MapGroup {
                label: label.clone(),
                map: m,
                p_value: p,
                q_value: q,
            })
        })
        .collect();
    Ok(TaskOutput {
        scores,
        seeds: BTreeMap::from([(format!("{}.null", task.id), params.seed)]),
        map_groups: Some(MapGroups {
            task: task.id.clone(),
            threshold: params.threshold,
            groups,
        }),
        ..TaskOutput::default()
    })
}

fn enrichment_task(
    task: &Task,
    t: &EnrichmentTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    let similarity = similarity_of(t.similarity, Similarity::Cosine);
    let params = eval::enrichment::Params {
        labels: t.labels.clone(),
        sep: t.multilabel_sep.clone(),
        percentile: t.percentile.unwrap_or(99.0),
        similarity,
        threads: 0,
        origin: Origin::Manifest,
    };
    let report = eval::enrichment::evaluate(profiles, &params, &env.source(), &Silent)?.report;
    let task_params = BTreeMap::from([
        ("similarity".to_string(), json!(similarity.name())),
        ("percentile".to_string(), json!(params.percentile)),
    ]);
    let variant = t.variant.as_deref().unwrap_or("deepprofiler");
    let mut scores = Vec::new();
    if report.folds_of_enrichment.is_finite() {
        let mut s = score(
            task,
            "folds-of-enrichment",
            variant,
            report.folds_of_enrichment,
        );
        s.params = task_params.clone();
        s.n = Some(report.n_queries as u64);
        s.primary = true;
        scores.push(s);
    }
    if report.interpolated_map.is_finite() {
        let mut s = score(task, "interpolated-map", variant, report.interpolated_map);
        s.params = task_params;
        s.n = Some(report.n_interpolated_map_queries as u64);
        scores.push(s);
    }
    if scores.is_empty() {
        bail!("no query has a match: folds of enrichment are undefined");
    }
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn precision_task(
    task: &Task,
    t: &PrecisionAtKTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    let ks: Vec<usize> = t.k.iter().map(|&k| k as usize).collect();
    let params = precision::Params {
        group: vec![t.labels.clone()],
        k: ks.clone(),
        similarity: similarity_of(t.similarity, Similarity::Pearson),
        origin: Origin::Manifest,
    };
    let out = precision::evaluate(profiles, &params, &env.source())?;
    // precision-at-k takes no `variant` key: the scores name the convention they follow.
    let variant = "cytominer-eval";
    let mut scores = Vec::new();
    for &k in &ks {
        let at = out.summary(k);
        for (metric, value, primary) in [
            ("precision-at-k", at.precision, k == ks[0]),
            ("recall-at-k", at.recall, false),
            ("n-precision-1", at.n_precision_1 as f64, false),
            ("n-recall-1", at.n_recall_1 as f64, false),
        ] {
            let mut s = with(score(task, metric, variant, value), "k", json!(k));
            s.params
                .insert("similarity".into(), json!(params.similarity.name()));
            s.n = Some(at.n_groups as u64);
            s.primary = primary;
            scores.push(s);
        }
    }
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn replicating_task(
    task: &Task,
    t: &ReplicatingTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    let replicate = t
        .replicate
        .clone()
        .unwrap_or_else(|| env.manifest.columns.replicate.clone());
    if replicate.is_empty() {
        bail!("needs `replicate` (or `[columns] replicate`)");
    }
    let variant = match t.variant.as_deref().unwrap_or("pair") {
        "pair" => replicating::Variant::Pair,
        "group-median" => replicating::Variant::GroupMedian,
        other => bail!("variant `{other}`: expected pair or group-median"),
    };
    let pair = variant == replicating::Variant::Pair;
    let params = replicating::Params {
        replicate: replicate.clone(),
        variant,
        quantile: t.quantile.unwrap_or(0.95),
        similarity: similarity_of(t.similarity, Similarity::Pearson),
        null_size: t.null_size.filter(|_| !pair).map(|n| n as usize),
        seed: t.seed.filter(|_| !pair),
        threads: 0,
        origin: Origin::Manifest,
    };
    let report = replicating::evaluate(profiles, &params, &env.source(), &Silent)?;
    let value = report.percent_replicating();
    if !value.is_finite() {
        bail!("percent replicating is undefined (no replicate pairs?)");
    }
    let mut s = score(task, "percent-replicating", variant.name(), value);
    s.params = BTreeMap::from([
        ("similarity".to_string(), json!(params.similarity.name())),
        ("quantile".to_string(), json!(params.quantile)),
        ("replicate".to_string(), json!(replicate)),
    ]);
    s.primary = true;
    let mut seeds = BTreeMap::new();
    if let Some(seed) = params.seed {
        seeds.insert(format!("{}.null", task.id), seed);
    }
    Ok(TaskOutput {
        scores: vec![s],
        seeds,
        ..TaskOutput::default()
    })
}

fn kmeans_params(t: &KmeansTask) -> kmeans::Params {
    let mut params = kmeans::Params::new(t.labels.clone(), Origin::Manifest);
    params.k = t.k.map(|k| k as usize);
    params.restarts = t.restarts.map_or(100, |r| r as usize);
    params.seed = t.seed.unwrap_or(0);
    params.silhouette = kmeans::Silhouette::None;
    params.drop_missing = true;
    params.k_sweep = t.k_sweep.map(|[lo, hi]| (lo as usize, hi as usize));
    params
}

fn kmeans_task(
    task: &Task,
    t: &KmeansTask,
    profiles: Profiles,
    env: &TaskEnv<'_>,
    parts: Option<Vec<RestartsPart>>,
) -> Result<TaskOutput> {
    let params = kmeans_params(t);
    let source = env.source();
    let report = match parts {
        None => kmeans::evaluate(profiles, &params, &source, &Silent)?.report,
        Some(parts) => kmeans::evaluate_merged(profiles, &params, &source, &Silent, parts)?.report,
    };
    let k = report.k;
    let mut scores = Vec::new();
    for (metric, m) in [
        ("nmi", report.summary.nmi),
        ("ari", report.summary.ari),
        ("purity", report.summary.purity),
    ] {
        if !m.mean.is_finite() {
            bail!("{metric} is undefined");
        }
        let mut s = with(
            score(task, metric, "mean-over-restarts", m.mean),
            "k",
            json!(k),
        );
        s.sd = Some(m.sd).filter(|sd| sd.is_finite());
        s.n = Some(params.restarts as u64);
        s.primary = true;
        scores.push(s);
    }
    let mut k_curves = None;
    if let Some(points) = &report.k_sweep {
        let mut curves = Vec::new();
        for metric in ["nmi", "ari", "purity"] {
            let mut pts = Vec::new();
            for p in points {
                let m = match metric {
                    "nmi" => p.nmi,
                    "ari" => p.ari,
                    _ => p.purity,
                };
                if !m.mean.is_finite() {
                    continue;
                }
                let sd = Some(m.sd).filter(|sd| sd.is_finite());
                let mut s = with(score(task, metric, "k-sweep", m.mean), "k", json!(p.k));
                s.sd = sd;
                s.n = Some(params.restarts as u64);
                scores.push(s);
                pts.push(KPoint {
                    k: p.k as u32,
                    mean: m.mean,
                    sd: sd.unwrap_or(0.0),
                });
            }
            curves.push(KCurve {
                metric: metric.into(),
                points: pts,
            });
        }
        k_curves = Some(KCurves {
            task: task.id.clone(),
            k_reference: Some(k as u32),
            curves,
        });
    }
    Ok(TaskOutput {
        scores,
        seeds: BTreeMap::from([(format!("{}.kmeans", task.id), params.seed)]),
        k_curves,
        ..TaskOutput::default()
    })
}

fn knn_task(
    task: &Task,
    t: &KnnTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    let ks: Vec<u32> = if t.k.is_empty() { vec![1] } else { t.k.clone() };
    let similarity = similarity_of(t.similarity, Similarity::Cosine);
    // knn-accuracy takes no `variant` key: the scores name the protocol.
    let variant = "leave-one-out";
    let exclude_same = t.exclude_same.clone();
    let mut scores = Vec::new();
    for (i, &k) in ks.iter().enumerate() {
        let params = knn::Params {
            labels: t.labels.clone(),
            k: k as usize,
            exclude_same: exclude_same.clone(),
            similarity,
            vote_tie: match t.vote_ties {
                Some(VoteTies::Sklearn) => VoteTie::LowestLabel,
                Some(VoteTies::SummedSimilarity) | None => VoteTie::SummedSimilarity,
            },
            threads: 0,
            origin: Origin::Manifest,
        };
        let report = knn::evaluate(profiles, &params, &env.source(), &Silent)?;
        if !report.accuracy.is_finite() {
            bail!("no query scored");
        }
        let mut s = with(
            score(task, "knn-accuracy", variant, report.accuracy),
            "k",
            json!(k),
        );
        s.params
            .insert("similarity".into(), json!(similarity.name()));
        s.params.insert("exclude_same".into(), json!(exclude_same));
        // Recorded only when set, so results of tasks without the key keep their bytes.
        if t.vote_ties.is_some() {
            s.params
                .insert("vote_ties".into(), json!(params.vote_tie.name()));
        }
        s.n = Some(report.n);
        s.primary = i == 0;
        scores.push(s);
    }
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn leakage_task(
    task: &Task,
    t: &LeakageTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    let columns = &env.manifest.columns;
    let controls = rows_expr(t.controls.as_deref().unwrap_or("controls"), columns)?;
    let target = t.target.clone();
    let groups = t
        .groups
        .clone()
        .or_else(|| columns.plate.clone())
        .ok_or_else(|| err!("needs `groups` (or `[columns] plate`)"))?;
    let params = leakage::Params {
        controls,
        target: target.clone(),
        groups: groups.clone(),
        folds: t.folds.map_or(5, |f| f as usize),
        seed: t.seed.unwrap_or(0),
        c: 1.0,
        knn_k: 5,
        // The task scores the logistic classifier only; the kNN rule does not reach a score.
        knn_vote_tie: VoteTie::SummedSimilarity,
        label: None,
        origin: Origin::Manifest,
    };
    let report = leakage::evaluate(profiles, &params, &env.source(), &Silent)?;
    let ba = &report.logistic.balanced_accuracy;
    if !ba.mean.is_finite() {
        bail!("balanced accuracy undefined");
    }
    let (value, sd) = (ba.mean, if ba.sd.is_finite() { ba.sd } else { 0.0 });
    let chance = if report.chance.is_finite() {
        report.chance
    } else {
        0.0
    };
    let variant = t.variant.as_deref().unwrap_or("logistic-grouped-cv");
    let task_params = BTreeMap::from([
        ("target".to_string(), json!(target)),
        ("groups".to_string(), json!(groups)),
        ("folds".to_string(), json!(params.folds)),
    ]);
    let mut s = score(task, "batch-leakage", variant, value);
    s.sd = Some(sd);
    s.n = Some(params.folds as u64);
    s.params = task_params.clone();
    s.primary = true;
    let mut c = score(task, "chance", variant, chance);
    c.params = task_params;
    Ok(TaskOutput {
        scores: vec![s, c],
        seeds: BTreeMap::from([(format!("{}.folds", task.id), params.seed)]),
        leakage: Some(LeakageBar {
            task: task.id.clone(),
            target,
            balanced_accuracy: value,
            sd,
            chance,
        }),
        ..TaskOutput::default()
    })
}

fn relations_task(
    task: &Task,
    t: &RelationsTask,
    profiles: &Profiles,
    env: &TaskEnv<'_>,
) -> Result<TaskOutput> {
    // The task's own `labels` names the gene column; `[columns] perturbation` is the fallback
    // (at gene level after an aggregation, the perturbation column may be gone).
    let gene = t
        .labels
        .clone()
        .or_else(|| env.manifest.columns.perturbation.clone())
        .ok_or_else(|| err!("needs `labels` or `[columns] perturbation` (the gene column)"))?;
    let names = t.pairs.clone();
    let mut files = Vec::new();
    for name in &names {
        let path = env
            .annotations
            .get(name)
            .ok_or_else(|| err!("pairs: no [[data.annotations]] is named `{name}`"))?;
        files.push(path.clone());
    }
    let params = relations::Params {
        gene_column: gene,
        pairs: files,
        min_genes: 20,
        similarity: similarity_of(t.similarity, Similarity::Cosine),
        threads: 0,
        origin: Origin::Manifest,
    };
    let report = relations::evaluate(profiles, &params, &env.source(), &Silent)?;
    let mut scores = Vec::new();
    let mut first_tail = Vec::new();
    for (name, entry) in names.iter().zip(&report.sources) {
        for (t, tail) in entry.recall.iter().enumerate() {
            if !tail.recall.is_finite() {
                continue;
            }
            let mut s = score(task, "recall", "efaar", tail.recall);
            s.params.insert("source".into(), json!(name));
            s.params
                .insert("tail".into(), json!([tail.lower, tail.upper]));
            s.n = Some(entry.n_pairs as u64);
            scores.push(s);
            if t == 0 {
                first_tail.push(tail.recall);
            }
        }
    }
    if first_tail.is_empty() {
        bail!("no pair source had enough genes to score");
    }
    let mut s = score(task, "relation-recall", "efaar-mean", mean(&first_tail));
    s.n = Some(first_tail.len() as u64);
    s.params.insert("sources".into(), json!(names));
    s.primary = true;
    scores.insert(0, s);
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
