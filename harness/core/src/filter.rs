//! Row filters on metadata: `COL=VALUE`, `COL!=VALUE`, `COL in [A, B]`, `COL not in [A, B]`.
//!
//! Missing values (null/empty) never equal a value: `=` and `in` reject them, `!=` and
//! `not in` keep them (as pandas' `!=` does with NaN). Against a numeric column the value is
//! compared as a number, so `Metadata_dose=0.10` matches a stored `0.1`.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::profiles::{Profiles, column_strings};

/// A parsed row filter.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFilter {
    /// The metadata column tested.
    pub column: String,
    /// Whether matching rows are kept (`=`, `in`) or dropped (`!=`, `not in`).
    pub negate: bool,
    /// The accepted values (one for `=`/`!=`).
    pub values: Vec<String>,
    expr: String,
}

impl RowFilter {
    /// Parses `COL=VALUE`, `COL==VALUE`, `COL!=VALUE`, `COL in [A, B]` or `COL not in [A, B]`.
    pub fn parse(expr: &str) -> Result<RowFilter> {
        let bad = |reason: &str| Error::BadFilter {
            expr: expr.to_string(),
            reason: reason.to_string(),
        };
        let text = expr.trim();
        if let Some((column, negate, list)) = split_membership(text) {
            let list = list.trim();
            let inner = list
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| bad("the list after 'in' must be written [A, B, ...]"))?;
            let values: Vec<String> = inner
                .split(',')
                .map(|v| unquote(v.trim()).to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(bad("the list after 'in' is empty"));
            }
            return Ok(RowFilter {
                column: column.to_string(),
                negate,
                values,
                expr: expr.to_string(),
            });
        }
        let (column, negate, value) = if let Some((c, v)) = text.split_once("!=") {
            (c, true, v)
        } else if let Some((c, v)) = text.split_once("==") {
            (c, false, v)
        } else if let Some((c, v)) = text.split_once('=') {
            (c, false, v)
        } else {
            return Err(bad(
                "expected COL=VALUE, COL!=VALUE, COL in [A, B] or COL not in [A, B]",
            ));
        };
        let column = column.trim();
        if column.is_empty() {
            return Err(bad("missing column name before the operator"));
        }
        Ok(RowFilter {
            column: column.to_string(),
            negate,
            values: vec![unquote(value.trim()).to_string()],
            expr: expr.to_string(),
        })
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Which rows of `profiles` pass the filter.
    pub fn mask(&self, profiles: &Profiles) -> Result<Vec<bool>> {
        self.mask_frame(profiles.meta())
    }

    /// Which rows of a metadata table pass the filter.
    pub fn mask_frame(&self, meta: &DataFrame) -> Result<Vec<bool>> {
        let col = meta
            .column(&self.column)
            .map_err(|_| Error::MissingColumn {
                source_name: format!("row filter '{}'", self.expr),
                column: self.column.clone(),
                available: meta
                    .get_column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            })?;
        let series = col.as_materialized_series();
        let hits: Vec<Option<bool>> = if series.dtype().is_primitive_numeric() {
            let wanted = self
                .values
                .iter()
                .map(|v| {
                    v.parse::<f64>().map_err(|_| Error::BadFilter {
                        expr: self.expr.clone(),
                        reason: format!(
                            "column '{}' is numeric but '{v}' is not a number",
                            self.column
                        ),
                    })
                })
                .collect::<Result<Vec<f64>>>()?;
            let as_f64 = series.cast(&DataType::Float64)?;
            as_f64
                .f64()?
                .iter()
                .map(|x| x.filter(|x| !x.is_nan()).map(|x| wanted.contains(&x)))
                .collect()
        } else {
            column_strings(series)?
                .into_iter()
                .map(|s| {
                    s.filter(|s| !s.is_empty())
                        .map(|s| self.values.contains(&s))
                })
                .collect()
        };
        Ok(hits
            .into_iter()
            .map(|h| match h {
                Some(hit) => hit != self.negate,
                None => self.negate,
            })
            .collect())
    }
}

impl std::fmt::Display for RowFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Rows that pass every filter (all rows when there are none).
pub fn mask_all(filters: &[RowFilter], profiles: &Profiles) -> Result<Vec<bool>> {
    let mut mask = vec![true; profiles.n_rows()];
    for f in filters {
        for (m, keep) in mask.iter_mut().zip(f.mask(profiles)?) {
            *m &= keep;
        }
    }
    Ok(mask)
}

/// Parses filter expressions and keeps the rows passing all of them.
pub fn apply_filters(profiles: &Profiles, exprs: &[impl AsRef<str>]) -> Result<Profiles> {
    let filters = exprs
        .iter()
        .map(|e| RowFilter::parse(e.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    profiles.filter_rows(&mask_all(&filters, profiles)?)
}

fn split_membership(text: &str) -> Option<(&str, bool, &str)> {
    let mut words = text.splitn(2, char::is_whitespace);
    let column = words.next()?;
    let rest = words.next()?.trim_start();
    if let Some(list) = rest.strip_prefix("not in") {
        return Some((column, true, list));
    }
    rest.strip_prefix("in").map(|list| (column, false, list))
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::Level;

    fn profiles() -> Profiles {
        let meta = df!(
            "Metadata_sample" => [Some("DMSO"), Some("BRD-1"), None, Some("BRD-2")],
            "Metadata_dose" => [Some(0.1f64), Some(1.0), Some(0.1), None],
        )
        .unwrap();
        Profiles::new(meta, vec![0.0; 4], vec!["f".into()], Level::Well).unwrap()
    }

    #[test]
    fn parses_every_form() {
        let f = RowFilter::parse("Metadata_sample=DMSO").unwrap();
        assert_eq!(
            (f.column.as_str(), f.negate, f.values.clone()),
            ("Metadata_sample", false, vec!["DMSO".to_string()])
        );
        let f = RowFilter::parse(" Metadata_sample != 'DMSO' ").unwrap();
        assert!(f.negate);
        assert_eq!(f.values, ["DMSO"]);
        let f = RowFilter::parse("Metadata_sample in [BRD-1, \"BRD-2\"]").unwrap();
        assert_eq!(f.values, ["BRD-1", "BRD-2"]);
        assert!(!f.negate);
        let f = RowFilter::parse("Metadata_sample not in [DMSO]").unwrap();
        assert!(f.negate);
        assert!(RowFilter::parse("Metadata_sample").is_err());
        assert!(RowFilter::parse("=x").is_err());
        assert!(RowFilter::parse("c in []").is_err());
        assert!(RowFilter::parse("c in a, b").is_err());
    }

    #[test]
    fn masks_treat_missing_values_as_documented() {
        let p = profiles();
        let m = |e: &str| RowFilter::parse(e).unwrap().mask(&p).unwrap();
        assert_eq!(m("Metadata_sample=DMSO"), [true, false, false, false]);
        assert_eq!(m("Metadata_sample!=DMSO"), [false, true, true, true]);
        assert_eq!(
            m("Metadata_sample in [BRD-1, BRD-2]"),
            [false, true, false, true]
        );
        assert_eq!(
            m("Metadata_sample not in [BRD-1, BRD-2]"),
            [true, false, true, false]
        );
        // Numeric comparison: "0.10" equals 0.1.
        assert_eq!(m("Metadata_dose=0.10"), [true, false, true, false]);
        assert_eq!(m("Metadata_dose!=0.1"), [false, true, false, true]);
    }

    #[test]
    fn errors_name_the_problem() {
        let p = profiles();
        let e = RowFilter::parse("Metadata_Sample=DMSO")
            .unwrap()
            .mask(&p)
            .unwrap_err();
        assert!(
            e.to_string().contains("did you mean Metadata_sample"),
            "{e}"
        );
        let e = RowFilter::parse("Metadata_dose=high")
            .unwrap()
            .mask(&p)
            .unwrap_err();
        assert!(e.to_string().contains("'high' is not a number"), "{e}");
    }

    #[test]
    fn filters_combine_with_and() {
        let p = profiles();
        let fs = [
            RowFilter::parse("Metadata_dose=0.1").unwrap(),
            RowFilter::parse("Metadata_sample!=DMSO").unwrap(),
        ];
        assert_eq!(mask_all(&fs, &p).unwrap(), [false, false, true, false]);
    }
}
