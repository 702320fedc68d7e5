//! `cpbench eval <metric>`: score a profile table without writing a benchmark (copairs-like flags).

pub mod common;
pub mod enrichment;
pub mod kmeans;
pub mod knn;
pub mod leakage;
pub mod map;
pub mod partition;
pub mod precision;
pub mod relations;
pub mod replicating;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;

/// The metrics `cpbench eval` computes.
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Average precision per profile and mAP per group with p-values (copairs pair rules).
    Map(Box<map::Args>),
    /// Folds of enrichment and the interpolated-precision MAP (DeepProfilerExperiments).
    Enrichment(enrichment::Args),
    /// precision@k and recall@k per replicate group (cytominer-eval).
    #[command(name = "precision-at-k")]
    PrecisionAtK(precision::Args),
    /// Percent replicating: pair-level (cytominer-eval) or group-median with a permutation null.
    Replicating(replicating::Args),
    /// Seeded k-means restarts scored separately (NMI, ARI, purity), best inertia, k sweep.
    Kmeans(Box<kmeans::Args>),
    /// NMI, ARI, purity, homogeneity/completeness/V-measure of a predicted vs a true label column.
    Partition(partition::Args),
    /// Leave-one-out kNN accuracy with exclusion rules (NSC, NSCB), per class and confusion matrix.
    Knn(knn::Args),
    /// Batch predictability from control profiles under stratified group K-fold (balanced accuracy).
    #[command(name = "batch-leakage")]
    BatchLeakage(leakage::Args),
    /// Known-relationship recall of gene-level profiles (EFAAR): annotated pairs in the tails.
    Relations(relations::Args),
}

/// Runs one `cpbench eval` subcommand.
pub fn run(cmd: EvalCommand) -> Result<Outcome> {
    match cmd {
        EvalCommand::Map(a) => map::run(*a),
        EvalCommand::Enrichment(a) => enrichment::run(a),
        EvalCommand::PrecisionAtK(a) => precision::run(a),
        EvalCommand::Replicating(a) => replicating::run(a),
        EvalCommand::Kmeans(a) => kmeans::run(*a),
        EvalCommand::Partition(a) => partition::run(a),
        EvalCommand::Knn(a) => knn::run(a),
        EvalCommand::BatchLeakage(a) => leakage::run(a),
        EvalCommand::Relations(a) => relations::run(a),
    }
}
