//! The `Profiles` type: metadata table + dense feature matrix + feature names + level.
//!
//! The matrix is `f32` ([`Profiles`] means `Profiles<f32>`), as everything outside preprocessing
//! reads it; `cpbench prep --precision f64` keeps a `float64` table at `Profiles<f64>`, through the
//! same methods, generic over the element type [`Float`].

use std::sync::Arc;

use polars::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use cpbench_metrics::matrix::Float;

use crate::error::{Error, Result};

/// The biological unit one row of a profile table describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One segmented cell.
    Cell,
    /// One imaging site (field of view) of a well.
    Site,
    /// One well.
    Well,
    /// One treatment (perturbation at a dose), aggregated over replicate wells.
    Treatment,
    /// One gene, aggregated over its perturbations (guides).
    Gene,
}

impl Level {
    /// All levels, finest first.
    pub const ALL: [Level; 5] = [
        Level::Cell,
        Level::Site,
        Level::Well,
        Level::Treatment,
        Level::Gene,
    ];

    /// The lowercase name used in manifests and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Cell => "cell",
            Level::Site => "site",
            Level::Well => "well",
            Level::Treatment => "treatment",
            Level::Gene => "gene",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown level '{s}' (expected cell, site, well, treatment or gene)")
            })
    }
}

/// Profiles: one row per unit, metadata columns beside a dense row-major feature matrix of `T`
/// (`f32` unless stated).
///
/// Cloning is cheap: the metadata's columns and the feature matrix are shared, and a clone
/// copies the matrix only when it is first written to ([`Profiles::features_mut`]). A run keeps
/// the profiles of every level it passes through this way, at 10⁶ rows, without copies.
#[derive(Debug, Clone)]
pub struct Profiles<T = f32> {
    meta: DataFrame,
    features: Arc<Vec<T>>,
    feature_names: Vec<String>,
    level: Level,
}

impl<T: Float> Profiles<T> {
    /// Builds profiles, checking that the parts agree in shape.
    pub fn new(
        meta: DataFrame,
        features: Vec<T>,
        feature_names: Vec<String>,
        level: Level,
    ) -> Result<Self> {
        let d = feature_names.len();
        let n = meta.height();
        if features.len() != n * d {
            return Err(Error::Shape(format!(
                "feature matrix has {} values, expected {n} rows × {d} features",
                features.len()
            )));
        }
        // A DataFrame with no columns reports height 0 whatever the row count; keep the
        // feature matrix authoritative in that case.
        if meta.width() == 0 && d > 0 && !features.is_empty() {
            return Err(Error::Shape(
                "metadata table has no columns; profiles need at least one metadata column".into(),
            ));
        }
        // Every writer and lookup goes by name: a repeated one would silently pick one column.
        let mut seen: std::collections::HashSet<&str> =
            meta.get_column_names().iter().map(|c| c.as_str()).collect();
        if let Some(name) = feature_names.iter().find(|f| !seen.insert(f.as_str())) {
            return Err(Error::Shape(format!(
                "column name `{name}` is used twice (a feature named like another feature or a metadata column)"
            )));
        }
        Ok(Profiles {
            meta,
            features: Arc::new(features),
            feature_names,
            level,
        })
    }

    /// Number of rows (profiles).
    pub fn n_rows(&self) -> usize {
        self.meta.height()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// The metadata table.
    pub fn meta(&self) -> &DataFrame {
        &self.meta
    }

    /// The feature matrix, row-major, `n_rows × n_features`.
    pub fn features(&self) -> &[T] {
        &self.features
    }

    /// Mutable access to the feature matrix (shape cannot change); copies it first if a clone
    /// shares it.
    pub fn features_mut(&mut self) -> &mut [T] {
        Arc::make_mut(&mut self.features).as_mut_slice()
    }

    /// One profile's features.
    pub fn row(&self, i: usize) -> &[T] {
        let d = self.n_features();
        &self.features[i * d..(i + 1) * d]
    }

    /// Feature column names, in matrix column order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The level rows describe.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Sets the level rows describe.
    pub fn set_level(&mut self, level: Level) {
        self.level = level;
    }

    /// Names of the metadata columns, in order.
    pub fn meta_names(&self) -> Vec<String> {
        self.meta
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// A metadata column rendered as strings (`None` for missing values), or an error naming it.
    pub fn meta_strings(&self, column: &str) -> Result<Vec<Option<String>>> {
        let col = self.meta.column(column).map_err(|_| Error::MissingColumn {
            source_name: "profiles".into(),
            column: column.to_string(),
            available: self.meta_names(),
        })?;
        column_strings(col.as_materialized_series())
    }

    /// Keeps the rows where `mask` is true, in order.
    pub fn filter_rows(&self, mask: &[bool]) -> Result<Profiles<T>> {
        if mask.len() != self.n_rows() {
            return Err(Error::Shape(format!(
                "row mask has {} entries for {} rows",
                mask.len(),
                self.n_rows()
            )));
        }
        let keep = BooleanChunked::from_slice("mask".into(), mask);
        let meta = self.meta.filter(&keep)?;
        let d = self.n_features();
        let mut features = Vec::with_capacity(meta.height() * d);
        for (i, &k) in mask.iter().enumerate() {
            if k {
                features.extend_from_slice(self.row(i));
            }
        }
        Profiles::new(meta, features, self.feature_names.clone(), self.level)
    }

    /// Keeps the feature columns at `indices`, in that order.
    pub fn select_features(&self, indices: &[usize]) -> Result<Profiles<T>> {
        let d = self.n_features();
        if let Some(&bad) = indices.iter().find(|&&j| j >= d) {
            return Err(Error::Shape(format!(
                "feature index {bad} out of range for {d} features"
            )));
        }
        let n = self.n_rows();
        let mut features = Vec::with_capacity(n * indices.len());
        for i in 0..n {
            let row = self.row(i);
            features.extend(indices.iter().map(|&j| row[j]));
        }
        let names = indices
            .iter()
            .map(|&j| self.feature_names[j].clone())
            .collect();
        Profiles::new(self.meta.clone(), features, names, self.level)
    }

    /// Count of NaN or infinite feature values.
    pub fn nonfinite_count(&self) -> usize {
        self.features.iter().filter(|v| !v.is_finite()).count()
    }

    /// Splits into parts: metadata, features, feature names, level (the feature matrix is
    /// copied only if a clone still shares it).
    pub fn into_parts(self) -> (DataFrame, Vec<T>, Vec<String>, Level) {
        let features = Arc::try_unwrap(self.features).unwrap_or_else(|shared| (*shared).clone());
        (self.meta, features, self.feature_names, self.level)
    }

    /// The same rows and features with new metadata (same height), sharing the feature matrix.
    pub fn with_meta(&self, meta: DataFrame) -> Result<Profiles<T>> {
        if meta.height() != self.n_rows() {
            return Err(Error::Shape(format!(
                "metadata of {} rows for {} profiles",
                meta.height(),
                self.n_rows()
            )));
        }
        Ok(Profiles {
            meta,
            features: Arc::clone(&self.features),
            feature_names: self.feature_names.clone(),
            level: self.level,
        })
    }

    /// The metadata alone: the same rows without features (what views of the data, not of a
    /// representation, need), so the feature matrix can be freed.
    pub fn keys_only(&self) -> Profiles<T> {
        Profiles {
            meta: self.meta.clone(),
            features: Arc::new(Vec::new()),
            feature_names: Vec::new(),
            level: self.level,
        }
    }
}

/// Renders any polars series as optional strings (numbers as polars prints them).
pub(crate) fn column_strings(series: &Series) -> Result<Vec<Option<String>>> {
    let s = series.cast(&DataType::String)?;
    let ca = s.str()?;
    Ok(ca.iter().map(|v| v.map(str::to_owned)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Profiles {
        let meta = df!("Metadata_id" => ["a", "b", "c"]).unwrap();
        Profiles::new(
            meta,
            vec![1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN],
            vec!["f1".into(), "f2".into()],
            Level::Well,
        )
        .unwrap()
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let meta = df!("Metadata_id" => ["a", "b"]).unwrap();
        let err =
            Profiles::<f32>::new(meta, vec![1.0; 3], vec!["f".into()], Level::Well).unwrap_err();
        assert!(
            err.to_string().contains("expected 2 rows × 1 features"),
            "{err}"
        );
    }

    #[test]
    fn a_name_used_twice_is_an_error() {
        let meta = || df!("Metadata_id" => ["a"]).unwrap();
        for names in [["f", "f"], ["f", "Metadata_id"]] {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let err = Profiles::new(meta(), vec![1.0; 2], names.clone(), Level::Well).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("`{}` is used twice", names[1])),
                "{err}"
            );
        }
        assert!(
            Profiles::new(
                meta(),
                vec![1.0; 2],
                vec!["f".into(), "g".into()],
                Level::Well
            )
            .is_ok()
        );
    }

    #[test]
    fn filter_and_select_keep_rows_aligned() {
        let p = small();
        let f = p.filter_rows(&[true, false, true]).unwrap();
        assert_eq!(f.n_rows(), 2);
        assert_eq!(f.row(1)[0], 5.0);
        assert_eq!(
            f.meta_strings("Metadata_id").unwrap(),
            vec![Some("a".to_string()), Some("c".to_string())]
        );
        let s = p.select_features(&[1]).unwrap();
        assert_eq!(s.features()[..2], [2.0, 4.0]);
        assert_eq!(s.feature_names(), ["f2"]);
        assert_eq!(p.nonfinite_count(), 1);
    }

    #[test]
    fn level_round_trips() {
        for l in Level::ALL {
            assert_eq!(l.as_str().parse::<Level>().unwrap(), l);
        }
        assert!("plate".parse::<Level>().is_err());
    }

    #[test]
    fn clones_share_the_matrix_until_one_is_written() {
        let a = small();
        let mut b = a.clone();
        assert!(std::ptr::eq(a.features().as_ptr(), b.features().as_ptr()));
        b.features_mut()[0] = 9.0;
        assert_eq!((a.features()[0], b.features()[0]), (1.0, 9.0));
        assert!(!std::ptr::eq(a.features().as_ptr(), b.features().as_ptr()));
        // New metadata of the same height shares the matrix; another height is refused.
        let meta = df!("Metadata_x" => [1, 2, 3]).unwrap();
        let c = a.with_meta(meta).unwrap();
        assert!(std::ptr::eq(a.features().as_ptr(), c.features().as_ptr()));
        assert_eq!(c.meta_names(), ["Metadata_x"]);
        assert!(a.with_meta(df!("Metadata_x" => [1]).unwrap()).is_err());
        // Keys only: the rows and the level, no features.
        let k = a.keys_only();
        assert_eq!((k.n_rows(), k.n_features(), k.level()), (3, 0, Level::Well));
        // A unique matrix moves out of into_parts; a shared one is copied.
        let (_, x, _, _) = b.into_parts();
        assert_eq!(x[0], 9.0);
        let (_, y, _, _) = c.into_parts();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(a.features()));
    }
}
