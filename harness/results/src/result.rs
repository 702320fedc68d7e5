//! The versioned result of one (benchmark, plugin) run, as written to and read from JSON.
//!
//! One file per (benchmark@version, plugin@version+hash). Everything that identifies the inputs
//! (hashes, seeds, versions) sits beside the long-form scores; everything that varies between
//! identical runs (start time, wall time, memory) is confined to [`Timing`], so that
//! [`RunResult::scores_fingerprint`] can compare two runs' scores exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};

// One definition with plugin.toml, so a manifest's role and kind read back unchanged.
pub use cpbench_core::manifest::{PluginKind, PluginRole};

/// The result schema version this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// File name of the result JSON Schema inside a schemas folder (see [`write_schemas`]).
pub const RESULT_SCHEMA_FILE: &str = "result.schema.json";

const SHA256_PATTERN: &str = "^[0-9a-f]{64}$";

/// The outcome of running one plugin on one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// Version of this schema; always 1 for files this version of cpbench writes.
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    /// The benchmark that was run.
    pub benchmark: BenchmarkRef,
    /// The plugin that was run.
    pub plugin: PluginRef,
    /// Whether the run produced scores.
    pub status: Status,
    /// Why the run failed, was skipped or does not apply; may also hold warnings of a success.
    pub reasons: Vec<String>,
    /// The harness that produced the result.
    pub harness: HarnessInfo,
    /// What the scores were computed from.
    pub provenance: Provenance,
    /// When the run happened and what it cost; never part of score comparisons.
    pub timing: Timing,
    /// Long-form scores, one entry per (task, metric, variant, params).
    pub scores: Vec<Score>,
}

/// Identifies a benchmark by id, version and manifest hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkRef {
    /// The benchmark's id, as in its `benchmark.toml`.
    pub id: String,
    /// The benchmark's version, as in its `benchmark.toml`.
    pub version: u32,
    /// SHA-256 of the `benchmark.toml` bytes, lowercase hex.
    #[schemars(pattern(SHA256_PATTERN))]
    pub manifest_sha256: String,
}

/// Identifies a plugin by id, version and artifact hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    /// The plugin's id, as in its `plugin.toml`.
    pub id: String,
    /// The plugin's version, as in its `plugin.toml`.
    pub version: String,
    /// What the plugin is on a leaderboard.
    pub role: PluginRole,
    /// How the plugin produces its representation.
    pub kind: PluginKind,
    /// SHA-256 of the plugin's artifact (model, library, table), lowercase hex; absent if none.
    #[schemars(pattern(SHA256_PATTERN))]
    pub artifact_sha256: Option<String>,
}

/// Whether a run produced scores.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The run finished and its scores are valid.
    Succeeded,
    /// The run was attempted and broke; `reasons` says how.
    Failed,
    /// The run was not attempted (e.g. missing runtime); `reasons` says why.
    Skipped,
    /// The benchmark cannot apply to this plugin (e.g. input level mismatch); `reasons` says why.
    NotApplicable,
}

impl Status {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::NotApplicable => "not_applicable",
        }
    }
}

/// The harness build that produced a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarnessInfo {
    /// The cpbench version.
    pub version: String,
    /// The git commit cpbench was built from; absent when built outside a git checkout.
    pub git_commit: Option<String>,
}

/// What the scores were computed from, beyond the benchmark and plugin identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Every data file read, with its hash, in the order the benchmark lists them.
    pub dataset_files: Vec<DatasetFile>,
    /// The ONNX Runtime execution provider that ran (e.g. `cuda`, `cpu`); absent for other kinds.
    pub execution_provider: Option<String>,
    /// Every random seed used, by what it seeded (e.g. `replicate-map.null`).
    pub seeds: BTreeMap<String, u64>,
    /// The benchmark's train/test split, when it declares one and the run read its data: the
    /// plugin could fit on the train and shared rows, and tasks scored the test and shared rows
    /// only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<ScoredSplit>,
}

/// The train/test split a run was scored under (the benchmark's `[columns] split`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoredSplit {
    /// The metadata column whose value decided each row's side.
    pub column: String,
    /// The split file that mapped the column's values to labels, as written in `benchmark.toml`;
    /// absent when the lists below name the column's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Values (or labels) of the training rows: fitted on, not scored.
    pub train: Vec<String>,
    /// Values (or labels) of the test rows: scored, not fitted on.
    pub test: Vec<String>,
    /// Values (or labels) of the rows on both sides (e.g. negative controls).
    pub shared: Vec<String>,
    /// How many rows of the benchmark's table fell on each side.
    pub rows: SplitRows,
}

/// Rows of a benchmark's table per side of its split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRows {
    /// Training rows.
    pub train: u64,
    /// Test rows.
    pub test: u64,
    /// Rows on both sides.
    pub shared: u64,
    /// Rows on neither side: neither fitted on nor scored.
    pub none: u64,
}

/// One data file a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetFile {
    /// The path as written in `benchmark.toml` (relative to the benchmark folder).
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    #[schemars(pattern(SHA256_PATTERN))]
    pub sha256: String,
}

/// When a run happened and what it cost; varies between identical runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Wall-clock seconds the run took.
    #[schemars(range(min = 0))]
    pub wall_s: f64,
    /// Peak resident memory of the process that ran the plugin, in MiB, where measurable.
    #[schemars(range(min = 0))]
    pub peak_rss_mib: Option<f64>,
    /// When the run started, RFC 3339 (e.g. `2025-01-31T12:00:00Z`).
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
}

/// One number a task produced, with the variant and parameters that define it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Score {
    /// The task id, as in `benchmark.toml`.
    pub task: String,
    /// The metric (e.g. `map`, `nmi`, `knn-accuracy`).
    pub metric: String,
    /// The named variant of the metric (e.g. `copairs-0.5`, `fraction-retrieved`).
    pub variant: String,
    /// The score; always finite.
    pub value: f64,
    /// Standard deviation over restarts or folds, where the metric has one.
    #[schemars(range(min = 0))]
    pub sd: Option<f64>,
    /// Confidence interval `[low, high]`, where the metric has one.
    pub ci: Option<[f64; 2]>,
    /// Number of items the value summarizes (queries, groups, restarts).
    pub n: Option<u64>,
    /// The parameters that produced the value (k, thresholds, similarity, ...).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Whether this is one of the task's headline scores, shown as a leaderboard column.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
}

impl RunResult {
    /// Canonical compact JSON of the scores alone: equal for two runs iff their scores are.
    ///
    /// Order-sensitive on purpose: scores are emitted in benchmark task order, so a reordering
    /// means the harness itself behaved differently.
    pub fn scores_fingerprint(&self) -> String {
        let value = serde_json::to_value(&self.scores)
            .expect("scores hold only strings, numbers and string-keyed maps, which always encode");
        canonicalize(value).to_string()
    }

    /// Checks the rules the types alone cannot express, naming the JSON path of the first break.
    pub fn validate(&self) -> std::result::Result<(), Invalid> {
        if self.schema_version != SCHEMA_VERSION {
            return invalid(
                "schema_version",
                format!(
                    "is {}, but this cpbench reads version {SCHEMA_VERSION}",
                    self.schema_version
                ),
            );
        }
        check_sha256("benchmark.manifest_sha256", &self.benchmark.manifest_sha256)?;
        if let Some(hash) = &self.plugin.artifact_sha256 {
            check_sha256("plugin.artifact_sha256", hash)?;
        }
        if self.status != Status::Succeeded && self.reasons.is_empty() {
            return invalid(
                "reasons",
                format!("is empty, but a {} run must say why", self.status.as_str()),
            );
        }
        for (i, file) in self.provenance.dataset_files.iter().enumerate() {
            check_sha256(
                &format!("provenance.dataset_files[{i}].sha256"),
                &file.sha256,
            )?;
        }
        check_non_negative("timing.wall_s", self.timing.wall_s)?;
        if let Some(rss) = self.timing.peak_rss_mib {
            check_non_negative("timing.peak_rss_mib", rss)?;
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, score) in self.scores.iter().enumerate() {
            let at = |field: &str| format!("scores[{i}].{field}");
            for (field, text) in [("task", &score.task), ("metric", &score.metric)] {
                if text.is_empty() {
                    return invalid(&at(field), "is empty".into());
                }
            }
            check_finite(&at("value"), score.value)?;
            if let Some(sd) = score.sd {
                check_non_negative(&at("sd"), sd)?;
            }
            if let Some([low, high]) = score.ci {
                check_finite(&at("ci[0]"), low)?;
                check_finite(&at("ci[1]"), high)?;
                if low > high {
                    return invalid(&at("ci"), format!("low {low} exceeds high {high}"));
                }
            }
            // A leaderboard cell is keyed by all four; two entries would make it ambiguous.
            let key = serde_json::json!([score.task, score.metric, score.variant, score.params]);
            if let Some(first) = seen.insert(canonicalize(key).to_string(), i) {
                return invalid(
                    &format!("scores[{i}]"),
                    format!("repeats scores[{first}] (same task, metric, variant and params)"),
                );
            }
        }
        Ok(())
    }

    /// Writes the result as pretty JSON, atomically; refuses a result that breaks the schema.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let bytes = self.to_json_bytes(path)?;
        cpbench_core::io::write_bytes_atomic(path, &bytes)?;
        Ok(())
    }

    /// The bytes [`RunResult::write_json`] writes (pretty JSON and a newline), for a caller that
    /// commits them with other files; refuses a result that breaks the schema (errors name
    /// `path`).
    pub fn to_json_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        self.validate().map_err(|source| Error::Refused {
            path: path.to_path_buf(),
            source,
        })?;
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|source| Error::Encode {
            path: path.to_path_buf(),
            source,
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses and validates result bytes read from `path` (errors name it).
    pub fn from_json_bytes(path: &Path, bytes: &[u8]) -> Result<RunResult> {
        let result: RunResult = serde_json::from_slice(bytes).map_err(|source| Error::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        result.validate().map_err(|source| Error::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(result)
    }

    /// Reads and validates a result file.
    pub fn read_json(path: &Path) -> Result<RunResult> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RunResult::from_json_bytes(path, &bytes)
    }
}

/// The JSON Schema (draft 2020-12) of [`RunResult`], pretty-printed with a trailing newline.
pub fn result_json_schema() -> String {
    let schema = schemars::schema_for!(RunResult);
    let mut text = serde_json::to_string_pretty(&schema)
        .expect("a JSON Schema is a JSON value, which always encodes");
    text.push('\n');
    text
}

/// Writes every schema this crate defines into `dir` (created if missing); returns the files.
pub fn write_schemas(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| cpbench_core::Error::io(dir, e))?;
    let schemas = [
        (RESULT_SCHEMA_FILE, result_json_schema()),
        (
            crate::leaderboard::LEADERBOARD_SCHEMA_FILE,
            crate::leaderboard::leaderboard_json_schema(),
        ),
    ];
    let mut written = Vec::with_capacity(schemas.len());
    for (name, text) in schemas {
        let path = dir.join(name);
        cpbench_core::io::write_bytes_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn invalid(at: &str, what: String) -> std::result::Result<(), Invalid> {
    Err(Invalid {
        at: at.to_string(),
        what,
    })
}

fn check_sha256(at: &str, hash: &str) -> std::result::Result<(), Invalid> {
    let ok = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        invalid(
            at,
            format!("'{hash}' is not a SHA-256 (64 lowercase hex digits)"),
        )
    }
}

fn check_finite(at: &str, value: f64) -> std::result::Result<(), Invalid> {
    if value.is_finite() {
        Ok(())
    } else {
        // serde_json would write NaN and infinities as `null`, which then fails to read back.
        invalid(
            at,
            format!(
                "is {value}, which JSON cannot hold; leave the score out and say why in `reasons`"
            ),
        )
    }
}

fn check_non_negative(at: &str, value: f64) -> std::result::Result<(), Invalid> {
    check_finite(at, value)?;
    if value < 0.0 {
        return invalid(at, format!("is {value}, but must not be negative"));
    }
    Ok(())
}

/// Sorts object keys recursively, so the text does not depend on whether some crate in the
/// build turned on serde_json's `preserve_order` feature.
fn canonicalize(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(canonicalize).collect()),
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonicalize(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const HASH_B: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample() -> RunResult {
        RunResult {
            schema_version: SCHEMA_VERSION,
            benchmark: BenchmarkRef {
                id: "lincs-sq00015054".into(),
                version: 1,
                manifest_sha256: HASH_A.into(),
            },
            plugin: PluginRef {
                id: "cnn1-efficientnet".into(),
                version: "0.1.0".into(),
                role: PluginRole::Method,
                kind: PluginKind::Onnx,
                artifact_sha256: Some(HASH_B.into()),
            },
            status: Status::Succeeded,
            reasons: vec![],
            harness: HarnessInfo {
                version: "0.1.0".into(),
                git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            },
            provenance: Provenance {
                dataset_files: vec![DatasetFile {
                    path: "../data/x.csv.gz".into(),
                    sha256: HASH_B.into(),
                }],
                execution_provider: Some("cpu".into()),
                seeds: BTreeMap::from([("replicate-map.null".into(), 0), ("kmeans".into(), 7)]),
                split: Some(ScoredSplit {
                    column: "Metadata_broad_sample".into(),
                    file: None,
                    train: vec!["BRD-1".into()],
                    test: vec!["BRD-2".into()],
                    shared: vec!["DMSO".into()],
                    rows: SplitRows {
                        train: 6,
                        test: 6,
                        shared: 24,
                        none: 0,
                    },
                }),
            },
            timing: Timing {
                wall_s: 12.5,
                peak_rss_mib: Some(812.25),
                started_at: "2025-01-31T12:00:00Z".into(),
            },
            scores: vec![
                Score {
                    task: "replicate-map".into(),
                    metric: "map".into(),
                    variant: "copairs-0.5".into(),
                    value: 0.497,
                    sd: None,
                    ci: None,
                    n: Some(316),
                    params: BTreeMap::from([
                        ("similarity".into(), serde_json::json!("cosine")),
                        ("null_size".into(), serde_json::json!(10000)),
                    ]),
                    primary: true,
                },
                Score {
                    task: "moa-kmeans".into(),
                    metric: "nmi".into(),
                    variant: "sklearn-arithmetic".into(),
                    value: 0.61,
                    sd: Some(0.012),
                    ci: Some([0.58, 0.64]),
                    n: Some(100),
                    params: BTreeMap::new(),
                    primary: false,
                },
            ],
        }
    }

    /// A fresh folder under the system temp dir, unique to this process and test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cpbench-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = scratch("round-trip");
        let path = dir.join("result.json");
        let result = sample();
        result.write_json(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "pretty JSON with a trailing newline");
        assert!(text.contains("\"status\": \"succeeded\""), "{text}");
        assert_eq!(RunResult::read_json(&path).unwrap(), result);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn enums_use_the_documented_spellings() {
        let mut result = sample();
        result.status = Status::NotApplicable;
        result.reasons = vec!["plugin consumes images; benchmark has wells".into()];
        result.plugin.kind = PluginKind::FeatureTable;
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["status"], "not_applicable");
        assert_eq!(json["plugin"]["kind"], "feature-table");
        assert_eq!(json["plugin"]["role"], "method");
        assert_eq!(Status::NotApplicable.as_str(), "not_applicable");
    }

    #[test]
    fn unknown_fields_are_rejected_by_name() {
        let mut json = serde_json::to_value(sample()).unwrap();
        json["scores"][1]["stdev"] = serde_json::json!(0.1);
        let err = serde_json::from_value::<RunResult>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `stdev`"), "{err}");

        let dir = scratch("unknown-field");
        let path = dir.join("result.json");
        let mut json = serde_json::to_value(sample()).unwrap();
        json["timing"]["finished_at"] = serde_json::json!("later");
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        let err = RunResult::read_json(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: not a cpbench result:", path.display())),
            "{err}"
        );
        assert!(err.contains("unknown field `finished_at`"), "{err}");
        assert!(err.contains("line "), "names the line: {err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprint_ignores_timing_but_not_scores() {
        let a = sample();
        let mut b = sample();
        b.timing = Timing {
            wall_s: 99.0,
            peak_rss_mib: None,
            started_at: "2030-06-01T00:00:00+02:00".into(),
        };
        assert_eq!(a.scores_fingerprint(), b.scores_fingerprint());
        b.scores[0].value = 0.4970000001;
        assert_ne!(a.scores_fingerprint(), b.scores_fingerprint());
        let mut c = sample();
        c.scores[0].params.insert("k".into(), serde_json::json!(1));
        assert_ne!(a.scores_fingerprint(), c.scores_fingerprint());
    }

    #[test]
    fn fingerprint_is_compact_with_sorted_keys() {
        let fp = sample().scores_fingerprint();
        assert!(fp.starts_with(r#"[{"ci":null,"metric":"map","n":316,"params":{"null_size":10000,"similarity":"cosine"},"primary":true,"sd":null,"task":"replicate-map""#), "{fp}");
    }

    #[test]
    fn validation_names_the_offending_path() {
        let check = |edit: fn(&mut RunResult), expected: &str| {
            let mut result = sample();
            edit(&mut result);
            let err = result.validate().unwrap_err().to_string();
            assert!(
                err.starts_with(expected),
                "expected '{expected}', got '{err}'"
            );
        };
        check(
            |r| r.schema_version = 2,
            "schema_version: is 2, but this cpbench reads version 1",
        );
        check(
            |r| r.status = Status::Failed,
            "reasons: is empty, but a failed run must say why",
        );
        check(
            |r| r.scores[1].value = f64::NAN,
            "scores[1].value: is NaN, which JSON cannot hold",
        );
        check(
            |r| r.scores[1].ci = Some([0.7, 0.6]),
            "scores[1].ci: low 0.7 exceeds high 0.6",
        );
        check(
            |r| r.scores[0].sd = Some(-1.0),
            "scores[0].sd: is -1, but must not be negative",
        );
        check(|r| r.timing.wall_s = f64::INFINITY, "timing.wall_s: is inf");
        check(|r| r.scores[0].task.clear(), "scores[0].task: is empty");
        check(
            |r| r.provenance.dataset_files[0].sha256 = "ABC".into(),
            "provenance.dataset_files[0].sha256: 'ABC' is not a SHA-256",
        );
        check(
            |r| r.scores.push(r.scores[0].clone()),
            "scores[2]: repeats scores[0] (same task, metric, variant and params)",
        );
        // Same task and metric but different params (a k sweep) is fine.
        let mut sweep = sample();
        let mut other = sweep.scores[0].clone();
        other.params.insert("k".into(), serde_json::json!(5));
        sweep.scores.push(other);
        assert!(sweep.validate().is_ok());
    }

    #[test]
    fn invalid_results_are_neither_written_nor_read() {
        let dir = scratch("invalid");
        let path = dir.join("result.json");
        let mut result = sample();
        result.scores[0].value = f64::NAN;
        let err = result.write_json(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "refusing to write {}: scores[0].value",
                path.display()
            )),
            "{err}"
        );
        assert!(!path.exists(), "nothing written");

        let mut json = serde_json::to_value(sample()).unwrap();
        json["status"] = serde_json::json!("skipped");
        std::fs::write(&path, json.to_string()).unwrap();
        let err = RunResult::read_json(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: reasons: is empty, but a skipped run must say why",
                path.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn schema_describes_the_rules() {
        let schema: serde_json::Value = serde_json::from_str(&result_json_schema()).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["schema_version"]["const"], 1);
        let status: Vec<&str> = schema["$defs"]["Status"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["const"].as_str().unwrap())
            .collect();
        assert_eq!(status, ["succeeded", "failed", "skipped", "not_applicable"]);
        assert_eq!(
            schema["$defs"]["DatasetFile"]["properties"]["sha256"]["pattern"],
            SHA256_PATTERN
        );
    }

    #[test]
    fn committed_schema_is_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ci/schemas")
            .join(RESULT_SCHEMA_FILE);
        let on_disk = std::fs::read_to_string(&committed)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        assert!(
            on_disk == result_json_schema(),
            "ci/schemas/result.schema.json is stale: run `cargo run -p cpbench -- schemas ci/schemas`"
        );
    }

    #[test]
    fn write_schemas_creates_the_folder() {
        let dir = scratch("schemas").join("nested");
        let files = write_schemas(&dir).unwrap();
        assert_eq!(
            files,
            [
                dir.join(RESULT_SCHEMA_FILE),
                dir.join(crate::leaderboard::LEADERBOARD_SCHEMA_FILE)
            ]
        );
        assert_eq!(
            std::fs::read_to_string(&files[0]).unwrap(),
            result_json_schema()
        );
        assert_eq!(
            std::fs::read_to_string(&files[1]).unwrap(),
            crate::leaderboard::leaderboard_json_schema()
        );
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
