//! `cpbench simulate heterogeneity|images|large`: synthetic screens with known structure,
//! written in the shipped formats into an output folder, with a `simulation.json` sidecar
//! (generator, seed, every parameter, cpbench version, sha256 of each file, planted-signal
//! summary). The same seed and parameters give byte-identical files (the sidecar names the
//! cpbench version, so it matches for the same build). See docs/simulate.md.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use cpbench_core::hash::sha256_file;
use cpbench_core::io::{write_atomic, write_profiles, write_table};
use cpbench_core::{Level, Profiles};
use cpbench_simulate::images::{CHANNELS, to_u16};
use cpbench_simulate::{
    HeterogeneityParams, ImageDtype, ImageParams, ImageSim, LargeParams, LargeSim, LayoutParams,
    SimulateError, Split, Well, simulate_heterogeneity,
};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::Outcome;

/// The generators of `cpbench simulate`.
#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Cell-level profiles where perturbations shift subpopulation proportions, not the mean.
    Heterogeneity(HeterogeneityArgs),
    /// 5-channel crops of synthetic cells (crops.npy + cells.csv) for image encoders.
    Images(ImagesArgs),
    /// Well-level profiles at scale (10⁵–10⁶ rows), streamed to Parquet plate by plate.
    Large(LargeArgs),
}

/// Runs one `cpbench simulate` generator.
pub fn run(cmd: SimulateCommand) -> Result<Outcome> {
    match cmd {
        SimulateCommand::Heterogeneity(a) => heterogeneity(a),
        SimulateCommand::Images(a) => images(a),
        SimulateCommand::Large(a) => large(a),
    }
}

/// Writes a benchmark's `[data] simulate` data by running `cpbench simulate` in this process.
pub struct InProcess;

impl cpbench_runner::bench::Simulator for InProcess {
    fn simulate(&self, args: &[String], out: &Path) -> std::result::Result<(), String> {
        /// The `[data] simulate` words are `cpbench simulate`'s arguments.
        #[derive(clap::Parser)]
        #[command(no_binary_name = true)]
        struct Words {
            #[command(subcommand)]
            command: SimulateCommand,
        }
        let mut words = args.to_vec();
        words.push("--out".into());
        words.push(out.display().to_string());
        let parsed = <Words as clap::Parser>::try_parse_from(&words)
            .map_err(|e| e.to_string().trim().to_string())?;
        run(parsed.command)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    }
}

/// Seed and output folder, shared by every generator.
#[derive(clap::Args, Debug, Serialize)]
pub struct Common {
    /// Seed of every random draw; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created if missing); files in it are replaced atomically.
    #[arg(long, value_name = "DIR")]
    #[serde(skip)]
    pub out: PathBuf,
}

/// Table format of the profile output.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableFormat {
    /// Apache Parquet (snappy).
    Parquet,
    /// Comma-separated text.
    Csv,
    /// Gzip-compressed comma-separated text (fixed gzip header: no name, mtime 0).
    #[value(name = "csv.gz")]
    #[serde(rename = "csv.gz")]
    CsvGz,
}

impl TableFormat {
    fn extension(self) -> &'static str {
        match self {
            TableFormat::Parquet => "parquet",
            TableFormat::Csv => "csv",
            TableFormat::CsvGz => "csv.gz",
        }
    }
}

/// Declares the plate-layout flags of a generator, with that generator's defaults.
macro_rules! layout_args {
    ($name:ident, $defaults:expr) => {
        /// Plates, batches, classes, perturbations, replicates, controls and the split.
        #[derive(clap::Args, Debug, Serialize)]
        pub struct $name {
            /// Perturbation classes (the label a representation should recover); ≥ 2.
            #[arg(long, default_value_t = $defaults.n_classes)]
            pub n_classes: usize,
            /// Perturbations per class; ≥ 2 when --test-fraction > 0.
            #[arg(long, default_value_t = $defaults.perturbations_per_class)]
            pub perturbations_per_class: usize,
            /// Wells per perturbation, each on another plate (≤ plates in all).
            #[arg(long, default_value_t = $defaults.replicates)]
            pub replicates: usize,
            /// Batches.
            #[arg(long, default_value_t = $defaults.n_batches)]
            pub n_batches: usize,
            /// Plates per batch.
            #[arg(long, default_value_t = $defaults.plates_per_batch)]
            pub plates_per_batch: usize,
            /// Control wells on every plate.
            #[arg(long, default_value_t = $defaults.controls_per_plate)]
            pub controls_per_plate: usize,
            /// Share of each class's perturbations held out as the test split, in [0, 1).
            #[arg(long, default_value_t = $defaults.test_fraction)]
            pub test_fraction: f64,
        }

        impl $name {
            fn params(&self) -> LayoutParams {
                LayoutParams {
                    n_classes: self.n_classes,
                    perturbations_per_class: self.perturbations_per_class,
                    replicates: self.replicates,
                    n_batches: self.n_batches,
                    plates_per_batch: self.plates_per_batch,
                    controls_per_plate: self.controls_per_plate,
                    test_fraction: self.test_fraction,
                }
            }
        }
    };
}

layout_args!(HeterogeneityLayout, HeterogeneityParams::default().layout);
layout_args!(ImagesLayout, ImageParams::default().layout);

/// Arguments of `cpbench simulate heterogeneity`.
#[derive(clap::Args, Debug, Serialize)]
pub struct HeterogeneityArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: Common,
    #[command(flatten)]
    #[serde(flatten)]
    pub layout: HeterogeneityLayout,
    /// Format of `cells.<ext>`.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: TableFormat,
    /// Features per cell (f000, f001, ...); ≥ n-subpopulations / 2.
    #[arg(long, default_value_t = HeterogeneityParams::default().n_features)]
    pub n_features: usize,
    /// Latent subpopulations, in antipodal pairs (even, ≥ 4; n-classes ≤ P(P−1), P = pairs).
    #[arg(long, default_value_t = HeterogeneityParams::default().n_subpopulations)]
    pub n_subpopulations: usize,
    /// Distance between the two members of a pair, in feature units.
    #[arg(long, default_value_t = HeterogeneityParams::default().separation)]
    pub separation: f64,
    /// Share of the subpopulation proportions a perturbation moves away from the controls', [0, 1].
    #[arg(long, default_value_t = HeterogeneityParams::default().effect_strength)]
    pub effect_strength: f64,
    /// Relative spread of effect strength across perturbations, [0, 1].
    #[arg(long, default_value_t = HeterogeneityParams::default().strength_spread)]
    pub strength_spread: f64,
    /// Share of a perturbation's target proportions that is its own, not its class's, [0, 1].
    #[arg(long, default_value_t = HeterogeneityParams::default().perturbation_jitter)]
    pub perturbation_jitter: f64,
    /// Norm of a class-specific shift of the mean (0: the mean carries no class signal).
    #[arg(long, default_value_t = HeterogeneityParams::default().mean_effect)]
    pub mean_effect: f64,
    /// Sd of a cell's noise around its subpopulation mean.
    #[arg(long, default_value_t = HeterogeneityParams::default().cell_sd)]
    pub cell_sd: f64,
    /// Sd of the per-well additive effect.
    #[arg(long, default_value_t = HeterogeneityParams::default().well_sd)]
    pub well_sd: f64,
    /// Sd of the per-plate additive effect.
    #[arg(long, default_value_t = HeterogeneityParams::default().plate_sd)]
    pub plate_sd: f64,
    /// Sd of the per-batch additive effect.
    #[arg(long, default_value_t = HeterogeneityParams::default().batch_sd)]
    pub batch_sd: f64,
    /// Fewest cells in a well.
    #[arg(long, default_value_t = HeterogeneityParams::default().cells_min)]
    pub cells_min: usize,
    /// Most cells in a well.
    #[arg(long, default_value_t = HeterogeneityParams::default().cells_max)]
    pub cells_max: usize,
}

/// Pixel storage of `crops.npy`.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtypeArg {
    /// `<f4`, values in [0, 1].
    Float32,
    /// `<u2`, `round(value · 65535)`.
    Uint16,
}

/// Arguments of `cpbench simulate images`.
#[derive(clap::Args, Debug, Serialize)]
pub struct ImagesArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: Common,
    #[command(flatten)]
    #[serde(flatten)]
    pub layout: ImagesLayout,
    /// Crops (cells) per well.
    #[arg(long, default_value_t = ImageParams::default().crops_per_well)]
    pub crops_per_well: usize,
    /// Crop height and width in pixels (≥ 16).
    #[arg(long, default_value_t = ImageParams::default().size)]
    pub size: usize,
    /// How far perturbations move from the control look towards their class's (1: all the way).
    #[arg(long, default_value_t = ImageParams::default().effect_strength)]
    pub effect_strength: f64,
    /// Sd of the plate's log channel gains and illumination slopes.
    #[arg(long, default_value_t = ImageParams::default().plate_sd)]
    pub plate_sd: f64,
    /// Sd of the Gaussian pixel noise (intensities in [0, 1]).
    #[arg(long, default_value_t = ImageParams::default().noise_sd)]
    pub noise_sd: f64,
    /// Pixel storage type of crops.npy.
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: DtypeArg,
}

/// Arguments of `cpbench simulate large`.
#[derive(clap::Args, Debug, Serialize)]
pub struct LargeArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: Common,
    /// Rows (wells) in all; the last plate holds what is left.
    #[arg(long, default_value_t = LargeParams::default().n_wells)]
    pub n_wells: usize,
    /// Wells on a full plate (≤ 1536).
    #[arg(long, default_value_t = LargeParams::default().wells_per_plate)]
    pub wells_per_plate: usize,
    /// Plates per batch.
    #[arg(long, default_value_t = LargeParams::default().plates_per_batch)]
    pub plates_per_batch: usize,
    /// Control wells on every plate.
    #[arg(long, default_value_t = LargeParams::default().controls_per_plate)]
    pub controls_per_plate: usize,
    /// Features per well (f000, f001, ...).
    #[arg(long, default_value_t = LargeParams::default().n_features)]
    pub n_features: usize,
    /// Perturbations (treated wells cycle through them).
    #[arg(long, default_value_t = LargeParams::default().n_perturbations)]
    pub n_perturbations: usize,
    /// Perturbation classes.
    #[arg(long, default_value_t = LargeParams::default().n_classes)]
    pub n_classes: usize,
    /// Probability that a perturbation is in the test split, [0, 1).
    #[arg(long, default_value_t = LargeParams::default().test_fraction)]
    pub test_fraction: f64,
    /// Sd of the per-feature class signature.
    #[arg(long, default_value_t = LargeParams::default().class_effect)]
    pub class_effect: f64,
    /// Sd of the per-feature perturbation signature.
    #[arg(long, default_value_t = LargeParams::default().perturbation_effect)]
    pub perturbation_effect: f64,
    /// Sd of the per-plate additive effect.
    #[arg(long, default_value_t = LargeParams::default().plate_sd)]
    pub plate_sd: f64,
    /// Sd of the per-batch additive effect.
    #[arg(long, default_value_t = LargeParams::default().batch_sd)]
    pub batch_sd: f64,
    /// Sd of the per-well noise.
    #[arg(long, default_value_t = LargeParams::default().noise_sd)]
    pub noise_sd: f64,
}

/// A parameter error, named as the flag the user typed.
fn flag_error(e: SimulateError) -> anyhow::Error {
    anyhow!("--{} {}: {}", e.name.replace('_', "-"), e.value, e.reason)
}

/// Creates the output folder; refuses a path that is an existing file.
fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!("--out {}: exists and is not a folder", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))
}

/// The metadata columns every generator writes, from one well per row.
fn well_columns<'a>(wells: impl Iterator<Item = &'a Well> + Clone) -> Vec<Column> {
    let text = |name: &str, f: &dyn Fn(&Well) -> &str| -> Column {
        Column::new(
            name.into(),
            wells
                .clone()
                .map(|w| f(w).to_owned())
                .collect::<Vec<String>>(),
        )
    };
    vec![
        text("Metadata_Plate", &|w| &w.plate),
        text("Metadata_Well", &|w| &w.well),
        text("Metadata_Batch", &|w| &w.batch),
        text("Metadata_Perturbation", &|w| &w.perturbation),
        text("Metadata_Class", &|w| &w.class),
        Column::new(
            "Metadata_Control".into(),
            wells.clone().map(|w| w.control).collect::<Vec<bool>>(),
        ),
        text("Metadata_Split", &|w| w.split.as_str()),
    ]
}

/// Sha256 and size of each written file, for the sidecar.
fn describe_files(dir: &Path, names: &[&str]) -> Result<serde_json::Value> {
    let mut files = serde_json::Map::new();
    for name in names {
        let path = dir.join(name);
        let bytes = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        let sha = sha256_file(&path).with_context(|| format!("hashing {}", path.display()))?;
        files.insert((*name).to_owned(), json!({ "sha256": sha, "bytes": bytes }));
    }
    Ok(files.into())
}

/// Writes `simulation.json`: generator, seed, parameters, version, files, summary.
fn write_sidecar(
    dir: &Path,
    generator: &str,
    args: &impl Serialize,
    files: &[&str],
    summary: serde_json::Value,
) -> Result<()> {
    let value = json!({
        "generator": generator,
        "cpbench_version": crate::VERSION,
        "parameters": args,
        "files": describe_files(dir, files)?,
        "summary": summary,
    });
    crate::cmd::eval::common::write_json(&dir.join("simulation.json"), &value)
}

/// A count-based bar on a terminal, hidden otherwise.
fn bar(len: u64, message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar
}

fn heterogeneity(a: HeterogeneityArgs) -> Result<Outcome> {
    let params = HeterogeneityParams {
        layout: a.layout.params(),
        n_features: a.n_features,
        n_subpopulations: a.n_subpopulations,
        separation: a.separation,
        effect_strength: a.effect_strength,
        strength_spread: a.strength_spread,
        perturbation_jitter: a.perturbation_jitter,
        mean_effect: a.mean_effect,
        cell_sd: a.cell_sd,
        well_sd: a.well_sd,
        plate_sd: a.plate_sd,
        batch_sd: a.batch_sd,
        cells_min: a.cells_min,
        cells_max: a.cells_max,
    };
    params.validate().map_err(flag_error)?;
    prepare_out(&a.common.out)?;
    let sim = simulate_heterogeneity(&params, a.common.seed).map_err(flag_error)?;
    let rows = || sim.row_well.iter().map(|&w| &sim.layout.wells[w as usize]);
    let mut columns = well_columns(rows());
    columns.push(Column::new(
        "Metadata_ObjectNumber".into(),
        sim.object_number.clone(),
    ));
    let meta = DataFrame::new_infer_height(columns)?;
    let shifts = sim.class_shifts();
    let n_rows = sim.n_rows();
    let n_wells = sim.layout.wells.len();
    let profiles = Profiles::new(meta, sim.features, sim.feature_names, Level::Cell)?;
    let name = format!("cells.{}", a.format.extension());
    let path = a.common.out.join(&name);
    write_profiles(&profiles, &path).with_context(|| format!("writing {}", path.display()))?;
    let summary = json!({
        "rows": n_rows,
        "wells": n_wells,
        "control_proportions": sim.control_proportions,
        "class_shifts": shifts.iter().map(|s| json!({
            "class": s.class,
            "cells": s.cells,
            "mean_shift": s.mean_shift,
            "mean_noise": s.mean_noise,
            "covariance_shift": s.covariance_shift,
            "proportion_shift": s.proportion_shift,
        })).collect::<Vec<_>>(),
    });
    write_sidecar(&a.common.out, "heterogeneity", &a, &[&name], summary)?;
    errln!(
        "{n_rows} cells in {n_wells} wells → {}",
        a.common.out.display()
    );
    Ok(Outcome::Ok)
}

/// The NumPy `.npy` v1.0 header for a C-order little-endian array.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // numpy pads with spaces so that magic + version + length + header is a multiple of 64,
    // ending in a newline.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

fn images(a: ImagesArgs) -> Result<Outcome> {
    let params = ImageParams {
        layout: a.layout.params(),
        crops_per_well: a.crops_per_well,
        size: a.size,
        effect_strength: a.effect_strength,
        plate_sd: a.plate_sd,
        noise_sd: a.noise_sd,
        dtype: match a.dtype {
            DtypeArg::Float32 => ImageDtype::Float32,
            DtypeArg::Uint16 => ImageDtype::Uint16,
        },
    };
    let sim = ImageSim::new(&params, a.common.seed).map_err(flag_error)?;
    prepare_out(&a.common.out)?;
    let n = sim.n_crops();
    let shape = [n, CHANNELS.len(), params.size, params.size];
    let descr = match params.dtype {
        ImageDtype::Float32 => "<f4",
        ImageDtype::Uint16 => "<u2",
    };
    let npy = a.common.out.join("crops.npy");
    let progress = bar(n as u64, "rendering crops");
    write_atomic(&npy, |file: &mut File| {
        let io = |e| cpbench_core::Error::io(&npy, e);
        let mut w = BufWriter::new(file);
        w.write_all(&npy_header(descr, &shape)).map_err(io)?;
        let mut crop = vec![0f32; sim.crop_len()];
        let mut bytes = Vec::with_capacity(crop.len() * 4);
        for i in 0..n {
            sim.render(i, &mut crop);
            bytes.clear();
            match params.dtype {
                ImageDtype::Float32 => {
                    bytes.extend(crop.iter().flat_map(|v| v.to_le_bytes()));
                }
                ImageDtype::Uint16 => {
                    bytes.extend(crop.iter().flat_map(|&v| to_u16(v).to_le_bytes()));
                }
            }
            w.write_all(&bytes).map_err(io)?;
            progress.inc(1);
        }
        w.flush().map_err(io)
    })
    .with_context(|| format!("writing {}", npy.display()))?;
    progress.finish_and_clear();

    let wells = (0..n).map(|i| &sim.layout.wells[sim.crop_well(i)]);
    let mut columns = well_columns(wells);
    columns.push(Column::new(
        "Metadata_Crop".into(),
        (0..n as u64).collect::<Vec<u64>>(),
    ));
    let mut table = DataFrame::new_infer_height(columns)?;
    let csv = a.common.out.join("cells.csv");
    write_table(&mut table, &csv).with_context(|| format!("writing {}", csv.display()))?;
    let summary = json!({
        "crops": n,
        "wells": sim.layout.wells.len(),
        "shape": shape,
        "dtype": descr,
        "channels": CHANNELS,
        "layout": "NCHW",
    });
    write_sidecar(
        &a.common.out,
        "images",
        &a,
        &["crops.npy", "cells.csv"],
        summary,
    )?;
    errln!(
        "{n} crops of {}×{}×{} → {}",
        CHANNELS.len(),
        params.size,
        params.size,
        a.common.out.display()
    );
    Ok(Outcome::Ok)
}

/// Rows per Parquet row group of `cpbench simulate large` (whole plates are added until this
/// many rows are pending).
const LARGE_BATCH_ROWS: usize = 65_536;

fn large(a: LargeArgs) -> Result<Outcome> {
    let params = LargeParams {
        n_wells: a.n_wells,
        wells_per_plate: a.wells_per_plate,
        plates_per_batch: a.plates_per_batch,
        controls_per_plate: a.controls_per_plate,
        n_features: a.n_features,
        n_perturbations: a.n_perturbations,
        n_classes: a.n_classes,
        test_fraction: a.test_fraction,
        class_effect: a.class_effect,
        perturbation_effect: a.perturbation_effect,
        plate_sd: a.plate_sd,
        batch_sd: a.batch_sd,
        noise_sd: a.noise_sd,
    };
    let sim = LargeSim::new(&params, a.common.seed).map_err(flag_error)?;
    prepare_out(&a.common.out)?;
    let names = sim.feature_names();
    let d = names.len();
    let path = a.common.out.join("wells.parquet");
    let n_plates = sim.n_plates();
    let progress = bar(n_plates as u64, "simulating plates");
    let mut n_test = 0usize;
    write_atomic(&path, |file: &mut File| {
        let fail = |e: PolarsError| cpbench_core::Error::Polars {
            path: Some(path.clone()),
            source: Box::new(e),
        };
        let mut writer = None;
        let mut wells: Vec<Well> = Vec::new();
        let mut features: Vec<f32> = Vec::new();
        for i in 0..n_plates {
            let chunk = sim.plate(i);
            n_test += chunk
                .wells
                .iter()
                .filter(|w| w.split == Split::Test)
                .count();
            wells.extend(chunk.wells);
            features.extend(chunk.features);
            progress.inc(1);
            if wells.len() < LARGE_BATCH_ROWS && i + 1 < n_plates {
                continue;
            }
            let mut columns = well_columns(wells.iter());
            for (j, name) in names.iter().enumerate() {
                let values: Vec<f32> = features.iter().skip(j).step_by(d).copied().collect();
                columns.push(Column::new(name.as_str().into(), values));
            }
            let df = DataFrame::new_infer_height(columns).map_err(fail)?;
            if writer.is_none() {
                writer = Some(
                    ParquetWriter::new(&mut *file)
                        .with_compression(ParquetCompression::Snappy)
                        .batched(df.schema())
                        .map_err(fail)?,
                );
            }
            if let Some(w) = writer.as_mut() {
                w.write_batch(&df).map_err(fail)?;
            }
            wells.clear();
            features.clear();
        }
        match writer {
            Some(w) => w.finish().map(|_| ()).map_err(fail),
            None => Ok(()),
        }
    })
    .with_context(|| format!("writing {}", path.display()))?;
    progress.finish_and_clear();
    let summary = json!({
        "rows": params.n_wells,
        "plates": n_plates,
        "batches": sim.n_batches(),
        "test_rows": n_test,
    });
    write_sidecar(&a.common.out, "large", &a, &["wells.parquet"], summary)?;
    errln!(
        "{} wells on {n_plates} plates → {}",
        params.n_wells,
        path.display()
    );
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_names_shape_and_type() {
        let h = npy_header("<f4", &[3, 5, 16, 16]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(
            text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5, 16, 16), }")
        );
        assert!(text.ends_with('\n'));
        let one = npy_header("<u2", &[7]);
        assert!(
            std::str::from_utf8(&one[10..])
                .unwrap()
                .contains("'shape': (7,)")
        );
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let e = SimulateError {
            name: "cells_max",
            value: "3".into(),
            reason: "must be at least cells_min = 100".into(),
        };
        assert_eq!(
            flag_error(e).to_string(),
            "--cells-max 3: must be at least cells_min = 100"
        );
    }
}
