//! Known-relationship recall of gene-level profiles (EFAAR 1.0; definition and where it differs
//! from EFAAR: `cpbench_metrics::relations`).
//!
//! Each pair file is a table with columns `entity1,entity2` (gene symbols; the shipped
//! `benchmarks/data/annotations/*.pairs.csv.gz`). Pairs naming a gene absent from the profiles
//! are dropped, as EFAAR drops them; a source's name is its file name up to the first dot.
//!
//! Report: per source the pairs read, used and the genes they involve, and per tail pair
//! (5/95, 10/90) the recall with its expected value under a random embedding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::relations::{RelationParams, relationship_recall};
use serde::Serialize;

use super::explain;
use crate::bail;
use crate::error::Result;
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, matrix, require_columns, row_note, text_columns};

/// Parameters of known-relationship recall.
#[derive(Debug, Clone)]
pub struct Params {
    /// The column naming each row's gene (one row per gene).
    pub gene_column: String,
    /// Annotation pair files, each with columns entity1,entity2.
    pub pairs: Vec<PathBuf>,
    /// Sources whose usable pairs involve fewer genes are not scored (EFAAR: 20).
    pub min_genes: usize,
    /// Similarity between gene profiles (EFAAR: cosine).
    pub similarity: Similarity,
    /// Worker threads (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        if self.pairs.is_empty() {
            bail!("{} names no file", self.origin.key("pairs"));
        }
        Ok(())
    }
}

/// Recall in one pair of tails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailReport {
    /// Lower tail quantile.
    pub lower: f64,
    /// Upper tail quantile.
    pub upper: f64,
    /// Share of annotated pairs in the tails.
    pub recall: f64,
    /// The same share expected of a random embedding.
    pub expected: f64,
}

/// One annotation source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceReport {
    /// The source's name (file name up to its first dot).
    pub source: String,
    /// The pair file.
    pub file: String,
    /// Pairs read from the file.
    pub pairs_read: usize,
    /// Pairs whose genes are both profiled.
    pub n_pairs: usize,
    /// Genes those pairs involve.
    pub n_genes: usize,
    /// Whether enough genes were involved to score.
    pub scored: bool,
    /// Recall per tail pair (empty when not scored).
    pub recall: Vec<TailReport>,
}

/// The relations report (`cpbench eval relations --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `known_relationship_recall`.
    pub metric: &'static str,
    /// The gene column.
    pub gene_column: String,
    /// Similarity name.
    pub similarity: &'static str,
    /// Genes profiled.
    pub n_genes: u64,
    /// Pairs in the null (all gene pairs).
    pub n_null_pairs: u64,
    /// Minimum genes for a source to be scored.
    pub min_genes: usize,
    /// One entry per pair file, in order.
    pub sources: Vec<SourceReport>,
}

/// The `entity1`, `entity2` columns of a pair file as strings; errors name the file and column.
fn read_pairs(path: &Path) -> Result<Vec<(Option<String>, Option<String>)>> {
    let [first, second] = text_columns(path, ["entity1", "entity2"])?;
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

/// Known-relationship recall of every pair source on gene-level `profiles`.
pub fn evaluate(
    profiles: &Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Report> {
    params.check()?;
    let o = params.origin;
    let file = &source.name;
    require_columns(profiles, std::slice::from_ref(&params.gene_column), file)?;
    let filtered = source.filtered();
    let genes = label_column(profiles, &params.gene_column)?;
    let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(genes.len());
    for (row, code) in genes.codes.iter().enumerate() {
        let Some(code) = code else {
            bail!(
                "{file}: {} {}: row {row}{} has no gene",
                o.key("gene_column"),
                params.gene_column,
                row_note(filtered)
            );
        };
        if let Some(first) = row_of.insert(genes.labels[*code as usize].as_str(), row) {
            bail!(
                "{file}: {} {}: gene {} is on rows {first} and {row}{}; profiles must be \
                 gene-level (one row per gene: aggregate first)",
                o.key("gene_column"),
                params.gene_column,
                genes.labels[*code as usize],
                row_note(filtered)
            );
        }
    }

    let mut sources = Vec::with_capacity(params.pairs.len());
    let mut read_counts = Vec::with_capacity(params.pairs.len());
    for path in &params.pairs {
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
    let relation = RelationParams {
        min_genes: params.min_genes,
        similarity: params.similarity,
        threads: params.threads,
        ..RelationParams::default()
    };
    let x = matrix(profiles)?;
    super::require_contrast(x, params.similarity, source, o)?;
    let results = relationship_recall(x, &sources, &relation)
        .map_err(|e| explain(e, source, &params.gene_column, o))?;

    let n = profiles.n_rows() as u64;
    let mut entries = Vec::with_capacity(params.pairs.len());
    for ((path, read), r) in params.pairs.iter().zip(&read_counts).zip(&results) {
        let name = source_name(path);
        let recall: Vec<TailReport> = r
            .tails
            .iter()
            .map(|t| TailReport {
                lower: t.lower,
                upper: t.upper,
                recall: t.recall,
                expected: t.expected,
            })
            .collect();
        if r.tails.is_empty() {
            reporter.summary(&format!(
                "{name}: not scored ({} usable pairs over {} genes, fewer than {} {})",
                r.n_pairs,
                r.n_genes,
                o.key("min_genes"),
                params.min_genes
            ));
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
            reporter.summary(&format!(
                "{name} ({} pairs): {}",
                r.n_pairs,
                parts.join(", ")
            ));
        }
        entries.push(SourceReport {
            source: name,
            file: path.display().to_string(),
            pairs_read: *read,
            n_pairs: r.n_pairs,
            n_genes: r.n_genes,
            scored: !r.tails.is_empty(),
            recall,
        });
    }
    Ok(Report {
        metric: "known_relationship_recall",
        gene_column: params.gene_column.clone(),
        similarity: params.similarity.name(),
        n_genes: n,
        n_null_pairs: n * n.saturating_sub(1) / 2,
        min_genes: params.min_genes,
        sources: entries,
    })
}
