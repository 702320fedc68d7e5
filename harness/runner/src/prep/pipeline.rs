//! Runs `[[preprocess]]` steps (`cpbench_core::manifest::PrepStep`) on profiles: the executor
//! behind `cpbench prep pipeline` and every benchmark run's preprocessing.
//!
//! Defaults are those of the matching `cpbench prep <op>` command: `fit_on` is `all`, except
//! for control-normalize and treatment-strength, which use `controls` (`[columns] control`);
//! `batch` and treatment-strength's plate default to `[columns] batch` / `plate`. `columns`
//! restricts feature-select and normalize to those features (the others pass unchanged) and
//! names the metadata that aggregate and consensus keep.

use std::path::Path;

use cpbench_core::Profiles;
use cpbench_core::manifest::{Columns, PrepOp, PrepStep};
use cpbench_prep::{ControlMethod, ControlParams, CorrMethod, FeatureOp, Method, Thresholds};
use cpbench_prep::{Float, InspParams};

use super::aggregate::{aggregate_profiles, aggregator};
use super::common::{FitRows, Groups};
use super::control_normalize::control_normalize_profiles;
use super::feature_select::{SelectSpec, select_profiles};
use super::insp::{InspSpec, insp_profiles, logistic_for};
use super::normalize::normalize_profiles;
use super::sphere::{self, sphere_profiles};
use super::treatment_strength::{per_well_profiles, strengths};
use crate::bail;
use crate::error::{Context, Result};
use crate::reporter::Reporter;

/// What the steps may refer to besides their own keys.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// The `[columns]` roles (controls, plate, batch).
    pub columns: &'a Columns,
    /// Folder relative paths in steps (blocklist files) are resolved against.
    pub base_dir: &'a Path,
    /// The profile file, for messages.
    pub file: &'a str,
    /// Where the steps' notes go.
    pub reporter: &'a dyn Reporter,
}

/// Runs `steps` in order on `f32` (a benchmark run) or `f64` (`cpbench prep pipeline
/// --precision f64`) features; errors name the step (`preprocess[i]`, its op) and the file.
pub fn run_steps<T: Float>(
    mut profiles: Profiles<T>,
    steps: &[PrepStep],
    ctx: &StepContext<'_>,
) -> Result<Profiles<T>> {
    for (i, step) in steps.iter().enumerate() {
        profiles = run_step(profiles, step, ctx)
            .with_context(|| format!("preprocess[{i}] (op `{}`)", step.op))?;
    }
    Ok(profiles)
}

fn fit_args(step: &PrepStep, default: &str, columns: &Columns) -> FitRows {
    let spec = columns
        .control
        .as_ref()
        .map(|c| (c.column.clone(), c.values.clone()));
    FitRows::from_step(step.fit_on.as_deref().unwrap_or(default), spec)
}

/// Runs one step; the result may have fewer rows (aggregate) or features (feature-select).
pub fn run_step<T: Float>(
    profiles: Profiles<T>,
    step: &PrepStep,
    ctx: &StepContext<'_>,
) -> Result<Profiles<T>> {
    let file = ctx.file;
    let by = step.by.clone().unwrap_or_default();
    match step.op {
        PrepOp::FeatureSelect => {
            let ops = step
                .ops
                .iter()
                .flatten()
                .map(|o| o.parse::<FeatureOp>())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let d = Thresholds::default();
            let thresholds = Thresholds {
                freq_cut: step.freq_cut.unwrap_or(d.freq_cut),
                unique_cut: step.unique_cut.unwrap_or(d.unique_cut),
                corr_threshold: step.corr_threshold.unwrap_or(d.corr_threshold),
                corr_method: step
                    .method
                    .as_deref()
                    .map(str::parse::<CorrMethod>)
                    .transpose()?
                    .unwrap_or_default(),
                na_cutoff: step.na_cutoff.unwrap_or(d.na_cutoff),
                ..d
            };
            let path = step.blocklist.as_ref().map(|p| ctx.base_dir.join(p));
            let spec = SelectSpec::new(ops, thresholds, path.as_deref())?;
            let mask = fit_args(step, "all", ctx.columns).mask(&profiles, file)?;
            on_features(&profiles, step.columns.as_deref(), file, |sub| {
                Ok(select_profiles(sub, &spec, &mask, file)?.0)
            })
        }
        PrepOp::Normalize => {
            let method: Method = step.method.as_deref().unwrap_or("standardize").parse()?;
            let fit = fit_args(step, "all", ctx.columns);
            on_features(&profiles, step.columns.as_deref(), file, |sub| {
                let mut sub = sub.clone();
                normalize_profiles(&mut sub, method, step.epsilon, &fit, &by, file)?;
                Ok(sub)
            })
        }
        PrepOp::Sphere => {
            let spec = sphere::Params::from_step(step).spec()?;
            let mut profiles = profiles;
            sphere_profiles(
                &mut profiles,
                &spec,
                &fit_args(step, "all", ctx.columns),
                &by,
                file,
            )?;
            Ok(profiles)
        }
        PrepOp::Insp => {
            let batch = step
                .batch
                .clone()
                .or_else(|| ctx.columns.batch.clone())
                .context("insp needs `batch` or `[columns] batch`")?;
            let defaults = InspParams::default();
            let params = InspParams {
                threshold: step.threshold.unwrap_or(defaults.threshold),
                max_iter: step.max_iter.map_or(defaults.max_iter, |m| m as usize),
                folds: step.folds.map_or(defaults.folds, |k| k as usize),
                seed: step.seed.unwrap_or(defaults.seed),
                balance: step.balance.unwrap_or(defaults.balance),
                logistic: logistic_for(step.lambda)?,
            };
            let spec = InspSpec::new(batch, Vec::new(), params)?;
            let mut profiles = profiles;
            insp_profiles(
                &mut profiles,
                &spec,
                &fit_args(step, "all", ctx.columns),
                &by,
                file,
            )?;
            Ok(profiles)
        }
        PrepOp::ControlNormalize => {
            let params = ControlParams {
                epsilon: step.epsilon.unwrap_or(0.0),
                ..ControlParams::new(
                    step.method
                        .as_deref()
                        .unwrap_or("standardize")
                        .parse::<ControlMethod>()?,
                )
            };
            let batch = step
                .batch
                .clone()
                .or_else(|| ctx.columns.batch.clone())
                .context("control-normalize needs `batch` or `[columns] batch`")?;
            let fit = fit_args(step, "controls", ctx.columns);
            let mask = fit.mask(&profiles, file)?;
            let mut profiles = profiles;
            control_normalize_profiles(
                &mut profiles,
                &params,
                &mask,
                &batch,
                &fit.fit_on,
                file,
                ctx.reporter,
            )
        }
        PrepOp::Aggregate | PrepOp::Consensus => {
            let consensus = step.op == PrepOp::Consensus;
            let agg = aggregator(
                step.method.as_deref().unwrap_or("median"),
                consensus,
                0.01,
                4,
            )?;
            let keep = step.columns.clone().unwrap_or_default();
            aggregate_profiles(&profiles, &by, &keep, agg.as_ref(), step.level, file)
        }
        PrepOp::TreatmentStrength => {
            let plate = match by.as_slice() {
                [] => ctx
                    .columns
                    .plate
                    .clone()
                    .context("treatment-strength needs `by` or `[columns] plate`")?,
                [one] => one.clone(),
                _ => bail!("treatment-strength: `by` names the plate column only, got {by:?}"),
            };
            let fit = fit_args(step, "controls", ctx.columns);
            let controls = fit.mask(&profiles, file)?;
            // Per-well z needs no treatment key: one code for all rows.
            let all = Groups::single(profiles.n_rows());
            let ts = strengths(&profiles, &controls, &plate, &all, &fit.fit_on, file)?;
            per_well_profiles(&profiles, &ts)
        }
    }
}

/// Applies `f` to the features named in `columns` only (all features when `None`); the others
/// pass unchanged and the original feature order is kept. `f` may drop features but not rows.
fn on_features<T: Float>(
    profiles: &Profiles<T>,
    columns: Option<&[String]>,
    file: &str,
    f: impl FnOnce(&Profiles<T>) -> Result<Profiles<T>>,
) -> Result<Profiles<T>> {
    let Some(columns) = columns else {
        return f(profiles);
    };
    let names = profiles.feature_names();
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), j))
        .collect();
    let mut picked = Vec::with_capacity(columns.len());
    for c in columns {
        match index.get(c.as_str()) {
            Some(&j) => picked.push(j),
            None => bail!("{file}: `columns` names `{c}`, which is not a feature column"),
        }
    }
    picked.sort_unstable();
    picked.dedup();
    let sub = f(&profiles.select_features(&picked)?)?;
    let sub_index: std::collections::HashMap<&str, usize> = sub
        .feature_names()
        .iter()
        .enumerate()
        .map(|(j, n)| (n.as_str(), j))
        .collect();
    let (n, d_sub) = (profiles.n_rows(), sub.n_features());
    if sub.n_rows() != n {
        bail!("{file}: internal: a feature step changed the number of rows");
    }
    // Output columns: every unpicked feature, and the picked ones `f` kept, in input order.
    let out_cols: Vec<(usize, Option<usize>)> = (0..names.len())
        .filter_map(|j| {
            if picked.binary_search(&j).is_err() {
                Some((j, None))
            } else {
                sub_index.get(names[j].as_str()).map(|&k| (j, Some(k)))
            }
        })
        .collect();
    let mut features = Vec::with_capacity(n * out_cols.len());
    for i in 0..n {
        let row = profiles.row(i);
        let sub_row = &sub.features()[i * d_sub..(i + 1) * d_sub];
        features.extend(out_cols.iter().map(|&(j, k)| match k {
            Some(k) => sub_row[k],
            None => row[j],
        }));
    }
    let out_names = out_cols.iter().map(|&(j, _)| names[j].clone()).collect();
    Ok(Profiles::new(
        profiles.meta().clone(),
        features,
        out_names,
        profiles.level(),
    )?)
}
