//! pycytominer's `normalize` (standardize, robustize, mad_robustize), fitted on the fit rows,
//! one fit per `by` group.

use cpbench_prep::{Float, Method, Normalize, fit_apply_by_group};

use super::common::{FitRows, Groups, explain};
use crate::error::Result;

/// Normalizes `profiles` in place, one fit per group of `by` (all rows together when empty).
pub fn normalize_profiles<T: Float>(
    profiles: &mut cpbench_core::Profiles<T>,
    method: Method,
    epsilon: Option<f64>,
    fit: &FitRows,
    by: &[String],
    file: &str,
) -> Result<()> {
    let template = match epsilon {
        Some(e) => Normalize::new(method).with_epsilon(e)?,
        None => Normalize::new(method),
    };
    let groups = Groups::of(profiles, by, file)?;
    let mask = fit.mask(profiles, file)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    fit_apply_by_group(
        || template.clone(),
        profiles.features_mut(),
        n,
        d,
        &mask,
        &groups.codes,
    )
    .map_err(|e| explain(e, file, &groups, &fit.fit_on))?;
    Ok(())
}
