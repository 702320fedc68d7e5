//! One feature column to `f32`: float columns copied straight from their buffers, other
//! numeric and boolean columns cast, text columns parsed, where pandas' missing words and
//! nulls become NaN. A text value that is not a number is [`Error::NonNumeric`], with a hint
//! to pass the metadata prefix the column probably carries.

use std::path::Path;

use polars::prelude::*;

use super::ReadOptions;
use super::polars_at;
use crate::error::{Error, Result};

/// Words pandas reads as missing; accepted in feature columns as NaN.
const MISSING_WORDS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "<NA>",
];

/// Writes a feature column's values into `out` as `f32`, missing as NaN; text columns must hold
/// numbers or pandas' missing words.
pub(super) fn fill_numeric(
    path: &Path,
    s: &Series,
    opts: &ReadOptions,
    out: &mut [f32],
) -> Result<()> {
    let dtype = s.dtype();
    match dtype {
        DataType::Float32 => {
            fill_primitive(s.f32().map_err(|e| polars_at(path, e))?, out, |v| v);
            return Ok(());
        }
        DataType::Float64 => {
            fill_primitive(s.f64().map_err(|e| polars_at(path, e))?, out, |v| v as f32);
            return Ok(());
        }
        _ => {}
    }
    if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_null() {
        let f = s.cast(&DataType::Float64).map_err(|e| polars_at(path, e))?;
        fill_primitive(f.f64().map_err(|e| polars_at(path, e))?, out, |v| v as f32);
        return Ok(());
    }
    let strings = s.cast(&DataType::String).map_err(|e| polars_at(path, e))?;
    let ca = strings.str().map_err(|e| polars_at(path, e))?;
    for (i, (v, o)) in ca.iter().zip(out.iter_mut()).enumerate() {
        let Some(text) = v else {
            *o = f32::NAN;
            continue;
        };
        let t = text.trim();
        if MISSING_WORDS.contains(&t) {
            *o = f32::NAN;
        } else if let Ok(x) = t.parse::<f64>() {
            *o = x as f32;
        } else {
            let name = s.name().to_string();
            let suggested = name
                .find("Metadata_")
                .map(|k| name[..k + "Metadata_".len()].to_string())
                .unwrap_or_else(|| name.split('_').next().unwrap_or(&name).to_string() + "_");
            return Err(Error::NonNumeric {
                path: path.to_path_buf(),
                row: i + 1,
                value: text.to_string(),
                hint: format!(
                    "Every column not starting with a metadata prefix ({}) must be numeric; \
                     if '{name}' is metadata, pass its prefix (e.g. --metadata-prefix {suggested})",
                    opts.metadata_prefixes.join(", ")
                ),
                column: name,
            });
        }
    }
    Ok(())
}

/// Copies a numeric column chunk by chunk straight from its buffers, nulls as NaN.
fn fill_primitive<T: PolarsNumericType>(
    ca: &ChunkedArray<T>,
    out: &mut [f32],
    to_f32: impl Fn(T::Native) -> f32,
) {
    let mut start = 0;
    for arr in ca.downcast_iter() {
        let values = arr.values().as_slice();
        let dst = &mut out[start..start + values.len()];
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => {
                for (o, &v) in dst.iter_mut().zip(values) {
                    *o = to_f32(v);
                }
            }
            Some(valid) => {
                for ((o, &v), ok) in dst.iter_mut().zip(values).zip(valid.iter()) {
                    *o = if ok { to_f32(v) } else { f32::NAN };
                }
            }
        }
        start += values.len();
    }
}

/// How a non-finite value at `row` of `s` is named in errors: `missing` (a null), `NaN`,
/// `inf` or `-inf`.
pub(super) fn describe_nonfinite(v: f32, s: &Series, row: usize) -> String {
    if s.get(row).map(|a| a.is_null()).unwrap_or(false) {
        "missing".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}
