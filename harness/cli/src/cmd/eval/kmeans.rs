//! `cpbench eval kmeans`: seeded k-means restarts scored separately against a label column
//! (NMI, ARI, purity; mean ± population sd), the best inertia, silhouettes, an optional k sweep
//! (computed by `cpbench_runner::eval::kmeans`).
//!
//! Output (JSON, atomic): `k`, `restarts` (`seed`, `nmi`, `ari`, `purity`, `inertia`, ...),
//! `summary` (`nmi`, `ari`, `purity`, `inertia` as `{mean, sd}`), `best_inertia`, `best_restart`,
//! `silhouette` and, with `--k-sweep`, `k_sweep`. With `--out-assignments`, a table of the
//! scored rows' metadata columns and one column `restart_<r>` per restart with each row's cluster.
//!
//! Rows without a label are refused (the error names the first such row); `--drop-missing`
//! drops them instead and the JSON counts them (`n_dropped_missing`).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::ValueEnum;
use cpbench_core::io::write_table;
use cpbench_runner::Origin;
use cpbench_runner::eval::kmeans::{self, Params, Silhouette};
use cpbench_runner::table::check_table_path;
use polars::prelude::{Column, DataFrame};

use super::common::{ProfileArgs, write_json};
use crate::Outcome;
use crate::progress::Console;

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

/// Parses `FROM:TO` (the range is checked with the other parameters).
fn parse_sweep(text: &str) -> Result<(usize, usize)> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| anyhow!("--k-sweep {text}: expected FROM:TO, e.g. 2:30"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .with_context(|| format!("--k-sweep {text}: {v:?} is not a whole number"))
    };
    Ok((parse(from)?, parse(to)?))
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let k = match self.k.as_str() {
            "auto" => None,
            v => Some(
                v.parse()
                    .ok()
                    .filter(|&k| k >= 1)
                    .ok_or_else(|| anyhow!("--k {v}: expected a whole number ≥ 1 or auto"))?,
            ),
        };
        let params = Params {
            labels: self.labels.clone(),
            k,
            restarts: self.restarts,
            seed: self.seed,
            k_sweep: self.k_sweep.as_deref().map(parse_sweep).transpose()?,
            max_iter: self.max_iter,
            tol: self.tol,
            silhouette: match self.silhouette {
                SilhouetteChoice::Euclidean => Silhouette::Euclidean,
                SilhouetteChoice::Cosine => Silhouette::Cosine,
                SilhouetteChoice::None => Silhouette::None,
            },
            batch: self.batch.clone(),
            drop_missing: self.drop_missing,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval kmeans`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = args.params()?;
    if let Some(path) = &args.out_assignments {
        check_table_path(path)?;
    }
    let table = args.input.spec();
    let profiles = table.load()?;
    let out = kmeans::evaluate(profiles, &params, &table.source(), &Console)?;
    if let Some(path) = &args.out_assignments {
        let mut df: DataFrame = out.profiles.meta().clone();
        for (r, labels) in out.assignments.into_iter().enumerate() {
            df.with_column(Column::new(format!("restart_{r}").into(), labels))?;
        }
        write_table(&mut df, path)?;
    }
    write_json(&args.out, &out.report)?;
    Ok(Outcome::Ok)
}
