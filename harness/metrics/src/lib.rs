//! cpbench-metrics: the scoring numerics of cpbench.
//!
//! Pure functions over row-major `f32` feature matrices ([`Matrix`]) and label
//! vectors; no files, no DataFrames. Statistics that must match reference
//! implementations accumulate in `f64`.
//!
//! Present:
//! - [`similarity`] — cosine, Pearson, abs-cosine and Euclidean (`1/(1+d)`)
//!   similarities, computed one block of query rows at a time so that no
//!   `n × n` matrix is ever materialized.
//! - [`error`] — [`MetricError`], naming the 0-based row or the parameter at fault.
//! - [`rng`] — in-crate seeded generators (SplitMix64, xoshiro256**, numpy's PCG64) so that
//!   every seeded result is reproducible across platforms and dependency versions.
//! - [`labels`] — metadata columns as label codes (single and multilabel), and [`GroupKeys`]:
//!   rows grouped by their values in one or more columns.
//! - [`quantile`] — numpy's linear quantile, bit for bit, and its rank / interpolation parts.
//! - [`retrieval`] — copairs 0.5 pair rules, average precision, mAP with null
//!   distributions, p-values, Benjamini–Hochberg q-values and fraction retrieved.
//! - [`enrichment`] — folds of enrichment (DeepProfilerExperiments convention) with
//!   Fisher odds ratios.
//! - [`ranking`] — precision@k / recall@k (cytominer-eval) and the interpolated-precision
//!   "MAP" of DeepProfilerExperiments (not copairs' mAP).
//! - [`replicating`] — percent replicating, pair-level and group-median variants.
//! - [`partition`] — NMI, ARI, purity, inverse purity, homogeneity / completeness / V-measure
//!   of two labelings (scikit-learn semantics).
//! - [`kmeans`] — seeded greedy k-means++ / Lloyd restarts (scikit-learn's algorithm), each scored
//!   separately, and the k sweep.
//! - [`silhouette`] — silhouette widths (scikit-learn) and scib's label / batch silhouettes.
//! - [`classify`] — multinomial L2 logistic regression (L-BFGS), balanced accuracy and
//!   seeded stratified group K-fold splits.
//! - [`knn`] — leave-one-out kNN accuracy with not-same-compound / batch exclusions.
//! - [`leakage`] — batch predictability from control profiles under grouped K-fold, and
//!   label-from-batch design confounding.
//! - [`pca`] — the leading principal axes of a centred matrix (for plots).
//! - [`relations`] — known-relationship recall (EFAAR): annotated gene pairs in the tails of
//!   all pairwise similarities.
//!
//! - [`params`] — the allowed range of every user-facing parameter, defined once and checked
//!   by the manifest loader, the runner and the algorithms alike.
//!
//! Each module holds its algorithm, parameter validation, errors and tests side by side
//! (DESIGN.md §5). General-purpose pieces that several metrics share live in modules of their
//! own, private to the crate: `measure` (the [`Similarity`] enum, a leaf module so that the
//! errors can name it), `blocks` (all-pairs similarities streamed one block of query rows at a
//! time), `parallel` (scoped-thread chunking whose results do not depend on the thread count)
//! and `order_stats` (exact order statistics of a replayable stream).

mod blocks;
pub mod classify;
pub mod enrichment;
pub mod error;
pub mod kmeans;
pub mod knn;
pub mod labels;
pub mod leakage;
pub mod matrix;
mod measure;
mod order_stats;
mod parallel;
pub mod params;
pub mod partition;
pub mod pca;
pub mod quantile;
pub mod ranking;
pub mod relations;
pub mod replicating;
pub mod retrieval;
pub mod rng;
pub mod silhouette;
pub mod similarity;
#[cfg(test)]
mod test_data;

pub use error::MetricError;
pub use labels::{GroupKeys, LabelColumn, MultiLabelColumn};
pub use matrix::Matrix;
pub use similarity::Similarity;
