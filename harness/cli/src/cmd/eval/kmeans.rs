//! `cpbench eval kmeans`: seeded k-means restarts scored separately against a label column
//! (NMI, ARI, purity; mean ± population sd), the best inertia, silhouettes, an optional k sweep
//! (definitions: `cpbench_metrics::kmeans`, `partition`, `silhouette`).
//!
//! Output (JSON, atomic): `k`, `restarts` (`seed`, `nmi`, `ari`, `purity`, `inertia`, ...),
//! `summary` (`nmi`, `ari`, `purity`, `inertia` as `{mean, sd}`), `best_inertia`, `best_restart`,
//! `silhouette` and, with `--k-sweep`, `k_sweep`. With `--out-assignments`, a table of the
//! scored rows' metadata columns and one column `restart_<r>` per restart with each row's cluster.
//!
//! Rows without a label are refused (the error names the first such row); `--drop-missing`
//! drops them instead and the JSON counts them (`n_dropped_missing`).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use cpbench_core::Profiles;
use cpbench_core::io::write_table;
use cpbench_metrics::kmeans::{KMeansOptions, MeanSd, k_sweep, kmeans, score_restarts};
use cpbench_metrics::silhouette::{SilhouetteMetric, scib_batch_silhouette, silhouette_score};
use cpbench_metrics::{LabelColumn, MetricError};
use polars::prelude::{Column, DataFrame};
use serde_json::{Value, json};

use super::common::{ProfileArgs, label_column, matrix, write_json};
use super::enrichment::{check_table_path, require_columns, row_note};
use crate::Outcome;

/// Distance of the silhouettes in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SilhouetteChoice {
    /// Euclidean distance (scikit-learn's default).
    Euclidean,
    /// Cosine distance (1 − cos).
    Cosine,
    /// Skip the silhouettes.
    None,
}

/// Arguments of `cpbench eval kmeans`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Ground-truth label column the clusterings are scored against.
    #[arg(long, value_name = "C")]
    pub labels: String,
    /// Number of clusters, or `auto` for the number of distinct labels.
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub k: String,
    /// Independent restarts, each scored separately.
    #[arg(long, default_value_t = 100)]
    pub restarts: usize,
    /// Base seed; restart r uses a key derived from (seed, r), reported per restart.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also run every k in FROM:TO (inclusive) and report NMI/ARI/purity mean ± sd per k.
    #[arg(long = "k-sweep", value_name = "FROM:TO")]
    pub k_sweep: Option<String>,
    /// Maximum Lloyd iterations per restart.
    #[arg(long = "max-iter", default_value_t = 300)]
    pub max_iter: usize,
    /// Tolerance on the summed squared center shift, relative to the mean feature variance.
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
    /// Distance of the label (and batch) silhouettes, or none.
    #[arg(long, value_enum, default_value_t = SilhouetteChoice::Euclidean)]
    pub silhouette: SilhouetteChoice,
    /// Batch column: adds scib's batch silhouette (batches mixed within each label).
    #[arg(long, value_name = "C")]
    pub batch: Option<String>,
    /// Drop rows without a label (or batch) instead of refusing them.
    #[arg(long = "drop-missing")]
    pub drop_missing: bool,
    /// Worker threads over restarts (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
    /// Cluster of each row per restart (.csv, .csv.gz, .tsv, .parquet).
    #[arg(long = "out-assignments", value_name = "A.csv")]
    pub out_assignments: Option<PathBuf>,
}

/// Parses `FROM:TO` (inclusive, 1 ≤ FROM ≤ TO).
fn parse_sweep(text: &str) -> Result<Vec<usize>> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| anyhow!("--k-sweep {text}: expected FROM:TO, e.g. 2:30"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .with_context(|| format!("--k-sweep {text}: {v:?} is not a whole number"))
    };
    let (from, to) = (parse(from)?, parse(to)?);
    if from == 0 || from > to {
        bail!("--k-sweep {text}: needs 1 ≤ FROM ≤ TO");
    }
    Ok((from..=to).collect())
}

/// Refuses rows missing a value in any of `columns`, or (`drop`) keeps only the complete rows.
/// Returns the kept profiles and how many rows were dropped.
pub(super) fn keep_labelled(
    profiles: Profiles,
    columns: &[&LabelColumn],
    drop: bool,
    file: &str,
    filtered: bool,
) -> Result<(Profiles, usize)> {
    let n = profiles.n_rows();
    let keep: Vec<bool> = (0..n)
        .map(|i| columns.iter().all(|c| c.codes[i].is_some()))
        .collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    if dropped == 0 {
        return Ok((profiles, 0));
    }
    if !drop {
        let c = columns
            .iter()
            .find(|c| c.codes.iter().any(Option::is_none))
            .expect("a column has the missing value");
        let row = c.missing_rows()[0];
        bail!(
            "{file}: column {} has a missing value at row {row}{}; {} rows miss it. Pass \
             --drop-missing to drop those rows",
            c.name,
            row_note(filtered),
            c.missing_rows().len()
        );
    }
    eprintln!("note: --drop-missing: dropped {dropped} of {n} rows without a value");
    Ok((profiles.filter_rows(&keep)?, dropped))
}

fn mean_sd(s: MeanSd) -> Value {
    json!({"mean": s.mean, "sd": s.sd})
}

fn explain(e: MetricError, file: &str, filtered: bool) -> anyhow::Error {
    match e {
        MetricError::NonFinite { row, col } => anyhow!(
            "{file}: feature {col} of row {row}{} is NaN or infinite",
            row_note(filtered)
        ),
        MetricError::ZeroNorm { row, .. } => anyhow!(
            "{file}: row {row}{} has zero norm: the cosine silhouette is undefined. Remove the \
             row (--filter) or pass --silhouette euclidean",
            row_note(filtered)
        ),
        MetricError::InvalidParameter {
            name,
            value,
            reason,
        } => {
            anyhow!("{file}: --{} {value}: {reason}", name.replace('_', "-"))
        }
        other => anyhow!("{file}: {other}"),
    }
}

/// Runs `cpbench eval kmeans`.
pub fn run(args: Args) -> Result<Outcome> {
    let profiles = args.input.load()?;
    let report = compute(&args, profiles)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval kmeans` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<Value> {
    let k_flag: Option<usize> = match args.k.as_str() {
        "auto" => None,
        v => Some(
            v.parse()
                .ok()
                .filter(|&k| k >= 1)
                .ok_or_else(|| anyhow!("--k {v}: expected a whole number ≥ 1 or auto"))?,
        ),
    };
    if args.restarts == 0 {
        bail!("--restarts must be at least 1");
    }
    if args.max_iter == 0 {
        bail!("--max-iter must be at least 1");
    }
    if !(args.tol.is_finite() && args.tol >= 0.0) {
        bail!("--tol {} must be finite and ≥ 0", args.tol);
    }
    let sweep = args.k_sweep.as_deref().map(parse_sweep).transpose()?;
    if let Some(path) = &args.out_assignments {
        check_table_path(path)?;
    }
    let file = args.input.profiles.display().to_string();
    let filtered = !args.input.filters.is_empty();
    let mut wanted = vec![args.labels.clone()];
    wanted.extend(args.batch.clone());
    require_columns(&profiles, &wanted, &file)?;
    let labels = label_column(&profiles, &args.labels)?;
    let batch = args
        .batch
        .as_deref()
        .map(|b| label_column(&profiles, b))
        .transpose()?;
    let mut columns = vec![&labels];
    columns.extend(batch.as_ref());
    let (profiles, n_dropped) =
        keep_labelled(profiles, &columns, args.drop_missing, &file, filtered)?;
    // Codes again on the kept rows: every row now has a label.
    let labels = label_column(&profiles, &args.labels)?;
    let truth: Vec<u32> = labels.codes.iter().map(|c| c.expect("kept")).collect();
    let n_labels = labels.labels.len();
    let k = k_flag.unwrap_or(n_labels);
    let x = matrix(&profiles)?;
    let fail = |e| explain(e, &file, filtered || n_dropped > 0);
    let options = KMeansOptions {
        k,
        restarts: args.restarts,
        seed: args.seed,
        max_iter: args.max_iter,
        tol: args.tol,
        threads: args.threads,
    };
    let result = kmeans(x, &options).map_err(fail)?;
    let scores = score_restarts(&truth, &result).map_err(fail)?;
    let restarts: Vec<Value> = result
        .restarts
        .iter()
        .zip(&scores.per_restart)
        .enumerate()
        .map(|(r, (run, s))| {
            json!({
                "restart": r,
                "seed": run.seed,
                "nmi": s.nmi,
                "ari": s.ari,
                "purity": s.purity,
                "inertia": run.inertia,
                "iterations": run.iterations,
            })
        })
        .collect();
    let inertias: Vec<f64> = result.restarts.iter().map(|r| r.inertia).collect();

    let silhouette = match args.silhouette {
        SilhouetteChoice::None => Value::Null,
        choice => {
            let metric = if choice == SilhouetteChoice::Cosine {
                SilhouetteMetric::Cosine
            } else {
                SilhouetteMetric::Euclidean
            };
            let n = profiles.n_rows();
            let label_asw = if (2..n).contains(&n_labels) {
                Some(silhouette_score(x, &truth, metric).map_err(fail)?)
            } else {
                None
            };
            let (batch_asw, batch_scib) = match &args.batch {
                Some(b) => {
                    let column = label_column(&profiles, b)?;
                    let codes: Vec<u32> = column.codes.iter().map(|c| c.expect("kept")).collect();
                    let asw = if (2..n).contains(&column.labels.len()) {
                        Some(silhouette_score(x, &codes, metric).map_err(fail)?)
                    } else {
                        None
                    };
                    (
                        asw,
                        scib_batch_silhouette(x, &truth, &codes, metric).map_err(fail)?,
                    )
                }
                None => (None, None),
            };
            json!({
                "distance": if metric == SilhouetteMetric::Cosine { "cosine" } else { "euclidean" },
                "convention": "labels: scikit-learn silhouette_score of the label column (null \
                    unless 2 <= labels <= n-1); labels_scib = (labels + 1) / 2; batch: the same \
                    for the batch column (high = batches separate); batch_scib: per label with \
                    2 <= batches < rows, mean of 1 - |silhouette of the batches within the \
                    label|, then the mean over labels (scib silhouette_batch)",
                "labels": label_asw,
                "labels_scib": label_asw.map(|a| (a + 1.0) / 2.0),
                "batch_column": args.batch,
                "batch": batch_asw,
                "batch_scib": batch_scib,
            })
        }
    };
    let mut out = json!({
        "metric": "kmeans",
        "profiles": file,
        "filters": args.input.filters,
        "labels": args.labels,
        "n_profiles": profiles.n_rows(),
        "n_features": profiles.n_features(),
        "n_dropped_missing": n_dropped,
        "n_labels": n_labels,
        "k": k,
        "k_auto": k_flag.is_none(),
        "seed": args.seed,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "algorithm": "greedy k-means++ (2 + floor(ln k) local trials), Lloyd iterations; stop on \
            unchanged labels or summed squared center shift <= tol * mean feature variance \
            (scikit-learn 1.9 KMeans lloyd); restart r seeded with xoshiro256** keyed by the \
            reported seed",
        "sd": "population standard deviation over restarts (ddof = 0, numpy's default)",
        "restarts": restarts,
        "summary": {
            "nmi": mean_sd(scores.nmi),
            "ari": mean_sd(scores.ari),
            "purity": mean_sd(scores.purity),
            "inertia": mean_sd(MeanSd::of(&inertias)),
        },
        "best_inertia": result.best_inertia(),
        "best_restart": result.best,
        "silhouette": silhouette,
    });
    if let Some(ks) = &sweep {
        let points = k_sweep(x, &truth, ks, &options).map_err(fail)?;
        out["k_sweep"] = points
            .iter()
            .map(|p| {
                json!({
                    "k": p.k,
                    "ground_truth": p.k == n_labels,
                    "nmi": mean_sd(p.scores.nmi),
                    "ari": mean_sd(p.scores.ari),
                    "purity": mean_sd(p.scores.purity),
                    "best_inertia": p.best_inertia,
                })
            })
            .collect();
    }
    crate::say!(
        "k-means (k = {k}, {} restarts): NMI {:.4} ± {:.4}, ARI {:.4} ± {:.4}, purity {:.4} ± \
         {:.4}; best inertia {}",
        args.restarts,
        scores.nmi.mean,
        scores.nmi.sd,
        scores.ari.mean,
        scores.ari.sd,
        scores.purity.mean,
        scores.purity.sd,
        result.best_inertia()
    );
    if let Some(path) = &args.out_assignments {
        let mut df: DataFrame = profiles.meta().clone();
        for (r, run) in result.restarts.iter().enumerate() {
            df.with_column(Column::new(
                format!("restart_{r}").into(),
                run.labels.clone(),
            ))?;
        }
        write_table(&mut df, path)?;
    }
    Ok(out)
}
