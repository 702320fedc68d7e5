//! `cpbench prep treatment-strength`: z-scored distance of each well to its plate's control
//! median, averaged per treatment across plates (Cell Painting CNN-1 paper, §5.2).
//!
//! Output: one row per treatment (the `--treatment` columns, `n_wells`, `n_plates`,
//! `treatment_strength`), in order of first appearance; control wells are not treatments.
//! `--per-well` also writes the input's metadata with each well's z as the one feature
//! `treatment_strength`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cpbench_core::io::{FeatureFloat, Format, write_table};
use cpbench_runner::prep::common::Groups;
use cpbench_runner::prep::treatment_strength::{per_well_profiles, strengths};
use polars::prelude::*;

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width, write_output};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep treatment-strength`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The precision features are kept in (`--precision`; the per-treatment table is `f64`).
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// The rows the step is fitted on (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// Plate column: distances are z-scored against the same plate's controls.
    #[arg(long, value_name = "C", default_value = "Metadata_Plate")]
    pub by: String,
    /// Columns identifying a treatment (comma-separated), e.g. Metadata_broad_sample.
    #[arg(long, value_name = "C[,C]")]
    pub treatment: String,
    /// Also write every well's z-scored distance (metadata + feature `treatment_strength`).
    #[arg(long, value_name = "F")]
    pub per_well: Option<PathBuf>,
}

/// Runs `cpbench prep treatment-strength`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    if args.fit.fit_on.trim() == "all" {
        bail!("--fit-on: treatment-strength needs the control rows ('COL=VALUE' or controls)");
    }
    let treatment_cols = split_list(&args.treatment);
    if treatment_cols.is_empty() {
        bail!("--treatment names no column");
    }
    if let Some(p) = &args.per_well {
        Format::of(p)?;
    }
    let profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let controls = args.fit.rows().mask(&profiles, &file)?;
    let treatments = Groups::of(&profiles, &treatment_cols, &file)?;
    let ts = strengths(
        &profiles,
        &controls,
        &args.by,
        &treatments,
        &args.fit.fit_on,
        &file,
    )?;

    let keep: Vec<usize> = (0..treatments.len())
        .filter(|&t| ts.n_wells[t] > 0)
        .collect();
    if keep.is_empty() {
        bail!(
            "{file}: every row is a control row (--fit-on {}); no treatment to score",
            args.fit.fit_on
        );
    }
    let mut cols: Vec<Column> = treatment_cols
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let values: Vec<Option<&str>> = keep
                .iter()
                .map(|&t| treatments.keys[t][c].as_deref())
                .collect();
            Column::new(name.as_str().into(), values)
        })
        .collect();
    cols.push(Column::new(
        "n_wells".into(),
        keep.iter()
            .map(|&t| ts.n_wells[t] as u64)
            .collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "n_plates".into(),
        keep.iter()
            .map(|&t| ts.n_plates[t] as u64)
            .collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "treatment_strength".into(),
        keep.iter().map(|&t| ts.strength[t]).collect::<Vec<_>>(),
    ));
    let mut df = DataFrame::new_infer_height(cols)?;
    if let Some(p) = &args.per_well {
        write_output(&per_well_profiles(&profiles, &ts)?, p)?;
    }
    write_table(&mut df, &args.io.out)?;
    Ok(Outcome::Ok)
}
