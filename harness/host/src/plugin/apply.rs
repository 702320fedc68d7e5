//! Running a plugin on a profile table: from [`Profiles`] to the plugin's input, and back.
//!
//! This is what `cpbench plugin apply`, `cpbench plugin check` and benchmark runs share. The
//! benchmark's metadata never goes to the plugin: only the roles named in [`ApplySpec`] are turned
//! into context, keys or (for a `sees_labels` control) labels; the full metadata is reattached to
//! the plugin's output here, on the host side.

use std::collections::HashMap;

use cpbench_core::Profiles;
use polars::prelude::*;

use super::{
    ContextRoles, Labels, OutputRows, Plugin, PluginInput, PluginOutput, RunEnv, build_context,
    run_plugin,
};
use crate::error::HostError;

/// How a table's columns map onto what a plugin may receive.
#[derive(Debug, Clone, Default)]
pub struct ApplySpec {
    /// Context columns (plate, well, batch, split).
    pub roles: ContextRoles,
    /// Which rows are negative controls (the `control` context column), if known.
    pub controls: Option<Vec<bool>>,
    /// Rows the plugin may fit on; all rows when `None`.
    pub fit_rows: Option<Vec<bool>>,
    /// Column holding each row's perturbation or gene key (embedding tables, lookup models).
    pub key_column: Option<String>,
    /// Label columns, handed only to a control with `sees_labels = true`.
    pub label_columns: Vec<String>,
    /// Columns whose values define sets (e.g. plate and well) for set encoders.
    pub set_by: Vec<String>,
    /// Image crops, one per row, for image encoders.
    pub images: Option<ImageStack>,
}

/// Image crops held by the caller: `n × c × h × w` pixels, channel-first.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageStack {
    /// Pixel values.
    pub pixels: Vec<f32>,
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

/// A plugin's representation of a table, with the table's metadata reattached.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Output profiles: metadata of the rows (or sets) they describe, then the representation.
    pub profiles: Profiles,
    /// The plugin's output without the data (provider, notes, missing keys).
    pub output: PluginOutput,
}

/// Runs `plugin` on `profiles` as `spec` describes and returns the representation as profiles.
pub fn apply_to_profiles(
    plugin: &Plugin,
    profiles: &Profiles,
    spec: &ApplySpec,
    env: &RunEnv,
) -> Result<Applied, HostError> {
    let input_error = |message: String| HostError::Input {
        plugin: plugin.manifest.id.clone(),
        message,
    };
    // Set encoders need each set's rows together: reorder once here, undo nothing afterwards
    // (the output has one row per set).
    let (ordered, offsets) = if spec.set_by.is_empty() {
        (None, None)
    } else {
        let (order, offsets) = set_order(profiles, &spec.set_by)?;
        (Some(take_rows(profiles, &order)?), Some((order, offsets)))
    };
    let table = ordered.as_ref().unwrap_or(profiles);
    let permute = |mask: &Option<Vec<bool>>| -> Option<Vec<bool>> {
        mask.as_ref().map(|m| match &offsets {
            Some((order, _)) => order.iter().map(|&i| m[i]).collect(),
            None => m.clone(),
        })
    };
    let controls = permute(&spec.controls);
    let context = build_context(table, &spec.roles, controls.as_deref())?;
    let n = table.n_rows();
    let mut input = PluginInput::new(table.features(), n, table.feature_names(), context)
        .map_err(input_error)?;
    if let Some(fit) = permute(&spec.fit_rows) {
        if !fit.iter().any(|&f| f) {
            return Err(input_error("no row is selected to fit on".into()));
        }
        input.fit_rows = fit;
    }
    if let Some(key) = &spec.key_column {
        let keys = table.meta_strings(key)?;
        if let Some(row) = keys.iter().position(Option::is_none) {
            return Err(input_error(format!(
                "key column '{key}' is empty on row {}",
                row + 1
            )));
        }
        input.keys = Some(keys.into_iter().map(Option::unwrap_or_default).collect());
    }
    if let Some((_, offsets)) = &offsets {
        input.sets = Some(offsets.clone());
    }
    if let Some(img) = &spec.images {
        if offsets.is_some() {
            return Err(input_error(
                "image crops cannot be grouped into sets".into(),
            ));
        }
        if img.pixels.len() != n * img.c * img.h * img.w {
            return Err(input_error(format!(
                "{} crops of {}×{}×{} for {n} rows: one crop per row is needed",
                img.pixels.len() / (img.c * img.h * img.w).max(1),
                img.c,
                img.h,
                img.w
            )));
        }
        input.images = Some(super::Images {
            pixels: &img.pixels,
            c: img.c,
            h: img.h,
            w: img.w,
        });
    }
    if plugin.manifest.sees_labels {
        let columns = spec
            .label_columns
            .iter()
            .map(|c| table.meta_strings(c))
            .collect::<Result<Vec<_>, _>>()?;
        input = input.with_labels(
            plugin,
            Labels {
                names: spec.label_columns.clone(),
                columns,
            },
        )?;
    }
    let output = run_plugin(plugin, &input, env)?;
    let level = plugin
        .manifest
        .output
        .level
        .profile_level()
        .unwrap_or(table.level());
    let meta = match &output.rows {
        OutputRows::All => table.meta().clone(),
        OutputRows::Subset(rows) => take_rows(table, rows)?.meta().clone(),
        OutputRows::Sets => {
            let (_, offsets) = offsets.as_ref().ok_or_else(|| {
                input_error("the plugin returned one row per set, but no sets were given".into())
            })?;
            set_metadata(table, offsets)?
        }
    };
    let mut output = output;
    let data = std::mem::take(&mut output.data);
    let profiles = Profiles::new(meta, data, output.feature_names.clone(), level)?;
    Ok(Applied { profiles, output })
}

/// Row order grouping rows by their `by` values (groups in order of first appearance, rows in
/// order within a group), and the set offsets over that order.
fn set_order(profiles: &Profiles, by: &[String]) -> Result<(Vec<usize>, Vec<usize>), HostError> {
    let values = by
        .iter()
        .map(|c| profiles.meta_strings(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut index: HashMap<Vec<Option<&str>>, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..profiles.n_rows() {
        let key: Vec<Option<&str>> = values.iter().map(|v| v[i].as_deref()).collect();
        let g = *index.entry(key).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(i);
    }
    let mut offsets = Vec::with_capacity(members.len() + 1);
    offsets.push(0);
    let mut order = Vec::with_capacity(profiles.n_rows());
    for m in members {
        order.extend(m);
        offsets.push(order.len());
    }
    Ok((order, offsets))
}

fn take_rows(profiles: &Profiles, rows: &[usize]) -> Result<Profiles, HostError> {
    let idx = IdxCa::from_vec("rows".into(), rows.iter().map(|&r| r as IdxSize).collect());
    let meta = profiles
        .meta()
        .take(&idx)
        .map_err(|e| cpbench_core::Error::Shape(e.to_string()))?;
    let d = profiles.n_features();
    let mut data = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        data.extend_from_slice(profiles.row(r));
    }
    Ok(Profiles::new(
        meta,
        data,
        profiles.feature_names().to_vec(),
        profiles.level(),
    )?)
}

/// Metadata of one row per set: the columns that are constant within every set (plate, well,
/// treatment), taken from each set's first row. Per-cell columns are dropped.
fn set_metadata(profiles: &Profiles, offsets: &[usize]) -> Result<DataFrame, HostError> {
    let firsts: Vec<usize> = offsets[..offsets.len() - 1].to_vec();
    let mut keep = Vec::new();
    for name in profiles.meta_names() {
        let values = profiles.meta_strings(&name)?;
        let constant = offsets
            .windows(2)
            .all(|w| values[w[0]..w[1]].iter().all(|v| *v == values[w[0]]));
        if constant {
            keep.push(name);
        }
    }
    let idx = IdxCa::from_vec(
        "rows".into(),
        firsts.iter().map(|&r| r as IdxSize).collect(),
    );
    let meta = profiles
        .meta()
        .select(keep)
        .and_then(|m| m.take(&idx))
        .map_err(|e| cpbench_core::Error::Shape(e.to_string()))?;
    Ok(meta)
}
