//! Controls the harness implements itself: shuffled profiles and the positive control.

use std::collections::BTreeMap;

use cpbench_core::manifest::BuiltinControl;
use cpbench_metrics::rng::{SplitMix64, Xoshiro256StarStar};
use cpbench_plugin_api::context::PLATE;

use super::{OutputRows, Plugin, PluginInput, PluginOutput, input_error};
use crate::error::HostError;

pub(super) fn run_builtin(
    plugin: &Plugin,
    input: &PluginInput<'_>,
) -> Result<PluginOutput, HostError> {
    let spec = plugin
        .manifest
        .builtin
        .as_ref()
        .ok_or_else(|| input_error(plugin, "a builtin plugin needs a [builtin] table"))?;
    match spec.control {
        BuiltinControl::Shuffle => Ok(shuffle_within_plates(input, spec.seed)),
        BuiltinControl::PositiveControl => positive_control(plugin, input, spec.seed, spec.noise),
    }
}

/// Each row gets the features of another row of the same plate (a seeded permutation per plate).
///
/// This keeps every plate's feature distribution (and so its batch signature) while breaking the
/// link between a well and its treatment: a representation that is no better than this carries no
/// treatment information beyond plate effects.
fn shuffle_within_plates(input: &PluginInput<'_>, seed: u64) -> PluginOutput {
    let mut plates: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    match input.context_values(PLATE) {
        Some(values) => {
            for (i, v) in values.iter().enumerate() {
                plates.entry(v.as_str()).or_default().push(i);
            }
        }
        None => {
            plates.insert("", (0..input.n).collect());
        }
    }
    let mut rng = Xoshiro256StarStar::from_key(seed);
    let mut source = vec![0usize; input.n];
    for rows in plates.values() {
        let mut perm = rows.clone();
        // Fisher–Yates, plates visited in sorted order so the result depends on seed and data only.
        for i in (1..perm.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            perm.swap(i, j);
        }
        for (&dst, &src) in rows.iter().zip(&perm) {
            source[dst] = src;
        }
    }
    let d = input.d;
    let mut data = Vec::with_capacity(input.n * d);
    for &src in &source {
        data.extend_from_slice(&input.features[src * d..(src + 1) * d]);
    }
    let scope = if input.context_values(PLATE).is_some() {
        format!("within each of {} plates", plates.len())
    } else {
        "across all rows (the benchmark names no plate column)".to_string()
    };
    PluginOutput {
        data,
        k: d,
        rows: OutputRows::All,
        feature_names: input.feature_names.to_vec(),
        execution_provider: None,
        notes: vec![format!("rows shuffled {scope}, seed {seed}")],
        missing_keys: Vec::new(),
    }
}

/// One-hot codes of the label columns, concatenated, plus Gaussian noise of sd `noise`.
///
/// Rows that share every label get nearly the same vector, so every label-based task scores close
/// to its best possible value: the upper anchor of the leaderboard's scaling.
fn positive_control(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    seed: u64,
    noise: f64,
) -> Result<PluginOutput, HostError> {
    let labels = input.labels().ok_or_else(|| {
        input_error(
            plugin,
            "the positive control needs the benchmark's label columns, and none were given",
        )
    })?;
    if labels.columns.is_empty() {
        return Err(input_error(
            plugin,
            "the positive control needs at least one label column",
        ));
    }
    // Column j's code occupies offsets[j] .. offsets[j] + levels[j].len().
    let mut levels: Vec<BTreeMap<&str, usize>> = Vec::new();
    let mut names = Vec::new();
    for (col, name) in labels.columns.iter().zip(&labels.names) {
        let mut values: BTreeMap<&str, usize> =
            col.iter().flatten().map(|v| (v.as_str(), 0)).collect();
        for (i, v) in values.values_mut().enumerate() {
            *v = i;
        }
        // Output columns must not look like metadata (`Metadata_moa=...` would be read back as
        // a metadata column), so the prefix is dropped.
        let short = name.strip_prefix("Metadata_").unwrap_or(name);
        names.extend(values.keys().map(|v| format!("onehot_{short}={v}")));
        levels.push(values);
    }
    let k: usize = levels.iter().map(BTreeMap::len).sum();
    if k == 0 {
        return Err(input_error(plugin, "every label value is missing"));
    }
    let mut rng = SplitMix64::new(seed);
    let mut data = vec![0.0f32; input.n * k];
    for (i, row) in data.chunks_exact_mut(k).enumerate() {
        let mut offset = 0;
        for (col, lv) in labels.columns.iter().zip(&levels) {
            if let Some(v) = &col[i] {
                row[offset + lv[v.as_str()]] = 1.0;
            }
            offset += lv.len();
        }
        for x in row.iter_mut() {
            *x += (noise * rng.standard_normal()) as f32;
        }
    }
    Ok(PluginOutput {
        data,
        k,
        rows: OutputRows::All,
        feature_names: names,
        execution_provider: None,
        notes: vec![format!(
            "one-hot of {} (+ N(0, {noise}²) noise, seed {seed})",
            labels.names.join(", ")
        )],
        missing_keys: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{ContextRoles, Labels, build_context};
    use super::*;
    use cpbench_core::manifest::{BuiltinSpec, PluginManifest};
    use cpbench_core::{Level, Profiles};
    use polars::prelude::*;

    fn plugin(control: BuiltinControl, sees_labels: bool) -> Plugin {
        let toml = format!(
            r#"
schema_version = 1
id = "ctl"
version = "0.1.0"
kind = "builtin"
role = "control"
description = "test control"
license = "MIT"
sees_labels = {sees_labels}
[input]
level = "well"
[output]
level = "well"
[builtin]
control = "{}"
seed = 7
noise = 0.0
"#,
            match control {
                BuiltinControl::Shuffle => "shuffle",
                BuiltinControl::PositiveControl => "positive-control",
            }
        );
        let manifest: PluginManifest = toml::from_str(&toml).unwrap();
        assert!(matches!(manifest.builtin, Some(BuiltinSpec { .. })));
        Plugin {
            manifest,
            path: "plugin.toml".into(),
            dir: ".".into(),
        }
    }

    fn profiles() -> Profiles {
        let meta = df!(
            "Metadata_Plate" => ["p1", "p1", "p1", "p2", "p2"],
            "Metadata_moa" => ["a", "b", "a", "b", "c"],
        )
        .unwrap();
        let x: Vec<f32> = (0..10).map(|v| v as f32).collect();
        Profiles::new(meta, x, vec!["f1".into(), "f2".into()], Level::Well).unwrap()
    }

    #[test]
    fn shuffle_permutes_rows_within_plates_only_and_is_seeded() {
        let p = profiles();
        let roles = ContextRoles {
            plate: Some("Metadata_Plate".into()),
            ..Default::default()
        };
        let ctx = build_context(&p, &roles, None).unwrap();
        let input = PluginInput::new(p.features(), 5, p.feature_names(), ctx).unwrap();
        let pl = plugin(BuiltinControl::Shuffle, false);
        let a = run_builtin(&pl, &input).unwrap();
        let b = run_builtin(&pl, &input).unwrap();
        assert_eq!(a, b);
        // Row r holds (2r, 2r + 1): plate p1 rows come from {0, 1, 2}, p2 rows from {3, 4}.
        let sources: Vec<usize> = a.data.chunks(2).map(|r| r[0] as usize / 2).collect();
        let mut p1 = sources[..3].to_vec();
        p1.sort();
        assert_eq!(p1, [0, 1, 2]);
        let mut p2 = sources[3..].to_vec();
        p2.sort();
        assert_eq!(p2, [3, 4]);
    }

    #[test]
    fn positive_control_encodes_labels_and_refuses_without_them() {
        let p = profiles();
        let input = PluginInput::new(p.features(), 5, p.feature_names(), Vec::new()).unwrap();
        let pl = plugin(BuiltinControl::PositiveControl, true);
        let err = run_builtin(&pl, &input).unwrap_err().to_string();
        assert!(err.contains("label columns"), "{err}");
        let labels = Labels {
            names: vec!["Metadata_moa".into()],
            columns: vec![p.meta_strings("Metadata_moa").unwrap()],
        };
        let input = input.with_labels(&pl, labels.clone()).unwrap();
        let out = run_builtin(&pl, &input).unwrap();
        assert_eq!(out.k, 3);
        assert_eq!(&out.data[..6], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(out.feature_names[2], "onehot_moa=c");

        // Labels never reach a plugin that may not see them.
        let shuffle = plugin(BuiltinControl::Shuffle, false);
        let plain = PluginInput::new(p.features(), 5, p.feature_names(), Vec::new()).unwrap();
        let err = plain.with_labels(&shuffle, labels).unwrap_err().to_string();
        assert!(err.contains("label firewall"), "{err}");
    }
}
