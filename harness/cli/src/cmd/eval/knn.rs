//! `cpbench eval knn`: leave-one-out k-nearest-neighbour accuracy with exclusion rules
//! (definition: `cpbench_metrics::knn`).
//!
//! `--exclude-same C[,C]` drops a candidate neighbour that shares its value with the query in
//! *any* listed column (a missing value shares with a missing value). BBBC021's NSC is
//! `--exclude-same Metadata_Compound`; NSCB, which also keeps neighbours out of the query's
//! batch, is `--exclude-same Metadata_Compound,Metadata_Batch`.
//!
//! Output (JSON, atomic): top-level `accuracy` and `n` (scored queries), `n_unscored` (queries
//! left without candidates), the settings, `per_class` accuracy and the `confusion` matrix
//! (rows = true label, columns = predicted label, both in `classes` order).

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::knn::{KnnParams, knn_accuracy};
use serde_json::{Value, json};

use super::common::{ProfileArgs, label_column, matrix, split_list, write_json};
use super::enrichment::{explain, require_columns, row_note};
use crate::Outcome;

/// Arguments of `cpbench eval knn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The label column to predict (e.g. Metadata_moa); every row needs a value.
    #[arg(long, value_name = "C")]
    pub labels: String,
    /// Neighbours that vote.
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Columns (comma-separated): a neighbour sharing its value with the query in any of them
    /// is not a candidate (NSC: the compound; NSCB: compound and batch).
    #[arg(long = "exclude-same", value_name = "C[,C]")]
    pub exclude_same: Option<String>,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

/// Runs `cpbench eval knn`.
pub fn run(args: Args) -> Result<Outcome> {
    let profiles = args.input.load()?;
    let report = compute(&args, profiles)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval knn` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<Value> {
    let similarity: Similarity = args.similarity.parse()?;
    if args.k == 0 {
        bail!("--k 0: at least one neighbour must vote");
    }
    let exclude_columns = args
        .exclude_same
        .as_deref()
        .map(split_list)
        .unwrap_or_default();
    let file = args.input.profiles.display().to_string();
    let mut wanted = vec![args.labels.clone()];
    wanted.extend(exclude_columns.iter().cloned());
    require_columns(&profiles, &wanted, &file)?;

    let filtered = !args.input.filters.is_empty();
    let labels = label_column(&profiles, &args.labels)?;
    if let Some(&row) = labels.missing_rows().first() {
        bail!(
            "{file}: --labels {}: row {row}{} has no value (drop such rows with --filter)",
            args.labels,
            row_note(filtered)
        );
    }
    let codes: Vec<u32> = labels.codes.iter().map(|c| c.expect("checked")).collect();
    // A missing exclusion value gets a code of its own, so missing shares with missing.
    let exclude: Vec<Vec<u32>> = exclude_columns
        .iter()
        .map(|c| {
            let col = label_column(&profiles, c)?;
            let missing = col.labels.len() as u32;
            Ok(col.codes.iter().map(|v| v.unwrap_or(missing)).collect())
        })
        .collect::<Result<_>>()?;
    let exclude_refs: Vec<&[u32]> = exclude.iter().map(Vec::as_slice).collect();
    let x = matrix(&profiles)?;
    let params = KnnParams {
        k: args.k,
        similarity,
        threads: args.threads,
        ..KnnParams::default()
    };
    let n_classes = labels.labels.len();
    let result = knn_accuracy(x, &codes, n_classes, &exclude_refs, &params)
        .map_err(|e| explain(e, &file, filtered, &args.labels))?;
    if result.n == 0 {
        return Err(if exclude_columns.is_empty() {
            anyhow!("{file}: a single row has no neighbour to vote")
        } else {
            anyhow!(
                "{file}: --exclude-same {} leaves no candidate neighbour for any row",
                exclude_columns.join(",")
            )
        });
    }

    let per_class: Vec<_> = labels
        .labels
        .iter()
        .zip(&result.per_class)
        .map(|(label, c)| json!({"label": label, "n": c.n, "correct": c.correct, "accuracy": c.accuracy}))
        .collect();
    let confusion: Vec<&[u64]> = result.confusion.chunks(n_classes.max(1)).collect();
    let report = json!({
        "metric": "knn_accuracy",
        "accuracy": result.accuracy,
        "n": result.n,
        "n_unscored": result.n_unscored,
        "k": args.k,
        "similarity": similarity.name(),
        "labels": args.labels,
        "exclude_same": exclude_columns,
        "classes": labels.labels,
        "per_class": per_class,
        "confusion": confusion,
    });
    crate::say!(
        "kNN accuracy (k = {}, {}): {:.4} ({} of {} queries{})",
        args.k,
        similarity,
        result.accuracy,
        result.confusion.iter().step_by(n_classes + 1).sum::<u64>(),
        result.n,
        if result.n_unscored > 0 {
            format!(", {} without candidates", result.n_unscored)
        } else {
            String::new()
        }
    );
    Ok(report)
}
