//! `cpbench prep normalize`: pycytominer's `normalize` (standardize, robustize, mad_robustize),
//! fitted on `--fit-on` rows, one fit per `--by` group.

use anyhow::Result;
use cpbench_prep::{Method, Normalize, fit_apply_by_group};

use super::common::{FitArgs, Groups, IoArgs, explain};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep normalize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The rows the step is fitted on (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// standardize, robustize or mad_robustize.
    #[arg(long, default_value = "standardize")]
    pub method: String,
    /// Fit one normalizer per group of these columns (comma-separated), e.g. Metadata_Plate.
    #[arg(long, value_name = "C[,C]")]
    pub by: Option<String>,
    /// Added to the scaled MAD (mad_robustize).
    #[arg(long)]
    pub epsilon: Option<f64>,
}

/// Runs `cpbench prep normalize`.
pub fn run(args: Args) -> Result<Outcome> {
    let method: Method = args.method.parse()?;
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let mut profiles = args.io.load()?;
    let file = args.io.file();
    normalize_profiles(&mut profiles, method, args.epsilon, &args.fit, &by, &file)?;
    args.io.write(&profiles)?;
    Ok(Outcome::Ok)
}

/// Normalizes `profiles` in place, one fit per group of `by` (all rows together when empty).
pub fn normalize_profiles(
    profiles: &mut cpbench_core::Profiles,
    method: Method,
    epsilon: Option<f64>,
    fit: &FitArgs,
    by: &[String],
    file: &str,
) -> Result<()> {
    let template = match epsilon {
        Some(e) => Normalize::new(method).with_epsilon(e)?,
        None => Normalize::new(method),
    };
    let groups = Groups::of(profiles, by, file)?;
    let mask = fit.mask(profiles, file)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    fit_apply_by_group(
        || template.clone(),
        profiles.features_mut(),
        n,
        d,
        &mask,
        &groups.codes,
    )
    .map_err(|e| explain(e, file, &groups, &fit.fit_on))?;
    Ok(())
}
