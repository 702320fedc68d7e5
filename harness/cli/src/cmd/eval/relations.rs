//! `cpbench eval relations`: known-relationship recall of gene-level profiles (EFAAR 1.0;
//! definition and where it differs from EFAAR: `cpbench_metrics::relations`).
//!
//! Each `--pairs` file is a table with columns `entity1,entity2` (gene symbols; the shipped
//! `benchmarks/data/annotations/*.pairs.csv.gz`). Pairs naming a gene absent from the profiles
//! are dropped, as EFAAR drops them; the source's name is the file name up to its first dot.
//!
//! Output (JSON, atomic): per source the pairs read, used and the genes they involve, and per
//! tail pair (5/95, 10/90) the recall with its expected value under a random embedding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cpbench_core::Profiles;
use cpbench_core::io::read_table;
use cpbench_metrics::Similarity;
use cpbench_metrics::relations::{RelationParams, relationship_recall};
use polars::prelude::DataType;
use serde_json::{Value, json};

use super::common::{ProfileArgs, label_column, matrix, split_list, write_json};
use super::enrichment::{explain, require_columns, row_note};
use crate::Outcome;

/// Arguments of `cpbench eval relations`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile table and the rows and features read from it.
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The column naming each row's gene (one row per gene).
    #[arg(long = "gene-column", value_name = "C")]
    pub gene_column: String,
    /// Annotation pair files (comma-separated), each with columns entity1,entity2.
    #[arg(long, value_name = "FILE[,FILE]")]
    pub pairs: String,
    /// Sources whose usable pairs involve fewer genes are not scored (EFAAR: 20).
    #[arg(long = "min-genes", default_value_t = 20)]
    pub min_genes: usize,
    /// cosine (EFAAR), pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

/// The `entity1`, `entity2` columns of a pair file as strings; errors name the file and column.
fn read_pairs(path: &Path) -> Result<Vec<(Option<String>, Option<String>)>> {
    let df = read_table(path)?;
    let mut columns = Vec::with_capacity(2);
    for name in ["entity1", "entity2"] {
        let col = df
            .column(name)
            .map_err(|_| cpbench_core::Error::MissingColumn {
                source_name: path.display().to_string(),
                column: name.to_owned(),
                available: df
                    .get_column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            })?;
        let text = col
            .as_materialized_series()
            .cast(&DataType::String)
            .with_context(|| format!("{}: column {name} as text", path.display()))?;
        let values: Vec<Option<String>> = text
            .str()
            .with_context(|| format!("{}: column {name} as text", path.display()))?
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
        columns.push(values);
    }
    let second = columns.pop().expect("two columns");
    let first = columns.pop().expect("two columns");
    Ok(first.into_iter().zip(second).collect())
}

/// A source's display name: the file name up to its first dot.
fn source_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_owned()
}

/// Runs `cpbench eval relations`.
pub fn run(args: Args) -> Result<Outcome> {
    let profiles = args.input.load()?;
    let report = compute(&args, profiles)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval relations` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<Value> {
    let similarity: Similarity = args.similarity.parse()?;
    let files: Vec<PathBuf> = split_list(&args.pairs)
        .into_iter()
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        bail!("--pairs names no file");
    }
    let file = args.input.profiles.display().to_string();
    require_columns(&profiles, std::slice::from_ref(&args.gene_column), &file)?;
    let filtered = !args.input.filters.is_empty();
    let genes = label_column(&profiles, &args.gene_column)?;
    let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(genes.len());
    for (row, code) in genes.codes.iter().enumerate() {
        let Some(code) = code else {
            bail!(
                "{file}: --gene-column {}: row {row}{} has no gene",
                args.gene_column,
                row_note(filtered)
            );
        };
        if let Some(first) = row_of.insert(genes.labels[*code as usize].as_str(), row) {
            bail!(
                "{file}: --gene-column {}: gene {} is on rows {first} and {row}{}; profiles must be \
                 gene-level (one row per gene: aggregate first)",
                args.gene_column,
                genes.labels[*code as usize],
                row_note(filtered)
            );
        }
    }

    let mut sources = Vec::with_capacity(files.len());
    let mut read_counts = Vec::with_capacity(files.len());
    for path in &files {
        let pairs = read_pairs(path)?;
        read_counts.push(pairs.len());
        let index = |g: &Option<String>| g.as_deref().and_then(|g| row_of.get(g).copied());
        sources.push(
            pairs
                .iter()
                .filter_map(|(a, b)| Some((index(a)?, index(b)?)))
                .collect::<Vec<_>>(),
        );
    }
    let params = RelationParams {
        min_genes: args.min_genes,
        similarity,
        threads: args.threads,
        ..RelationParams::default()
    };
    let x = matrix(&profiles)?;
    let results = relationship_recall(x, &sources, &params)
        .map_err(|e| explain(e, &file, filtered, &args.gene_column))?;

    let n = profiles.n_rows() as u64;
    let mut entries = Vec::with_capacity(files.len());
    for ((path, read), r) in files.iter().zip(&read_counts).zip(&results) {
        let name = source_name(path);
        let recall: Vec<_> = r
            .tails
            .iter()
            .map(|t| json!({"lower": t.lower, "upper": t.upper, "recall": t.recall, "expected": t.expected}))
            .collect();
        if r.tails.is_empty() {
            crate::say!(
                "{name}: not scored ({} usable pairs over {} genes, fewer than --min-genes {})",
                r.n_pairs,
                r.n_genes,
                args.min_genes
            );
        } else {
            let parts: Vec<String> = r
                .tails
                .iter()
                .map(|t| {
                    format!(
                        "{:.0}/{:.0}: {:.4} (random {:.2})",
                        t.lower * 100.0,
                        t.upper * 100.0,
                        t.recall,
                        t.expected
                    )
                })
                .collect();
            crate::say!("{name} ({} pairs): {}", r.n_pairs, parts.join(", "));
        }
        entries.push(json!({
            "source": name,
            "file": path.display().to_string(),
            "pairs_read": read,
            "n_pairs": r.n_pairs,
            "n_genes": r.n_genes,
            "scored": !r.tails.is_empty(),
            "recall": recall,
        }));
    }
    let report = json!({
        "metric": "known_relationship_recall",
        "gene_column": args.gene_column,
        "similarity": similarity.name(),
        "n_genes": n,
        "n_null_pairs": n * n.saturating_sub(1) / 2,
        "min_genes": args.min_genes,
        "sources": entries,
    });
    Ok(report)
}
