//! `cpbench eval batch-leakage`: how well batch (or plate) is predictable from the control
//! profiles, under stratified group K-fold (definition and choices: `cpbench_metrics::leakage`).
//!
//! Rows are those passing `--controls` (and any `--filter`). Folds keep each `--groups` value
//! (plate) on one side of every split. With `--label C`, the design-confounding check also
//! runs: `C` predicted from the one-hot `--target` alone, on the non-control rows that have a
//! `C` value (the perturbations), with folds drawn the same way.
//!
//! Output (JSON, atomic): `balanced_accuracy` (mean per classifier), `chance`, per classifier
//! the per-fold values, mean and sd, the fold sizes and settings; `label_from_target` when
//! `--label` is given.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cpbench_core::Profiles;
use cpbench_core::filter::RowFilter;
use cpbench_metrics::classify::{LogisticParams, stratified_group_kfold};
use cpbench_metrics::leakage::{CvScores, LeakageParams, batch_leakage, label_from_source};
use cpbench_metrics::{LabelColumn, MetricError};
use serde_json::{Value, json};

use super::common::{ProfileArgs, label_column, matrix, write_json};
use super::enrichment::{explain, require_columns, row_note};
use crate::Outcome;

/// Arguments of `cpbench eval batch-leakage`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile table and the rows and features read from it.
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The control rows, as COL=VALUE (also COL!=VALUE, 'COL in [A, B]').
    #[arg(long, value_name = "COL=VALUE")]
    pub controls: String,
    /// The column to predict (batch or plate).
    #[arg(long, value_name = "C")]
    pub target: String,
    /// The grouping column (plate): a group is never split across folds.
    #[arg(long, value_name = "C")]
    pub groups: String,
    /// Number of folds.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse L2 strength of the logistic classifier.
    #[arg(long = "c", default_value_t = 1.0)]
    pub c: f64,
    /// Neighbours voting in the kNN classifier (cosine).
    #[arg(long = "knn-k", default_value_t = 5)]
    pub knn_k: usize,
    /// Also predict this label from the one-hot target alone (design confounding).
    #[arg(long, value_name = "C")]
    pub label: Option<String>,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

fn scores_json(s: &CvScores) -> Value {
    json!({"per_fold": s.per_fold, "mean": s.mean, "sd": s.sd})
}

/// Codes of a column that must have a value on every row; the error names file, flag and row.
fn complete_codes(
    profiles: &Profiles,
    column: &str,
    flag: &str,
    file: &str,
    filtered: bool,
) -> Result<(LabelColumn, Vec<u32>)> {
    let col = label_column(profiles, column)?;
    if let Some(&row) = col.missing_rows().first() {
        bail!(
            "{file}: --{flag} {column}: row {row}{} has no value",
            row_note(filtered)
        );
    }
    let codes = col.codes.iter().map(|c| c.expect("checked")).collect();
    Ok((col, codes))
}

/// Explains fold errors in terms of the flags.
fn folds_error(e: MetricError, args: &Args, file: &str, rows: &str) -> anyhow::Error {
    match e {
        MetricError::InvalidParameter {
            name: "folds",
            reason,
            ..
        } => anyhow::anyhow!(
            "{file}: --folds {} with --groups {} on the {rows}: {reason}",
            args.folds,
            args.groups
        ),
        other => anyhow::anyhow!("{file}: {other}"),
    }
}

/// Runs `cpbench eval batch-leakage`.
pub fn run(args: Args) -> Result<Outcome> {
    let all = args.input.load()?;
    let report = compute(&args, all)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval leakage` on already loaded profiles.
pub fn compute(args: &Args, all: Profiles) -> Result<Value> {
    let controls = RowFilter::parse(&args.controls)?;
    if args.folds < 2 {
        bail!("--folds {}: cross-validation needs at least 2", args.folds);
    }
    if !(args.c.is_finite() && args.c > 0.0) {
        bail!("--c {}: must be finite and > 0", args.c);
    }
    if args.knn_k == 0 {
        bail!("--knn-k 0: at least one neighbour must vote");
    }
    if args.target == args.groups {
        bail!(
            "--target and --groups are both {}: every test fold would hold only classes its \
             training rows never saw",
            args.target
        );
    }
    let file = args.input.profiles.display().to_string();
    let mut wanted = vec![args.target.clone(), args.groups.clone()];
    wanted.extend(args.label.iter().cloned());
    require_columns(&all, &wanted, &file)?;
    let filtered = !args.input.filters.is_empty();

    let mask = controls.mask(&all)?;
    if !mask.iter().any(|&m| m) {
        bail!(
            "{file}: --controls '{}' matches no row{}",
            args.controls,
            if filtered {
                " that passes --filter"
            } else {
                ""
            }
        );
    }
    let ctrl = all.filter_rows(&mask)?;
    // Row numbers in messages below count control rows.
    let (target_col, target) = complete_codes(&ctrl, &args.target, "target", &file, true)?;
    let (groups_col, groups) = complete_codes(&ctrl, &args.groups, "groups", &file, true)?;
    let n_classes = target_col.labels.len();
    if n_classes < 2 {
        bail!(
            "{file}: --target {} has a single value ({}) among the control rows: nothing to predict",
            args.target,
            target_col.labels.first().map_or("", String::as_str)
        );
    }
    let folds = stratified_group_kfold(&target, &groups, args.folds, args.seed)
        .map_err(|e| folds_error(e, args, &file, "control rows"))?;
    let params = LeakageParams {
        logistic: LogisticParams {
            c: args.c,
            ..LeakageParams::default().logistic
        },
        knn_k: args.knn_k,
        ..LeakageParams::default()
    };
    let x = matrix(&ctrl)?;
    let result = batch_leakage(x, &target, n_classes, &folds, &params)
        .map_err(|e| explain(e, &file, true, &args.target))?;

    let mut report = json!({
        "metric": "batch_leakage",
        "balanced_accuracy": {"logistic": result.logistic.mean, "knn": result.knn.mean},
        "chance": result.chance,
        "n_classes": n_classes,
        "classes": target_col.labels,
        "n_rows": ctrl.n_rows(),
        "n_groups": groups_col.labels.len(),
        "controls": args.controls,
        "target": args.target,
        "groups": args.groups,
        "folds": args.folds,
        "seed": args.seed,
        "fold_sizes": result.fold_sizes,
        "logistic": {"c": args.c, "max_iter": params.logistic.max_iter, "standardized": true,
                     "balanced_accuracy": scores_json(&result.logistic)},
        "knn": {"k": args.knn_k, "similarity": params.knn_similarity.name(), "standardized": true,
                "balanced_accuracy": scores_json(&result.knn)},
    });
    crate::say!(
        "batch leakage ({} from {} control rows, {} folds): logistic {:.3} ± {:.3}, kNN {:.3} ± {:.3}, chance {:.3}",
        args.target,
        ctrl.n_rows(),
        result.fold_sizes.len(),
        result.logistic.mean,
        result.logistic.sd,
        result.knn.mean,
        result.knn.sd,
        result.chance
    );

    if let Some(label) = &args.label {
        let label_col = label_column(&all, label)?;
        let keep: Vec<bool> = label_col
            .codes
            .iter()
            .zip(&mask)
            .map(|(code, &control)| code.is_some() && !control)
            .collect();
        if !keep.iter().any(|&k| k) {
            bail!("{file}: --label {label}: no non-control row has a value");
        }
        let rows = all.filter_rows(&keep)?;
        let (label_col, label_codes) = complete_codes(&rows, label, "label", &file, true)?;
        let (source_col, source) = complete_codes(&rows, &args.target, "target", &file, true)?;
        let (_, row_groups) = complete_codes(&rows, &args.groups, "groups", &file, true)?;
        if label_col.labels.len() < 2 {
            bail!("{file}: --label {label} has fewer than two values: nothing to predict");
        }
        let label_folds = stratified_group_kfold(&label_codes, &row_groups, args.folds, args.seed)
            .map_err(|e| folds_error(e, args, &file, "labelled rows"))?;
        let scores = label_from_source(
            &source,
            source_col.labels.len(),
            &label_codes,
            label_col.labels.len(),
            &label_folds,
            &params.logistic,
        )
        .map_err(|e| anyhow::anyhow!("{file}: --label {label}: {e}"))?;
        crate::say!(
            "{label} from {} alone: {:.3} ± {:.3} (chance {:.3})",
            args.target,
            scores.mean,
            scores.sd,
            1.0 / label_col.labels.len() as f64
        );
        report["label_from_target"] = json!({
            "label": label,
            "n_rows": rows.n_rows(),
            "n_classes": label_col.labels.len(),
            "chance": 1.0 / label_col.labels.len() as f64,
            "balanced_accuracy": scores_json(&scores),
        });
    }
    Ok(report)
}
