//! Treatment strength (Cell Painting CNN-1 paper, §5.2): how far a treatment's wells lie from
//! the controls of their own plate, in units of the controls' own spread.
//!
//! Per plate: the per-feature median of the plate's control wells (NaN
//! skipped) is the reference; every well's Euclidean distance to it is
//! z-scored by the mean and sample standard deviation (`ddof = 1`) of the
//! control wells' distances. A treatment's strength is the mean over the
//! plates it appears on of the mean z of its wells on that plate, so a plate
//! with more replicate wells does not weigh more. A plate needs at least two
//! control wells with distinct distances; features must be finite.

use crate::error::PrepError;
use crate::matrix::{Float, Matrix};
use crate::stats::column_medians;

/// Per-well and per-treatment strengths.
#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentStrength {
    /// z-scored distance of every row to its plate's control median (controls included).
    pub z: Vec<f64>,
    /// Per treatment code: mean over plates of the plate-mean z of its non-control wells
    /// (NaN for a treatment with only control wells).
    pub strength: Vec<f64>,
    /// Per treatment code: number of non-control wells.
    pub n_wells: Vec<usize>,
    /// Per treatment code: number of plates with at least one non-control well.
    pub n_plates: Vec<usize>,
}

/// Computes treatment strength. `plates[i]` and `treatments[i]` are row `i`'s dense codes
/// (`treatments` below `n_treatments`); `controls[i]` marks control wells. A plate with fewer
/// than two control wells, or whose control distances are all equal, is
/// [`PrepError::DegenerateGroup`] naming the plate code.
pub fn treatment_strength<T: Float>(
    x: Matrix<'_, T>,
    controls: &[bool],
    plates: &[u32],
    treatments: &[u32],
    n_treatments: usize,
) -> Result<TreatmentStrength, PrepError> {
    let n = x.n();
    for (what, len) in [
        ("controls length", controls.len()),
        ("plates length", plates.len()),
        ("treatments length", treatments.len()),
    ] {
        if len != n {
            return Err(PrepError::ShapeMismatch {
                what,
                expected: n,
                got: len,
            });
        }
    }
    if let Some((i, &t)) = treatments
        .iter()
        .enumerate()
        .find(|&(_, &t)| t as usize >= n_treatments)
    {
        return Err(PrepError::InvalidParameter {
            name: "treatments",
            value: t.to_string(),
            reason: format!("code of row {i} is not below n_treatments = {n_treatments}"),
        });
    }
    for i in 0..n {
        if let Some(j) = x.row(i).iter().position(|v| !v.is_finite()) {
            return Err(PrepError::NonFinite {
                what: "treatment strength",
                row: i,
                feature: j,
            });
        }
    }
    let n_plates = plates.iter().max().map_or(0, |&p| p as usize + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_plates];
    let mut ctrl: Vec<Vec<usize>> = vec![Vec::new(); n_plates];
    for (i, (&p, &c)) in plates.iter().zip(controls).enumerate() {
        members[p as usize].push(i);
        if c {
            ctrl[p as usize].push(i);
        }
    }
    let mut z = vec![f64::NAN; n];
    for (p, (rows, crows)) in members.iter().zip(&ctrl).enumerate() {
        if rows.is_empty() {
            continue;
        }
        if crows.len() < 2 {
            return Err(PrepError::DegenerateGroup {
                what: "treatment strength",
                group: p as u32,
                reason: format!(
                    "{} control well(s); z-scoring needs at least 2",
                    crows.len()
                ),
            });
        }
        let median = column_medians(x, crows)?;
        let dist = |i: usize| -> f64 {
            x.row(i)
                .iter()
                .zip(&median)
                .map(|(&v, m)| (v.to_f64() - m).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let cd: Vec<f64> = crows.iter().map(|&i| dist(i)).collect();
        let k = cd.len() as f64;
        let mean = cd.iter().sum::<f64>() / k;
        let sd = (cd.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
        if sd.is_nan() || sd <= 1e-12 * mean.abs().max(1.0) {
            return Err(PrepError::DegenerateGroup {
                what: "treatment strength",
                group: p as u32,
                reason: "the control wells' distances to their median have zero spread".to_owned(),
            });
        }
        for &i in rows {
            z[i] = (dist(i) - mean) / sd;
        }
    }

    // Per (treatment, plate): sum and count of z over non-control wells.
    let mut sum = vec![0.0f64; n_treatments * n_plates];
    let mut count = vec![0usize; n_treatments * n_plates];
    for i in (0..n).filter(|&i| !controls[i]) {
        let cell = treatments[i] as usize * n_plates + plates[i] as usize;
        sum[cell] += z[i];
        count[cell] += 1;
    }
    let mut strength = vec![f64::NAN; n_treatments];
    let mut n_wells = vec![0usize; n_treatments];
    let mut n_plates_of = vec![0usize; n_treatments];
    for t in 0..n_treatments {
        let cells = t * n_plates..(t + 1) * n_plates;
        let (mut total, mut used) = (0.0, 0usize);
        for c in cells {
            if count[c] > 0 {
                total += sum[c] / count[c] as f64;
                used += 1;
                n_wells[t] += count[c];
            }
        }
        n_plates_of[t] = used;
        if used > 0 {
            strength[t] = total / used as f64;
        }
    }
    Ok(TreatmentStrength {
        z,
        strength,
        n_wells,
        n_plates: n_plates_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_z_scored_per_plate_and_averaged_over_plates() {
        // One feature. Plate 0: controls at 0, 2, 4 (median 2, distances 2, 0, 2: mean 4/3,
        // sd sqrt(4/3)); treated well at 10 (distance 8). Plate 1: controls at 0 and 2
        // (median 1, distances 1, 1 → zero spread) would fail, so use 0, 1, 5 (median 1,
        // distances 1, 0, 4: mean 5/3, sd sqrt(13/3)); treated wells at 7 and 9.
        let x = [0.0, 2.0, 4.0, 10.0, 0.0, 1.0, 5.0, 7.0, 9.0];
        let controls = [true, true, true, false, true, true, true, false, false];
        let plates = [0, 0, 0, 0, 1, 1, 1, 1, 1];
        let treatments = [0, 0, 0, 1, 0, 0, 0, 1, 1];
        let ts = treatment_strength(
            Matrix::new(&x, 9, 1).unwrap(),
            &controls,
            &plates,
            &treatments,
            2,
        )
        .unwrap();
        let z0 = (8.0 - 4.0 / 3.0) / (4.0f64 / 3.0).sqrt();
        let sd1 = (13.0f64 / 3.0).sqrt();
        let z1 = ((6.0 - 5.0 / 3.0) / sd1 + (8.0 - 5.0 / 3.0) / sd1) / 2.0;
        assert!((ts.z[3] - z0).abs() < 1e-12);
        assert!((ts.strength[1] - (z0 + z1) / 2.0).abs() < 1e-12);
        assert_eq!(ts.n_wells, vec![0, 3]);
        assert_eq!(ts.n_plates, vec![0, 2]);
        assert!(ts.strength[0].is_nan());
    }

    #[test]
    fn plates_without_enough_spread_are_named() {
        let x = [0.0, 2.0, 5.0, 1.0, 1.0, 3.0];
        let err = treatment_strength(
            Matrix::new(&x, 6, 1).unwrap(),
            &[true, true, true, true, false, false],
            &[0, 0, 0, 1, 1, 1],
            &[0, 0, 0, 0, 1, 1],
            2,
        )
        .unwrap_err();
        assert!(
            matches!(err, PrepError::DegenerateGroup { group: 1, .. }),
            "{err}"
        );
        let ts = treatment_strength(
            Matrix::new(&x, 6, 1).unwrap(),
            &[true, true, false, true, true, false],
            &[0, 0, 0, 0, 0, 0],
            &[0, 0, 1, 0, 0, 1],
            2,
        )
        .unwrap();
        assert!(ts.z.iter().all(|v| v.is_finite()));
        let nan = [f32::NAN, 1.0];
        assert!(matches!(
            treatment_strength(
                Matrix::new(&nan, 2, 1).unwrap(),
                &[true, true],
                &[0, 0],
                &[0, 0],
                1
            ),
            Err(PrepError::NonFinite { row: 0, .. })
        ));
    }
}
