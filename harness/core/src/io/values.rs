//! One feature column to `f32` (or `f64`, [`FeatureFloat`]): float columns copied straight from
//! their buffers, other numeric and boolean columns cast, text columns parsed, where pandas'
//! missing words and nulls become NaN. A text value that is not a number is
//! [`Error::NonNumeric`], with a hint to pass the metadata prefix the column probably carries.
//! Each value is converted once (through `f64`, or exactly from a `Float32` column), so reading
//! as `f32` gives the bits a reader written for `f32` alone gave, and reading as `f64` loses
//! nothing the file holds.

use std::path::Path;

use polars::prelude::*;

use super::ReadOptions;
use super::polars_at;
use crate::error::{Error, Result};
use crate::profiles::Float;

/// A feature element type that profile tables are read as and written from: `f32` (feature
/// columns written as `Float32`) or `f64` (written as `Float64`).
pub trait FeatureFloat: Float + polars_arrow::types::NativeType {
    /// The values as a polars column named `name`, of this type.
    fn column(name: &str, values: Vec<Self>) -> Column;
}

impl FeatureFloat for f32 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
}

impl FeatureFloat for f64 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
}

/// Words pandas reads as missing; accepted in feature columns as NaN.
const MISSING_WORDS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "<NA>",
];

/// Writes a feature column's values into `out`, missing as NaN; text columns must hold numbers
/// or pandas' missing words.
pub(super) fn fill_numeric<T: Float>(
    path: &Path,
    s: &Series,
    opts: &ReadOptions,
    out: &mut [T],
) -> Result<()> {
    let dtype = s.dtype();
    match dtype {
        DataType::Float32 => {
            fill_primitive(s.f32().map_err(|e| polars_at(path, e))?, out, T::from_f32);
            return Ok(());
        }
        DataType::Float64 => {
            fill_primitive(s.f64().map_err(|e| polars_at(path, e))?, out, T::from_f64);
            return Ok(());
        }
        _ => {}
    }
    if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_null() {
        let f = s.cast(&DataType::Float64).map_err(|e| polars_at(path, e))?;
        fill_primitive(f.f64().map_err(|e| polars_at(path, e))?, out, T::from_f64);
        return Ok(());
    }
    let strings = s.cast(&DataType::String).map_err(|e| polars_at(path, e))?;
    let ca = strings.str().map_err(|e| polars_at(path, e))?;
    for (i, (v, o)) in ca.iter().zip(out.iter_mut()).enumerate() {
        let Some(text) = v else {
            *o = T::NAN;
            continue;
        };
        let t = text.trim();
        if MISSING_WORDS.contains(&t) {
            *o = T::NAN;
        } else if let Ok(x) = t.parse::<f64>() {
            *o = T::from_f64(x);
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
fn fill_primitive<P: PolarsNumericType, T: Float>(
    ca: &ChunkedArray<P>,
    out: &mut [T],
    convert: impl Fn(P::Native) -> T,
) {
    let mut start = 0;
    for arr in ca.downcast_iter() {
        let values = arr.values().as_slice();
        let dst = &mut out[start..start + values.len()];
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => {
                for (o, &v) in dst.iter_mut().zip(values) {
                    *o = convert(v);
                }
            }
            Some(valid) => {
                for ((o, &v), ok) in dst.iter_mut().zip(values).zip(valid.iter()) {
                    *o = if ok { convert(v) } else { T::NAN };
                }
            }
        }
        start += values.len();
    }
}

/// How a non-finite value at `row` of `s` is named in errors: `missing` (a null), `NaN`,
/// `inf` or `-inf`.
pub(super) fn describe_nonfinite<T: Float>(v: T, s: &Series, row: usize) -> String {
    if s.get(row).map(|a| a.is_null()).unwrap_or(false) {
        "missing".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v.to_f64() > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}
