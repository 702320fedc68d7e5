//! Percent replicating, pair-level (cytominer-eval) or group-median with a per-size permutation
//! null (definitions: `cpbench_metrics::replicating`).
//!
//! Report: the variant, its parameters and the percent replicating; the pair variant adds the
//! threshold and pair counts, the group-median variant each group's median, threshold and
//! verdict and each size's null threshold.

use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::params as limits;
use cpbench_metrics::replicating::{
    GroupMedianOptions, percent_replicating_group_median, percent_replicating_pairs,
};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::explain;

use crate::bail;
use crate::error::Result;
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, group_keys, matrix};

/// Which percent replicating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// cytominer-eval: share of replicate pairs above the quantile of non-replicate pairs.
    #[default]
    Pair,
    /// Share of groups whose median similarity exceeds the quantile of random groups' medians.
    GroupMedian,
}

impl Variant {
    /// The variant's name in flags, manifests and reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Pair => "pair",
            Variant::GroupMedian => "group-median",
        }
    }
}

/// Parameters of percent replicating.
#[derive(Debug, Clone)]
pub struct Params {
    /// Replicate columns: rows equal on all of them are replicates (missing equals missing).
    pub replicate: Vec<String>,
    /// The variant.
    pub variant: Variant,
    /// Quantile (0-1) of the null a replicate similarity or median must exceed.
    pub quantile: f64,
    /// Similarity between profiles.
    pub similarity: Similarity,
    /// Random groups per group size (group-median only; default 1000).
    pub null_size: Option<usize>,
    /// Seed of the null (group-median only; default 0).
    pub seed: Option<u64>,
    /// Worker threads (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        let o = self.origin;
        o.check(limits::quantile(self.quantile))?;
        if self.variant == Variant::Pair && (self.null_size.is_some() || self.seed.is_some()) {
            bail!(
                "{} and {} apply to {} group-median only",
                o.key("null_size"),
                o.key("seed"),
                o.key("variant")
            );
        }
        if let Some(n) = self.null_size {
            o.check(limits::null_size(n as u64))?;
        }
        if self.replicate.is_empty() {
            bail!("{} names no column", o.key("replicate"));
        }
        Ok(())
    }
}

/// A group's values on the replicate columns, as a JSON object in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupValues(pub Vec<(String, Option<String>)>);

impl Serialize for GroupValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One group of the group-median variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group's replicate values.
    pub values: GroupValues,
    /// Rows in the group.
    pub size: usize,
    /// Median similarity of its pairs.
    pub median: f64,
    /// Null threshold of its size.
    pub threshold: f64,
    /// Whether the median exceeds the threshold.
    pub replicating: bool,
}

/// The null of one group size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NullReport {
    /// Group size.
    pub size: usize,
    /// The null's quantile.
    pub threshold: f64,
}

/// What each variant adds to the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VariantReport {
    /// The pair variant.
    Pair {
        /// Always `pair`.
        variant: &'static str,
        /// The definition.
        convention: &'static str,
        /// Share of replicate pairs above the threshold.
        percent_replicating: f64,
        /// The null quantile.
        threshold: f64,
        /// Replicate pairs.
        n_replicate_pairs: u64,
        /// Non-replicate pairs.
        n_non_replicate_pairs: u64,
        /// Replicate pairs above the threshold.
        n_above: u64,
    },
    /// The group-median variant.
    GroupMedian {
        /// Always `group-median`.
        variant: &'static str,
        /// The definition.
        convention: &'static str,
        /// Random groups per size.
        null_size: usize,
        /// Null seed.
        seed: u64,
        /// Share of groups replicating.
        percent_replicating: f64,
        /// Groups of at least two rows.
        n_groups: usize,
        /// Of them, replicating.
        n_replicating: usize,
        /// One null per group size.
        nulls: Vec<NullReport>,
        /// Every group.
        groups: Vec<GroupReport>,
    },
}

/// The percent-replicating report (`cpbench eval replicating --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `percent_replicating`.
    pub metric: &'static str,
    /// The scored table.
    pub profiles: String,
    /// The row filters applied before scoring.
    pub filters: Vec<String>,
    /// Rows scored.
    pub n_profiles: usize,
    /// Features per row.
    pub n_features: usize,
    /// Replicate columns.
    pub replicate: Vec<String>,
    /// Similarity name.
    pub similarity: &'static str,
    /// Null quantile.
    pub quantile: f64,
    /// The variant's fields.
    #[serde(flatten)]
    pub variant: VariantReport,
}

impl Report {
    /// The percent replicating, whichever the variant.
    pub fn percent_replicating(&self) -> f64 {
        match &self.variant {
            VariantReport::Pair {
                percent_replicating,
                ..
            }
            | VariantReport::GroupMedian {
                percent_replicating,
                ..
            } => *percent_replicating,
        }
    }
}

const PAIR_CONVENTION: &str = "cytominer-eval replicate_reproducibility: upper-triangle pairs; \
                        replicate = equal on every replicate column (missing equals missing); share \
                        of replicate pairs strictly above the quantile (numpy linear) of the \
                        non-replicate pairs";

const GROUP_CONVENTION: &str = "per group of >= 2 rows, the median similarity of its pairs; \
                        null per group size: medians of random groups of that size drawn from \
                        distinct replicate values (SplitMix64 keyed by seed and size); share of \
                        groups strictly above the null's quantile (numpy linear)";

/// Percent replicating of `profiles`.
pub fn evaluate(
    profiles: &Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Report> {
    params.check()?;
    let file = &source.name;
    let columns = &params.replicate;
    let groups = group_keys(profiles, columns, file)?;
    let x = matrix(profiles)?;
    super::require_contrast(x, params.similarity, source, params.origin)?;
    let replicate_text = columns.join(",");
    let fail = |e| explain(e, source, &replicate_text, params.origin);
    let variant = match params.variant {
        Variant::Pair => {
            let r = percent_replicating_pairs(x, &groups, params.quantile, params.similarity)
                .map_err(fail)?;
            reporter.summary(&format!(
                "percent replicating (pair, q = {}): {} ({} of {} replicate pairs above {})",
                params.quantile, r.percent_replicating, r.n_above, r.n_replicate_pairs, r.threshold
            ));
            VariantReport::Pair {
                variant: "pair",
                convention: PAIR_CONVENTION,
                percent_replicating: r.percent_replicating,
                threshold: r.threshold,
                n_replicate_pairs: r.n_replicate_pairs,
                n_non_replicate_pairs: r.n_non_replicate_pairs,
                n_above: r.n_above,
            }
        }
        Variant::GroupMedian => {
            let options = GroupMedianOptions {
                quantile: params.quantile,
                similarity: params.similarity,
                null_size: params.null_size.unwrap_or(1000),
                seed: params.seed.unwrap_or(0),
                threads: params.threads,
            };
            let r = percent_replicating_group_median(x, &groups, &options).map_err(fail)?;
            let n_replicating = r.groups.iter().filter(|g| g.replicating).count();
            let group_rows = r
                .groups
                .iter()
                .map(|g| GroupReport {
                    values: GroupValues(
                        columns
                            .iter()
                            .cloned()
                            .zip(groups.values[g.group as usize].iter().cloned())
                            .collect(),
                    ),
                    size: g.size,
                    median: g.median,
                    threshold: g.threshold,
                    replicating: g.replicating,
                })
                .collect();
            reporter.summary(&format!(
                "percent replicating (group-median, q = {}): {} ({n_replicating} of {} groups)",
                params.quantile,
                r.percent_replicating,
                r.groups.len()
            ));
            VariantReport::GroupMedian {
                variant: "group-median",
                convention: GROUP_CONVENTION,
                null_size: options.null_size,
                seed: options.seed,
                percent_replicating: r.percent_replicating,
                n_groups: r.groups.len(),
                n_replicating,
                nulls: r
                    .nulls
                    .iter()
                    .map(|s| NullReport {
                        size: s.size,
                        threshold: s.threshold,
                    })
                    .collect(),
                groups: group_rows,
            }
        }
    };
    let report = Report {
        metric: "percent_replicating",
        profiles: file.clone(),
        filters: source.filters.clone(),
        n_profiles: profiles.n_rows(),
        n_features: profiles.n_features(),
        replicate: columns.clone(),
        similarity: params.similarity.name(),
        quantile: params.quantile,
        variant,
    };
    debug_assert!(report.percent_replicating().is_finite());
    Ok(report)
}
