//! `cpbench prep <op>`: one preprocessing operation on a profile table, or a chain of them
//! (`pipeline`, the `[[preprocess]]` step syntax of benchmark.toml).

pub mod aggregate;
pub mod common;
pub mod control_normalize;
pub mod feature_select;
pub mod insp;
pub mod normalize;
pub mod pipeline;
pub mod sphere;
pub mod treatment_strength;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;

/// The preprocessing operations `cpbench prep` runs.
#[derive(Subcommand)]
pub enum PrepCommand {
    /// Drop features (pycytominer feature_select) and filter them by compartment/channel.
    #[command(name = "feature-select")]
    FeatureSelect(feature_select::Args),
    /// Scale features: standardize, robustize or mad_robustize (pycytominer normalize), per group.
    Normalize(normalize::Args),
    /// Sphere (whiten) on the fit rows: pycytominer PCA/ZCA(-cor), or CNN-1 regularized with a λ sweep.
    Sphere(sphere::Args),
    /// Project out the batch: iterative null-space projection of a batch classifier (JUMP analysis).
    Insp(insp::Args),
    /// One profile per group of --by columns: median or mean (pycytominer aggregate).
    Aggregate(aggregate::Args),
    /// Consensus of replicates per group of --by columns: median or MODZ (pycytominer consensus).
    Consensus(aggregate::Args),
    /// Per batch, center and scale every row by the batch's control rows (JUMP analysis).
    #[command(name = "control-normalize")]
    ControlNormalize(control_normalize::Args),
    /// z-scored distance of treated wells to their plate's control median, per treatment.
    #[command(name = "treatment-strength")]
    TreatmentStrength(treatment_strength::Args),
    /// Run [[preprocess]] steps (benchmark.toml syntax) from a steps file, in order.
    Pipeline(pipeline::Args),
}

/// Runs one `cpbench prep` subcommand.
pub fn run(cmd: PrepCommand) -> Result<Outcome> {
    match cmd {
        PrepCommand::Normalize(a) => normalize::run(a),
        PrepCommand::Sphere(a) => sphere::run(a),
        PrepCommand::Insp(a) => insp::run(a),
        PrepCommand::FeatureSelect(a) => feature_select::run(a),
        PrepCommand::Aggregate(a) => aggregate::run(a, false),
        PrepCommand::Consensus(a) => aggregate::run(a, true),
        PrepCommand::ControlNormalize(a) => control_normalize::run(a),
        PrepCommand::TreatmentStrength(a) => treatment_strength::run(a),
        PrepCommand::Pipeline(a) => pipeline::run(a),
    }
}
