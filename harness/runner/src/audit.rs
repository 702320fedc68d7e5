//! Published claims recomputed: each claim of an audit file names a benchmark, a plugin, a
//! task's score and the published value; the pair is run (or read from the cache like any run)
//! and the claim is judged against its tolerance.

use std::path::{Path, PathBuf};

use cpbench_core::manifest::{AuditManifest, Claim, Loaded, ManifestRef, load_audit};
use cpbench_host::plugin::load_plugin;
use cpbench_results::{RunResult, Score, Status};

use crate::bench::{PairOutcome, RunOptions, open_benchmark, run_pair};
use crate::error::{Context, Result};

/// One claim, recomputed.
pub struct ClaimOutcome<'a> {
    /// The claim as written.
    pub claim: &'a Claim,
    /// The recomputed value, or why there is none.
    pub value: std::result::Result<f64, String>,
    /// The run the value comes from.
    pub run: PairOutcome,
}

impl ClaimOutcome<'_> {
    /// Whether the recomputed value lies within the claim's accepted range.
    pub fn reproduced(&self) -> bool {
        self.value.as_ref().is_ok_and(|&v| self.claim.accepts(v))
    }
}

/// Loads the audit file at `path`.
pub fn open_audit(path: &Path) -> Result<Loaded<AuditManifest>> {
    load_audit(path).with_context(|| format!("loading audit {}", path.display()))
}

/// Recomputes every claim of `audit`, calling `each` with each outcome as it is known;
/// plugin ids are looked up in `plugins`.
pub fn recompute_claims(
    audit: &Loaded<AuditManifest>,
    plugins: &Path,
    opts: &RunOptions<'_>,
    mut each: impl FnMut(&ClaimOutcome<'_>),
) -> Result<Vec<bool>> {
    let mut verdicts = Vec::new();
    for claim in &audit.manifest.claims {
        let bench_path = locate(audit, audit.benchmark_ref(claim), "benchmark.toml", None);
        let plugin_path = locate(audit, audit.plugin_ref(claim), "plugin.toml", Some(plugins));
        let bench = open_benchmark(&bench_path)?;
        let plugin = load_plugin(&plugin_path)?;
        let run = run_pair(&bench, &plugin, opts)?;
        let value = recomputed(&run.result, claim);
        let outcome = ClaimOutcome { claim, value, run };
        verdicts.push(outcome.reproduced());
        each(&outcome);
    }
    Ok(verdicts)
}

/// A claim's manifest: a path as written, or an id looked up next to the audit file, beside
/// the audits folder (`benchmarks/<id>`), or in the plugins folder.
fn locate(
    audit: &Loaded<AuditManifest>,
    reference: ManifestRef,
    file_name: &str,
    plugins: Option<&Path>,
) -> PathBuf {
    let id = match reference {
        ManifestRef::Path(p) => return p,
        ManifestRef::Id(id) => id,
    };
    let candidates = match plugins {
        Some(dir) => vec![dir.join(&id)],
        None => vec![audit.dir.join(&id), audit.dir.join("..").join(&id)],
    };
    candidates
        .iter()
        .find(|c| c.join(file_name).exists())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// The claim's number from a run: its task, metric and params; `statistic` `sd` picks the sd.
pub fn recomputed(r: &RunResult, claim: &Claim) -> std::result::Result<f64, String> {
    if r.status != Status::Succeeded {
        return Err(format!(
            "the run {}: {}",
            r.status.as_str(),
            r.reasons.join("; ")
        ));
    }
    let matches = |s: &&Score| {
        s.task == claim.task
            && claim.metric.as_deref().is_none_or(|m| s.metric == m)
            && claim.params.iter().all(|(k, v)| s.params.get(k) == Some(v))
    };
    let found: Vec<&Score> = r.scores.iter().filter(matches).collect();
    let score = match found.as_slice() {
        [] => return Err(format!("no score of task `{}` matches", claim.task)),
        [one] => *one,
        many => many
            .iter()
            .find(|s| s.primary)
            .copied()
            .ok_or_else(|| format!("{} scores match; name `metric` or `params`", many.len()))?,
    };
    match claim.statistic.as_deref() {
        None | Some("mean") | Some("value") => Ok(score.value),
        Some("sd") => score.sd.ok_or_else(|| "the score has no sd".to_string()),
        Some(other) => Err(format!("unknown statistic `{other}` (mean or sd)")),
    }
}
