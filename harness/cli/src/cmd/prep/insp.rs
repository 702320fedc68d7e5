//! `cpbench prep insp`: iterative null-space projection of the `--batch` label (JUMP analysis),
//! fitted on `--fit-on` rows, one fit per `--by` group, applied to every row. `--report` writes
//! the cross-validated balanced accuracy before each projection and after the last, and the
//! number of directions each projection removed.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use cpbench_core::Profiles;
use cpbench_metrics::classify::LogisticParams;
use cpbench_prep::{Insp, InspFit, InspParams, PrepError, fit_apply_by_group};
use serde::Serialize;

use super::common::{FitArgs, Groups, IoArgs, explain};
use crate::Outcome;
use crate::cmd::eval::common::{split_list, write_json};

/// Arguments of `cpbench prep insp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The rows the step is fitted on (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// Batch column: the label whose linear predictability is projected away.
    #[arg(long, value_name = "C")]
    pub batch: String,
    /// Stop once the cross-validated balanced accuracy of predicting the batch is below this.
    #[arg(long, default_value_t = 0.3)]
    pub threshold: f64,
    /// Most projections.
    #[arg(long = "max-iter", default_value_t = 10)]
    pub max_iter: usize,
    /// Cross-validation folds (stratified by batch).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weight batches inversely to their size when fitting the classifier.
    #[arg(long)]
    pub balance: bool,
    /// Keep rows sharing these columns' values in one fold (e.g. Metadata_Plate); rows fold freely without it.
    #[arg(long = "fold-groups", value_name = "C[,C]")]
    pub fold_groups: Option<String>,
    /// Classifier L2 penalty λ (inverse of scikit-learn's C); default 1.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Fit one projection per group of these columns (comma-separated).
    #[arg(long, value_name = "C[,C]")]
    pub by: Option<String>,
    /// Write the accuracy per iteration and the directions removed as JSON here.
    #[arg(long, value_name = "R.json")]
    pub report: Option<PathBuf>,
}

/// A parsed `insp` request.
#[derive(Debug, Clone)]
pub struct InspSpec {
    /// Batch column.
    pub batch: String,
    /// Fold-group columns (empty: rows fold freely).
    pub fold_groups: Vec<String>,
    /// Numeric settings.
    pub params: InspParams,
}

impl InspSpec {
    /// Validates the settings before any file is read.
    pub fn new(batch: String, fold_groups: Vec<String>, params: InspParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            batch,
            fold_groups,
            params,
        })
    }
}

/// Classifier settings for an L2 penalty `lambda` (scikit-learn's `C = 1/λ`); default `C = 1`.
pub fn logistic_for(lambda: Option<f64>) -> Result<LogisticParams> {
    let mut logistic = LogisticParams::default();
    if let Some(l) = lambda {
        if !(l.is_finite() && l > 0.0) {
            return Err(anyhow!(
                "insp lambda {l}: the classifier penalty must be finite and > 0"
            ));
        }
        logistic.c = 1.0 / l;
    }
    Ok(logistic)
}

/// One group's fit, as reported.
#[derive(Debug, Serialize)]
pub struct GroupReport {
    /// The group, e.g. `Metadata_Plate=P1`, or `all rows`.
    pub group: String,
    /// Batches among its fit rows.
    pub n_batches: usize,
    /// Balanced accuracy before each projection and after the last.
    pub accuracy: Vec<f64>,
    /// Directions removed by each projection.
    pub removed: Vec<usize>,
    /// Total directions removed.
    pub rank_removed: usize,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    batch: &'a str,
    threshold: f64,
    max_iter: usize,
    folds: usize,
    seed: u64,
    balance: bool,
    groups: Vec<GroupReport>,
}

/// Runs `cpbench prep insp`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = InspParams {
        threshold: args.threshold,
        max_iter: args.max_iter,
        folds: args.folds,
        seed: args.seed,
        balance: args.balance,
        logistic: logistic_for(args.lambda)?,
    };
    let spec = InspSpec::new(
        args.batch.clone(),
        args.fold_groups
            .as_deref()
            .map(split_list)
            .unwrap_or_default(),
        params,
    )?;
    if let Some(r) = &args.report
        && r.extension().and_then(|e| e.to_str()) != Some("json")
    {
        return Err(anyhow!("--report {}: expected a .json path", r.display()));
    }
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let mut profiles = args.io.load()?;
    let file = args.io.file();
    let groups = insp_profiles(&mut profiles, &spec, &args.fit, &by, &file)?;
    args.io.write(&profiles)?;
    if let Some(path) = &args.report {
        let report = Report {
            batch: &spec.batch,
            threshold: spec.params.threshold,
            max_iter: spec.params.max_iter,
            folds: spec.params.folds,
            seed: spec.params.seed,
            balance: spec.params.balance,
            groups,
        };
        write_json(path, &report)?;
    }
    Ok(Outcome::Ok)
}

/// Projects the batch out of `profiles` in place, one fit per group of `by`; returns each group's fit.
pub fn insp_profiles(
    profiles: &mut Profiles,
    spec: &InspSpec,
    fit: &FitArgs,
    by: &[String],
    file: &str,
) -> Result<Vec<GroupReport>> {
    let batch = Groups::of(profiles, std::slice::from_ref(&spec.batch), file)?;
    let fold_groups = if spec.fold_groups.is_empty() {
        None
    } else {
        Some(Groups::of(profiles, &spec.fold_groups, file)?.codes)
    };
    let groups = Groups::of(profiles, by, file)?;
    let mask = fit.mask(profiles, file)?;
    let template = Insp::new(spec.params.clone(), batch.codes.clone(), fold_groups)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let feature_names = profiles.feature_names().to_vec();
    let fitted = fit_apply_by_group(
        || template.clone(),
        profiles.features_mut(),
        n,
        d,
        &mask,
        &groups.codes,
    )
    .map_err(|e| match e {
        PrepError::NonFinite {
            what: "insp apply",
            row,
            feature,
        } => anyhow!(
            "{file}: row {} has a non-finite value in feature `{}`; insp projects whole rows and \
             needs finite values (drop or impute it first)",
            row + 1,
            feature_names.get(feature).map_or("?", String::as_str)
        ),
        PrepError::NonFinite { row, feature, .. } => anyhow!(
            "{file}: fit row {} has a non-finite value in feature `{}`; insp needs finite fit rows",
            row + 1,
            feature_names.get(feature).map_or("?", String::as_str)
        ),
        PrepError::Classifier { what, reason } => anyhow!(
            "{file}: {what} (batch column `{}`, --fit-on {}): {reason}",
            spec.batch,
            fit.fit_on
        ),
        other => explain(other, file, &groups, &fit.fit_on),
    })?;
    Ok(fitted
        .iter()
        .enumerate()
        .map(|(g, t)| {
            let f: &InspFit = t.fitted().expect("fit_apply_by_group fits every group");
            GroupReport {
                group: groups.describe(g as u32),
                n_batches: f.n_batches,
                accuracy: f.accuracy.clone(),
                removed: f.removed.clone(),
                rank_removed: f.rank_removed(),
            }
        })
        .collect())
}
