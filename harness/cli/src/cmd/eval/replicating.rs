//! `cpbench eval replicating`: percent replicating, pair-level (cytominer-eval) or group-median
//! with a per-size permutation null (definitions: `cpbench_metrics::replicating`).
//!
//! Output (JSON, atomic): the variant, its parameters and the percent replicating; the pair
//! variant adds the threshold and pair counts, the group-median variant each group's median,
//! threshold and verdict and each size's null threshold.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::replicating::{
    GroupMedianOptions, percent_replicating_group_median, percent_replicating_pairs,
};
use serde_json::{Map, Value, json};

use super::common::{ProfileArgs, group_keys, matrix, split_list, write_json};
use super::enrichment::explain;
use crate::Outcome;

/// Which percent replicating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Variant {
    /// cytominer-eval: share of replicate pairs above the quantile of non-replicate pairs.
    Pair,
    /// Share of groups whose median similarity exceeds the quantile of random groups' medians.
    GroupMedian,
}

/// Arguments of `cpbench eval replicating`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Replicate columns (comma-separated): rows equal on all of them are replicates; a missing
    /// value equals a missing value, as in cytominer-eval.
    #[arg(long, value_name = "C[,C]")]
    pub replicate: String,
    /// pair (cytominer-eval) or group-median (permutation null per group size).
    #[arg(long, value_enum, default_value_t = Variant::Pair)]
    pub variant: Variant,
    /// Quantile (0-1) of the null a replicate similarity or median must exceed.
    #[arg(long, default_value_t = 0.95)]
    pub quantile: f64,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "pearson")]
    pub similarity: String,
    /// Random groups per group size (group-median only; default 1000).
    #[arg(long = "null-size")]
    pub null_size: Option<usize>,
    /// Seed of the null (group-median only; default 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

/// Runs `cpbench eval replicating`.
pub fn run(args: Args) -> Result<Outcome> {
    let profiles = args.input.load()?;
    let report = compute(&args, profiles)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval replicating` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<Value> {
    let similarity: Similarity = args.similarity.parse()?;
    if !(0.0..=1.0).contains(&args.quantile) {
        bail!("--quantile {} must be within [0, 1]", args.quantile);
    }
    if args.variant == Variant::Pair && (args.null_size.is_some() || args.seed.is_some()) {
        bail!("--null-size and --seed apply to --variant group-median only");
    }
    if args.null_size == Some(0) {
        bail!("--null-size must be at least 1");
    }
    let columns = split_list(&args.replicate);
    if columns.is_empty() {
        bail!("--replicate names no column");
    }
    let file = args.input.profiles.display().to_string();
    let groups = group_keys(&profiles, &columns, &file)?;
    let x = matrix(&profiles)?;
    let filtered = !args.input.filters.is_empty();
    let fail = |e| explain(e, &file, filtered, &args.replicate);

    let mut out = json!({
        "metric": "percent_replicating",
        "profiles": file,
        "filters": args.input.filters,
        "n_profiles": profiles.n_rows(),
        "n_features": profiles.n_features(),
        "replicate": columns,
        "similarity": similarity.name(),
        "quantile": args.quantile,
    });
    let fields = out.as_object_mut().expect("a JSON object");
    let percent = match args.variant {
        Variant::Pair => {
            let r =
                percent_replicating_pairs(x, &groups, args.quantile, similarity).map_err(fail)?;
            extend(
                fields,
                json!({
                    "variant": "pair",
                    "convention": "cytominer-eval replicate_reproducibility: upper-triangle pairs; \
                        replicate = equal on every replicate column (missing equals missing); share \
                        of replicate pairs strictly above the quantile (numpy linear) of the \
                        non-replicate pairs",
                    "percent_replicating": r.percent_replicating,
                    "threshold": r.threshold,
                    "n_replicate_pairs": r.n_replicate_pairs,
                    "n_non_replicate_pairs": r.n_non_replicate_pairs,
                    "n_above": r.n_above,
                }),
            );
            crate::say!(
                "percent replicating (pair, q = {}): {} ({} of {} replicate pairs above {})",
                args.quantile,
                r.percent_replicating,
                r.n_above,
                r.n_replicate_pairs,
                r.threshold
            );
            r.percent_replicating
        }
        Variant::GroupMedian => {
            let options = GroupMedianOptions {
                quantile: args.quantile,
                similarity,
                null_size: args.null_size.unwrap_or(1000),
                seed: args.seed.unwrap_or(0),
                threads: args.threads,
            };
            let r = percent_replicating_group_median(x, &groups, &options).map_err(fail)?;
            let n_replicating = r.groups.iter().filter(|g| g.replicating).count();
            let group_rows: Vec<Value> = r
                .groups
                .iter()
                .map(|g| {
                    let values: Map<String, Value> = columns
                        .iter()
                        .zip(&groups.values[g.group as usize])
                        .map(|(c, v)| (c.clone(), json!(v)))
                        .collect();
                    json!({
                        "values": values,
                        "size": g.size,
                        "median": g.median,
                        "threshold": g.threshold,
                        "replicating": g.replicating,
                    })
                })
                .collect();
            extend(
                fields,
                json!({
                    "variant": "group-median",
                    "convention": "per group of >= 2 rows, the median similarity of its pairs; \
                        null per group size: medians of random groups of that size drawn from \
                        distinct replicate values (SplitMix64 keyed by seed and size); share of \
                        groups strictly above the null's quantile (numpy linear)",
                    "null_size": options.null_size,
                    "seed": options.seed,
                    "percent_replicating": r.percent_replicating,
                    "n_groups": r.groups.len(),
                    "n_replicating": n_replicating,
                    "nulls": r.nulls.iter().map(|s| json!({"size": s.size, "threshold": s.threshold})).collect::<Vec<_>>(),
                    "groups": group_rows,
                }),
            );
            crate::say!(
                "percent replicating (group-median, q = {}): {} ({n_replicating} of {} groups)",
                args.quantile,
                r.percent_replicating,
                r.groups.len()
            );
            r.percent_replicating
        }
    };
    debug_assert!(percent.is_finite());
    Ok(out)
}

/// Moves the fields of the object `more` into `fields`.
fn extend(fields: &mut Map<String, Value>, more: Value) {
    if let Value::Object(m) = more {
        fields.extend(m);
    }
}
