//! 5-channel crops of synthetic cells (DNA, ER, RNA, AGP, Mito: the Cell Painting CNN-1 order)
//! whose appearance depends on the perturbation class and whose brightness on the plate.
//!
//! Each crop is `size × size` pixels, values in [0, 1], one cell near the centre: an ellipse
//! (random orientation and aspect ratio) with an elliptic nucleus inside it.
//!
//! - DNA: the nucleus, lightly textured.
//! - ER: the cytoplasm outside the nucleus, modulated by a two-wave texture.
//! - RNA: diffuse cytoplasm plus textured nucleoli-like signal in the nucleus.
//! - AGP: a bright membrane ring at the cell boundary.
//! - Mito: punctate cytoplasmic signal (the texture cubed).
//!
//! Planted structure. Each class has a cell size factor (log-normal, sd 0.2), per-channel
//! gains (log-normal, sd 0.35), a texture frequency (4–12 cycles per crop width) and a nucleus
//! share (0.35–0.55); controls have size 1, gains 1, 6 cycles and 0.45. A perturbation sits
//! `effect_strength` of the way from the controls to its class (on the log scale for sizes and
//! gains) plus a small perturbation-specific jitter. Each plate multiplies each channel by a
//! gain (log-normal, sd `plate_sd`), adds a background offset and a linear illumination
//! gradient across the crop (slopes with sd `plate_sd`) — the batch effect a representation
//! should ignore. Pixel noise is Gaussian with sd `noise_sd`; values are clipped to [0, 1].

use cpbench_metrics::rng::SplitMix64;

use super::{Layout, LayoutParams, SimulateError, at_least, keyed, non_negative, stream, tag};

/// Channel names in tensor order (Cell Painting CNN-1).
pub const CHANNELS: [&str; 5] = ["DNA", "ER", "RNA", "AGP", "Mito"];

/// How pixels are stored: `float32` in [0, 1] or `uint16` (`round(value · 65535)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageDtype {
    /// 32-bit floats in [0, 1] (`<f4`).
    Float32,
    /// 16-bit unsigned integers, as microscopes write them (`<u2`).
    Uint16,
}

/// Parameters of the image simulation; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageParams {
    /// Plates, classes, perturbations, replicates, controls, split.
    pub layout: LayoutParams,
    /// Crops (cells) per well; at least 1.
    pub crops_per_well: usize,
    /// Crop height and width in pixels; at least 16.
    pub size: usize,
    /// How far perturbations move from the control appearance towards their class's; ≥ 0.
    pub effect_strength: f64,
    /// Sd of the plate's log channel gains and illumination slopes; ≥ 0.
    pub plate_sd: f64,
    /// Sd of the Gaussian pixel noise; ≥ 0.
    pub noise_sd: f64,
    /// Storage type of the pixels.
    pub dtype: ImageDtype,
}

impl Default for ImageParams {
    fn default() -> Self {
        ImageParams {
            layout: LayoutParams {
                n_classes: 4,
                perturbations_per_class: 2,
                replicates: 2,
                n_batches: 1,
                plates_per_batch: 2,
                controls_per_plate: 2,
                test_fraction: 0.5,
            },
            crops_per_well: 4,
            size: 128,
            effect_strength: 1.0,
            plate_sd: 0.1,
            noise_sd: 0.02,
            dtype: ImageDtype::Float32,
        }
    }
}

impl ImageParams {
    /// Checks every parameter before any work; the first violation is returned.
    pub fn validate(&self) -> Result<(), SimulateError> {
        self.layout.validate()?;
        at_least("crops_per_well", self.crops_per_well, 1)?;
        at_least("size", self.size, 16)?;
        // The crop stack is addressed with usize offsets and written as one array.
        let wells = self.layout.n_perturbations() * self.layout.replicates
            + self.layout.n_plates() * self.layout.controls_per_plate;
        let pixels = (wells as u128)
            * (self.crops_per_well as u128)
            * (CHANNELS.len() as u128)
            * (self.size as u128).pow(2);
        if pixels > (1u128 << 40) {
            return Err(SimulateError::new(
                "crops_per_well",
                self.crops_per_well,
                format!("{pixels} pixels in all is more than 2^40; use fewer or smaller crops"),
            ));
        }
        non_negative("effect_strength", self.effect_strength)?;
        non_negative("plate_sd", self.plate_sd)?;
        non_negative("noise_sd", self.noise_sd)?;
        Ok(())
    }
}

/// What a cell looks like: scale, per-channel gains, texture frequency and nucleus share.
#[derive(Debug, Clone, PartialEq)]
struct Style {
    size: f64,
    gains: [f64; 5],
    frequency: f64,
    nucleus: f64,
}

const CONTROL_STYLE: Style = Style {
    size: 1.0,
    gains: [1.0; 5],
    frequency: 6.0,
    nucleus: 0.45,
};

/// A plate's imaging conditions: channel gains, background offsets, illumination slopes.
#[derive(Debug, Clone, PartialEq)]
struct PlateLook {
    gains: [f64; 5],
    offsets: [f64; 5],
    slope: (f64, f64),
}

/// A simulated image screen: the layout and everything needed to render any crop on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSim {
    /// Wells in output order and the perturbations' classes and split.
    pub layout: Layout,
    params: ImageParams,
    seed: u64,
    perturbation_style: Vec<Style>,
    plates: Vec<PlateLook>,
}

impl ImageSim {
    /// Validates the parameters and draws the class, perturbation and plate appearance.
    pub fn new(params: &ImageParams, seed: u64) -> Result<ImageSim, SimulateError> {
        params.validate()?;
        let layout = Layout::new(&params.layout, seed)?;
        let mut class_rng = stream(seed, tag::CLASSES);
        let class_style: Vec<Style> = (0..params.layout.n_classes)
            .map(|_| Style {
                size: (0.2 * class_rng.standard_normal()).exp(),
                gains: std::array::from_fn(|_| (0.35 * class_rng.standard_normal()).exp()),
                frequency: 4.0 + 8.0 * class_rng.next_open01(),
                nucleus: 0.35 + 0.2 * class_rng.next_open01(),
            })
            .collect();
        let e = params.effect_strength;
        let perturbation_style = layout
            .perturbation_class
            .iter()
            .enumerate()
            .map(|(p, &c)| {
                let mut rng = keyed(seed, tag::PERTURBATIONS, p as u64);
                let class = &class_style[c];
                let toward = |ctrl: f64, target: f64| ctrl + e * (target - ctrl);
                Style {
                    size: (e * class.size.ln() + 0.05 * rng.standard_normal()).exp(),
                    gains: std::array::from_fn(|ch| {
                        (e * class.gains[ch].ln() + 0.05 * rng.standard_normal()).exp()
                    }),
                    frequency: toward(CONTROL_STYLE.frequency, class.frequency)
                        + 0.3 * rng.standard_normal(),
                    nucleus: toward(CONTROL_STYLE.nucleus, class.nucleus),
                }
            })
            .collect();
        let mut nuisance = stream(seed, tag::NUISANCE);
        let sd = params.plate_sd;
        let plates = (0..params.layout.n_plates())
            .map(|_| PlateLook {
                gains: std::array::from_fn(|_| (sd * nuisance.standard_normal()).exp()),
                offsets: std::array::from_fn(|_| 0.2 * sd * nuisance.standard_normal().abs()),
                slope: (
                    sd * nuisance.standard_normal(),
                    sd * nuisance.standard_normal(),
                ),
            })
            .collect();
        Ok(ImageSim {
            layout,
            params: params.clone(),
            seed,
            perturbation_style,
            plates,
        })
    }

    /// Number of crops (`wells × crops_per_well`).
    pub fn n_crops(&self) -> usize {
        self.layout.wells.len() * self.params.crops_per_well
    }

    /// Values in one crop (`5 × size × size`).
    pub fn crop_len(&self) -> usize {
        CHANNELS.len() * self.params.size * self.params.size
    }

    /// Index into `layout.wells` of crop `i` (crops are grouped by well, in layout order).
    pub fn crop_well(&self, i: usize) -> usize {
        i / self.params.crops_per_well
    }

    /// Renders crop `i` into `out` (length [`crop_len`](Self::crop_len), channel-major,
    /// row-major pixels); each crop has its own random stream, so crops render in any order.
    pub fn render(&self, i: usize, out: &mut [f32]) {
        let s = self.params.size;
        let sf = s as f64;
        let well = &self.layout.wells[self.crop_well(i)];
        let style = well
            .perturbation_index
            .map_or(&CONTROL_STYLE, |p| &self.perturbation_style[p]);
        let plate = &self.plates[well.plate_index];
        let mut rng = keyed(self.seed, tag::CELLS, i as u64);
        let n = |rng: &mut SplitMix64| rng.standard_normal();
        let (cx, cy) = (
            sf / 2.0 + 0.05 * sf * n(&mut rng),
            sf / 2.0 + 0.05 * sf * n(&mut rng),
        );
        let a = (0.25 * sf * style.size * (0.1 * n(&mut rng)).exp()).min(0.45 * sf);
        let b = a * (0.65 + 0.3 * rng.next_open01());
        let theta = std::f64::consts::PI * rng.next_open01();
        let (an, bn) = (
            style.nucleus * a,
            (style.nucleus * b * 1.15).min(style.nucleus * a),
        );
        let (ncx, ncy) = (cx + 0.08 * a * n(&mut rng), cy + 0.08 * b * n(&mut rng));
        let tau = std::f64::consts::TAU;
        let (phi1, phi2) = (tau * rng.next_open01(), tau * rng.next_open01());
        let (psi1, psi2) = (tau * rng.next_open01(), tau * rng.next_open01());
        let k1 = (tau * style.frequency / sf) * phi1.cos();
        let l1 = (tau * style.frequency / sf) * phi1.sin();
        let k2 = (tau * style.frequency / sf) * phi2.cos();
        let l2 = (tau * style.frequency / sf) * phi2.sin();
        let (ct, st) = (theta.cos(), theta.sin());
        let soft = |r: f64| 1.0 / (1.0 + (16.0 * (r - 1.0)).exp());
        let plane = s * s;
        for y in 0..s {
            for x in 0..s {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let (dx, dy) = (px - cx, py - cy);
                let (u, v) = (dx * ct + dy * st, -dx * st + dy * ct);
                let rc = ((u / a).powi(2) + (v / b).powi(2)).sqrt();
                let (ndx, ndy) = (px - ncx, py - ncy);
                let (nu, nv) = (ndx * ct + ndy * st, -ndx * st + ndy * ct);
                let rn = ((nu / an).powi(2) + (nv / bn).powi(2)).sqrt();
                let (mc, mn) = (soft(rc), soft(rn));
                let t1 = 0.5 + 0.5 * (k1 * px + l1 * py + psi1).cos();
                let t2 = 0.5 + 0.5 * (k2 * px + l2 * py + psi2).cos();
                let t = t1 * t2;
                let signal = [
                    0.7 * mn * (0.8 + 0.2 * t1),
                    0.45 * mc * (1.0 - 0.7 * mn) * (0.4 + 0.6 * t),
                    0.3 * mc * (1.0 - 0.5 * mn) + 0.35 * mn * t2 * t2,
                    0.55 * (-((rc - 1.0) / 0.12).powi(2)).exp() + 0.08 * mc,
                    0.6 * mc * (1.0 - mn) * t * t * t,
                ];
                let illum = 1.0 + plate.slope.0 * (px / sf - 0.5) + plate.slope.1 * (py / sf - 0.5);
                for (ch, &sig) in signal.iter().enumerate() {
                    let value = sig * style.gains[ch] * plate.gains[ch] * illum
                        + plate.offsets[ch]
                        + self.params.noise_sd * rng.standard_normal();
                    out[ch * plane + y * s + x] = value.clamp(0.0, 1.0) as f32;
                }
            }
        }
    }
}

/// Pixel value `v ∈ [0, 1]` as a 16-bit intensity.
pub fn to_u16(v: f32) -> u16 {
    (v.clamp(0.0, 1.0) * 65535.0).round() as u16
}

/// Simulates and renders every crop at once: `(sim, pixels)` with pixels shaped
/// `[n_crops, 5, size, size]` (C order). Writers that stream use [`ImageSim::render`].
pub fn simulate_images(
    params: &ImageParams,
    seed: u64,
) -> Result<(ImageSim, Vec<f32>), SimulateError> {
    let sim = ImageSim::new(params, seed)?;
    let len = sim.crop_len();
    let mut pixels = vec![0f32; sim.n_crops() * len];
    for (i, crop) in pixels.chunks_exact_mut(len).enumerate() {
        sim.render(i, crop);
    }
    Ok((sim, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ImageParams {
        ImageParams {
            size: 32,
            crops_per_well: 3,
            ..ImageParams::default()
        }
    }

    /// Per-channel mean intensity of crop `i`.
    fn channel_means(pixels: &[f32], len: usize, i: usize) -> [f64; 5] {
        let plane = len / 5;
        std::array::from_fn(|ch| {
            let p = &pixels[i * len + ch * plane..i * len + (ch + 1) * plane];
            p.iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64
        })
    }

    #[test]
    fn shapes_ranges_and_determinism() {
        let (sim, pixels) = simulate_images(&small(), 3).unwrap();
        assert_eq!(sim.n_crops(), sim.layout.wells.len() * 3);
        assert_eq!(sim.layout.wells.len(), 8 * 2 + 2 * 2);
        assert_eq!(pixels.len(), sim.n_crops() * 5 * 32 * 32);
        assert!(pixels.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let (_, again) = simulate_images(&small(), 3).unwrap();
        assert_eq!(pixels, again);
        let (_, other) = simulate_images(&small(), 4).unwrap();
        assert_ne!(pixels, other);
        // Rendering one crop alone gives the same pixels as rendering them all.
        let mut one = vec![0f32; sim.crop_len()];
        sim.render(7, &mut one);
        assert_eq!(one, pixels[7 * sim.crop_len()..8 * sim.crop_len()]);
        assert_eq!(to_u16(1.0), 65535);
        assert_eq!(to_u16(0.5), 32768);
    }

    #[test]
    fn every_channel_shows_a_cell_brighter_than_the_border() {
        let p = ImageParams {
            noise_sd: 0.0,
            ..small()
        };
        let (sim, pixels) = simulate_images(&p, 1).unwrap();
        let plane = 32 * 32;
        for i in 0..sim.n_crops() {
            for ch in 0..5 {
                let img = &pixels[i * sim.crop_len() + ch * plane..][..plane];
                let corner = img[0];
                let brightest = img.iter().cloned().fold(0.0, f32::max);
                assert!(
                    brightest > corner + 0.02,
                    "crop {i} channel {ch}: {brightest} vs {corner}"
                );
            }
        }
    }

    #[test]
    fn classes_change_channel_intensities_and_plates_change_brightness() {
        let p = ImageParams {
            crops_per_well: 12,
            plate_sd: 0.0,
            ..small()
        };
        let (sim, pixels) = simulate_images(&p, 2).unwrap();
        let len = sim.crop_len();
        // Mean channel profile per class over all of its crops.
        let mut sums = [[0.0f64; 5]; 5];
        let mut counts = [0usize; 5];
        for i in 0..sim.n_crops() {
            let g = sim.layout.wells[sim.crop_well(i)].class_index.unwrap_or(4);
            let m = channel_means(&pixels, len, i);
            for ch in 0..5 {
                sums[g][ch] += m[ch];
            }
            counts[g] += 1;
        }
        let profile =
            |g: usize| -> Vec<f64> { sums[g].iter().map(|s| s / counts[g] as f64).collect() };
        let control = profile(4);
        for c in 0..4 {
            let diff: f64 = profile(c)
                .iter()
                .zip(&control)
                .map(|(a, b)| ((a - b) / b).abs())
                .fold(0.0, f64::max);
            assert!(diff > 0.1, "class {c} looks like the controls: {diff}");
        }
        // Plate effects: with plate_sd the same crop stream gets another brightness.
        let bright = ImageParams {
            plate_sd: 0.5,
            ..p.clone()
        };
        let (_, shifted) = simulate_images(&bright, 2).unwrap();
        let a = channel_means(&pixels, len, 0);
        let b = channel_means(&shifted, len, 0);
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 0.005));
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let bad = |f: &dyn Fn(&mut ImageParams)| {
            let mut p = small();
            f(&mut p);
            ImageSim::new(&p, 0).unwrap_err().name
        };
        assert_eq!(bad(&|p| p.size = 8), "size");
        assert_eq!(bad(&|p| p.crops_per_well = 0), "crops_per_well");
        assert_eq!(bad(&|p| p.noise_sd = -0.1), "noise_sd");
        assert_eq!(bad(&|p| p.layout.n_batches = 0), "n_batches");
    }
}
