//! Within-batch normalization against the batch's control rows (JUMP analysis); features
//! whose control spread is zero are centered or dropped, and reported.

use cpbench_core::Profiles;
use cpbench_prep::{ControlParams, Float, OnZeroScale, control_normalize};

use super::common::{Groups, explain};
use crate::bail;
use crate::error::Result;
use crate::reporter::Reporter;

/// Parses `center` / `drop`.
pub fn parse_on_zero(text: &str) -> Result<OnZeroScale> {
    match text {
        "center" => Ok(OnZeroScale::Center),
        "drop" => Ok(OnZeroScale::Drop),
        _ => bail!("--on-zero {text}: expected center or drop"),
    }
}

/// Normalizes each batch of `batch` against its rows in `controls`; returns the profiles
/// without the dropped features, and notes what could not be scaled.
pub fn control_normalize_profiles<T: Float>(
    profiles: &mut Profiles<T>,
    params: &ControlParams,
    controls: &[bool],
    batch: &str,
    fit_on: &str,
    file: &str,
    reporter: &dyn Reporter,
) -> Result<Profiles<T>> {
    let groups = Groups::of(profiles, &[batch.to_owned()], file)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let report = control_normalize(
        profiles.features_mut(),
        n,
        d,
        controls,
        &groups.codes,
        params,
    )
    .map_err(|e| explain(e, file, &groups, fit_on))?;
    let names = profiles.feature_names();
    for (what, list) in [
        (
            "zero control spread (centered only unless dropped)",
            &report.zero_scale,
        ),
        ("no control value (dropped)", &report.undefined_center),
    ] {
        if !list.is_empty() {
            let shown: Vec<String> = list
                .iter()
                .take(10)
                .map(|&(g, j)| format!("{} in {}", names[j], groups.describe(g)))
                .collect();
            reporter.note(&format!(
                "{file}: {} feature/batch pairs with {what}: {}{}",
                list.len(),
                shown.join("; "),
                if list.len() > 10 { "; ..." } else { "" }
            ));
        }
    }
    if report.dropped.len() == d {
        bail!("{file}: control-normalize would drop every feature");
    }
    let keep: Vec<usize> = (0..d)
        .filter(|j| report.dropped.binary_search(j).is_err())
        .collect();
    if keep.len() == d {
        return Ok(profiles.clone());
    }
    reporter.note(&format!(
        "{file}: dropped {} features",
        report.dropped.len()
    ));
    Ok(profiles.select_features(&keep)?)
}
