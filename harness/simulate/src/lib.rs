//! cpbench-simulate: synthetic screens with known structure (`cpbench simulate`): pure
//! numerics, no file IO (the binary writes the files).
//!
//! Three generators share one plate layout ([`LayoutParams`], [`Layout`]):
//!
//! - [`heterogeneity`] — cell-level profiles where perturbations change the *proportions* of
//!   latent subpopulations while the population mean stays put, so mean aggregation of a
//!   well's cells loses the signal and a set encoder (Deep Sets) can keep it.
//! - [`images`] — 5-channel crops of synthetic cells (DNA, ER, RNA, AGP, Mito) whose size,
//!   intensities and texture depend on the perturbation class and whose brightness and
//!   illumination depend on the plate.
//! - [`large`] — well-level profiles by the hundred thousand or million, generated one plate at
//!   a time so a writer can stream them.
//!
//! Every parameter struct has documented defaults and a `validate` that runs before any work;
//! every random draw comes from [`SplitMix64`] streams keyed by the seed and a fixed tag per
//! component, so the same seed gives the same numbers on every platform and thread count, and
//! a component's draws do not move when an unrelated parameter changes.

pub mod heterogeneity;
pub mod images;
pub mod large;

use cpbench_metrics::rng::{SplitMix64, mix64};

pub use heterogeneity::{
    ClassShift, HeterogeneityParams, HeterogeneitySim, simulate_heterogeneity,
};
pub use images::{ImageDtype, ImageParams, ImageSim, simulate_images};
pub use large::{LargeParams, LargeSim, PlateChunk};

/// A parameter outside its allowed range, named as the command line spells it (`n_classes` is
/// `--n-classes`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter {name} = {value}: {reason}")]
pub struct SimulateError {
    /// Parameter name (snake_case field name).
    pub name: &'static str,
    /// The rejected value, rendered.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl SimulateError {
    fn new(name: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        SimulateError {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Which side of the train/test split of perturbations a well belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// A perturbation a model may be trained on.
    Train,
    /// A held-out perturbation, for scoring only.
    Test,
    /// Control wells: the shared reference of both splits (not a class to learn).
    Both,
}

impl Split {
    /// The value written to `Metadata_Split`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
            Split::Both => "both",
        }
    }
}

/// The perturbation and class name of control wells.
pub const CONTROL: &str = "control";

/// One well of a simulated screen and what was planted in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Well {
    /// Batch name, `batch1`, `batch2`, ...
    pub batch: String,
    /// Plate name, `plate01`, ... (numbered across batches).
    pub plate: String,
    /// Well name on the plate, `A01`, ... (96-, 384- or 1536-well naming, whichever fits).
    pub well: String,
    /// Perturbation name (`P001`, ...) or [`CONTROL`].
    pub perturbation: String,
    /// Class name (`C1`, ...) or [`CONTROL`]; the label a representation should recover.
    pub class: String,
    /// Train/test side of the perturbation; [`Split::Both`] for controls.
    pub split: Split,
    /// Whether this is a control well.
    pub control: bool,
    /// 0-based plate index (plates numbered batch by batch).
    pub plate_index: usize,
    /// 0-based batch index.
    pub batch_index: usize,
    /// 0-based perturbation index; `None` for controls.
    pub perturbation_index: Option<usize>,
    /// 0-based class index; `None` for controls.
    pub class_index: Option<usize>,
}

/// Plates, batches, perturbations, classes, replicates, controls and the split.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutParams {
    /// Perturbation classes (the label to retrieve); at least 2.
    pub n_classes: usize,
    /// Perturbations in each class; at least 1, at least 2 when `test_fraction > 0`.
    pub perturbations_per_class: usize,
    /// Wells per perturbation, each on a different plate; at most the number of plates.
    pub replicates: usize,
    /// Batches; at least 1.
    pub n_batches: usize,
    /// Plates in each batch; at least 1.
    pub plates_per_batch: usize,
    /// Control wells on every plate; at least 1.
    pub controls_per_plate: usize,
    /// Share of each class's perturbations held out for testing, in `[0, 1)`.
    pub test_fraction: f64,
}

impl LayoutParams {
    /// Number of plates.
    pub fn n_plates(&self) -> usize {
        self.n_batches * self.plates_per_batch
    }

    /// Number of perturbations (all classes).
    pub fn n_perturbations(&self) -> usize {
        self.n_classes * self.perturbations_per_class
    }

    /// Checks every field; the first violation is returned.
    pub fn validate(&self) -> Result<(), SimulateError> {
        at_least("n_classes", self.n_classes, 2)?;
        at_least("perturbations_per_class", self.perturbations_per_class, 1)?;
        at_least("replicates", self.replicates, 1)?;
        at_least("n_batches", self.n_batches, 1)?;
        at_least("plates_per_batch", self.plates_per_batch, 1)?;
        at_least("controls_per_plate", self.controls_per_plate, 1)?;
        if !(0.0..1.0).contains(&self.test_fraction) {
            return Err(SimulateError::new(
                "test_fraction",
                self.test_fraction,
                "must be in [0, 1)",
            ));
        }
        if self.test_fraction > 0.0 && self.perturbations_per_class < 2 {
            return Err(SimulateError::new(
                "perturbations_per_class",
                self.perturbations_per_class,
                "must be at least 2 when test_fraction > 0 (one train and one test per class)",
            ));
        }
        if self.replicates > self.n_plates() {
            return Err(SimulateError::new(
                "replicates",
                self.replicates,
                format!(
                    "replicates go to different plates: at most n_batches × plates_per_batch = {}",
                    self.n_plates()
                ),
            ));
        }
        let treated = self.n_perturbations().saturating_mul(self.replicates);
        let per_plate = treated.div_ceil(self.n_plates()) + self.controls_per_plate;
        if per_plate > MAX_WELLS {
            return Err(SimulateError::new(
                "controls_per_plate",
                self.controls_per_plate,
                format!(
                    "{per_plate} wells per plate needed (treated wells spread over {} plates, plus \
                     controls); a plate holds at most {MAX_WELLS}: add plates or reduce \
                     perturbations, replicates or controls",
                    self.n_plates()
                ),
            ));
        }
        Ok(())
    }
}

/// The largest plate format named (1536 wells: 32 rows × 48 columns).
pub const MAX_WELLS: usize = 1536;

/// The wells of a screen in output order (plate, then well position), with per-perturbation
/// class and split.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Every well, sorted by plate and then position on the plate.
    pub wells: Vec<Well>,
    /// Class index of each perturbation.
    pub perturbation_class: Vec<usize>,
    /// Split of each perturbation ([`Split::Train`] or [`Split::Test`]).
    pub perturbation_split: Vec<Split>,
}

/// Stream tags: one independent generator per component of a simulation.
pub(crate) mod tag {
    pub const SPLIT: u64 = 1;
    pub const POSITIONS: u64 = 2;
    pub const CLASSES: u64 = 3;
    pub const PERTURBATIONS: u64 = 4;
    pub const NUISANCE: u64 = 5;
    pub const WELLS: u64 = 6;
    pub const CELLS: u64 = 7;
}

/// An independent generator for component `tag` of the simulation seeded with `seed`.
pub(crate) fn stream(seed: u64, tag: u64) -> SplitMix64 {
    SplitMix64::new(mix64(seed ^ mix64(tag.wrapping_mul(0x9e37_79b9))))
}

/// A generator for item `index` of component `tag` (a plate, a perturbation), independent of
/// every other item, so items can be generated in any order.
pub(crate) fn keyed(seed: u64, tag: u64, index: u64) -> SplitMix64 {
    SplitMix64::new(mix64(
        mix64(seed ^ mix64(tag.wrapping_mul(0x9e37_79b9))) ^ index,
    ))
}

/// A uniform integer in `0..n` (`n ≥ 1`); the bias of the float method is below 2^-40 for the
/// sizes used here.
pub(crate) fn below(rng: &mut SplitMix64, n: usize) -> usize {
    ((rng.next_open01() * n as f64) as usize).min(n - 1)
}

/// Fisher–Yates shuffle.
pub(crate) fn shuffle<T>(rng: &mut SplitMix64, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

/// A draw from a categorical distribution given by non-negative weights summing to 1.
pub(crate) fn categorical(rng: &mut SplitMix64, p: &[f64]) -> usize {
    let u = rng.next_open01();
    let mut acc = 0.0;
    for (k, &w) in p.iter().enumerate() {
        acc += w;
        if u < acc {
            return k;
        }
    }
    // Rounding can leave the cumulative sum a hair below 1.
    p.len() - 1
}

pub(crate) fn at_least(name: &'static str, value: usize, min: usize) -> Result<(), SimulateError> {
    if value < min {
        return Err(SimulateError::new(
            name,
            value,
            format!("must be at least {min}"),
        ));
    }
    Ok(())
}

pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), SimulateError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(SimulateError::new(name, value, "must be finite and >= 0"));
    }
    Ok(())
}

pub(crate) fn in_unit(name: &'static str, value: f64) -> Result<(), SimulateError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(SimulateError::new(name, value, "must be in [0, 1]"));
    }
    Ok(())
}

/// Zero-padded names `P001`, `P002`, ... wide enough for `n`.
pub(crate) fn numbered(prefix: &str, i: usize, n: usize) -> String {
    let width = n.to_string().len();
    format!("{prefix}{:0width$}", i + 1)
}

/// Well names of the smallest standard plate holding `n` wells (96, 384 or 1536), row-major.
pub(crate) fn well_names(n: usize) -> Vec<String> {
    let (rows, cols) = if n <= 96 {
        (8, 12)
    } else if n <= 384 {
        (16, 24)
    } else {
        (32, 48)
    };
    let row_name = |r: usize| -> String {
        if r < 26 {
            ((b'A' + r as u8) as char).to_string()
        } else {
            format!("A{}", (b'A' + (r - 26) as u8) as char)
        }
    };
    (0..rows * cols)
        .take(n)
        .map(|i| format!("{}{:02}", row_name(i / cols), i % cols + 1))
        .collect()
}

/// Plate index of replicate `r` of perturbation `p`: replicates rotate through the batches
/// first and then through the plates of a batch, so the replicates of one perturbation never
/// share a plate (`r < n_plates`) and span as many batches as they can.
fn replicate_plate(p: usize, r: usize, n_batches: usize, plates_per_batch: usize) -> usize {
    let batch = (p + r) % n_batches;
    let within = (p / n_batches + r / n_batches) % plates_per_batch;
    batch * plates_per_batch + within
}

impl Layout {
    /// Places perturbations (stratified train/test split per class), replicates and controls on
    /// plates; well positions are shuffled within each plate.
    pub fn new(params: &LayoutParams, seed: u64) -> Result<Layout, SimulateError> {
        params.validate()?;
        let n_pert = params.n_perturbations();
        let n_plates = params.n_plates();
        // Perturbation p belongs to class p % n_classes: classes interleave in name order.
        let perturbation_class: Vec<usize> = (0..n_pert).map(|p| p % params.n_classes).collect();
        let mut perturbation_split = vec![Split::Train; n_pert];
        let mut rng = stream(seed, tag::SPLIT);
        let ppc = params.perturbations_per_class;
        let n_test = if params.test_fraction > 0.0 {
            ((params.test_fraction * ppc as f64).round() as usize).clamp(1, ppc - 1)
        } else {
            0
        };
        for c in 0..params.n_classes {
            let mut members: Vec<usize> = (0..n_pert)
                .filter(|&p| perturbation_class[p] == c)
                .collect();
            shuffle(&mut rng, &mut members);
            for &p in &members[..n_test] {
                perturbation_split[p] = Split::Test;
            }
        }

        // (perturbation or None for a control) per plate, in placement order.
        let mut contents: Vec<Vec<Option<usize>>> =
            vec![vec![None; params.controls_per_plate]; n_plates];
        for r in 0..params.replicates {
            for p in 0..n_pert {
                let plate = replicate_plate(p, r, params.n_batches, params.plates_per_batch);
                contents[plate].push(Some(p));
            }
        }
        let n_names = contents.iter().map(Vec::len).max().unwrap_or(0);
        let names = well_names(n_names);
        let mut positions = stream(seed, tag::POSITIONS);
        let mut wells = Vec::new();
        for (plate_index, content) in contents.into_iter().enumerate() {
            let batch_index = plate_index / params.plates_per_batch;
            let mut slots: Vec<usize> = (0..names.len()).collect();
            shuffle(&mut positions, &mut slots);
            let mut placed: Vec<(usize, Option<usize>)> = slots.into_iter().zip(content).collect();
            placed.sort_by_key(|&(slot, _)| slot);
            for (slot, p) in placed {
                wells.push(Well {
                    batch: numbered("batch", batch_index, params.n_batches.max(9)),
                    plate: numbered("plate", plate_index, n_plates.max(10)),
                    well: names[slot].clone(),
                    perturbation: match p {
                        Some(p) => numbered("P", p, n_pert.max(100)),
                        None => CONTROL.to_owned(),
                    },
                    class: match p {
                        Some(p) => numbered("C", perturbation_class[p], params.n_classes.max(9)),
                        None => CONTROL.to_owned(),
                    },
                    split: p.map_or(Split::Both, |p| perturbation_split[p]),
                    control: p.is_none(),
                    plate_index,
                    batch_index,
                    perturbation_index: p,
                    class_index: p.map(|p| perturbation_class[p]),
                });
            }
        }
        Ok(Layout {
            wells,
            perturbation_class,
            perturbation_split,
        })
    }
}

/// `d` standard normal values.
pub(crate) fn normals(rng: &mut SplitMix64, d: usize, sd: f64) -> Vec<f64> {
    (0..d).map(|_| sd * rng.standard_normal()).collect()
}

/// A unit vector in a uniformly random direction (`d ≥ 1`).
pub(crate) fn unit_vector(rng: &mut SplitMix64, d: usize) -> Vec<f64> {
    loop {
        let v = normals(rng, d, 1.0);
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            return v.into_iter().map(|x| x / norm).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn small_layout() -> LayoutParams {
        LayoutParams {
            n_classes: 3,
            perturbations_per_class: 4,
            replicates: 3,
            n_batches: 2,
            plates_per_batch: 2,
            controls_per_plate: 2,
            test_fraction: 0.5,
        }
    }

    #[test]
    fn layout_places_replicates_on_distinct_plates_and_controls_on_every_plate() {
        let params = small_layout();
        let layout = Layout::new(&params, 7).unwrap();
        assert_eq!(
            layout.wells.len(),
            params.n_perturbations() * params.replicates
                + params.n_plates() * params.controls_per_plate
        );
        for p in 0..params.n_perturbations() {
            let plates: Vec<usize> = layout
                .wells
                .iter()
                .filter(|w| w.perturbation_index == Some(p))
                .map(|w| w.plate_index)
                .collect();
            assert_eq!(plates.len(), params.replicates);
            let mut distinct = plates.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), plates.len(), "perturbation {p}: {plates:?}");
            let batches: std::collections::HashSet<usize> = plates
                .iter()
                .map(|&i| i / params.plates_per_batch)
                .collect();
            assert_eq!(
                batches.len(),
                params.n_batches,
                "replicates span every batch"
            );
        }
        for plate in 0..params.n_plates() {
            let on_plate: Vec<&Well> = layout
                .wells
                .iter()
                .filter(|w| w.plate_index == plate)
                .collect();
            assert_eq!(on_plate.iter().filter(|w| w.control).count(), 2);
            let mut names: Vec<&str> = on_plate.iter().map(|w| w.well.as_str()).collect();
            let n = names.len();
            names.dedup();
            assert_eq!(names.len(), n, "well names are unique on a plate");
        }
    }

    #[test]
    fn split_is_stratified_by_class_and_never_mixes_a_perturbation() {
        let params = small_layout();
        let layout = Layout::new(&params, 3).unwrap();
        for c in 0..params.n_classes {
            let test = (0..params.n_perturbations())
                .filter(|&p| layout.perturbation_class[p] == c)
                .filter(|&p| layout.perturbation_split[p] == Split::Test)
                .count();
            assert_eq!(test, 2, "class {c}");
        }
        for w in &layout.wells {
            match w.perturbation_index {
                Some(p) => assert_eq!(w.split, layout.perturbation_split[p]),
                None => assert_eq!(w.split, Split::Both),
            }
        }
        let no_test = Layout::new(
            &LayoutParams {
                test_fraction: 0.0,
                ..params
            },
            3,
        )
        .unwrap();
        assert!(no_test.wells.iter().all(|w| w.split != Split::Test));
    }

    #[test]
    fn layout_is_a_function_of_the_seed() {
        let params = small_layout();
        assert_eq!(
            Layout::new(&params, 11).unwrap(),
            Layout::new(&params, 11).unwrap()
        );
        assert_ne!(
            Layout::new(&params, 11).unwrap(),
            Layout::new(&params, 12).unwrap()
        );
    }

    #[test]
    fn invalid_layouts_name_the_parameter() {
        let bad = |f: &dyn Fn(&mut LayoutParams)| {
            let mut p = small_layout();
            f(&mut p);
            p.validate().unwrap_err().name
        };
        assert_eq!(bad(&|p| p.n_classes = 1), "n_classes");
        assert_eq!(bad(&|p| p.replicates = 5), "replicates");
        assert_eq!(bad(&|p| p.test_fraction = 1.0), "test_fraction");
        assert_eq!(bad(&|p| p.test_fraction = f64::NAN), "test_fraction");
        assert_eq!(bad(&|p| p.controls_per_plate = 0), "controls_per_plate");
        assert_eq!(bad(&|p| p.controls_per_plate = 2000), "controls_per_plate");
        assert_eq!(
            bad(&|p| {
                p.perturbations_per_class = 1;
            }),
            "perturbations_per_class"
        );
    }

    #[test]
    fn well_names_follow_plate_formats() {
        assert_eq!(well_names(3), ["A01", "A02", "A03"]);
        assert_eq!(well_names(96)[95], "H12");
        assert_eq!(well_names(97)[24], "B01");
        assert_eq!(well_names(384)[383], "P24");
        assert_eq!(well_names(1536)[1535], "AF48");
        assert_eq!(numbered("P", 0, 100), "P001");
        assert_eq!(numbered("plate", 11, 12), "plate12");
    }
}
