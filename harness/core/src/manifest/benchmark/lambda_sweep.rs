//! The `[lambda_sweep]` table ([`LambdaSweepSpec`]): one task rescored with the benchmark's
//! single `sphere` step rerun at each λ. The task must exist, the benchmark must have exactly
//! one `sphere` step, and every λ must be finite and > 0.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BenchmarkManifest, PrepOp};
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;

/// The `[lambda_sweep]` table: the benchmark's one `sphere` step rerun with each λ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaSweepSpec {
    /// Id of the task rescored at each λ.
    pub task: String,
    /// Which score of the task to plot (default: its first primary score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The λ values, each > 0.
    pub values: Vec<f64>,
}

impl BenchmarkManifest {
    /// Checks `[lambda_sweep]`, when given, against the tasks and preprocessing steps.
    pub(super) fn validate_lambda_sweep(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let Some(sweep) = &self.lambda_sweep else {
            return Ok(());
        };
        if !self.tasks.iter().any(|t| t.id == sweep.task) {
            return Err(doc.invalid(
                "lambda_sweep.task",
                format!("no [[task]] has id `{}`", sweep.task),
            ));
        }
        let spheres = self
            .preprocess
            .iter()
            .filter(|s| s.op == PrepOp::Sphere)
            .count();
        if spheres != 1 {
            return Err(doc.invalid(
                "lambda_sweep",
                format!("needs exactly one `sphere` step in [[preprocess]], found {spheres}"),
            ));
        }
        if sweep.values.is_empty() || sweep.values.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
            return Err(doc.invalid(
                "lambda_sweep.values",
                "must list at least one λ, each finite and > 0",
            ));
        }
        Ok(())
    }
}
