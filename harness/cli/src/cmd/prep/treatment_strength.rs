//! `cpbench prep treatment-strength`: z-scored distance of each well to its plate's control
//! median, averaged per treatment across plates (Cell Painting CNN-1 paper, §5.2).
//!
//! Output: one row per treatment (the `--treatment` columns, `n_wells`, `n_plates`,
//! `treatment_strength`), in order of first appearance; control wells are not treatments.
//! `--per-well` also writes the input's metadata with each well's z as the one feature
//! `treatment_strength`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cpbench_core::Profiles;
use cpbench_core::io::{Format, write_table};
use cpbench_prep::{Matrix, PrepError, TreatmentStrength, treatment_strength};
use polars::prelude::*;

use super::common::{FitArgs, Groups, IoArgs, write_output};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep treatment-strength`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
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

/// Per-well strengths and the plate groups they were computed in.
pub fn strengths(
    profiles: &Profiles,
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
        } => anyhow::anyhow!(
            "{file}: {what}: plate {} (controls: --fit-on {fit_on}): {reason}",
            plates.describe(group)
        ),
        PrepError::NonFinite { row, feature, .. } => anyhow::anyhow!(
            "{file}: data row {} (1-based), feature `{}` is not finite; treatment strength \
                 needs finite features",
            row + 1,
            profiles.feature_names()[feature]
        ),
        other => anyhow::anyhow!("{file}: {other}"),
    })
}

/// The input's metadata with the per-well z as the single feature `treatment_strength`.
pub fn per_well_profiles(profiles: &Profiles, ts: &TreatmentStrength) -> Result<Profiles> {
    Ok(Profiles::new(
        profiles.meta().clone(),
        ts.z.iter().map(|&v| v as f32).collect(),
        vec!["treatment_strength".to_owned()],
        profiles.level(),
    )?)
}

/// Runs `cpbench prep treatment-strength`.
pub fn run(args: Args) -> Result<Outcome> {
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
    let profiles = args.io.load()?;
    let file = args.io.file();
    let controls = args.fit.mask(&profiles, &file)?;
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
