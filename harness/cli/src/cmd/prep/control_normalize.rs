//! `cpbench prep control-normalize`: within-batch normalization against the batch's control
//! rows (JUMP analysis); features whose control spread is zero are centered or dropped, and
//! reported.

use anyhow::{Result, bail};
use cpbench_core::Profiles;
use cpbench_prep::{ControlMethod, ControlParams, OnZeroScale, control_normalize};

use super::common::{FitArgs, Groups, IoArgs, explain};
use crate::Outcome;

/// Arguments of `cpbench prep control-normalize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The control rows (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// Batch column: each batch is normalized against its own controls (`--by` is accepted too,
    /// as for the other prep operations).
    #[arg(long, value_name = "C", visible_alias = "by")]
    pub batch: String,
    /// center, standardize, robustize or mad_robustize.
    #[arg(long, default_value = "standardize")]
    pub method: String,
    /// Added to every spread before dividing.
    #[arg(long, default_value_t = 0.0)]
    pub epsilon: f64,
    /// A feature whose control spread is zero in some batch: `center` it there, or `drop` it.
    #[arg(long, default_value = "center")]
    pub on_zero: String,
}

/// Parses `center` / `drop`.
pub fn parse_on_zero(text: &str) -> Result<OnZeroScale> {
    match text {
        "center" => Ok(OnZeroScale::Center),
        "drop" => Ok(OnZeroScale::Drop),
        _ => bail!("--on-zero {text}: expected center or drop"),
    }
}

/// Runs `cpbench prep control-normalize`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = ControlParams {
        method: args.method.parse::<ControlMethod>()?,
        epsilon: args.epsilon,
        on_zero: parse_on_zero(&args.on_zero)?,
    };
    if args.fit.fit_on.trim() == "all" {
        bail!(
            "--fit-on: control-normalize needs the control rows ('COL=VALUE' or controls), not all"
        );
    }
    let mut profiles = args.io.load()?;
    let file = args.io.file();
    let mask = args.fit.mask(&profiles, &file)?;
    let out = control_normalize_profiles(
        &mut profiles,
        &params,
        &mask,
        &args.batch,
        &args.fit.fit_on,
        &file,
    )?;
    args.io.write(&out)?;
    Ok(Outcome::Ok)
}

/// Normalizes each batch of `batch` against its rows in `controls`; returns the profiles
/// without the dropped features, and prints what could not be scaled.
pub fn control_normalize_profiles(
    profiles: &mut Profiles,
    params: &ControlParams,
    controls: &[bool],
    batch: &str,
    fit_on: &str,
    file: &str,
) -> Result<Profiles> {
    let groups = Groups::of(profiles, &[batch.to_owned()], file)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let report = control_normalize(
        profiles.features_mut(),
        n,
        d,
        controls,
        &groups.codes,
        params,
    )
    .map_err(|e| explain(e, file, &groups, fit_on))?;
    let names = profiles.feature_names();
    for (what, list) in [
        (
            "zero control spread (centered only unless dropped)",
            &report.zero_scale,
        ),
        ("no control value (dropped)", &report.undefined_center),
    ] {
        if !list.is_empty() {
            let shown: Vec<String> = list
                .iter()
                .take(10)
                .map(|&(g, j)| format!("{} in {}", names[j], groups.describe(g)))
                .collect();
            eprintln!(
                "{file}: {} feature/batch pairs with {what}: {}{}",
                list.len(),
                shown.join("; "),
                if list.len() > 10 { "; ..." } else { "" }
            );
        }
    }
    if report.dropped.len() == d {
        bail!("{file}: control-normalize would drop every feature");
    }
    let keep: Vec<usize> = (0..d)
        .filter(|j| report.dropped.binary_search(j).is_err())
        .collect();
    if keep.len() == d {
        return Ok(profiles.clone());
    }
    eprintln!("{file}: dropped {} features", report.dropped.len());
    Ok(profiles.select_features(&keep)?)
}
