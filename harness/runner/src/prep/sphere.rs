//! Sphering fitted on the fit rows (usually the controls), one fit per `by` group: without λ
//! it is pycytominer's `Spherize` (method, epsilon, center); with λ it is the CNN-1
//! regularized variant `V (Δ + λ)^(-1/2) [Vᵀ]` (rotate). PCA outputs (no rotation) name their
//! columns `PC1..PCd`, as pycytominer does. A λ sweep decomposes once per group and gives one
//! sphered copy per λ.

use cpbench_core::Profiles;
use cpbench_prep::{
    Decomposition, Float, Matrix, PrepError, Sphere, SphereMethod, Transform, fit_apply_by_group,
    sphere::DEFAULT_SPHERE_EPSILON,
};

use super::common::{FitRows, Groups, explain};
use crate::error::{Error, Result};
use crate::params::Origin;
use crate::{bail, err};

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

/// A sphering request as written, in flags or in a `[[preprocess]]` step; [`Params::spec`]
/// checks it (the one place that does) and resolves the defaults.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// pca, zca, pca-cor or zca-cor (default zca).
    pub method: Option<String>,
    /// Added to the singular values of the centered fit rows (pycytominer's epsilon).
    pub epsilon: Option<f64>,
    /// Center on the fit rows' mean before sphering (default true).
    pub center: Option<bool>,
    /// λ values, as written and as numbers: the CNN-1 regularized variant.
    pub lambdas: Option<Vec<(String, f64)>>,
    /// With λ: rotate back to feature space (ZCA) or keep components (PCA).
    pub rotate: Option<bool>,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// The request of a `[[preprocess]]` step with `op = "sphere"`.
    pub fn from_step(step: &cpbench_core::manifest::PrepStep) -> Params {
        Params {
            method: step.method.clone(),
            epsilon: step.epsilon,
            center: step.center,
            lambdas: step.lambda.map(|l| vec![(l.to_string(), l)]),
            rotate: step.rotate,
            origin: Origin::Manifest,
        }
    }

    /// Checks the combination and resolves the defaults: λ selects the regularized variant,
    /// whose rotation follows `rotate`, else `method` (`pca`: none; `zca`: rotate).
    pub fn spec(&self) -> Result<SphereSpec> {
        let o = self.origin;
        let (method_key, lambda_key) = (o.key("method"), o.key("lambda"));
        let method: Option<SphereMethod> = self.method.as_deref().map(str::parse).transpose()?;
        match &self.lambdas {
            None => {
                if self.rotate.is_some() {
                    bail!(
                        "{} applies to the regularized variant ({lambda_key}); without it use \
                         {method_key} pca or zca",
                        o.key("rotate")
                    );
                }
                let method = method.unwrap_or(SphereMethod::Zca);
                let epsilon = self.epsilon.unwrap_or(DEFAULT_SPHERE_EPSILON);
                let center = self.center.unwrap_or(true);
                // Validates epsilon and the -cor/center combination.
                Sphere::pycytominer(method, epsilon, center)?;
                Ok(SphereSpec::Pycytominer {
                    method,
                    epsilon,
                    center,
                })
            }
            Some(lambdas) => {
                // On the command line the rotation is --rotate alone; a manifest may also say it
                // through `method = "pca" | "zca"`.
                let method_given = method.is_some() && o == Origin::Flags;
                if method_given
                    || method.is_some_and(SphereMethod::is_cor)
                    || self.epsilon.is_some()
                    || self.center == Some(false)
                {
                    bail!(
                        "{lambda_key} selects the regularized variant, which whitens the centered \
                         covariance: {} and {} = false do not apply, and {method_key} {} (use \
                         {} true|false for ZCA|PCA)",
                        o.key("epsilon"),
                        o.key("center"),
                        if o == Origin::Flags {
                            "applies to pycytominer's sphering only"
                        } else {
                            "must be pca or zca"
                        },
                        o.key("rotate")
                    );
                }
                if lambdas.is_empty() {
                    bail!("{} needs at least one value", o.key("lambdas"));
                }
                for &(_, l) in lambdas {
                    Sphere::regularized(l, true)?;
                }
                let rotate = self
                    .rotate
                    .unwrap_or(method.is_none_or(SphereMethod::rotates));
                if let Some(m) = method
                    && rotate != m.rotates()
                {
                    bail!(
                        "sphere: {} = {rotate} contradicts {method_key} = \"{m}\"",
                        o.key("rotate")
                    );
                }
                Ok(SphereSpec::Regularized {
                    lambdas: lambdas.clone(),
                    rotate,
                })
            }
        }
    }
}

/// Spheres `profiles` in place with one λ or pycytominer's method, one fit per group of `by`.
pub fn sphere_profiles<T: Float>(
    profiles: &mut Profiles<T>,
    spec: &SphereSpec,
    fit: &FitRows,
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
pub fn sweep_profiles<T: Float>(
    profiles: &Profiles<T>,
    lambdas: &[f64],
    rotate: bool,
    fit: &FitRows,
    by: &[String],
    file: &str,
) -> Result<Vec<Profiles<T>>> {
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
    let view = Matrix::new(profiles.features(), n, d).map_err(|e| explain_here(e.into()))?;
    let mut outputs: Vec<Vec<T>> = vec![profiles.features().to_vec(); lambdas.len()];
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
fn rename_components<T: Float>(profiles: &mut Profiles<T>) -> Result<()> {
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
fn explain_sphere<T: Float>(
    e: PrepError,
    profiles: &Profiles<T>,
    file: &str,
    groups: &Groups,
    fit_on: &str,
) -> Error {
    let feature = |j: usize| {
        profiles
            .feature_names()
            .get(j)
            .cloned()
            .unwrap_or_else(|| j.to_string())
    };
    match e {
        PrepError::ZeroVariance { feature: j } => err!(
            "{file}: feature `{}` has zero variance on the fit rows (--fit-on {fit_on}); \
             the -cor methods divide by it: drop it first (feature-select variance_threshold)",
            feature(j)
        ),
        PrepError::NonFinite {
            row, feature: j, ..
        } => err!(
            "{file}: fit row {} has a non-finite value in feature `{}`; sphering needs finite fit rows \
             (drop or impute NaN first)",
            row + 1,
            feature(j)
        ),
        PrepError::TooFewRows { needed, got, .. } => err!(
            "{file}: sphering needs at least {needed} distinct fit rows per group (--fit-on {fit_on}), got {got}"
        ),
        other => explain(other, file, groups, fit_on),
    }
}
