//! `cpbench eval precision-at-k`: precision@k and recall@k per replicate group, cytominer-eval's
//! `precision_recall` (definition: `cpbench_metrics::ranking`).
//!
//! Output (CSV or Parquet by extension, atomic): the group columns, `n_profiles`, `k`,
//! `precision`, `recall` (NaN for a one-row group), ordered by `k` as given, then group.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cpbench_core::io::write_table;
use cpbench_metrics::Similarity;
use cpbench_metrics::ranking::precision_recall_at_k;
use polars::prelude::*;

use super::common::{ProfileArgs, group_keys, matrix, split_list};
use super::enrichment::{check_table_path, explain};
use crate::Outcome;

/// Arguments of `cpbench eval precision-at-k`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Group columns (comma-separated): rows equal on all of them are replicates; a missing
    /// value counts as a value of its own.
    #[arg(long, value_name = "C[,C]")]
    pub group: String,
    /// Numbers of top pairs to consider, comma-separated.
    #[arg(long, value_name = "K[,K]", value_delimiter = ',', required = true)]
    pub k: Vec<usize>,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "pearson")]
    pub similarity: String,
    /// precision and recall per group and k (.csv, .tsv, .parquet).
    #[arg(long, value_name = "R.csv")]
    pub out: PathBuf,
}

/// Runs `cpbench eval precision-at-k`.
pub fn run(args: Args) -> Result<Outcome> {
    check_table_path(&args.out)?;
    let similarity: Similarity = args.similarity.parse()?;
    if let Some(k) = args.k.iter().find(|&&k| k == 0) {
        bail!("--k {k}: every k must be at least 1");
    }
    let columns = split_list(&args.group);
    if columns.is_empty() {
        bail!("--group names no column");
    }
    let file = args.input.profiles.display().to_string();
    let profiles = args.input.load()?;
    let groups = group_keys(&profiles, &columns, &file)?;
    let x = matrix(&profiles)?;
    let scores = precision_recall_at_k(x, &groups, &args.k, similarity, 0)
        .map_err(|e| explain(e, &file, !args.input.filters.is_empty(), &args.group))?;

    let sizes: Vec<u64> = groups.members().iter().map(|m| m.len() as u64).collect();
    let mut cols: Vec<Column> = columns
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let values: Vec<Option<&str>> = scores
                .iter()
                .map(|s| groups.values[s.group as usize][c].as_deref())
                .collect();
            Column::new(name.as_str().into(), values)
        })
        .collect();
    cols.push(Column::new(
        "n_profiles".into(),
        scores
            .iter()
            .map(|s| sizes[s.group as usize])
            .collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "k".into(),
        scores.iter().map(|s| s.k as u64).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "precision".into(),
        scores.iter().map(|s| s.precision).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "recall".into(),
        scores.iter().map(|s| s.recall).collect::<Vec<_>>(),
    ));
    let mut df = DataFrame::new_infer_height(cols)?;
    write_table(&mut df, &args.out)?;

    // cytominer-eval's own summary: how many groups reach precision / recall exactly 1.
    for &k in &args.k {
        let at_k = scores.iter().filter(|s| s.k == k);
        let (p1, r1) = at_k.fold((0, 0), |(p, r), s| {
            (
                p + usize::from(s.precision == 1.0),
                r + usize::from(s.recall == 1.0),
            )
        });
        println!(
            "k = {k}: {p1} of {} groups with precision 1, {r1} with recall 1",
            groups.n_groups()
        );
    }
    Ok(Outcome::Ok)
}
