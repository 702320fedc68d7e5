//! Cell-level profiles whose perturbations change subpopulation *proportions*, not the mean.
//!
//! Model. There are `K = n_subpopulations` latent subpopulations in `P = K / 2` antipodal
//! pairs: pair `j` has an axis `v_j` (the axes are orthonormal) and members centred at
//! `±(separation / 2) · v_j`. A perturbation (or the controls) is a vector `q` of pair
//! proportions; a cell picks pair `j` with probability `q_j` and either member with
//! probability ½. Both members of a pair are equally likely, so every pair contributes zero to
//! the expected cell: **the population mean is the same for every perturbation and for the
//! controls**, whatever `q` is. What changes is the spread along each axis:
//! `Var(x · v_j) = cell_sd² + q_j · (separation / 2)²`.
//!
//! - Controls: `q = 1/P` for every pair.
//! - Class `c` has a target `r_c = 0.7 · e_a + 0.3 · e_b` for its own ordered pair of axes
//!   `(a, b)`, `a ≠ b` (distinct classes get distinct ordered pairs, so `n_classes ≤ P(P−1)`).
//! - Perturbation `p` of class `c` moves a share `s_p` of the proportions to its own target:
//!   `q_p = (1 − s_p) / P + s_p · ((1 − jitter) · r_c + jitter · g_p)`, where
//!   `s_p = effect_strength · (1 + strength_spread · U(−1, 1))` (clamped to [0, 1]) and `g_p` is
//!   a flat-Dirichlet draw (perturbations of a class are alike, not identical).
//! - Optionally (`mean_effect > 0`) class `c` also shifts the mean by `mean_effect` along its
//!   own random direction, to dial how much a mean can see.
//! - Cell = `centre + batch effect + plate effect + well effect + class mean shift +
//!   subpopulation mean + cell_sd · N(0, I)`; batch, plate and well effects are per-feature
//!   normals with sd `batch_sd`, `plate_sd`, `well_sd`; cells per well uniform in
//!   `cells_min..=cells_max`.

use cpbench_metrics::rng::SplitMix64;

use super::{
    Layout, LayoutParams, SimulateError, at_least, below, categorical, in_unit, keyed,
    non_negative, normals, shuffle, stream, tag, unit_vector,
};

/// Parameters of the heterogeneity simulation; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct HeterogeneityParams {
    /// Plates, classes, perturbations, replicates, controls, split.
    pub layout: LayoutParams,
    /// Features per cell (`f000`, `f001`, ...); at least `n_subpopulations / 2`.
    pub n_features: usize,
    /// Latent subpopulations; even, at least 4 (two antipodal pairs).
    pub n_subpopulations: usize,
    /// Distance between the two members of a pair, in feature units; > 0.
    pub separation: f64,
    /// Share of the proportions a perturbation moves away from the controls', in [0, 1].
    pub effect_strength: f64,
    /// Relative spread of the effect strength across perturbations, in [0, 1].
    pub strength_spread: f64,
    /// Share of a perturbation's target that is its own rather than its class's, in [0, 1].
    pub perturbation_jitter: f64,
    /// Norm of a class-specific shift of the mean (0: the mean carries no class signal); ≥ 0.
    pub mean_effect: f64,
    /// Sd of the isotropic noise of a cell around its subpopulation mean; > 0.
    pub cell_sd: f64,
    /// Sd of the per-well additive effect (per feature); ≥ 0.
    pub well_sd: f64,
    /// Sd of the per-plate additive effect (per feature); ≥ 0.
    pub plate_sd: f64,
    /// Sd of the per-batch additive effect (per feature); ≥ 0.
    pub batch_sd: f64,
    /// Fewest cells in a well; at least 1.
    pub cells_min: usize,
    /// Most cells in a well; at least `cells_min`.
    pub cells_max: usize,
}

impl Default for HeterogeneityParams {
    fn default() -> Self {
        HeterogeneityParams {
            layout: LayoutParams {
                n_classes: 6,
                perturbations_per_class: 8,
                replicates: 4,
                n_batches: 2,
                plates_per_batch: 2,
                controls_per_plate: 8,
                test_fraction: 0.5,
            },
            n_features: 32,
            n_subpopulations: 8,
            separation: 4.0,
            effect_strength: 0.6,
            strength_spread: 0.25,
            perturbation_jitter: 0.2,
            mean_effect: 0.0,
            cell_sd: 1.0,
            well_sd: 0.1,
            plate_sd: 0.3,
            batch_sd: 0.5,
            cells_min: 100,
            cells_max: 300,
        }
    }
}

impl HeterogeneityParams {
    /// Checks every parameter before any work; the first violation is returned.
    pub fn validate(&self) -> Result<(), SimulateError> {
        self.layout.validate()?;
        at_least("n_subpopulations", self.n_subpopulations, 4)?;
        if !self.n_subpopulations.is_multiple_of(2) {
            return Err(SimulateError::new(
                "n_subpopulations",
                self.n_subpopulations,
                "must be even (subpopulations come in antipodal pairs)",
            ));
        }
        let pairs = self.n_subpopulations / 2;
        if self.n_features < pairs {
            return Err(SimulateError::new(
                "n_features",
                self.n_features,
                format!(
                    "must be at least n_subpopulations / 2 = {pairs} (one orthogonal axis per pair)"
                ),
            ));
        }
        if self.layout.n_classes > pairs * (pairs - 1) {
            return Err(SimulateError::new(
                "n_classes",
                self.layout.n_classes,
                format!(
                    "at most P(P−1) = {} classes are distinct with n_subpopulations = {} \
                     (P = {pairs} pairs); raise n_subpopulations",
                    pairs * (pairs - 1),
                    self.n_subpopulations
                ),
            ));
        }
        if !(self.separation.is_finite() && self.separation > 0.0) {
            return Err(SimulateError::new(
                "separation",
                self.separation,
                "must be finite and > 0",
            ));
        }
        in_unit("effect_strength", self.effect_strength)?;
        in_unit("strength_spread", self.strength_spread)?;
        in_unit("perturbation_jitter", self.perturbation_jitter)?;
        non_negative("mean_effect", self.mean_effect)?;
        if !(self.cell_sd.is_finite() && self.cell_sd > 0.0) {
            return Err(SimulateError::new(
                "cell_sd",
                self.cell_sd,
                "must be finite and > 0",
            ));
        }
        non_negative("well_sd", self.well_sd)?;
        non_negative("plate_sd", self.plate_sd)?;
        non_negative("batch_sd", self.batch_sd)?;
        at_least("cells_min", self.cells_min, 1)?;
        if self.cells_max < self.cells_min {
            return Err(SimulateError::new(
                "cells_max",
                self.cells_max,
                format!("must be at least cells_min = {}", self.cells_min),
            ));
        }
        Ok(())
    }
}

/// A simulated cell-level screen: the layout, the cell × feature matrix and the planted truth.
#[derive(Debug, Clone, PartialEq)]
pub struct HeterogeneitySim {
    /// Wells in output order and the perturbations' classes and split.
    pub layout: Layout,
    /// Feature names `f000`, `f001`, ...
    pub feature_names: Vec<String>,
    /// Row-major `n_rows × n_features` cell profiles, rows grouped by well in layout order.
    pub features: Vec<f32>,
    /// Index into `layout.wells` of each row.
    pub row_well: Vec<u32>,
    /// 1-based index of each cell within its well.
    pub object_number: Vec<u32>,
    /// Latent subpopulation (`0..n_subpopulations`) of each cell: the truth, not written.
    pub subpopulation: Vec<u16>,
    /// Subpopulation probabilities of each perturbation (`n_subpopulations` each).
    pub perturbation_proportions: Vec<Vec<f64>>,
    /// Subpopulation probabilities of the control wells.
    pub control_proportions: Vec<f64>,
    /// Row-major `n_wells × n_features` additive nuisance of each well (batch + plate + well).
    pub well_offsets: Vec<f64>,
}

impl HeterogeneitySim {
    /// Number of cells.
    pub fn n_rows(&self) -> usize {
        self.row_well.len()
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// How far each class's cells are from the control cells, nuisance removed: in the mean,
    /// in the covariance and in subpopulation frequencies (the planted signal).
    pub fn class_shifts(&self) -> Vec<ClassShift> {
        let d = self.n_features();
        let k = self.control_proportions.len();
        let n_classes = self
            .layout
            .perturbation_class
            .iter()
            .max()
            .map_or(0, |&c| c + 1);
        // Group g = class index, or n_classes for the controls.
        let mut stats: Vec<Moments> = (0..=n_classes).map(|_| Moments::new(d, k)).collect();
        let mut centred = vec![0.0; d];
        for (i, &w) in self.row_well.iter().enumerate() {
            let well = &self.layout.wells[w as usize];
            let g = well.class_index.unwrap_or(n_classes);
            let offset = &self.well_offsets[w as usize * d..(w as usize + 1) * d];
            for ((c, &x), &o) in centred
                .iter_mut()
                .zip(&self.features[i * d..(i + 1) * d])
                .zip(offset)
            {
                *c = f64::from(x) - o;
            }
            stats[g].add(&centred, self.subpopulation[i] as usize);
        }
        let control = stats[n_classes].finish();
        (0..n_classes)
            .map(|c| {
                let class = stats[c].finish();
                let name = self
                    .layout
                    .wells
                    .iter()
                    .find(|w| w.class_index == Some(c))
                    .map(|w| w.class.clone())
                    .unwrap_or_default();
                ClassShift {
                    class: name,
                    cells: class.n,
                    mean_shift: dist(&class.mean, &control.mean),
                    mean_noise: (0..d)
                        .map(|f| {
                            class.cov[f * d + f] / class.n.max(1) as f64
                                + control.cov[f * d + f] / control.n.max(1) as f64
                        })
                        .sum::<f64>()
                        .sqrt(),
                    covariance_shift: dist(&class.cov, &control.cov),
                    proportion_shift: 0.5
                        * class
                            .freq
                            .iter()
                            .zip(&control.freq)
                            .map(|(a, b)| (a - b).abs())
                            .sum::<f64>(),
                }
            })
            .collect()
    }
}

/// How one class differs from the controls (see [`HeterogeneitySim::class_shifts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassShift {
    /// Class name.
    pub class: String,
    /// Cells of the class.
    pub cells: usize,
    /// Euclidean norm of the difference of mean cell profiles.
    pub mean_shift: f64,
    /// The norm `mean_shift` would have from sampling alone (independent cells, no shift):
    /// `sqrt(Σ_f var_class,f / n_class + var_control,f / n_control)`.
    pub mean_noise: f64,
    /// Frobenius norm of the difference of the cell covariance matrices.
    pub covariance_shift: f64,
    /// Total variation distance between the subpopulation frequencies.
    pub proportion_shift: f64,
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Running sums for mean, covariance and subpopulation frequencies.
struct Moments {
    n: usize,
    sum: Vec<f64>,
    outer: Vec<f64>,
    counts: Vec<usize>,
}

struct Finished {
    n: usize,
    mean: Vec<f64>,
    cov: Vec<f64>,
    freq: Vec<f64>,
}

impl Moments {
    fn new(d: usize, k: usize) -> Self {
        Moments {
            n: 0,
            sum: vec![0.0; d],
            outer: vec![0.0; d * d],
            counts: vec![0; k],
        }
    }

    fn add(&mut self, x: &[f64], sub: usize) {
        let d = x.len();
        self.n += 1;
        self.counts[sub] += 1;
        for (a, &xa) in x.iter().enumerate() {
            self.sum[a] += xa;
            for (o, &xb) in self.outer[a * d..(a + 1) * d].iter_mut().zip(x) {
                *o += xa * xb;
            }
        }
    }

    fn finish(&self) -> Finished {
        let n = self.n.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let d = mean.len();
        let cov = (0..d * d)
            .map(|i| self.outer[i] / n - mean[i / d] * mean[i % d])
            .collect();
        let freq = self.counts.iter().map(|&c| c as f64 / n).collect();
        Finished {
            n: self.n,
            mean,
            cov,
            freq,
        }
    }
}

/// `m` orthonormal directions in `d ≥ m` dimensions (Gram–Schmidt on Gaussian vectors).
fn orthonormal(rng: &mut SplitMix64, m: usize, d: usize) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m);
    while basis.len() < m {
        let mut v = normals(rng, d, 1.0);
        for b in &basis {
            let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
            for (x, y) in v.iter_mut().zip(b) {
                *x -= dot * y;
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        // A draw (nearly) inside the span so far is redrawn rather than amplified.
        if norm > 1e-6 {
            basis.push(v.into_iter().map(|x| x / norm).collect());
        }
    }
    basis
}

/// A flat-Dirichlet draw over `k` categories (normalized exponentials).
fn flat_dirichlet(rng: &mut SplitMix64, k: usize) -> Vec<f64> {
    let e: Vec<f64> = (0..k).map(|_| -rng.next_open01().ln()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// Simulates a cell-level screen (see the module documentation for the model).
pub fn simulate_heterogeneity(
    params: &HeterogeneityParams,
    seed: u64,
) -> Result<HeterogeneitySim, SimulateError> {
    params.validate()?;
    let layout = super::Layout::new(&params.layout, seed)?;
    let d = params.n_features;
    let pairs = params.n_subpopulations / 2;
    let n_classes = params.layout.n_classes;
    let n_pert = params.layout.n_perturbations();

    let mut class_rng = stream(seed, tag::CLASSES);
    let axes = orthonormal(&mut class_rng, pairs, d);
    let mut ordered: Vec<(usize, usize)> = (0..pairs)
        .flat_map(|a| (0..pairs).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect();
    shuffle(&mut class_rng, &mut ordered);
    let targets: Vec<Vec<f64>> = ordered[..n_classes]
        .iter()
        .map(|&(a, b)| {
            let mut r = vec![0.0; pairs];
            r[a] = 0.7;
            r[b] = 0.3;
            r
        })
        .collect();
    let class_mean: Vec<Vec<f64>> = (0..n_classes)
        .map(|_| {
            unit_vector(&mut class_rng, d)
                .into_iter()
                .map(|x| x * params.mean_effect)
                .collect()
        })
        .collect();

    // Pair proportions → subpopulation probabilities: each member of a pair gets half.
    let expand = |q: &[f64]| -> Vec<f64> { q.iter().flat_map(|&x| [x / 2.0, x / 2.0]).collect() };
    let uniform = vec![1.0 / pairs as f64; pairs];
    let perturbation_proportions: Vec<Vec<f64>> = (0..n_pert)
        .map(|p| {
            let mut rng = keyed(seed, tag::PERTURBATIONS, p as u64);
            let spread = 2.0 * rng.next_open01() - 1.0;
            let s =
                (params.effect_strength * (1.0 + params.strength_spread * spread)).clamp(0.0, 1.0);
            let own = flat_dirichlet(&mut rng, pairs);
            let j = params.perturbation_jitter;
            let target = &targets[layout.perturbation_class[p]];
            let q: Vec<f64> = (0..pairs)
                .map(|i| (1.0 - s) * uniform[i] + s * ((1.0 - j) * target[i] + j * own[i]))
                .collect();
            expand(&q)
        })
        .collect();
    let control_proportions = expand(&uniform);

    // Subpopulation means: member 2j at +sep/2 · v_j, member 2j+1 at −sep/2 · v_j.
    let half = params.separation / 2.0;
    let sub_mean: Vec<Vec<f64>> = (0..params.n_subpopulations)
        .map(|k| {
            let sign = if k % 2 == 0 { half } else { -half };
            axes[k / 2].iter().map(|x| sign * x).collect()
        })
        .collect();

    let mut nuisance = stream(seed, tag::NUISANCE);
    let centre = normals(&mut nuisance, d, 1.0);
    let batch_effect: Vec<Vec<f64>> = (0..params.layout.n_batches)
        .map(|_| normals(&mut nuisance, d, params.batch_sd))
        .collect();
    let plate_effect: Vec<Vec<f64>> = (0..params.layout.n_plates())
        .map(|_| normals(&mut nuisance, d, params.plate_sd))
        .collect();

    let n_wells = layout.wells.len();
    let mut well_offsets = Vec::with_capacity(n_wells * d);
    let mut counts = Vec::with_capacity(n_wells);
    let mut well_rng = stream(seed, tag::WELLS);
    for well in &layout.wells {
        let span = params.cells_max - params.cells_min + 1;
        counts.push(params.cells_min + below(&mut well_rng, span));
        let noise = normals(&mut well_rng, d, params.well_sd);
        for j in 0..d {
            well_offsets.push(
                batch_effect[well.batch_index][j] + plate_effect[well.plate_index][j] + noise[j],
            );
        }
    }

    let n_rows: usize = counts.iter().sum();
    let mut features = Vec::with_capacity(n_rows * d);
    let mut row_well = Vec::with_capacity(n_rows);
    let mut object_number = Vec::with_capacity(n_rows);
    let mut subpopulation = Vec::with_capacity(n_rows);
    let zero = vec![0.0; d];
    for (w, well) in layout.wells.iter().enumerate() {
        // One stream per well: a well's cells do not depend on how many cells others have.
        let mut rng = keyed(seed, tag::CELLS, w as u64);
        let probs = match well.perturbation_index {
            Some(p) => &perturbation_proportions[p],
            None => &control_proportions,
        };
        let shift = well.class_index.map_or(&zero, |c| &class_mean[c]);
        let offset = &well_offsets[w * d..(w + 1) * d];
        for cell in 0..counts[w] {
            let k = categorical(&mut rng, probs);
            for j in 0..d {
                let x = centre[j]
                    + offset[j]
                    + shift[j]
                    + sub_mean[k][j]
                    + params.cell_sd * rng.standard_normal();
                features.push(x as f32);
            }
            row_well.push(w as u32);
            object_number.push(cell as u32 + 1);
            subpopulation.push(k as u16);
        }
    }
    // Offsets as stored include the centre, so `features - well_offsets` is the planted signal
    // plus cell noise around a zero-mean population.
    for (i, o) in well_offsets.iter_mut().enumerate() {
        *o += centre[i % d];
    }
    Ok(HeterogeneitySim {
        layout,
        feature_names: (0..d).map(|j| format!("f{j:03}")).collect(),
        features,
        row_well,
        object_number,
        subpopulation,
        perturbation_proportions,
        control_proportions,
        well_offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Split;
    use super::*;

    fn small() -> HeterogeneityParams {
        HeterogeneityParams {
            layout: LayoutParams {
                n_classes: 4,
                perturbations_per_class: 4,
                replicates: 3,
                n_batches: 2,
                plates_per_batch: 2,
                controls_per_plate: 4,
                test_fraction: 0.5,
            },
            n_features: 12,
            cells_min: 150,
            cells_max: 250,
            ..HeterogeneityParams::default()
        }
    }

    #[test]
    fn shapes_and_cell_indices_agree() {
        let p = small();
        let sim = simulate_heterogeneity(&p, 1).unwrap();
        let n = sim.n_rows();
        assert_eq!(sim.features.len(), n * 12);
        assert_eq!(sim.feature_names[11], "f011");
        assert_eq!(sim.object_number.len(), n);
        assert_eq!(sim.subpopulation.len(), n);
        assert_eq!(sim.layout.wells.len(), 16 * 3 + 4 * 4);
        // Cells of a well are contiguous and numbered 1..=count, count within range.
        let mut start = 0;
        while start < n {
            let w = sim.row_well[start];
            let end = (start..n).find(|&i| sim.row_well[i] != w).unwrap_or(n);
            let count = end - start;
            assert!((150..=250).contains(&count), "{count}");
            let numbers: Vec<u32> = sim.object_number[start..end].to_vec();
            assert_eq!(numbers, (1..=count as u32).collect::<Vec<_>>());
            start = end;
        }
        assert!(sim.features.iter().all(|x| x.is_finite()));
        for q in sim
            .perturbation_proportions
            .iter()
            .chain([&sim.control_proportions])
        {
            assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(q.iter().all(|&x| x >= 0.0));
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let p = small();
        let a = simulate_heterogeneity(&p, 42).unwrap();
        let b = simulate_heterogeneity(&p, 42).unwrap();
        assert_eq!(a, b);
        let c = simulate_heterogeneity(&p, 43).unwrap();
        assert_ne!(a.features, c.features);
    }

    #[test]
    fn the_mean_barely_moves_while_proportions_and_covariance_do() {
        let sim = simulate_heterogeneity(&small(), 5).unwrap();
        let shifts = sim.class_shifts();
        assert_eq!(shifts.len(), 4);
        for s in &shifts {
            // Sampling noise only: the expected mean shift is exactly zero.
            assert!(s.mean_shift < 3.0 * s.mean_noise, "{s:?}: the mean moved");
            assert!(
                s.covariance_shift > 5.0 * s.mean_shift,
                "{s:?}: the covariance barely moved"
            );
            assert!(s.proportion_shift > 0.2, "{s:?}: proportions barely differ");
        }
        // The control cells' own frequencies match the planted uniform proportions.
        let n_controls = sim
            .row_well
            .iter()
            .filter(|&&w| sim.layout.wells[w as usize].control)
            .count();
        let mut freq = [0usize; 8];
        for (i, &w) in sim.row_well.iter().enumerate() {
            if sim.layout.wells[w as usize].control {
                freq[sim.subpopulation[i] as usize] += 1;
            }
        }
        for f in freq {
            let share = f as f64 / n_controls as f64;
            assert!((share - 0.125).abs() < 0.03, "{freq:?}");
        }
    }

    #[test]
    fn mean_effect_moves_the_mean_when_asked() {
        let p = HeterogeneityParams {
            mean_effect: 2.0,
            ..small()
        };
        let sim = simulate_heterogeneity(&p, 5).unwrap();
        for s in sim.class_shifts() {
            assert!((s.mean_shift - 2.0).abs() < 0.3, "{s:?}");
        }
    }

    #[test]
    fn classes_have_distinct_targets() {
        let sim = simulate_heterogeneity(&small(), 9).unwrap();
        // Perturbations of one class are closer to each other than to another class's.
        let q = &sim.perturbation_proportions;
        let class = &sim.layout.perturbation_class;
        let l1 = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>();
        let (mut within, mut nw, mut between, mut nb) = (0.0, 0, 0.0, 0);
        for a in 0..q.len() {
            for b in 0..a {
                if class[a] == class[b] {
                    within += l1(&q[a], &q[b]);
                    nw += 1;
                } else {
                    between += l1(&q[a], &q[b]);
                    nb += 1;
                }
            }
        }
        assert!(within / (nw as f64) < 0.5 * between / (nb as f64));
    }

    #[test]
    fn split_rows_follow_their_perturbation() {
        let sim = simulate_heterogeneity(&small(), 2).unwrap();
        let mut train = std::collections::HashSet::new();
        let mut test = std::collections::HashSet::new();
        for w in &sim.layout.wells {
            match w.split {
                Split::Train => train.insert(w.perturbation.clone()),
                Split::Test => test.insert(w.perturbation.clone()),
                Split::Both => {
                    assert!(w.control);
                    true
                }
            };
        }
        assert!(train.is_disjoint(&test));
        assert_eq!(train.len(), 8);
        assert_eq!(test.len(), 8);
        let train_index = sim
            .layout
            .perturbation_split
            .iter()
            .filter(|&&s| s == Split::Train)
            .count();
        assert_eq!(train_index, 8);
    }

    #[test]
    fn invalid_parameters_are_rejected_before_work() {
        let bad = |f: &dyn Fn(&mut HeterogeneityParams)| {
            let mut p = small();
            f(&mut p);
            simulate_heterogeneity(&p, 0).unwrap_err().name
        };
        assert_eq!(bad(&|p| p.n_subpopulations = 7), "n_subpopulations");
        assert_eq!(bad(&|p| p.n_subpopulations = 2), "n_subpopulations");
        assert_eq!(bad(&|p| p.n_features = 3), "n_features");
        assert_eq!(bad(&|p| p.layout.n_classes = 13), "n_classes");
        assert_eq!(bad(&|p| p.separation = 0.0), "separation");
        assert_eq!(bad(&|p| p.effect_strength = 1.5), "effect_strength");
        assert_eq!(bad(&|p| p.cell_sd = f64::INFINITY), "cell_sd");
        assert_eq!(bad(&|p| p.plate_sd = -1.0), "plate_sd");
        assert_eq!(bad(&|p| p.cells_max = 10), "cells_max");
        assert_eq!(bad(&|p| p.cells_min = 0), "cells_min");
    }
}
