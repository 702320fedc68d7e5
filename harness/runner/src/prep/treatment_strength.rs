//! Treatment strength: z-scored distance of each well to its plate's control median, averaged
//! per treatment across plates (Cell Painting CNN-1 paper, §5.2).

use cpbench_core::Profiles;
use cpbench_prep::{Float, Matrix, PrepError, TreatmentStrength, treatment_strength};

use super::common::Groups;
use crate::err;
use crate::error::Result;

/// Per-well strengths and the plate groups they were computed in.
pub fn strengths<T: Float>(
    profiles: &Profiles<T>,
    controls: &[bool],
    plate: &str,
    treatments: &Groups,
    fit_on: &str,
    file: &str,
) -> Result<TreatmentStrength> {
    let plates = Groups::of(profiles, &[plate.to_owned()], file)?;
    let x = Matrix::new(
        profiles.features(),
        profiles.n_rows(),
        profiles.n_features(),
    )?;
    treatment_strength(
        x,
        controls,
        &plates.codes,
        &treatments.codes,
        treatments.len(),
    )
    .map_err(|e| match e {
        PrepError::DegenerateGroup {
            what,
            group,
            reason,
        } => err!(
            "{file}: {what}: plate {} (controls: --fit-on {fit_on}): {reason}",
            plates.describe(group)
        ),
        PrepError::NonFinite { row, feature, .. } => err!(
            "{file}: data row {} (1-based), feature `{}` is not finite; treatment strength \
                 needs finite features",
            row + 1,
            profiles.feature_names()[feature]
        ),
        other => err!("{file}: {other}"),
    })
}

/// The input's metadata with the per-well z as the single feature `treatment_strength`.
pub fn per_well_profiles<T: Float>(
    profiles: &Profiles<T>,
    ts: &TreatmentStrength,
) -> Result<Profiles<T>> {
    Ok(Profiles::new(
        profiles.meta().clone(),
        ts.z.iter().map(|&v| T::from_f64(v)).collect(),
        vec!["treatment_strength".to_owned()],
        profiles.level(),
    )?)
}
