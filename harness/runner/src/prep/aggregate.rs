//! pycytominer 1.7.1 `aggregate` and `consensus`: one profile per group of the `by` columns.
//!
//! As in pycytominer, the output holds the `by` columns (first row's value of each group,
//! dtype kept) followed by the features; other metadata columns are dropped, and groups are
//! sorted by their keys (numbers numerically, text by code point, missing values last).
//! `keep` names further metadata columns to carry along; each must be constant within every
//! group.

use std::cmp::Ordering;

use cpbench_core::{Level, Profiles};
use cpbench_prep::{Float, Matrix, Mean, Median, Modz, SetAggregator, aggregate_groups};
use polars::prelude::*;

use super::common::Groups;
use crate::error::Result;
use crate::{bail, err};

/// The set aggregator a method name stands for, on `T` features; `consensus` allows median and
/// modz, `aggregate` median and mean.
pub fn aggregator<T: Float>(
    method: &str,
    consensus: bool,
    min_weight: f64,
    precision: i32,
) -> Result<Box<dyn SetAggregator<T>>> {
    Ok(match (method, consensus) {
        ("median", _) => Box::new(Median),
        ("mean", false) => Box::new(Mean),
        ("modz", true) => Box::new(Modz::new(min_weight, precision)?),
        _ => bail!(
            "--method {method}: expected {}",
            if consensus {
                "median or modz"
            } else {
                "median or mean"
            }
        ),
    })
}

/// The next coarser level (gene stays gene).
pub fn coarser(level: Level) -> Level {
    match level {
        Level::Cell => Level::Site,
        Level::Site => Level::Well,
        Level::Well => Level::Treatment,
        Level::Treatment | Level::Gene => Level::Gene,
    }
}

/// One row per group of `by`, aggregated with `agg`, in pycytominer's output layout and order;
/// the metadata columns `keep` follow the `by` columns (an error unless constant per group).
pub fn aggregate_profiles<T: Float>(
    profiles: &Profiles<T>,
    by: &[String],
    keep: &[String],
    agg: &dyn SetAggregator<T>,
    level: Option<Level>,
    file: &str,
) -> Result<Profiles<T>> {
    let groups = Groups::of(profiles, by, file)?;
    for column in keep {
        let values = Groups::of(profiles, std::slice::from_ref(column), file)?;
        let mut seen: Vec<Option<u32>> = vec![None; groups.len()];
        for (&g, &v) in groups.codes.iter().zip(&values.codes) {
            match seen[g as usize] {
                Some(prev) if prev != v => bail!(
                    "{file}: --keep {column}: not constant within group {} ({} and {})",
                    groups.describe(g),
                    values.describe(prev),
                    values.describe(v)
                ),
                _ => seen[g as usize] = Some(v),
            }
        }
    }
    let order = sorted_groups(profiles, &groups)?;
    let x = Matrix::new(
        profiles.features(),
        profiles.n_rows(),
        profiles.n_features(),
    )?;
    let values = aggregate_groups(x, &groups.codes, groups.keys.len(), agg)
        .map_err(|e| err!("{file}: {} by {}: {e}", agg.name(), by.join(", ")))?;
    let d = profiles.n_features();
    let mut features = Vec::with_capacity(order.len() * d);
    for &g in &order {
        features.extend(values[g * d..(g + 1) * d].iter().map(|&v| T::from_f64(v)));
    }
    // The first row of each group carries its key values, in the column's own dtype.
    let mut first = vec![usize::MAX; groups.keys.len()];
    for (i, &g) in groups.codes.iter().enumerate().rev() {
        first[g as usize] = i;
    }
    let take: Vec<IdxSize> = order.iter().map(|&g| first[g] as IdxSize).collect();
    let meta = profiles
        .meta()
        .select(
            by.iter()
                .chain(keep.iter().filter(|k| !by.contains(k)))
                .map(String::as_str),
        )?
        .take(&IdxCa::from_vec("take".into(), take))?;
    Ok(Profiles::new(
        meta,
        features,
        profiles.feature_names().to_vec(),
        level.unwrap_or_else(|| coarser(profiles.level())),
    )?)
}

/// Group codes in pandas' `groupby(sort=True, dropna=False)` order.
fn sorted_groups<T: Float>(profiles: &Profiles<T>, groups: &Groups) -> Result<Vec<usize>> {
    let numeric: Vec<bool> = groups
        .columns
        .iter()
        .map(|c| Ok(profiles.meta().column(c)?.dtype().is_numeric()))
        .collect::<Result<_>>()?;
    let cmp_value = |a: &Option<String>, b: &Option<String>, num: bool| -> Ordering {
        match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) if num => {
                let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
                match (x, y) {
                    (Ok(x), Ok(y)) => x.total_cmp(&y),
                    _ => a.cmp(b),
                }
            }
            (Some(a), Some(b)) => a.cmp(b),
        }
    };
    let mut order: Vec<usize> = (0..groups.keys.len()).collect();
    order.sort_by(|&a, &b| {
        groups.keys[a]
            .iter()
            .zip(&groups.keys[b])
            .zip(&numeric)
            .map(|((x, y), &num)| cmp_value(x, y, num))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    Ok(order)
}
