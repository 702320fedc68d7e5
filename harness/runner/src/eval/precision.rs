//! precision@k and recall@k per replicate group, cytominer-eval's `precision_recall`
//! (definition: `cpbench_metrics::ranking`).
//!
//! [`table`] lays the result out as `cpbench eval precision-at-k` writes it: the group
//! columns, `n_profiles`, `k`, `precision`, `recall` (NaN for a one-row group), ordered by `k`
//! as given, then group. A `k` beyond a group's candidate pairs keeps cytominer-eval's
//! `precision = hits / k`. Groupings that fix the scores whatever the profiles are refused:
//! fewer than two rows, all rows one group (precision 1 by construction), no two rows in one
//! group (precision 0).

use cpbench_core::Profiles;
use cpbench_metrics::ranking::{PrecisionAtK, precision_recall_at_k};
use cpbench_metrics::{GroupKeys, Similarity};
use polars::prelude::*;

use super::explain;
use crate::bail;
use crate::error::Result;
use crate::params::Origin;
use crate::table::{Source, group_keys, matrix};

/// Parameters of precision@k.
#[derive(Debug, Clone)]
pub struct Params {
    /// Group columns: rows equal on all of them are replicates (missing is a value of its own).
    pub group: Vec<String>,
    /// Numbers of top pairs to consider.
    pub k: Vec<usize>,
    /// Similarity between profiles (cytominer-eval: Pearson).
    pub similarity: Similarity,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        let o = self.origin;
        let ks: Vec<u64> = self.k.iter().map(|&k| k as u64).collect();
        o.check(cpbench_metrics::params::neighbour_list("k", &ks))?;
        if self.group.is_empty() {
            bail!("{} names no column", o.key("group"));
        }
        Ok(())
    }
}

/// Precision and recall per (k, group), with the groups they refer to.
#[derive(Debug, Clone)]
pub struct Output {
    /// One entry per (k, group), ordered by k as given, then group.
    pub scores: Vec<PrecisionAtK>,
    /// The groups.
    pub groups: GroupKeys,
}

impl Output {
    /// At `k`: mean precision, mean recall, groups with precision 1 and with recall 1, groups.
    pub fn summary(&self, k: usize) -> KSummary {
        let at: Vec<_> = self.scores.iter().filter(|r| r.k == k).collect();
        let n = at.len() as f64;
        KSummary {
            precision: at.iter().map(|r| r.precision).sum::<f64>() / n,
            recall: at.iter().map(|r| r.recall).sum::<f64>() / n,
            n_precision_1: at.iter().filter(|r| r.precision == 1.0).count(),
            n_recall_1: at.iter().filter(|r| r.recall == 1.0).count(),
            n_groups: at.len(),
        }
    }
}

/// The summary of one k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KSummary {
    /// Mean precision over groups.
    pub precision: f64,
    /// Mean recall over groups.
    pub recall: f64,
    /// Groups with precision exactly 1 (cytominer-eval's count).
    pub n_precision_1: usize,
    /// Groups with recall exactly 1.
    pub n_recall_1: usize,
    /// Groups scored.
    pub n_groups: usize,
}

/// precision@k and recall@k of every group of `profiles`.
pub fn evaluate(profiles: &Profiles, params: &Params, source: &Source) -> Result<Output> {
    params.check()?;
    let file = &source.name;
    let o = params.origin;
    let groups = group_keys(profiles, &params.group, file)?;
    let (n, columns) = (groups.len(), params.group.join(","));
    // Degenerate groupings fix the scores whatever the profiles: refused, not reported.
    if n < 2 {
        bail!("{file}: precision@k needs at least 2 rows, got {n}");
    }
    if groups.n_groups() == 1 {
        bail!(
            "{file}: {} {columns}: all {n} rows are one replicate group, so every neighbour is a \
             replicate and precision would be 1 by construction",
            o.key("group")
        );
    }
    if groups.n_groups() == n {
        bail!(
            "{file}: {} {columns}: no two of the {n} rows are replicates, so no neighbour is one \
             and precision would be 0 by construction",
            o.key("group")
        );
    }
    let x = matrix(profiles)?;
    super::require_contrast(x, params.similarity, source, params.origin)?;
    let scores = precision_recall_at_k(x, &groups, &params.k, params.similarity, 0)
        .map_err(|e| explain(e, source, &params.group.join(","), params.origin))?;
    Ok(Output { scores, groups })
}

/// The output table: group columns, `n_profiles`, `k`, `precision`, `recall`.
pub fn table(out: &Output) -> Result<DataFrame> {
    let (scores, groups) = (&out.scores, &out.groups);
    let sizes: Vec<u64> = groups.members().iter().map(|m| m.len() as u64).collect();
    let mut cols: Vec<Column> = groups
        .columns
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
    Ok(DataFrame::new_infer_height(cols)?)
}
