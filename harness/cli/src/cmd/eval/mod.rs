//! `cpbench eval <metric>`: score a profile table without writing a benchmark (copairs-like flags).

pub mod common;
pub mod enrichment;
pub mod map;
pub mod precision;
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
}

/// Runs one `cpbench eval` subcommand.
pub fn run(cmd: EvalCommand) -> Result<Outcome> {
    match cmd {
        EvalCommand::Map(a) => map::run(*a),
        EvalCommand::Enrichment(a) => enrichment::run(a),
        EvalCommand::PrecisionAtK(a) => precision::run(a),
        EvalCommand::Replicating(a) => replicating::run(a),
    }
}
