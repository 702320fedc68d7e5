//! A steps file for `cpbench prep pipeline`: the `[[preprocess]]` steps of a benchmark.toml,
//! with the optional `[columns]` roles they rely on (controls, plate, batch), and nothing else.
//!
//! ```toml
//! [columns]
//! plate = "Metadata_Plate"
//! control = { column = "Metadata_broad_sample", values = ["DMSO"] }
//!
//! [[preprocess]]
//! op = "normalize"
//! method = "mad_robustize"
//! by = ["Metadata_Plate"]
//! fit_on = "controls"
//! ```

use serde::Deserialize;

use super::benchmark::{BenchmarkManifest, Columns, PrepStep};
use super::source::Doc;
use super::{Manifest, ManifestError};

/// A `cpbench prep pipeline --steps FILE.toml` document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepPipeline {
    /// Roles of metadata columns, as in benchmark.toml (`control`, `plate`, `batch`, ...).
    #[serde(default)]
    pub columns: Columns,
    /// The steps, run in order; validated exactly as a benchmark's `[[preprocess]]`.
    #[serde(default)]
    pub preprocess: Vec<PrepStep>,
}

impl Manifest for PrepPipeline {
    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        if self.preprocess.is_empty() {
            return Err(doc.invalid(
                "preprocess",
                "a steps file needs at least one [[preprocess]] step",
            ));
        }
        for (i, step) in self.preprocess.iter().enumerate() {
            BenchmarkManifest::validate_prep_step(&self.columns, doc, i, step)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::PrepOp;
    use crate::manifest::test_util::{Fixture, assert_err};

    #[test]
    fn steps_are_validated_like_a_benchmark_preprocess() {
        let fx = Fixture::new(&["block.txt"]);
        let ok = fx
            .load::<PrepPipeline>(
                "steps.toml",
                r#"
[columns]
batch = "Metadata_Batch"
control = { column = "Metadata_pert_type", values = ["control"] }

[[preprocess]]
op = "feature-select"
ops = ["frequency_threshold", "blocklist"]
blocklist = "block.txt"

[[preprocess]]
op = "control-normalize"
method = "mad_robustize"
"#,
            )
            .unwrap();
        let steps = &ok.manifest.preprocess;
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].op, PrepOp::ControlNormalize);
        assert_eq!(ok.manifest.columns.batch.as_deref(), Some("Metadata_Batch"));

        // control-normalize without [columns] control or fit_on: named.
        let err = fx.error::<PrepPipeline>(
            "steps.toml",
            "[[preprocess]]\nop = \"control-normalize\"\nbatch = \"B\"\n",
        );
        assert_err(&err, "preprocess[0].fit_on", "control");
        let err = fx.error::<PrepPipeline>(
            "steps.toml",
            "[[preprocess]]\nop = \"aggregate\"\nby = [\"P\"]\nepsilon = 1.0\n",
        );
        assert!(
            err.contains("preprocess[0]") && err.contains("epsilon"),
            "{err}"
        );
        let err = fx.error::<PrepPipeline>("steps.toml", "[columns]\nplate = \"P\"\n");
        assert!(err.contains("at least one [[preprocess]]"), "{err}");
        let err = fx.error::<PrepPipeline>(
            "steps.toml",
            "[[preprocess]]\nop = \"feature-select\"\nops = [\"variance\"]\n",
        );
        assert_err(
            &err,
            "preprocess[0].ops[0]",
            "unknown feature-selection operation",
        );
    }
}
