//! Well-level profiles at scale (10⁵–10⁶ rows), generated one plate at a time.
//!
//! Every plate has its own random streams (positions, plate effect, well noise), so a writer
//! can produce plate `i` without plates `0..i` and holds one plate in memory.
//!
//! Model. Plates of `wells_per_plate` wells (the last one holds what is left of `n_wells`),
//! `controls_per_plate` controls each, grouped `plates_per_batch` to a batch. Treated wells are
//! numbered across plates and well `t` gets perturbation `t mod n_perturbations`, so replicates
//! of a perturbation land on different plates; perturbation `p` is in class `p mod n_classes`
//! and in the test split with probability `test_fraction` (a per-perturbation draw). A well is
//! `centre + batch effect + plate effect + class signature + perturbation signature +
//! noise_sd · N(0, I)`; signatures and effects are per-feature normals with sd `class_effect`,
//! `perturbation_effect`, `batch_sd` and `plate_sd` (controls have no signature). Here the
//! signal is in the mean: this generator tests speed and memory, not aggregation.

use super::{
    CONTROL, MAX_WELLS, SimulateError, Split, Well, at_least, keyed, non_negative, normals,
    numbered, shuffle, stream, tag, well_names,
};

/// Parameters of the large simulation; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeParams {
    /// Rows (wells) in all; at least 1.
    pub n_wells: usize,
    /// Wells on a full plate; between 2 and 1536.
    pub wells_per_plate: usize,
    /// Plates in each batch; at least 1.
    pub plates_per_batch: usize,
    /// Control wells on every full plate; at least 1 and below `wells_per_plate`.
    pub controls_per_plate: usize,
    /// Features per well; at least 1.
    pub n_features: usize,
    /// Perturbations; at least `n_classes`.
    pub n_perturbations: usize,
    /// Perturbation classes; at least 2.
    pub n_classes: usize,
    /// Probability that a perturbation is held out for testing, in [0, 1).
    pub test_fraction: f64,
    /// Sd of the per-feature class signature; ≥ 0.
    pub class_effect: f64,
    /// Sd of the per-feature perturbation signature; ≥ 0.
    pub perturbation_effect: f64,
    /// Sd of the per-plate additive effect; ≥ 0.
    pub plate_sd: f64,
    /// Sd of the per-batch additive effect; ≥ 0.
    pub batch_sd: f64,
    /// Sd of the per-well noise; ≥ 0.
    pub noise_sd: f64,
}

impl Default for LargeParams {
    fn default() -> Self {
        LargeParams {
            n_wells: 100_000,
            wells_per_plate: 384,
            plates_per_batch: 10,
            controls_per_plate: 16,
            n_features: 64,
            n_perturbations: 2000,
            n_classes: 20,
            test_fraction: 0.5,
            class_effect: 0.5,
            perturbation_effect: 0.5,
            plate_sd: 0.3,
            batch_sd: 0.5,
            noise_sd: 1.0,
        }
    }
}

impl LargeParams {
    /// Checks every parameter before any work; the first violation is returned.
    pub fn validate(&self) -> Result<(), SimulateError> {
        at_least("n_wells", self.n_wells, 1)?;
        at_least("wells_per_plate", self.wells_per_plate, 2)?;
        if self.wells_per_plate > MAX_WELLS {
            return Err(SimulateError::new(
                "wells_per_plate",
                self.wells_per_plate,
                format!("must be at most {MAX_WELLS}"),
            ));
        }
        at_least("plates_per_batch", self.plates_per_batch, 1)?;
        at_least("controls_per_plate", self.controls_per_plate, 1)?;
        if self.controls_per_plate >= self.wells_per_plate {
            return Err(SimulateError::new(
                "controls_per_plate",
                self.controls_per_plate,
                format!(
                    "must be below wells_per_plate = {} (a plate needs treated wells)",
                    self.wells_per_plate
                ),
            ));
        }
        at_least("n_features", self.n_features, 1)?;
        at_least("n_classes", self.n_classes, 2)?;
        if self.n_perturbations < self.n_classes {
            return Err(SimulateError::new(
                "n_perturbations",
                self.n_perturbations,
                format!("must be at least n_classes = {}", self.n_classes),
            ));
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            return Err(SimulateError::new(
                "test_fraction",
                self.test_fraction,
                "must be in [0, 1)",
            ));
        }
        non_negative("class_effect", self.class_effect)?;
        non_negative("perturbation_effect", self.perturbation_effect)?;
        non_negative("plate_sd", self.plate_sd)?;
        non_negative("batch_sd", self.batch_sd)?;
        non_negative("noise_sd", self.noise_sd)?;
        Ok(())
    }
}

/// One plate of a large simulation: its wells in position order and their profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateChunk {
    /// The plate's wells, sorted by position.
    pub wells: Vec<Well>,
    /// Row-major `wells.len() × n_features` profiles.
    pub features: Vec<f32>,
}

/// A large simulation: the shared draws (centre, class signatures); plates on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeSim {
    params: LargeParams,
    seed: u64,
    centre: Vec<f64>,
    class_signature: Vec<Vec<f64>>,
    names: Vec<String>,
}

/// Tags of the keyed per-item streams, beyond the shared ones.
const BATCH_EFFECT: u64 = 100;
const PLATE_EFFECT: u64 = 101;

impl LargeSim {
    /// Validates the parameters and draws what every plate shares.
    pub fn new(params: &LargeParams, seed: u64) -> Result<LargeSim, SimulateError> {
        params.validate()?;
        let d = params.n_features;
        let centre = normals(&mut stream(seed, tag::NUISANCE), d, 1.0);
        let mut class_rng = stream(seed, tag::CLASSES);
        let class_signature = (0..params.n_classes)
            .map(|_| normals(&mut class_rng, d, params.class_effect))
            .collect();
        Ok(LargeSim {
            params: params.clone(),
            seed,
            centre,
            class_signature,
            names: well_names(params.wells_per_plate),
        })
    }

    /// Number of plates (the last may be partly filled).
    pub fn n_plates(&self) -> usize {
        self.params.n_wells.div_ceil(self.params.wells_per_plate)
    }

    /// Number of batches.
    pub fn n_batches(&self) -> usize {
        self.n_plates().div_ceil(self.params.plates_per_batch)
    }

    /// Feature names `f000`, `f001`, ...
    pub fn feature_names(&self) -> Vec<String> {
        (0..self.params.n_features)
            .map(|j| format!("f{j:03}"))
            .collect()
    }

    /// The split of perturbation `p` (a draw of its own: any perturbation, in any order).
    pub fn perturbation_split(&self, p: usize) -> Split {
        if keyed(self.seed, tag::SPLIT, p as u64).next_open01() < self.params.test_fraction {
            Split::Test
        } else {
            Split::Train
        }
    }

    /// Generates plate `i` (`i < n_plates()`).
    pub fn plate(&self, i: usize) -> PlateChunk {
        let p = &self.params;
        let d = p.n_features;
        let wells_here = p.wells_per_plate.min(p.n_wells - i * p.wells_per_plate);
        let controls = p.controls_per_plate.min(wells_here);
        let first_treated = i * (p.wells_per_plate - p.controls_per_plate);
        let batch_index = i / p.plates_per_batch;
        let batch = normals(
            &mut keyed(self.seed, BATCH_EFFECT, batch_index as u64),
            d,
            p.batch_sd,
        );
        let plate = normals(&mut keyed(self.seed, PLATE_EFFECT, i as u64), d, p.plate_sd);
        // Positions are drawn among the whole plate's wells, so a partial plate is scattered too.
        let mut positions = keyed(self.seed, tag::POSITIONS, i as u64);
        let mut slots: Vec<usize> = (0..p.wells_per_plate).collect();
        shuffle(&mut positions, &mut slots);
        // Content k < controls is a control, else treated well first_treated + k − controls.
        let mut placed: Vec<(usize, usize)> = slots.into_iter().zip(0..wells_here).collect();
        placed.sort_by_key(|&(slot, _)| slot);

        let mut noise = keyed(self.seed, tag::WELLS, i as u64);
        let mut wells = Vec::with_capacity(wells_here);
        let mut features = Vec::with_capacity(wells_here * d);
        let n_plates = self.n_plates();
        for (slot, k) in placed {
            let pert = (k >= controls).then(|| (first_treated + k - controls) % p.n_perturbations);
            let class = pert.map(|q| q % p.n_classes);
            // Redrawn from the perturbation's own stream at every well: identical each time,
            // and nothing to keep across plates.
            let signature: Vec<f64> = match (pert, class) {
                (Some(q), Some(c)) => normals(
                    &mut keyed(self.seed, tag::PERTURBATIONS, q as u64),
                    d,
                    p.perturbation_effect,
                )
                .into_iter()
                .zip(&self.class_signature[c])
                .map(|(a, b)| a + b)
                .collect(),
                _ => vec![0.0; d],
            };
            for j in 0..d {
                let x = self.centre[j]
                    + batch[j]
                    + plate[j]
                    + signature[j]
                    + p.noise_sd * noise.standard_normal();
                features.push(x as f32);
            }
            wells.push(Well {
                batch: numbered("batch", batch_index, self.n_batches().max(9)),
                plate: numbered("plate", i, n_plates.max(10)),
                well: self.names[slot].clone(),
                perturbation: pert.map_or_else(
                    || CONTROL.to_owned(),
                    |q| numbered("P", q, p.n_perturbations.max(100)),
                ),
                class: class.map_or_else(
                    || CONTROL.to_owned(),
                    |c| numbered("C", c, p.n_classes.max(9)),
                ),
                split: pert.map_or(Split::Both, |q| self.perturbation_split(q)),
                control: pert.is_none(),
                plate_index: i,
                batch_index,
                perturbation_index: pert,
                class_index: class,
            });
        }
        PlateChunk { wells, features }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> LargeParams {
        LargeParams {
            n_wells: 1000,
            wells_per_plate: 96,
            plates_per_batch: 3,
            controls_per_plate: 8,
            n_features: 8,
            n_perturbations: 50,
            n_classes: 5,
            ..LargeParams::default()
        }
    }

    #[test]
    fn plates_cover_every_row_once_with_a_partial_last_plate() {
        let sim = LargeSim::new(&small(), 1).unwrap();
        assert_eq!(sim.n_plates(), 11);
        assert_eq!(sim.n_batches(), 4);
        let chunks: Vec<PlateChunk> = (0..sim.n_plates()).map(|i| sim.plate(i)).collect();
        let rows: usize = chunks.iter().map(|c| c.wells.len()).sum();
        assert_eq!(rows, 1000);
        assert_eq!(chunks[10].wells.len(), 1000 - 10 * 96);
        for c in &chunks {
            assert_eq!(c.features.len(), c.wells.len() * 8);
            assert_eq!(c.wells.iter().filter(|w| w.control).count(), 8);
            let mut names: Vec<&str> = c.wells.iter().map(|w| w.well.as_str()).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n);
        }
        assert_eq!(chunks[3].wells[0].batch, "batch2");
        assert_eq!(chunks[3].wells[0].plate, "plate04");
        // Treated wells cycle through the perturbations: each has 1000−88 / 50 ≈ 18 replicates.
        let mut reps = vec![0usize; 50];
        for w in chunks.iter().flat_map(|c| &c.wells) {
            if let Some(p) = w.perturbation_index {
                reps[p] += 1;
                assert_eq!(w.class_index, Some(p % 5));
                assert_eq!(w.split, sim.perturbation_split(p));
            }
        }
        assert!(reps.iter().all(|&r| (18..=19).contains(&r)), "{reps:?}");
    }

    #[test]
    fn plates_are_reproducible_in_any_order() {
        let sim = LargeSim::new(&small(), 9).unwrap();
        let later_first = sim.plate(5);
        let _ = sim.plate(0);
        assert_eq!(sim.plate(5), later_first);
        let again = LargeSim::new(&small(), 9).unwrap();
        assert_eq!(again.plate(5), later_first);
        let other = LargeSim::new(&small(), 10).unwrap();
        assert_ne!(other.plate(5).features, later_first.features);
    }

    #[test]
    fn replicate_wells_agree_more_than_wells_of_other_classes() {
        let p = LargeParams {
            plate_sd: 0.0,
            batch_sd: 0.0,
            noise_sd: 0.2,
            class_effect: 1.0,
            ..small()
        };
        let sim = LargeSim::new(&p, 4).unwrap();
        let chunk = sim.plate(0);
        let d = 8;
        let row = |i: usize| &chunk.features[i * d..(i + 1) * d];
        let dist =
            |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
        let treated: Vec<usize> = (0..chunk.wells.len())
            .filter(|&i| !chunk.wells[i].control)
            .collect();
        let (mut same, mut ns, mut diff, mut nd) = (0.0, 0, 0.0, 0);
        for &a in &treated {
            for &b in &treated {
                if a < b {
                    let x = dist(row(a), row(b));
                    if chunk.wells[a].class_index == chunk.wells[b].class_index {
                        same += x;
                        ns += 1;
                    } else {
                        diff += x;
                        nd += 1;
                    }
                }
            }
        }
        assert!(same / (ns as f32) < 0.8 * diff / (nd as f32));
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let bad = |f: &dyn Fn(&mut LargeParams)| {
            let mut p = small();
            f(&mut p);
            LargeSim::new(&p, 0).unwrap_err().name
        };
        assert_eq!(bad(&|p| p.n_wells = 0), "n_wells");
        assert_eq!(bad(&|p| p.wells_per_plate = 2000), "wells_per_plate");
        assert_eq!(bad(&|p| p.controls_per_plate = 96), "controls_per_plate");
        assert_eq!(bad(&|p| p.n_perturbations = 3), "n_perturbations");
        assert_eq!(bad(&|p| p.test_fraction = -0.5), "test_fraction");
        assert_eq!(bad(&|p| p.noise_sd = f64::NAN), "noise_sd");
    }
}
