//! `onnx` plugins: the four model shapes on the rows a benchmark hands over.

use cpbench_core::manifest::OnnxShape;

use super::{OutputRows, Plugin, PluginInput, PluginOutput, input_error, numbered_names};
use crate::error::HostError;
use crate::onnx::OnnxPlugin;

/// Runs the model on `input` with `threads` ONNX Runtime intra-op threads (`None`: its default).
pub(super) fn run_onnx(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    threads: Option<usize>,
) -> Result<PluginOutput, HostError> {
    let spec = plugin
        .manifest
        .onnx
        .as_ref()
        .ok_or_else(|| input_error(plugin, "an onnx plugin needs an [onnx] table"))?;
    let model = OnnxPlugin::load_with_threads(spec, &plugin.dir, threads)?;
    let k = model.output_dim();
    let mut notes: Vec<String> = model
        .fallbacks()
        .iter()
        .map(|f| format!("{} not used: {}", f.provider.as_str(), f.reason))
        .collect();
    let mut missing_keys = Vec::new();
    let (data, rows) = match spec.shape {
        OnnxShape::Profile => {
            let (x, d) = model_columns(plugin, &model, input)?;
            (model.encode_profiles(&x, input.n, d)?, OutputRows::All)
        }
        OnnxShape::Set => {
            let offsets = input.sets.as_ref().ok_or_else(|| {
                input_error(
                    plugin,
                    "a set encoder needs sets: name the columns that group rows into sets \
                     (e.g. plate and well)",
                )
            })?;
            let (x, d) = model_columns(plugin, &model, input)?;
            let enc = model.encode_sets(&x, d, offsets)?;
            notes.push(format!(
                "{} sets encoded in {} model inputs",
                offsets.len() - 1,
                enc.items
            ));
            if enc.chunked_sets > 0 {
                notes.push(format!(
                    "{} sets larger than the maximum set size were encoded in chunks and combined \
                     by a size-weighted mean",
                    enc.chunked_sets
                ));
            }
            (enc.values, OutputRows::Sets)
        }
        OnnxShape::Image => {
            let images = input.images.ok_or_else(|| {
                input_error(
                    plugin,
                    "an image encoder needs image crops, and none were given",
                )
            })?;
            let values =
                model.encode_images(images.pixels, input.n, images.c, images.h, images.w)?;
            (values, OutputRows::All)
        }
        OnnxShape::Lookup => {
            let keys = input.keys.as_ref().ok_or_else(|| {
                input_error(
                    plugin,
                    "a lookup model needs each row's key (gene or perturbation): declare that \
                     column role",
                )
            })?;
            let found = model.lookup(keys)?;
            let distinct: std::collections::BTreeSet<&str> =
                keys.iter().map(String::as_str).collect();
            notes.push(format!(
                "coverage: {} of {} distinct keys ({} of {} rows) in the vocabulary",
                distinct.len() - found.missing.len(),
                distinct.len(),
                found.found.len(),
                input.n
            ));
            missing_keys = found.missing.clone();
            missing_keys.sort();
            (found.values, OutputRows::Subset(found.found))
        }
    };
    Ok(PluginOutput {
        data,
        k,
        rows,
        feature_names: numbered_names(&plugin.manifest.id, k),
        execution_provider: Some(model.execution_provider().to_string()),
        notes,
        missing_keys,
    })
}

/// The input columns in the order the model was trained on (its feature list), or all of them.
fn model_columns(
    plugin: &Plugin,
    model: &OnnxPlugin,
    input: &PluginInput<'_>,
) -> Result<(Vec<f32>, usize), HostError> {
    let cols = model.feature_columns(input.feature_names)?;
    if let Some(d) = model.input_dim()
        && d != cols.len()
    {
        return Err(input_error(
            plugin,
            &format!(
                "the model takes {d} input features, the benchmark provides {}{}",
                cols.len(),
                if model.features().is_none() {
                    "; list the model's input features in `[onnx] features` so cpbench can pick them"
                } else {
                    ""
                }
            ),
        ));
    }
    let d = cols.len();
    if cols.iter().copied().eq(0..input.d) {
        return Ok((input.features.to_vec(), d));
    }
    let mut x = Vec::with_capacity(input.n * d);
    for row in input.features.chunks_exact(input.d.max(1)).take(input.n) {
        x.extend(cols.iter().map(|&j| row[j]));
    }
    Ok((x, d))
}
