//! One benchmark task on the preprocessed profiles: long-form scores plus plot data.
//!
//! A task is translated into the flags of the matching `cpbench eval` command and computed by
//! the same code, so a benchmark score and an ad-hoc `cpbench eval` on the same profiles are
//! one number by construction (and share their parameter checks and error messages).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use cpbench_core::Profiles;
use cpbench_core::manifest::{BenchmarkManifest, Columns, Metric, Similarity, Task};
use cpbench_metrics::ranking::precision_recall_at_k;
use cpbench_report::Score;
use cpbench_report::figures::{KCurve, KCurves, KPoint, LeakageBar, MapGroup, MapGroups};
use polars::prelude::*;
use serde_json::{Value, json};

use crate::cmd::eval::common::{group_keys, matrix};
use crate::cmd::eval::{enrichment, kmeans, knn, leakage, map, relations, replicating};

/// Where a task finds the benchmark's roles and files.
pub struct TaskEnv<'a> {
    /// The benchmark manifest.
    pub manifest: &'a BenchmarkManifest,
    /// Folder relative paths of the manifest resolve against.
    pub dir: &'a Path,
    /// The profile file as named in messages.
    pub file: &'a str,
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

/// Clap wrapper so a task can be parsed into an eval command's arguments.
#[derive(Parser)]
#[command(no_binary_name = true)]
struct Wrap<T: clap::Args> {
    #[command(flatten)]
    inner: T,
}

fn parse<T: clap::Args>(argv: Vec<String>, task: &Task) -> Result<T> {
    Wrap::<T>::try_parse_from(&argv)
        .map(|w| w.inner)
        .map_err(|e| anyhow!("task `{}`: {}", task.id, e.to_string().trim()))
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

struct Argv(Vec<String>);

impl Argv {
    fn new(file: &str) -> Argv {
        Argv(vec!["--profiles".into(), file.into()])
    }
    fn flag(&mut self, name: &str, value: impl ToString) -> &mut Argv {
        self.0.push(format!("--{name}"));
        self.0.push(value.to_string());
        self
    }
    fn opt(&mut self, name: &str, value: Option<impl ToString>) -> &mut Argv {
        if let Some(v) = value {
            self.flag(name, v);
        }
        self
    }
    fn list(&mut self, name: &str, values: Option<&Vec<String>>) -> &mut Argv {
        if let Some(v) = values
            && !v.is_empty()
        {
            self.flag(name, v.join(","));
        }
        self
    }
    fn switch(&mut self, name: &str) -> &mut Argv {
        self.0.push(format!("--{name}"));
        self
    }
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

fn labels_of(task: &Task) -> Result<&str> {
    task.labels
        .as_deref()
        .ok_or_else(|| anyhow!("task `{}`: needs `labels`", task.id))
}

/// Runs `task` on `profiles`; errors name the task.
pub fn run_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let out = match task.metric {
        Metric::Map => map_task(task, profiles, env),
        Metric::Enrichment => enrichment_task(task, profiles, env),
        Metric::PrecisionAtK => precision_task(task, profiles),
        Metric::Replicating => replicating_task(task, profiles, env),
        Metric::Kmeans => kmeans_task(task, profiles, env),
        Metric::KnnAccuracy => knn_task(task, profiles, env),
        Metric::BatchLeakage => leakage_task(task, profiles, env),
        Metric::Relations => relations_task(task, profiles, env),
        Metric::Partition => bail!(
            "metric `partition` compares two label columns of a file; it has no meaning on a \
             plugin's profiles (use `cpbench eval partition`)"
        ),
    };
    out.with_context(|| format!("task `{}` ({})", task.id, task.metric))
}

fn map_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let mut a = Argv::new(env.file);
    a.flag("out-ap", "ap.csv").flag("out-map", "map.csv");
    a.list("pos-sameby", task.pos_sameby.as_ref())
        .list("pos-diffby", task.pos_diffby.as_ref())
        .list("neg-sameby", task.neg_sameby.as_ref())
        .list("neg-diffby", task.neg_diffby.as_ref());
    if let Some(r) = &task.reference {
        a.flag("reference", rows_expr(r, &env.manifest.columns)?);
    }
    if let Some(sep) = &task.multilabel_sep {
        a.flag("multilabel", labels_of(task)?).flag("sep", sep);
    }
    let similarity = task.similarity.map(sim_name).unwrap_or("cosine");
    let null_size = task.null_size.unwrap_or(10_000);
    let seed = task.seed.unwrap_or(0);
    let threshold = task.threshold.unwrap_or(0.05);
    a.flag("similarity", similarity)
        .flag("null-size", null_size)
        .flag("seed", seed)
        .flag("threshold", threshold)
        // Unlabelled rows (DMSO has no MoA) are not queries; copairs users drop them first.
        .switch("drop-missing");
    let args: map::Args = parse(a.0, task)?;
    let out = map::compute(&args, profiles)?;
    let params = BTreeMap::from([
        ("similarity".to_string(), json!(similarity)),
        ("null_size".to_string(), json!(null_size)),
        ("threshold".to_string(), json!(threshold)),
    ]);
    let variant = "copairs-0.5";
    let maps = column_f64(&out.map, "mean_average_precision")?;
    let ps = column_f64(&out.map, "p_value")?;
    let qs = column_f64(&out.map, "corrected_p_value")?;
    let aps = column_f64(&out.ap, "average_precision")?;
    let finite = |v: &[Option<f64>]| -> Vec<f64> {
        v.iter()
            .flatten()
            .copied()
            .filter(|x| x.is_finite())
            .collect()
    };
    let (group_maps, query_aps) = (finite(&maps), finite(&aps));
    if group_maps.is_empty() {
        bail!("no group has positive pairs: nothing to score");
    }
    let mut scores = Vec::new();
    let mut s = score(task, "map", variant, mean(&group_maps));
    s.n = Some(group_maps.len() as u64);
    s.params = params.clone();
    s.primary = true;
    scores.push(s);
    let mut s = score(task, "mean-ap", variant, mean(&query_aps));
    s.n = Some(query_aps.len() as u64);
    s.params = params.clone();
    scores.push(s);
    if let Some(f) = out.fraction {
        let mut s = score(task, "fraction-retrieved", variant, f);
        s.n = Some(group_maps.len() as u64);
        s.params = params;
        s.primary = true;
        scores.push(s);
    }
    // Group labels: every column of the map table before its statistics.
    let stats = out
        .map
        .get_column_names()
        .iter()
        .position(|c| c.as_str() == "n_members")
        .unwrap_or(0);
    let key_cols: Vec<Vec<Option<String>>> = out.map.columns()[..stats]
        .iter()
        .map(|c| {
            let c = c.cast(&DataType::String)?;
            Ok(c.str()?.iter().map(|v| v.map(str::to_string)).collect())
        })
        .collect::<Result<_>>()?;
    let groups = (0..out.map.height())
        .filter_map(|i| {
            let (m, p, q) = (maps[i]?, ps[i]?, qs[i]?);
            if !(m.is_finite() && p.is_finite() && q.is_finite()) {
                return None;
            }
            let label = key_cols
                .iter()
                .map(|c| c[i].clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" / ");
            Some(MapGroup {
                label,
                map: m,
                p_value: p,
                q_value: q,
            })
        })
        .collect();
    Ok(TaskOutput {
        scores,
        seeds: BTreeMap::from([(format!("{}.null", task.id), seed)]),
        map_groups: Some(MapGroups {
            task: task.id.clone(),
            threshold,
            groups,
        }),
        ..TaskOutput::default()
    })
}

fn enrichment_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let mut a = Argv::new(env.file);
    let similarity = task.similarity.map(sim_name).unwrap_or("cosine");
    let percentile = task.percentile.unwrap_or(99.0);
    a.flag("out", "e.json")
        .flag("labels", labels_of(task)?)
        .opt("sep", task.multilabel_sep.as_ref())
        .flag("percentile", percentile)
        .flag("similarity", similarity);
    let args: enrichment::Args = parse(a.0, task)?;
    let report = enrichment::compute(&args, profiles)?;
    let params = BTreeMap::from([
        ("similarity".to_string(), json!(similarity)),
        ("percentile".to_string(), json!(percentile)),
    ]);
    let variant = task.variant.as_deref().unwrap_or("deepprofiler");
    let n = report["n_queries"].as_u64();
    let mut scores = Vec::new();
    if let Some(v) = finite_json(&report["folds_of_enrichment"]) {
        let mut s = score(task, "folds-of-enrichment", variant, v);
        s.params = params.clone();
        s.n = n;
        s.primary = true;
        scores.push(s);
    }
    if let Some(v) = finite_json(&report["interpolated_map"]) {
        let mut s = score(task, "interpolated-map", variant, v);
        s.params = params;
        s.n = report["n_interpolated_map_queries"].as_u64();
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

fn precision_task(task: &Task, profiles: Profiles) -> Result<TaskOutput> {
    let columns = task
        .replicate
        .clone()
        .or_else(|| task.labels.clone().map(|l| vec![l]))
        .ok_or_else(|| anyhow!("needs `labels` (or `replicate`): the groups to retrieve"))?;
    let ks: Vec<usize> = match (&task.k_values, task.k) {
        (Some(ks), _) => ks.iter().map(|&k| k as usize).collect(),
        (None, Some(k)) => vec![k as usize],
        (None, None) => bail!("needs `k` or `k_values`"),
    };
    let similarity = task.similarity.map(sim_name).unwrap_or("pearson").parse()?;
    let groups = group_keys(&profiles, &columns, "profiles")?;
    let x = matrix(&profiles)?;
    let results = precision_recall_at_k(x, &groups, &ks, similarity, 0)?;
    let variant = task.variant.as_deref().unwrap_or("cytominer-eval");
    let mut scores = Vec::new();
    for &k in &ks {
        let at: Vec<_> = results.iter().filter(|r| r.k == k).collect();
        let n = at.len() as f64;
        let p = at.iter().map(|r| r.precision).sum::<f64>() / n;
        let r = at.iter().map(|r| r.recall).sum::<f64>() / n;
        let p1 = at.iter().filter(|r| r.precision == 1.0).count() as f64;
        let r1 = at.iter().filter(|r| r.recall == 1.0).count() as f64;
        for (metric, value, primary) in [
            ("precision-at-k", p, k == ks[0]),
            ("recall-at-k", r, false),
            ("n-precision-1", p1, false),
            ("n-recall-1", r1, false),
        ] {
            let mut s = with(score(task, metric, variant, value), "k", json!(k));
            s.params
                .insert("similarity".into(), json!(similarity.name()));
            s.n = Some(at.len() as u64);
            s.primary = primary;
            scores.push(s);
        }
    }
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn replicating_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let replicate = task
        .replicate
        .clone()
        .unwrap_or_else(|| env.manifest.columns.replicate.clone());
    if replicate.is_empty() {
        bail!("needs `replicate` (or `[columns] replicate`)");
    }
    let variant = task.variant.as_deref().unwrap_or("pair");
    let similarity = task.similarity.map(sim_name).unwrap_or("pearson");
    let quantile = task.quantile.unwrap_or(0.95);
    let mut a = Argv::new(env.file);
    a.flag("out", "r.json")
        .flag("replicate", replicate.join(","))
        .flag("variant", variant)
        .flag("quantile", quantile)
        .flag("similarity", similarity);
    if variant != "pair" {
        a.opt("null-size", task.null_size).opt("seed", task.seed);
    }
    let args: replicating::Args = parse(a.0, task)?;
    let report = replicating::compute(&args, profiles)?;
    let value = finite_json(&report["percent_replicating"])
        .ok_or_else(|| anyhow!("percent replicating is undefined (no replicate pairs?)"))?;
    let mut s = score(task, "percent-replicating", variant, value);
    s.params = BTreeMap::from([
        ("similarity".to_string(), json!(similarity)),
        ("quantile".to_string(), json!(quantile)),
        ("replicate".to_string(), json!(replicate)),
    ]);
    s.primary = true;
    let mut seeds = BTreeMap::new();
    if let Some(seed) = task.seed.filter(|_| variant != "pair") {
        seeds.insert(format!("{}.null", task.id), seed);
    }
    Ok(TaskOutput {
        scores: vec![s],
        seeds,
        ..TaskOutput::default()
    })
}

fn kmeans_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let labels = labels_of(task)?;
    let restarts = task.restarts.unwrap_or(100);
    let seed = task.seed.unwrap_or(0);
    let mut a = Argv::new(env.file);
    a.flag("out", "k.json")
        .flag("labels", labels)
        .flag("k", task.k.map_or("auto".to_string(), |k| k.to_string()))
        .flag("restarts", restarts)
        .flag("seed", seed)
        .flag("silhouette", "none")
        .switch("drop-missing");
    if let Some([lo, hi]) = task.k_sweep {
        a.flag("k-sweep", format!("{lo}:{hi}"));
    }
    let args: kmeans::Args = parse(a.0, task)?;
    let report = kmeans::compute(&args, profiles)?;
    let k = report["k"].as_u64().unwrap_or(0);
    let mut scores = Vec::new();
    for metric in ["nmi", "ari", "purity"] {
        let m = &report["summary"][metric];
        let value = finite_json(&m["mean"]).ok_or_else(|| anyhow!("{metric} is undefined"))?;
        let mut s = with(
            score(task, metric, "mean-over-restarts", value),
            "k",
            json!(k),
        );
        s.sd = finite_json(&m["sd"]);
        s.n = Some(restarts as u64);
        s.primary = true;
        scores.push(s);
    }
    let mut k_curves = None;
    if let Some(points) = report["k_sweep"].as_array() {
        let mut curves = Vec::new();
        for metric in ["nmi", "ari", "purity"] {
            let mut pts = Vec::new();
            for p in points {
                let pk = p["k"].as_u64().unwrap_or(0);
                let (Some(mean), sd) = (
                    finite_json(&p[metric]["mean"]),
                    finite_json(&p[metric]["sd"]),
                ) else {
                    continue;
                };
                let mut s = with(score(task, metric, "k-sweep", mean), "k", json!(pk));
                s.sd = sd;
                s.n = Some(restarts as u64);
                scores.push(s);
                pts.push(KPoint {
                    k: pk as u32,
                    mean,
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
        seeds: BTreeMap::from([(format!("{}.kmeans", task.id), seed)]),
        k_curves,
        ..TaskOutput::default()
    })
}

fn knn_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let ks: Vec<u32> = match (&task.k_values, task.k) {
        (Some(ks), _) => ks.clone(),
        (None, k) => vec![k.unwrap_or(1)],
    };
    let similarity = task.similarity.map(sim_name).unwrap_or("cosine");
    let variant = task.variant.as_deref().unwrap_or("leave-one-out");
    let mut scores = Vec::new();
    for (i, &k) in ks.iter().enumerate() {
        let mut a = Argv::new(env.file);
        a.flag("out", "n.json")
            .flag("labels", labels_of(task)?)
            .flag("k", k)
            .flag("similarity", similarity)
            .list("exclude-same", task.exclude_same.as_ref());
        let args: knn::Args = parse(a.0, task)?;
        let report = knn::compute(&args, profiles.clone())?;
        let value = finite_json(&report["accuracy"]).ok_or_else(|| anyhow!("no query scored"))?;
        let mut s = with(score(task, "knn-accuracy", variant, value), "k", json!(k));
        s.params.insert("similarity".into(), json!(similarity));
        s.params.insert(
            "exclude_same".into(),
            json!(task.exclude_same.clone().unwrap_or_default()),
        );
        s.n = report["n"].as_u64();
        s.primary = i == 0;
        scores.push(s);
    }
    Ok(TaskOutput {
        scores,
        ..TaskOutput::default()
    })
}

fn leakage_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let columns = &env.manifest.columns;
    let controls = rows_expr(task.controls.as_deref().unwrap_or("controls"), columns)?;
    let target = task
        .target
        .clone()
        .or_else(|| columns.batch.clone())
        .ok_or_else(|| anyhow!("needs `target` (or `[columns] batch`)"))?;
    let groups = task
        .groups
        .clone()
        .or_else(|| columns.plate.clone())
        .ok_or_else(|| anyhow!("needs `groups` (or `[columns] plate`)"))?;
    let folds = task.folds.unwrap_or(5);
    let seed = task.seed.unwrap_or(0);
    let mut a = Argv::new(env.file);
    a.flag("out", "l.json")
        .flag("controls", &controls)
        .flag("target", &target)
        .flag("groups", &groups)
        .flag("folds", folds)
        .flag("seed", seed);
    let args: leakage::Args = parse(a.0, task)?;
    let report = leakage::compute(&args, profiles)?;
    let ba = &report["logistic"]["balanced_accuracy"];
    let value = finite_json(&ba["mean"]).ok_or_else(|| anyhow!("balanced accuracy undefined"))?;
    let sd = finite_json(&ba["sd"]).unwrap_or(0.0);
    let chance = finite_json(&report["chance"]).unwrap_or(0.0);
    let variant = task.variant.as_deref().unwrap_or("logistic-grouped-cv");
    let params = BTreeMap::from([
        ("target".to_string(), json!(target)),
        ("groups".to_string(), json!(groups)),
        ("folds".to_string(), json!(folds)),
    ]);
    let mut s = score(task, "batch-leakage", variant, value);
    s.sd = Some(sd);
    s.n = Some(folds as u64);
    s.params = params.clone();
    s.primary = true;
    let mut c = score(task, "chance", variant, chance);
    c.params = params;
    Ok(TaskOutput {
        scores: vec![s, c],
        seeds: BTreeMap::from([(format!("{}.folds", task.id), seed)]),
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

fn relations_task(task: &Task, profiles: Profiles, env: &TaskEnv<'_>) -> Result<TaskOutput> {
    let gene = env
        .manifest
        .columns
        .perturbation
        .clone()
        .or_else(|| task.labels.clone())
        .ok_or_else(|| anyhow!("needs `[columns] perturbation` (the gene column)"))?;
    let names = task
        .pairs
        .clone()
        .ok_or_else(|| anyhow!("needs `pairs` (annotation names)"))?;
    let mut files = Vec::new();
    for name in &names {
        let a = env
            .manifest
            .data
            .annotations
            .iter()
            .find(|a| &a.name == name)
            .ok_or_else(|| anyhow!("pairs: no [[data.annotations]] is named `{name}`"))?;
        files.push(env.dir.join(&a.path).display().to_string());
    }
    let similarity = task.similarity.map(sim_name).unwrap_or("cosine");
    let mut a = Argv::new(env.file);
    a.flag("out", "r.json")
        .flag("gene-column", &gene)
        .flag("pairs", files.join(","))
        .flag("similarity", similarity);
    let args: relations::Args = parse(a.0, task)?;
    let report = relations::compute(&args, profiles)?;
    let mut scores = Vec::new();
    let mut first_tail = Vec::new();
    for (name, entry) in names
        .iter()
        .zip(report["sources"].as_array().into_iter().flatten())
    {
        for (t, tail) in entry["recall"].as_array().into_iter().flatten().enumerate() {
            let Some(recall) = finite_json(&tail["recall"]) else {
                continue;
            };
            let lower = tail["lower"].as_f64().unwrap_or(0.0);
            let upper = tail["upper"].as_f64().unwrap_or(1.0);
            let mut s = score(task, "recall", "efaar", recall);
            s.params.insert("source".into(), json!(name));
            s.params.insert("tail".into(), json!([lower, upper]));
            s.n = entry["n_pairs"].as_u64();
            scores.push(s);
            if t == 0 {
                first_tail.push(recall);
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

fn finite_json(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// The `cpbench eval --similarity` spelling of a manifest similarity.
fn sim_name(s: Similarity) -> &'static str {
    match s {
        Similarity::Cosine => "cosine",
        Similarity::Pearson => "pearson",
        Similarity::AbsCosine => "abs-cosine",
        Similarity::Euclidean => "euclidean",
    }
}

fn column_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}
