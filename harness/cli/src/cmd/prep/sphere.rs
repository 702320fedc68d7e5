//! `cpbench prep sphere`: sphering fitted on `--fit-on` rows (usually the controls), one fit per
//! `--by` group. Without `--lambda`/`--lambdas` it is pycytominer's `Spherize` (`--method`,
//! `--epsilon`, `--center`); with them it is the CNN-1 regularized variant `V (Δ + λ)^(-1/2) [Vᵀ]`
//! (`--rotate`). PCA outputs (no rotation) name their columns `PC1..PCd`, as pycytominer does.
//!
//! A `--lambdas` sweep writes one table per λ: `--out` must contain `{lambda}`, replaced by the
//! value as given (e.g. `--out 'sph_{lambda}.parquet' --lambdas 1e-3,1e-1` writes
//! `sph_1e-3.parquet` and `sph_1e-1.parquet`); the decomposition is done once per group.

use anyhow::{Result, anyhow, bail};
use cpbench_core::io::FeatureFloat;
use cpbench_runner::Origin;
use cpbench_runner::prep::sphere::{self, SphereSpec, sphere_profiles, sweep_profiles};

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width, write_output};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep sphere`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    #[command(flatten)]
    pub fit: FitArgs,
    /// pca, zca, pca-cor or zca-cor (pycytominer Spherize; default zca). Not with --lambda.
    #[arg(long)]
    pub method: Option<String>,
    /// Added to the singular values of the centered fit rows (pycytominer's epsilon).
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Center on the fit rows' mean before sphering (pca/zca; the -cor methods always center).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub center: bool,
    /// CNN-1 regularized whitening with this λ (added to the covariance eigenvalues).
    #[arg(long, conflicts_with = "lambdas")]
    pub lambda: Option<f64>,
    /// A λ sweep (comma-separated); writes one table per λ, `--out` must contain `{lambda}`.
    #[arg(long, value_name = "L1,L2,..")]
    pub lambdas: Option<String>,
    /// With --lambda/--lambdas: rotate back to feature space (ZCA) or keep components (PCA).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub rotate: Option<bool>,
    /// Fit one transform per group of these columns (comma-separated), e.g. Metadata_Plate.
    #[arg(long, value_name = "C[,C]")]
    pub by: Option<String>,
}

impl Args {
    /// Checks the flag combination and parses values, before any file is read.
    pub fn spec(&self) -> Result<SphereSpec> {
        let texts: Option<Vec<String>> = match (&self.lambda, &self.lambdas) {
            (Some(l), _) => Some(vec![l.to_string()]),
            (None, Some(list)) => Some(split_list(list)),
            (None, None) => None,
        };
        let lambdas = texts
            .map(|texts| {
                texts
                    .into_iter()
                    .map(|t| {
                        let v: f64 = t
                            .parse()
                            .map_err(|_| anyhow!("--lambdas: `{t}` is not a number"))?;
                        Ok((t, v))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let params = sphere::Params {
            method: self.method.clone(),
            epsilon: self.epsilon,
            // The flag's default is true; only an explicit false is a choice.
            center: (!self.center).then_some(false),
            lambdas,
            rotate: self.rotate,
            origin: Origin::Flags,
        };
        let spec = params.spec()?;
        if self.lambdas.is_some() && !self.io.out.to_string_lossy().contains("{lambda}") {
            bail!(
                "--lambdas writes one table per λ: --out must contain `{{lambda}}`, e.g. 'sphered_{{lambda}}.parquet'"
            );
        }
        Ok(spec)
    }
}

/// Runs `cpbench prep sphere`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let spec = args.spec()?;
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let file = args.io.file();
    match &spec {
        SphereSpec::Regularized { lambdas, rotate } if args.lambdas.is_some() => {
            let out = args.io.out.to_string_lossy().into_owned();
            for (text, _) in lambdas {
                cpbench_core::io::Format::of(std::path::Path::new(&out.replace("{lambda}", text)))?;
            }
            let profiles =
                super::common::read_input::<T>(&args.io.profiles, &args.io.metadata_prefix)?;
            let values: Vec<f64> = lambdas.iter().map(|(_, v)| *v).collect();
            let outputs =
                sweep_profiles(&profiles, &values, *rotate, &args.fit.rows(), &by, &file)?;
            for ((text, _), p) in lambdas.iter().zip(outputs) {
                write_output(&p, std::path::Path::new(&out.replace("{lambda}", text)))?;
            }
        }
        _ => {
            let mut profiles = args.io.load_as::<T>()?;
            sphere_profiles(&mut profiles, &spec, &args.fit.rows(), &by, &file)?;
            args.io.write(&profiles)?;
        }
    }
    Ok(Outcome::Ok)
}
