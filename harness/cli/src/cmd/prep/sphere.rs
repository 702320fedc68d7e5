//! `cpbench prep sphere`: sphering fitted on `--fit-on` rows (usually the controls), one fit per
//! `--by` group. Without `--lambda`/`--lambdas` it is pycytominer's `Spherize` (`--method`,
//! `--epsilon`, `--center`); with them it is the CNN-1 regularized variant `V (Δ + λ)^(-1/2) [Vᵀ]`
//! (`--rotate`). PCA outputs (no rotation) name their columns `PC1..PCd`, as pycytominer does.
//!
//! A `--lambdas` sweep writes one table per λ: `--out` must contain `{lambda}`, replaced by the
//! value as given (e.g. `--out 'sph_{lambda}.parquet' --lambdas 1e-3,1e-1` writes
//! `sph_1e-3.parquet` and `sph_1e-1.parquet`); the decomposition is done once per group.

use anyhow::{Result, anyhow, bail};
use cpbench_core::Profiles;
use cpbench_core::manifest::PrepStep;
use cpbench_prep::{
    Decomposition, Matrix, PrepError, Sphere, SphereMethod, Transform, fit_apply_by_group,
    sphere::DEFAULT_SPHERE_EPSILON,
};

use super::common::{FitArgs, Groups, IoArgs, explain, write_output};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep sphere`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub io: IoArgs,
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

/// A parsed sphering request.
#[derive(Debug, Clone)]
pub enum SphereSpec {
    /// pycytominer `Spherize`.
    Pycytominer {
        /// The method.
        method: SphereMethod,
        /// Added to singular values.
        epsilon: f64,
        /// Whether to center.
        center: bool,
    },
    /// The CNN-1 regularized variant over one or more λ, with the λ texts as given.
    Regularized {
        /// `(text, value)` per λ.
        lambdas: Vec<(String, f64)>,
        /// ZCA (true) or PCA (false).
        rotate: bool,
    },
}

impl SphereSpec {
    /// The spec of a `[[preprocess]]` step with `op = "sphere"`: `lambda` selects the regularized
    /// variant, whose rotation follows `rotate`, else `method` (`pca`: none; `zca`: rotate).
    pub fn from_step(step: &PrepStep) -> Result<Self> {
        let method: SphereMethod = step.method.as_deref().unwrap_or("zca").parse()?;
        match step.lambda {
            Some(l) => {
                if method.is_cor() || step.epsilon.is_some() || step.center == Some(false) {
                    bail!(
                        "sphere with `lambda` whitens the centered covariance: `method` must be pca or zca, \
                         and `epsilon`/`center = false` do not apply"
                    );
                }
                let rotate = step.rotate.unwrap_or(method.rotates());
                if step.method.is_some() && rotate != method.rotates() {
                    bail!("sphere: `rotate = {rotate}` contradicts `method = \"{method}\"`");
                }
                Sphere::regularized(l, rotate)?;
                Ok(SphereSpec::Regularized {
                    lambdas: vec![(l.to_string(), l)],
                    rotate,
                })
            }
            None => {
                if step.rotate.is_some() {
                    bail!(
                        "sphere: `rotate` applies with `lambda`; without it use `method = \"pca\"` or `\"zca\"`"
                    );
                }
                let epsilon = step.epsilon.unwrap_or(DEFAULT_SPHERE_EPSILON);
                let center = step.center.unwrap_or(true);
                Sphere::pycytominer(method, epsilon, center)?;
                Ok(SphereSpec::Pycytominer {
                    method,
                    epsilon,
                    center,
                })
            }
        }
    }
}

impl Args {
    /// Checks the flag combination and parses values, before any file is read.
    pub fn spec(&self) -> Result<SphereSpec> {
        let lambdas: Option<Vec<String>> = match (&self.lambda, &self.lambdas) {
            (Some(l), _) => Some(vec![l.to_string()]),
            (None, Some(list)) => Some(split_list(list)),
            (None, None) => None,
        };
        match lambdas {
            None => {
                if self.rotate.is_some() {
                    bail!(
                        "--rotate applies to the regularized variant (--lambda/--lambdas); use --method pca or zca"
                    );
                }
                let method: SphereMethod = self.method.as_deref().unwrap_or("zca").parse()?;
                let epsilon = self.epsilon.unwrap_or(DEFAULT_SPHERE_EPSILON);
                // Validates epsilon and the -cor/center combination.
                Sphere::pycytominer(method, epsilon, self.center)?;
                Ok(SphereSpec::Pycytominer {
                    method,
                    epsilon,
                    center: self.center,
                })
            }
            Some(texts) => {
                if self.method.is_some() || self.epsilon.is_some() || !self.center {
                    bail!(
                        "--lambda/--lambdas select the regularized variant, which always centers; \
                         --method, --epsilon and --center apply to pycytominer's sphering only \
                         (use --rotate true|false for ZCA|PCA)"
                    );
                }
                if texts.is_empty() {
                    bail!("--lambdas needs at least one value");
                }
                let lambdas = texts
                    .into_iter()
                    .map(|t| {
                        let v: f64 = t
                            .parse()
                            .map_err(|_| anyhow!("--lambdas: `{t}` is not a number"))?;
                        Sphere::regularized(v, true)?;
                        Ok((t, v))
                    })
                    .collect::<Result<Vec<_>>>()?;
                if self.lambdas.is_some() && !self.io.out.to_string_lossy().contains("{lambda}") {
                    bail!(
                        "--lambdas writes one table per λ: --out must contain `{{lambda}}`, e.g. 'sphered_{{lambda}}.parquet'"
                    );
                }
                Ok(SphereSpec::Regularized {
                    lambdas,
                    rotate: self.rotate.unwrap_or(true),
                })
            }
        }
    }
}

/// Runs `cpbench prep sphere`.
pub fn run(args: Args) -> Result<Outcome> {
    let spec = args.spec()?;
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let file = args.io.file();
    match &spec {
        SphereSpec::Regularized { lambdas, rotate } if args.lambdas.is_some() => {
            let out = args.io.out.to_string_lossy().into_owned();
            for (text, _) in lambdas {
                cpbench_core::io::Format::of(std::path::Path::new(&out.replace("{lambda}", text)))?;
            }
            let profiles = super::common::read_input(&args.io.profiles, &args.io.metadata_prefix)?;
            let values: Vec<f64> = lambdas.iter().map(|(_, v)| *v).collect();
            let outputs = sweep_profiles(&profiles, &values, *rotate, &args.fit, &by, &file)?;
            for ((text, _), p) in lambdas.iter().zip(outputs) {
                write_output(&p, std::path::Path::new(&out.replace("{lambda}", text)))?;
            }
        }
        _ => {
            let mut profiles = args.io.load()?;
            sphere_profiles(&mut profiles, &spec, &args.fit, &by, &file)?;
            args.io.write(&profiles)?;
        }
    }
    Ok(Outcome::Ok)
}

/// Spheres `profiles` in place with one λ or pycytominer's method, one fit per group of `by`.
pub fn sphere_profiles(
    profiles: &mut Profiles,
    spec: &SphereSpec,
    fit: &FitArgs,
    by: &[String],
    file: &str,
) -> Result<()> {
    let (template, rotates) = match spec {
        SphereSpec::Pycytominer {
            method,
            epsilon,
            center,
        } => (
            Sphere::pycytominer(*method, *epsilon, *center)?,
            method.rotates(),
        ),
        SphereSpec::Regularized { lambdas, rotate } => match lambdas.as_slice() {
            [(_, l)] => (Sphere::regularized(*l, *rotate)?, *rotate),
            _ => bail!("a λ sweep writes one table per λ; use `cpbench prep sphere --lambdas`"),
        },
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
    .map_err(|e| explain_sphere(e, profiles, file, &groups, &fit.fit_on))?;
    if !rotates {
        rename_components(profiles)?;
    }
    Ok(())
}

/// The CNN-1 λ sweep: one sphered copy of `profiles` per λ, one decomposition per group.
pub fn sweep_profiles(
    profiles: &Profiles,
    lambdas: &[f64],
    rotate: bool,
    fit: &FitArgs,
    by: &[String],
    file: &str,
) -> Result<Vec<Profiles>> {
    let groups = Groups::of(profiles, by, file)?;
    let mask = fit.mask(profiles, file)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut fit_members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, &g) in groups.codes.iter().enumerate() {
        members[g as usize].push(i);
        if mask[i] {
            fit_members[g as usize].push(i);
        }
    }
    let explain_here = |e| explain_sphere(e, profiles, file, &groups, &fit.fit_on);
    if let Some(g) = fit_members.iter().position(Vec::is_empty) {
        return Err(explain_here(PrepError::EmptyGroup { group: g as u32 }));
    }
    let view = Matrix::new(profiles.features(), n, d).map_err(explain_here)?;
    let mut outputs: Vec<Vec<f32>> = vec![profiles.features().to_vec(); lambdas.len()];
    let mut buf = Vec::new();
    for (rows, fit_rows) in members.iter().zip(&fit_members) {
        let dec = Decomposition::fit(view, fit_rows, true, false).map_err(explain_here)?;
        for (out, &lambda) in outputs.iter_mut().zip(lambdas) {
            let t = dec.regularized(lambda, rotate).map_err(explain_here)?;
            buf.clear();
            for &i in rows {
                buf.extend_from_slice(&out[i * d..(i + 1) * d]);
            }
            t.apply(&mut buf, rows.len(), d).map_err(explain_here)?;
            for (k, &i) in rows.iter().enumerate() {
                out[i * d..(i + 1) * d].copy_from_slice(&buf[k * d..(k + 1) * d]);
            }
        }
    }
    outputs
        .into_iter()
        .map(|features| {
            let mut p = Profiles::new(
                profiles.meta().clone(),
                features,
                profiles.feature_names().to_vec(),
                profiles.level(),
            )?;
            if !rotate {
                rename_components(&mut p)?;
            }
            Ok(p)
        })
        .collect()
}

/// Names the columns `PC1..PCd`: unrotated outputs are components, not features.
fn rename_components(profiles: &mut Profiles) -> Result<()> {
    let level = profiles.level();
    let d = profiles.n_features();
    let (meta, features, _, _) = std::mem::replace(
        profiles,
        Profiles::new(Default::default(), Vec::new(), Vec::new(), level)?,
    )
    .into_parts();
    let names = (1..=d).map(|k| format!("PC{k}")).collect();
    *profiles = Profiles::new(meta, features, names, level)?;
    Ok(())
}

/// Names the feature or row behind a sphering error, and says what to do about it.
fn explain_sphere(
    e: PrepError,
    profiles: &Profiles,
    file: &str,
    groups: &Groups,
    fit_on: &str,
) -> anyhow::Error {
    let feature = |j: usize| {
        profiles
            .feature_names()
            .get(j)
            .cloned()
            .unwrap_or_else(|| j.to_string())
    };
    match e {
        PrepError::ZeroVariance { feature: j } => anyhow!(
            "{file}: feature `{}` has zero variance on the fit rows (--fit-on {fit_on}); \
             the -cor methods divide by it: drop it first (feature-select variance_threshold)",
            feature(j)
        ),
        PrepError::NonFinite {
            row, feature: j, ..
        } => anyhow!(
            "{file}: fit row {} has a non-finite value in feature `{}`; sphering needs finite fit rows \
             (drop or impute NaN first)",
            row + 1,
            feature(j)
        ),
        PrepError::TooFewRows { needed, got, .. } => anyhow!(
            "{file}: sphering needs at least {needed} distinct fit rows per group (--fit-on {fit_on}), got {got}"
        ),
        other => explain(other, file, groups, fit_on),
    }
}
