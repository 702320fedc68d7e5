//! `audits/<id>.toml`: published numbers written down as claims for `cpbench audit` to
//! recompute.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::source::{Doc, resolve};
use super::{Loaded, Manifest, ManifestError};

/// An audit: claims from one or more publications, each recomputed by `cpbench audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditManifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// Audit id: lowercase letters, digits and '-', usually the file name without `.toml`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Short human-readable title, e.g. `GRAPE (CVPR-W 2024), Table 1`.
    pub title: String,
    /// Longer description: what is audited and how the setting was matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The claims (`[[claim]]`, at least one).
    #[serde(rename = "claim")]
    pub claims: Vec<Claim>,
}

/// One published number and what must be run to recompute it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Claim id, unique within the audit: lowercase letters, digits and '-'.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Where the number is published: a citation.
    pub source: String,
    /// Where in the source, e.g. `Table 1` or `Fig. 3b`.
    pub location: String,
    /// Benchmark id, or a path (relative to this file) to a benchmark folder or its benchmark.toml.
    pub benchmark: String,
    /// Plugin id, or a path (relative to this file) to a plugin folder or its plugin.toml.
    pub plugin: String,
    /// Id of the benchmark task whose score is compared.
    pub task: String,
    /// Which score of the task, when it reports several, e.g. `nmi` for a kmeans task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Picks one of several scores of that metric by its parameters, e.g. `{ k = 1 }`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
    /// Which statistic of the score, e.g. `mean` or `sd` over k-means restarts (default: the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// The published value.
    pub value: f64,
    /// Reproduced when |recomputed - value| <= tolerance; give this or `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Reproduced when lo <= recomputed <= hi, e.g. a published confidence interval; give this or `tolerance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// Anything a reader of the audit should know about this claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Claim {
    /// The closed range of recomputed values that reproduce the claim.
    pub fn accepted_range(&self) -> (f64, f64) {
        match (self.interval, self.tolerance) {
            (Some([lo, hi]), _) => (lo, hi),
            (None, Some(t)) => (self.value - t, self.value + t),
            // Validation requires one of the two; an exact match is the only honest fallback.
            (None, None) => (self.value, self.value),
        }
    }

    /// Whether a recomputed value reproduces the claim (NaN never does).
    pub fn accepts(&self, recomputed: f64) -> bool {
        let (lo, hi) = self.accepted_range();
        recomputed >= lo && recomputed <= hi
    }
}

/// A claim's reference to a benchmark or plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    /// Looked up by id among the known benchmarks or plugins.
    Id(String),
    /// A manifest file, resolved against the audit's directory.
    Path(PathBuf),
}

/// A reference is a path when it could not be an id: it has a separator or a `.toml` suffix.
fn is_path_ref(value: &str) -> bool {
    value.contains('/') || value.contains('\\') || value.ends_with(".toml")
}

/// Resolves a claim reference; a path not ending in `.toml` names a folder holding the
/// `file_name` manifest.
fn resolve_ref(dir: &Path, value: &str, file_name: &str) -> ManifestRef {
    if !is_path_ref(value) {
        return ManifestRef::Id(value.to_string());
    }
    let path = resolve(dir, Path::new(value));
    if value.ends_with(".toml") {
        ManifestRef::Path(path)
    } else {
        ManifestRef::Path(path.join(file_name))
    }
}

impl Loaded<AuditManifest> {
    /// The benchmark a claim refers to.
    pub fn benchmark_ref(&self, claim: &Claim) -> ManifestRef {
        resolve_ref(&self.dir, &claim.benchmark, "benchmark.toml")
    }

    /// The plugin a claim refers to.
    pub fn plugin_ref(&self, claim: &Claim) -> ManifestRef {
        resolve_ref(&self.dir, &claim.plugin, "plugin.toml")
    }
}

fn check_ref(doc: &Doc<'_>, key: &str, value: &str, file_name: &str) -> Result<(), ManifestError> {
    match resolve_ref(doc.dir(), value, file_name) {
        ManifestRef::Id(id) => doc.check_slug(key, &id),
        ManifestRef::Path(file) if file.is_file() => Ok(()),
        ManifestRef::Path(file) => Err(doc.missing_file(key, file)),
    }
}

impl Manifest for AuditManifest {
    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        doc.check_schema_version(self.schema_version)?;
        doc.check_slug("id", &self.id)?;
        doc.check_nonempty("title", &self.title)?;
        if self.claims.is_empty() {
            return Err(doc.invalid("claim", "an audit needs at least one [[claim]]"));
        }
        for (i, c) in self.claims.iter().enumerate() {
            let key = |k: &str| format!("claim[{i}].{k}");
            doc.check_slug(&key("id"), &c.id)?;
            if let Some(first) = self.claims[..i].iter().position(|o| o.id == c.id) {
                return Err(doc.invalid(
                    key("id"),
                    format!("duplicate claim id `{}` (also claim[{first}])", c.id),
                ));
            }
            doc.check_nonempty(&key("source"), &c.source)?;
            doc.check_nonempty(&key("location"), &c.location)?;
            check_ref(doc, &key("benchmark"), &c.benchmark, "benchmark.toml")?;
            check_ref(doc, &key("plugin"), &c.plugin, "plugin.toml")?;
            doc.check_slug(&key("task"), &c.task)?;
            for (k, v) in [("metric", &c.metric), ("statistic", &c.statistic)] {
                if let Some(v) = v {
                    doc.check_nonempty(&key(k), v)?;
                }
            }
            if !c.value.is_finite() {
                return Err(doc.invalid(key("value"), "must be a finite number"));
            }
            match (c.tolerance, c.interval) {
                (Some(_), Some(_)) => {
                    return Err(doc.invalid(
                        key("interval"),
                        "give either `tolerance` or `interval`, not both",
                    ));
                }
                (None, None) => {
                    return Err(doc.invalid(key("tolerance"), "give `tolerance` or `interval`"));
                }
                (Some(t), None) => {
                    doc.check_range(&key("tolerance"), t, 0.0, false, f64::INFINITY)?
                }
                (None, Some([lo, hi])) => {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        return Err(doc.invalid(
                            key("interval"),
                            format!("[{lo}, {hi}] is not a range: need finite lo <= hi"),
                        ));
                    }
                    if !(lo..=hi).contains(&c.value) {
                        return Err(doc.invalid(
                            key("interval"),
                            format!(
                                "[{lo}, {hi}] does not contain the published value {}",
                                c.value
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::manifest::test_util::{Fixture, assert_err};

    /// The smallest valid audit.
    pub(crate) const MINIMAL: &str = r#"
schema_version = 1
id = "a"
title = "A"
[[claim]]
id = "c"
source = "S"
location = "Table 1"
benchmark = "b"
plugin = "p"
task = "t"
value = 0.5
tolerance = 0.01
"#;

    const GRAPE: &str = r#"
schema_version = 1
id = "grape-table1"
title = "GRAPE, Table 1"
description = "Only the Random row can be recomputed without the paper's embeddings."

[[claim]]
id = "random-map"
source = "Bigverdi, Hoeckendorf et al., CVPR Workshops 2024"
location = "Table 1"
benchmark = "../grape-corum"
plugin = "random-embedding"
task = "complex-map"
value = 0.104
tolerance = 0.02

[[claim]]
id = "random-nmi"
source = "Bigverdi, Hoeckendorf et al., CVPR Workshops 2024"
location = "Table 1"
benchmark = "grape-corum"
plugin = "../../plugins/random/plugin.toml"
task = "complex-kmeans"
metric = "nmi"
statistic = "mean"
value = 0.310
interval = [0.29, 0.33]
note = "mean over 100 restarts"
"#;

    fn fixture() -> Fixture {
        Fixture::new(&[
            "benchmarks/audits/other.toml",
            "benchmarks/grape-corum/benchmark.toml",
            "plugins/random/plugin.toml",
        ])
    }

    fn err(from: &str, to: &str) -> String {
        assert!(GRAPE.contains(from), "test edit `{from}` does not apply");
        fixture()
            .error::<AuditManifest>("benchmarks/audits/grape.toml", &GRAPE.replacen(from, to, 1))
    }

    #[test]
    fn example_parses_and_resolves_references() {
        let fx = fixture();
        let a = fx
            .load::<AuditManifest>("benchmarks/audits/grape.toml", GRAPE)
            .unwrap();
        assert_eq!(a.manifest.claims.len(), 2);
        let c0 = &a.manifest.claims[0];
        let c1 = &a.manifest.claims[1];
        assert_eq!(
            a.benchmark_ref(c0),
            ManifestRef::Path(fx.path("benchmarks/audits/../grape-corum/benchmark.toml"))
        );
        assert_eq!(a.plugin_ref(c0), ManifestRef::Id("random-embedding".into()));
        assert_eq!(a.benchmark_ref(c1), ManifestRef::Id("grape-corum".into()));
        assert_eq!(
            a.plugin_ref(c1),
            ManifestRef::Path(fx.path("benchmarks/audits/../../plugins/random/plugin.toml"))
        );
        assert_eq!(c1.statistic.as_deref(), Some("mean"));
        assert!((c0.accepted_range().0 - 0.084).abs() < 1e-12);
        assert!(c0.accepts(0.12) && !c0.accepts(0.13) && !c0.accepts(f64::NAN));
        assert!(c1.accepts(0.29) && c1.accepts(0.33) && !c1.accepts(0.335));
    }

    #[test]
    fn claim_errors_name_their_key() {
        assert_err(
            &err(
                "tolerance = 0.02",
                "tolerance = 0.02\ninterval = [0.1, 0.2]",
            ),
            "claim[0].interval",
            "not both",
        );
        assert_err(
            &err("tolerance = 0.02\n", ""),
            "claim[0].tolerance",
            "give `tolerance` or `interval`",
        );
        assert_err(
            &err("tolerance = 0.02", "tolerance = -0.02"),
            "claim[0].tolerance",
            "out of range",
        );
        assert_err(
            &err("interval = [0.29, 0.33]", "interval = [0.33, 0.29]"),
            "claim[1].interval",
            "need finite lo <= hi",
        );
        assert_err(
            &err("interval = [0.29, 0.33]", "interval = [0.32, 0.33]"),
            "claim[1].interval",
            "does not contain the published value 0.31",
        );
        assert_err(
            &err("interval = [0.29, 0.33]", "interval = [0.29]"),
            "claim[1].interval",
            "invalid length 1",
        );
        assert_err(
            &err("id = \"random-nmi\"", "id = \"random-map\""),
            "claim[1].id",
            "duplicate claim id",
        );
        assert_err(
            &err("value = 0.104", "value = \"0.104\""),
            "claim[0].value",
            "expected a number",
        );
        assert_err(
            &err("task = \"complex-map\"", "task = \"Complex map\""),
            "claim[0].task",
            "not a valid id",
        );
        assert_err(
            &err("location = \"Table 1\"\n", ""),
            "claim[0].location",
            "required key is missing",
        );
        assert_err(
            &err("note = ", "notes = "),
            "claim[1].notes",
            "did you mean `note`?",
        );
        let e = err("../grape-corum", "../grape-missing");
        assert_err(&e, "claim[0].benchmark", "file not found");
        assert!(e.contains("grape-missing"), "{e}");
        assert_err(
            &err("plugin = \"random-embedding\"", "plugin = \"Random\""),
            "claim[0].plugin",
            "not a valid id",
        );
    }

    #[test]
    fn needs_a_claim() {
        let fx = Fixture::new(&[]);
        let text = "schema_version = 1\nid = \"a\"\ntitle = \"A\"\nclaim = []\n";
        assert_err(
            &fx.error::<AuditManifest>("audits/a.toml", text),
            "claim",
            "at least one",
        );
    }
}
