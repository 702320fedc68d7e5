//! k-means: seeded restarts scored separately against a label column (NMI, ARI, purity;
//! mean ± population sd), the best inertia, silhouettes and an optional k sweep (definitions:
//! `cpbench_metrics::kmeans`, `partition`, `silhouette`).
//!
//! Rows without a label are refused (the error names the first such row); `drop_missing` drops
//! them instead and the report counts them (`n_dropped_missing`).

use cpbench_core::Profiles;
use cpbench_metrics::kmeans::{KMeansOptions, MeanSd, best_restart, kmeans_range};
use cpbench_metrics::params as limits;
use cpbench_metrics::partition::PartitionScores;
use cpbench_metrics::retrieval::Shard;
use cpbench_metrics::silhouette::{SilhouetteMetric, scib_batch_silhouette, silhouette_score};
use cpbench_metrics::{LabelColumn, MetricError};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, matrix, require_columns, row_note};
use crate::{bail, err};

/// Distance of the silhouettes in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Silhouette {
    /// Euclidean distance (scikit-learn's default).
    #[default]
    Euclidean,
    /// Cosine distance (1 − cos).
    Cosine,
    /// Skip the silhouettes.
    None,
}

/// Parameters of k-means scoring.
#[derive(Debug, Clone)]
pub struct Params {
    /// Ground-truth label column the clusterings are scored against.
    pub labels: String,
    /// Number of clusters; `None` for the number of distinct labels.
    pub k: Option<usize>,
    /// Independent restarts, each scored separately.
    pub restarts: usize,
    /// Base seed; restart r uses a key derived from (seed, r).
    pub seed: u64,
    /// Also run every k of this range and report NMI/ARI/purity mean ± sd per k.
    pub k_sweep: Option<(usize, usize)>,
    /// Maximum Lloyd iterations per restart.
    pub max_iter: usize,
    /// Tolerance on the summed squared center shift, relative to the mean feature variance.
    pub tol: f64,
    /// Distance of the label (and batch) silhouettes, or none.
    pub silhouette: Silhouette,
    /// Batch column: adds scib's batch silhouette.
    pub batch: Option<String>,
    /// Drop rows without a label (or batch) instead of refusing them.
    pub drop_missing: bool,
    /// Worker threads over restarts (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// scikit-learn's defaults (100 restarts, 300 iterations, tol 1e-4) for `labels`.
    pub fn new(labels: impl Into<String>, origin: Origin) -> Params {
        Params {
            labels: labels.into(),
            k: None,
            restarts: 100,
            seed: 0,
            k_sweep: None,
            max_iter: 300,
            tol: 1e-4,
            silhouette: Silhouette::Euclidean,
            batch: None,
            drop_missing: false,
            threads: 0,
            origin,
        }
    }

    /// Checks every value before any work, naming the flag or manifest key at fault.
    pub fn check(&self) -> Result<()> {
        let o = self.origin;
        if let Some(k) = self.k {
            o.check(limits::clusters(k as u64))?;
        }
        o.check(limits::restarts(self.restarts as u64))?;
        o.check(limits::max_iter(self.max_iter as u64))?;
        o.check(limits::tol(self.tol))?;
        if let Some((from, to)) = self.k_sweep {
            o.check(limits::k_sweep(from as u64, to as u64))?;
        }
        Ok(())
    }
}

/// Mean and population standard deviation over restarts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub sd: f64,
}

impl From<MeanSd> for Summary {
    fn from(s: MeanSd) -> Summary {
        Summary {
            mean: s.mean,
            sd: s.sd,
        }
    }
}

/// One restart's clustering and its scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartReport {
    /// Restart index.
    pub restart: usize,
    /// The seed it ran with.
    pub seed: u64,
    /// Normalized mutual information with the labels.
    pub nmi: f64,
    /// Adjusted Rand index with the labels.
    pub ari: f64,
    /// Purity against the labels.
    pub purity: f64,
    /// Sum of squared distances to the cluster centers.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
}

/// The headline statistics over restarts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryReport {
    /// NMI mean ± sd.
    pub nmi: Summary,
    /// ARI mean ± sd.
    pub ari: Summary,
    /// Purity mean ± sd.
    pub purity: Summary,
    /// Inertia mean ± sd.
    pub inertia: Summary,
}

/// The silhouettes of the label (and batch) column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilhouetteReport {
    /// `euclidean` or `cosine`.
    pub distance: &'static str,
    /// How each value is defined.
    pub convention: &'static str,
    /// scikit-learn silhouette_score of the labels (`None` unless 2 ≤ labels ≤ n − 1).
    pub labels: Option<f64>,
    /// `(labels + 1) / 2`, scib's scale.
    pub labels_scib: Option<f64>,
    /// The batch column, if any.
    pub batch_column: Option<String>,
    /// The same silhouette for the batch column (high = batches separate).
    pub batch: Option<f64>,
    /// scib's batch silhouette (batches mixed within each label).
    pub batch_scib: Option<f64>,
}

/// NMI, ARI and purity at one k of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    /// Number of clusters.
    pub k: usize,
    /// Whether k is the number of labels.
    pub ground_truth: bool,
    /// NMI mean ± sd.
    pub nmi: Summary,
    /// ARI mean ± sd.
    pub ari: Summary,
    /// Purity mean ± sd.
    pub purity: Summary,
    /// Lowest inertia over the restarts at this k.
    pub best_inertia: f64,
}

/// The k-means report (`cpbench eval kmeans --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `kmeans`.
    pub metric: &'static str,
    /// The scored table.
    pub profiles: String,
    /// The row filters applied before scoring.
    pub filters: Vec<String>,
    /// The label column.
    pub labels: String,
    /// Rows scored.
    pub n_profiles: usize,
    /// Features per row.
    pub n_features: usize,
    /// Rows dropped for a missing label or batch.
    pub n_dropped_missing: usize,
    /// Distinct labels.
    pub n_labels: usize,
    /// Clusters.
    pub k: usize,
    /// Whether k is the number of labels.
    pub k_auto: bool,
    /// Base seed.
    pub seed: u64,
    /// Maximum Lloyd iterations.
    pub max_iter: usize,
    /// Relative tolerance.
    pub tol: f64,
    /// The algorithm, as implemented.
    pub algorithm: &'static str,
    /// What `sd` means.
    pub sd: &'static str,
    /// Every restart.
    pub restarts: Vec<RestartReport>,
    /// Mean ± sd over restarts.
    pub summary: SummaryReport,
    /// Lowest inertia.
    pub best_inertia: f64,
    /// Restart with the lowest inertia.
    pub best_restart: usize,
    /// Silhouettes, unless switched off.
    pub silhouette: Option<SilhouetteReport>,
    /// The k sweep, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k_sweep: Option<Vec<SweepReport>>,
}

/// The report, the scored rows and each restart's clusters.
#[derive(Debug, Clone)]
pub struct Output {
    /// The report.
    pub report: Report,
    /// The scored rows (rows without a label dropped, if asked).
    pub profiles: Profiles,
    /// Each restart's cluster per scored row.
    pub assignments: Vec<Vec<u32>>,
}

/// Refuses rows missing a value in any of `columns`, or (`drop`) keeps only the complete rows.
/// Returns the kept profiles and how many rows were dropped.
pub(crate) fn keep_labelled(
    profiles: Profiles,
    columns: &[&LabelColumn],
    drop: bool,
    source: &Source,
    drop_key: &str,
    reporter: &dyn Reporter,
) -> Result<(Profiles, usize)> {
    let n = profiles.n_rows();
    let keep: Vec<bool> = (0..n)
        .map(|i| columns.iter().all(|c| c.codes[i].is_some()))
        .collect();
    let dropped = keep.iter().filter(|k| !**k).count();
    if dropped == 0 {
        return Ok((profiles, 0));
    }
    if !drop {
        let c = columns
            .iter()
            .find(|c| c.codes.iter().any(Option::is_none))
            .expect("a column has the missing value");
        let row = c.missing_rows()[0];
        bail!(
            "{}: column {} has a missing value at row {row}{}; {} rows miss it. Pass \
             {drop_key} to drop those rows",
            source.name,
            c.name,
            row_note(source.filtered()),
            c.missing_rows().len()
        );
    }
    reporter.note(&format!(
        "note: {drop_key}: dropped {dropped} of {n} rows without a value"
    ));
    Ok((profiles.filter_rows(&keep)?, dropped))
}

pub(crate) fn explain(e: MetricError, source: &Source, filtered: bool, origin: Origin) -> Error {
    let file = &source.name;
    match e {
        MetricError::NonFinite { row, col } => err!(
            "{file}: feature {col} of row {row}{} is NaN or infinite",
            row_note(filtered)
        ),
        MetricError::ZeroNorm { row, .. } => err!(
            "{file}: row {row}{} has zero norm: the cosine silhouette is undefined. Remove the \
             row (--filter) or pass --silhouette euclidean",
            row_note(filtered)
        ),
        MetricError::InvalidParameter {
            name,
            value,
            reason,
        } => err!("{file}: {} {value}: {reason}", origin.key(name)),
        other => err!("{file}: {other}"),
    }
}

const CONVENTION: &str = "labels: scikit-learn silhouette_score of the label column (null \
                    unless 2 <= labels <= n-1); labels_scib = (labels + 1) / 2; batch: the same \
                    for the batch column (high = batches separate); batch_scib: per label with \
                    2 <= batches < rows, mean of 1 - |silhouette of the batches within the \
                    label|, then the mean over labels (scib silhouette_batch)";

const ALGORITHM: &str = "greedy k-means++ (2 + floor(ln k) local trials), Lloyd iterations; stop on \
            unchanged labels or summed squared center shift <= tol * mean feature variance \
            (scikit-learn 1.9 KMeans lloyd); restart r seeded with xoshiro256** keyed by the \
            reported seed";

/// One restart's clustering, scored: what a part of a sharded run computes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredRestart {
    /// The generator key it ran with.
    pub seed: u64,
    /// Sum of squared distances to the cluster centers.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// NMI with the labels.
    pub nmi: f64,
    /// ARI with the labels.
    pub ari: f64,
    /// Purity against the labels.
    pub purity: f64,
    /// Cluster of each scored row; empty when the restart came from a shard file.
    pub labels: Vec<u32>,
}

/// The restarts one part of a sharded run computed (`--shard i/n` takes the restarts
/// `Shard::range(restarts)`, at k and at every k of the sweep); [`evaluate_merged`] scores the
/// runs from every part.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartsPart {
    /// Index of the part's first restart.
    pub first: usize,
    /// Its restarts at k, in index order.
    pub at_k: Vec<ScoredRestart>,
    /// Its restarts at each k of the sweep, in sweep order (empty without a sweep).
    pub sweep: Vec<Vec<ScoredRestart>>,
}

/// What every path needs before clustering: the rows kept, their labels and the options.
struct Setup {
    profiles: Profiles,
    truth: Vec<u32>,
    n_labels: usize,
    n_dropped: usize,
    options: KMeansOptions,
    filtered: bool,
}

/// Clusters `profiles` `restarts` times and scores every clustering against the labels.
pub fn evaluate(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Output> {
    let setup = setup(profiles, params, source, reporter)?;
    let all = compute(&setup, params, source, 0..params.restarts)?;
    finish(setup, all, params, source, reporter)
}

/// The restarts of one part of the run [`evaluate`] does (the same bits as there).
pub fn evaluate_part(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    shard: Shard,
) -> Result<RestartsPart> {
    let setup = setup(profiles, params, source, &crate::reporter::Silent)?;
    compute(&setup, params, source, shard.range(params.restarts))
}

/// [`evaluate`]'s output from the parts of every shard of the same profiles and parameters:
/// the means, SDs and best restarts are computed here over the restarts in index order, so
/// they are the unsharded run's bits. The assignments are not kept in shard files: `Output`'s
/// `assignments` is empty.
pub fn evaluate_merged(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
    mut parts: Vec<RestartsPart>,
) -> Result<Output> {
    let setup = setup(profiles, params, source, reporter)?;
    parts.sort_by_key(|p| p.first);
    let n_sweep = params.k_sweep.map_or(0, |(from, to)| to + 1 - from);
    let mut all = RestartsPart {
        first: 0,
        at_k: Vec::new(),
        sweep: vec![Vec::new(); n_sweep],
    };
    for part in parts {
        if part.first != all.at_k.len() || part.sweep.len() != n_sweep {
            bail!(
                "{}: the k-means parts do not cover restarts 0..{} once each in order (a part \
                 starts at restart {}, expected {}; {} sweep points, expected {n_sweep})",
                source.name,
                params.restarts,
                part.first,
                all.at_k.len(),
                part.sweep.len()
            );
        }
        all.at_k.extend(part.at_k);
        for (to, from) in all.sweep.iter_mut().zip(part.sweep) {
            to.extend(from);
        }
    }
    if all.at_k.len() != params.restarts || all.sweep.iter().any(|s| s.len() != params.restarts) {
        bail!(
            "{}: the k-means parts hold {} restarts; the run has {}",
            source.name,
            all.at_k.len(),
            params.restarts
        );
    }
    finish(setup, all, params, source, reporter)
}

fn setup(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Setup> {
    params.check()?;
    let file = &source.name;
    let mut wanted = vec![params.labels.clone()];
    wanted.extend(params.batch.clone());
    require_columns(&profiles, &wanted, file)?;
    let labels = label_column(&profiles, &params.labels)?;
    let batch = params
        .batch
        .as_deref()
        .map(|b| label_column(&profiles, b))
        .transpose()?;
    let mut columns = vec![&labels];
    columns.extend(batch.as_ref());
    let drop_key = params.origin.key("drop_missing");
    let (profiles, n_dropped) = keep_labelled(
        profiles,
        &columns,
        params.drop_missing,
        source,
        &drop_key,
        reporter,
    )?;
    // Codes again on the kept rows: every row now has a label.
    let labels = label_column(&profiles, &params.labels)?;
    let truth: Vec<u32> = labels.codes.iter().map(|c| c.expect("kept")).collect();
    let n_labels = labels.labels.len();
    let n_rows = profiles.n_rows();
    let k = params.k.unwrap_or(n_labels);
    // Labels and k that fix the scores whatever the profiles are refused, not reported. With
    // one label (e.g. one row) every cluster is pure (purity 1) and the default k is 1, a single
    // cluster that "agrees" with the labels perfectly (NMI 1), as an explicit k = 1 is refused.
    if n_labels < 2 {
        bail!(
            "{}: `{}` has {n_labels} distinct label(s) among the {n_rows} rows scored{}; \
             k-means needs at least 2 clusters to be scored against labels, and 2 labels (with \
             one, every cluster is pure)",
            source.name,
            params.labels,
            if params.k.is_none() {
                format!(", so k (the number of labels by default) would be {n_labels}")
            } else {
                String::new()
            }
        );
    }
    // Labels no two rows share: no pair to recover, and the default k = n gives every row a
    // cluster of its own, which matches them perfectly.
    if n_labels == n_rows {
        bail!(
            "{}: `{}` has a distinct label on each of the {n_rows} rows scored, so there is no \
             pair of rows for k-means to put together; score a label with replicates",
            source.name,
            params.labels
        );
    }
    // k = n (or the top of a sweep) makes every row its own cluster: purity 1 by construction.
    let top = params.k_sweep.map_or(k, |(_, to)| to.max(k));
    if top >= n_rows {
        let key = match params.k_sweep {
            Some((_, to)) if to >= n_rows => params.origin.key("k_sweep"),
            _ => params.origin.key("k"),
        };
        bail!(
            "{}: {key} {top}: as many clusters as rows ({n_rows}) or more; every row would be a \
             cluster of its own (k must be below the number of rows)",
            source.name
        );
    }
    let options = KMeansOptions {
        k,
        restarts: params.restarts,
        seed: params.seed,
        max_iter: params.max_iter,
        tol: params.tol,
        threads: params.threads,
    };
    Ok(Setup {
        profiles,
        truth,
        n_labels,
        n_dropped,
        options,
        filtered: source.filtered() || n_dropped > 0,
    })
}

/// Runs and scores the restarts `range`, at k and at every k of the sweep.
fn compute(
    s: &Setup,
    params: &Params,
    source: &Source,
    range: std::ops::Range<usize>,
) -> Result<RestartsPart> {
    let x = matrix(&s.profiles)?;
    let fail = |e| explain(e, source, s.filtered, params.origin);
    let scored = |options: &KMeansOptions| -> Result<Vec<ScoredRestart>> {
        kmeans_range(x, options, range.clone())
            .map_err(fail)?
            .into_iter()
            .map(|run| {
                let p = PartitionScores::new(&s.truth, &run.labels).map_err(fail)?;
                Ok(ScoredRestart {
                    seed: run.seed,
                    inertia: run.inertia,
                    iterations: run.iterations,
                    nmi: p.nmi,
                    ari: p.ari,
                    purity: p.purity,
                    labels: run.labels,
                })
            })
            .collect()
    };
    let at_k = scored(&s.options)?;
    let mut sweep = Vec::new();
    if let Some((from, to)) = params.k_sweep {
        // Every k of the sweep is checked before any is clustered.
        for k in from..=to {
            let options = KMeansOptions {
                k,
                ..s.options.clone()
            };
            kmeans_range(x, &options, 0..0).map_err(fail)?;
        }
        for k in from..=to {
            sweep.push(scored(&KMeansOptions {
                k,
                ..s.options.clone()
            })?);
        }
    }
    Ok(RestartsPart {
        first: range.start,
        at_k,
        sweep,
    })
}

/// Mean ± SD of NMI, ARI and purity over `runs`, in their order.
fn summaries(runs: &[ScoredRestart]) -> [MeanSd; 3] {
    let of = |f: fn(&ScoredRestart) -> f64| MeanSd::of(&runs.iter().map(f).collect::<Vec<_>>());
    [of(|r| r.nmi), of(|r| r.ari), of(|r| r.purity)]
}

/// The report from every restart.
fn finish(
    setup: Setup,
    all: RestartsPart,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Output> {
    let Setup {
        profiles,
        truth,
        n_labels,
        n_dropped,
        options,
        filtered,
    } = setup;
    let file = &source.name;
    let k = options.k;
    let x = matrix(&profiles)?;
    let fail = |e| explain(e, source, filtered, params.origin);
    let restarts: Vec<RestartReport> = all
        .at_k
        .iter()
        .enumerate()
        .map(|(r, run)| RestartReport {
            restart: r,
            seed: run.seed,
            nmi: run.nmi,
            ari: run.ari,
            purity: run.purity,
            inertia: run.inertia,
            iterations: run.iterations,
        })
        .collect();
    let inertias: Vec<f64> = all.at_k.iter().map(|r| r.inertia).collect();
    let best = best_restart(inertias.iter().copied());
    let [nmi, ari, purity] = summaries(&all.at_k);
    let silhouette = match params.silhouette {
        Silhouette::None => None,
        choice => {
            let metric = if choice == Silhouette::Cosine {
                SilhouetteMetric::Cosine
            } else {
                SilhouetteMetric::Euclidean
            };
            let n = profiles.n_rows();
            let label_asw = if (2..n).contains(&n_labels) {
                Some(silhouette_score(x, &truth, metric).map_err(fail)?)
            } else {
                None
            };
            let (batch_asw, batch_scib) = match &params.batch {
                Some(b) => {
                    let column = label_column(&profiles, b)?;
                    let codes: Vec<u32> = column.codes.iter().map(|c| c.expect("kept")).collect();
                    let asw = if (2..n).contains(&column.labels.len()) {
                        Some(silhouette_score(x, &codes, metric).map_err(fail)?)
                    } else {
                        None
                    };
                    (
                        asw,
                        scib_batch_silhouette(x, &truth, &codes, metric).map_err(fail)?,
                    )
                }
                None => (None, None),
            };
            Some(SilhouetteReport {
                distance: if metric == SilhouetteMetric::Cosine {
                    "cosine"
                } else {
                    "euclidean"
                },
                convention: CONVENTION,
                labels: label_asw,
                labels_scib: label_asw.map(|a| (a + 1.0) / 2.0),
                batch_column: params.batch.clone(),
                batch: batch_asw,
                batch_scib,
            })
        }
    };
    let k_sweep = params.k_sweep.map(|(from, _)| {
        all.sweep
            .iter()
            .enumerate()
            .map(|(i, runs)| {
                let [nmi, ari, purity] = summaries(runs);
                let best = best_restart(runs.iter().map(|r| r.inertia));
                SweepReport {
                    k: from + i,
                    ground_truth: from + i == n_labels,
                    nmi: nmi.into(),
                    ari: ari.into(),
                    purity: purity.into(),
                    best_inertia: runs[best].inertia,
                }
            })
            .collect()
    });
    let report = Report {
        metric: "kmeans",
        profiles: file.clone(),
        filters: source.filters.clone(),
        labels: params.labels.clone(),
        n_profiles: profiles.n_rows(),
        n_features: profiles.n_features(),
        n_dropped_missing: n_dropped,
        n_labels,
        k,
        k_auto: params.k.is_none(),
        seed: params.seed,
        max_iter: params.max_iter,
        tol: params.tol,
        algorithm: ALGORITHM,
        sd: "population standard deviation over restarts (ddof = 0, numpy's default)",
        restarts,
        summary: SummaryReport {
            nmi: nmi.into(),
            ari: ari.into(),
            purity: purity.into(),
            inertia: MeanSd::of(&inertias).into(),
        },
        best_inertia: inertias[best],
        best_restart: best,
        silhouette,
        k_sweep,
    };
    reporter.summary(&format!(
        "k-means (k = {k}, {} restarts): NMI {:.4} ± {:.4}, ARI {:.4} ± {:.4}, purity {:.4} ± \
         {:.4}; best inertia {}",
        params.restarts, nmi.mean, nmi.sd, ari.mean, ari.sd, purity.mean, purity.sd, inertias[best]
    ));
    // Restarts read from shard files carry no labels: then there are no assignments.
    let assignments = if all.at_k.iter().all(|r| r.labels.len() == truth.len()) {
        all.at_k.into_iter().map(|r| r.labels).collect()
    } else {
        Vec::new()
    };
    Ok(Output {
        report,
        profiles,
        assignments,
    })
}
