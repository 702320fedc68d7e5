//! `feature-table` and `embedding-table` plugins.

use std::collections::{BTreeSet, HashMap};

use cpbench_core::Profiles;
use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles};

use super::{OutputRows, Plugin, PluginInput, PluginOutput, input_error};
use crate::error::HostError;

/// The benchmark's own features, filtered by the plugin's selectors.
pub(super) fn run_feature_table(
    plugin: &Plugin,
    input: &PluginInput<'_>,
) -> Result<PluginOutput, HostError> {
    let spec =
        plugin.manifest.features.as_ref().ok_or_else(|| {
            input_error(plugin, "a feature-table plugin needs a [features] table")
        })?;
    let keep = spec.selector()?.indices(input.feature_names);
    if keep.is_empty() {
        return Err(input_error(
            plugin,
            &format!(
                "its [features] selectors keep none of the benchmark's {} features",
                input.d
            ),
        ));
    }
    let mut data = Vec::with_capacity(input.n * keep.len());
    for row in input.features.chunks_exact(input.d.max(1)).take(input.n) {
        data.extend(keep.iter().map(|&j| row[j]));
    }
    Ok(PluginOutput {
        data,
        k: keep.len(),
        rows: OutputRows::All,
        feature_names: keep
            .iter()
            .map(|&j| input.feature_names[j].clone())
            .collect(),
        execution_provider: None,
        notes: vec![format!("kept {} of {} features", keep.len(), input.d)],
        missing_keys: Vec::new(),
    })
}

/// A precomputed table of vectors, joined onto the rows by their perturbation key.
///
/// Rows whose key is not in the table get no representation; their keys are listed in
/// `missing_keys`, never dropped silently.
pub(super) fn run_embedding_table(
    plugin: &Plugin,
    input: &PluginInput<'_>,
) -> Result<PluginOutput, HostError> {
    let spec = plugin.manifest.embedding.as_ref().ok_or_else(|| {
        input_error(
            plugin,
            "an embedding-table plugin needs an [embedding] table",
        )
    })?;
    let keys = input.keys.as_ref().ok_or_else(|| {
        input_error(
            plugin,
            &format!(
                "an embedding table is keyed by `{}`, but the benchmark gave no keys: \
                 declare that column role in the benchmark",
                spec.key_role
            ),
        )
    })?;
    let (table, table_keys) = read_embedding_table(plugin)?;
    let path = plugin.resolve(&spec.table);
    let index: HashMap<&str, usize> = table_keys
        .iter()
        .enumerate()
        .map(|(row, key)| (key.as_str(), row))
        .collect();
    let k = table.n_features();
    let mut data = Vec::new();
    let mut rows = Vec::new();
    let mut missing = BTreeSet::new();
    for (i, key) in keys.iter().enumerate() {
        match index.get(key.as_str()) {
            Some(&r) => {
                data.extend_from_slice(table.row(r));
                rows.push(i);
            }
            None => {
                missing.insert(key.clone());
            }
        }
    }
    let distinct: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let found = distinct.len() - missing.len();
    let mut notes = vec![format!(
        "coverage: {found} of {} distinct keys ({} of {} rows) found in {}",
        distinct.len(),
        rows.len(),
        input.n,
        spec.table.display()
    )];
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        notes.push(format!(
            "{} keys have no vector: {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    if rows.is_empty() {
        return Err(input_error(
            plugin,
            &format!(
                "none of the benchmark's {} keys is in {} (e.g. '{}'); check `key_role`",
                distinct.len(),
                path.display(),
                keys.first().map_or("", String::as_str)
            ),
        ));
    }
    Ok(PluginOutput {
        data,
        k,
        rows: OutputRows::Subset(rows),
        feature_names: table.feature_names().to_vec(),
        execution_provider: None,
        notes,
        missing_keys: missing.into_iter().collect(),
    })
}

/// Reads an embedding table: its vectors and its keys, checked to be present and unique.
fn read_embedding_table(plugin: &Plugin) -> Result<(Profiles, Vec<String>), HostError> {
    let spec = plugin.manifest.embedding.as_ref().ok_or_else(|| {
        input_error(
            plugin,
            "an embedding-table plugin needs an [embedding] table",
        )
    })?;
    let path = plugin.resolve(&spec.table);
    // The key column is read as metadata by naming it as a prefix; it must not also prefix a
    // vector column, which is checked below.
    let opts = ReadOptions {
        metadata_prefixes: vec![spec.key.clone()],
        nonfinite: NonFinitePolicy::Error,
        level: None,
    };
    let (table, _) = read_profiles(&path, &opts)?;
    let meta_names = table.meta_names();
    if !meta_names.contains(&spec.key) {
        return Err(cpbench_core::Error::MissingColumn {
            source_name: path.display().to_string(),
            column: spec.key.clone(),
            available: meta_names,
        }
        .into());
    }
    if let Some(other) = meta_names.iter().find(|n| **n != spec.key) {
        return Err(input_error(
            plugin,
            &format!(
                "{}: column '{other}' starts with the key name '{}' and would be read as a key; \
                 rename it",
                path.display(),
                spec.key
            ),
        ));
    }
    let table_keys = table.meta_strings(&spec.key)?;
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(table_keys.len());
    for (row, key) in table_keys.iter().enumerate() {
        let Some(key) = key.as_deref().filter(|k| !k.is_empty()) else {
            return Err(input_error(
                plugin,
                &format!(
                    "{}: row {} has an empty key in column '{}'",
                    path.display(),
                    row + 1,
                    spec.key
                ),
            ));
        };
        if let Some(first) = index.insert(key, row) {
            return Err(input_error(
                plugin,
                &format!(
                    "{}: key '{key}' appears on rows {} and {}; keys must be unique",
                    path.display(),
                    first + 1,
                    row + 1
                ),
            ));
        }
    }
    let keys = table_keys
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    Ok((table, keys))
}

/// The keys of a plugin's embedding table, in table order.
pub(super) fn embedding_keys(plugin: &Plugin) -> Result<Vec<String>, HostError> {
    Ok(read_embedding_table(plugin)?.1)
}
