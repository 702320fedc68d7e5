//! A benchmark's `[columns] split` on a profile table: which side each row is on.
//!
//! A row's side comes from its value in the split column: directly (the lists of the manifest
//! name the column's values), or through the split file, which maps each value to a label that
//! the lists name. Plugins may fit on the train and shared rows and see only the side (`train`,
//! `test`, `shared` or empty) as their `split` context, never the column's values (which may
//! be the perturbation itself); tasks score the test and shared rows. The split file is read and
//! checked once per run, before the plugin runs: a file whose key repeats or whose label no list
//! names is bad input of the benchmark.

use std::collections::HashMap;
use std::path::Path;

use cpbench_core::Profiles;
use cpbench_core::manifest::{SPLIT_FILE_LABEL_COLUMN, SplitSide, SplitSpec};
use cpbench_results::{ScoredSplit, SplitRows};
use polars::prelude::{DataFrame, IntoColumn, NamedFrom, Series};

use super::Benchmark;
use crate::bail;
use crate::error::{Context, Result};
use crate::table::text_columns;

/// The metadata column that carries each row's side to the plugin as its `split` context (the
/// split column itself may hold perturbation ids, which plugins must not see).
pub const SIDE_COLUMN: &str = "Metadata_cpbench_split_side";

/// A benchmark's split, ready to assign rows of any table that has the split column.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    spec: &'a SplitSpec,
    /// The split file's value → label, when the split goes through a file.
    labels: Option<HashMap<String, String>>,
}

impl<'a> Split<'a> {
    /// The benchmark's split (its file read and checked), or `None` when it declares none.
    pub fn load(bench: &'a Benchmark) -> Result<Option<Split<'a>>> {
        let Some(spec) = &bench.manifest.columns.split else {
            return Ok(None);
        };
        let labels = match &spec.file {
            Some(rel) => {
                let path = bench.resolve(rel);
                Some(
                    read_labels(&path, spec)
                        .with_context(|| format!("{}: columns.split.file", bench.path.display()))?,
                )
            }
            None => None,
        };
        Ok(Some(Split { spec, labels }))
    }

    /// The side of each row of `p`; `None` for a row on no side (a missing value, a value the
    /// lists or the split file do not name).
    pub fn sides(&self, p: &Profiles) -> Result<Vec<Option<SplitSide>>> {
        let column = &self.spec.column;
        if !p.meta_names().contains(column) {
            bail!(
                "the split column {column} is not in the {}-level profiles (an aggregation \
                 dropped it: list it in the step's `columns`)",
                p.level()
            );
        }
        Ok(p.meta_strings(column)?
            .into_iter()
            .map(|value| {
                let value = value?;
                match &self.labels {
                    Some(labels) => self.spec.side(labels.get(&value)?),
                    None => self.spec.side(&value),
                }
            })
            .collect())
    }

    /// The rows of `p` that tasks score (test and shared).
    pub fn scored_rows(&self, p: &Profiles) -> Result<Vec<bool>> {
        Ok(self
            .sides(p)?
            .into_iter()
            .map(|s| s.is_some_and(SplitSide::scored))
            .collect())
    }

    /// `p` with [`SIDE_COLUMN`] added: each row's side, empty for none.
    pub fn with_side_column(&self, p: &Profiles) -> Result<Profiles> {
        if p.meta_names().iter().any(|n| n == SIDE_COLUMN) {
            bail!("the table already has a column {SIDE_COLUMN}, which cpbench reserves");
        }
        let sides: Vec<&str> = self
            .sides(p)?
            .into_iter()
            .map(|s| s.map_or("", SplitSide::as_str))
            .collect();
        let mut meta = p.meta().clone();
        meta.with_column(Series::new(SIDE_COLUMN.into(), sides).into_column())?;
        // The feature matrix is shared, not copied.
        Ok(p.with_meta(meta)?)
    }

    /// What a result records: the split as declared and how many rows of `sides` (the
    /// benchmark's table) fell on each side.
    pub fn record(&self, sides: &[Option<SplitSide>]) -> ScoredSplit {
        let count = |want: Option<SplitSide>| sides.iter().filter(|s| **s == want).count() as u64;
        ScoredSplit {
            column: self.spec.column.clone(),
            file: self.spec.file.as_deref().map(shown),
            train: self.spec.train.clone(),
            test: self.spec.test.clone(),
            shared: self.spec.shared.clone(),
            rows: SplitRows {
                train: count(Some(SplitSide::Train)),
                test: count(Some(SplitSide::Test)),
                shared: count(Some(SplitSide::Shared)),
                none: count(None),
            },
        }
    }
}

/// `p` without [`SIDE_COLUMN`], if a plugin passed it through.
pub fn drop_side_column(p: Profiles) -> Result<Profiles> {
    if !p.meta_names().iter().any(|n| n == SIDE_COLUMN) {
        return Ok(p);
    }
    let (meta, features, names, level) = p.into_parts();
    let meta: DataFrame = meta.drop(SIDE_COLUMN)?;
    Ok(Profiles::new(meta, features, names, level)?)
}

/// The split file as written in the manifest, with `/` separators.
fn shown(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The split file's value → label; every value once, every label named by a list.
fn read_labels(path: &Path, spec: &SplitSpec) -> Result<HashMap<String, String>> {
    let [keys, labels] = text_columns(path, [spec.column.as_str(), SPLIT_FILE_LABEL_COLUMN])?;
    let mut map: HashMap<String, String> = HashMap::with_capacity(keys.len());
    // Rows counted from 1 after the header, as a spreadsheet shows them.
    for (i, (key, label)) in keys.into_iter().zip(labels).enumerate() {
        let row = i + 1;
        let (Some(key), Some(label)) = (key, label) else {
            bail!(
                "{}: row {row}: an empty {} or {SPLIT_FILE_LABEL_COLUMN}",
                path.display(),
                spec.column
            );
        };
        if spec.side(&label).is_none() {
            bail!(
                "{}: row {row}: label `{label}` is in none of columns.split.train, test and \
                 shared (they name {})",
                path.display(),
                spec.train
                    .iter()
                    .chain(&spec.test)
                    .chain(&spec.shared)
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if let Some(first) = map.get(&key) {
            bail!(
                "{}: row {row}: {} `{key}` is listed again (first as `{first}`); each value \
                 needs exactly one label",
                path.display(),
                spec.column
            );
        }
        map.insert(key, label);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpbench_core::Level;
    use polars::prelude::df;
    use std::path::PathBuf;

    fn spec(file: Option<&str>) -> SplitSpec {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        match file {
            None => SplitSpec {
                column: "Metadata_pert".into(),
                train: list(&["a"]),
                test: list(&["b"]),
                shared: list(&["DMSO"]),
                file: None,
                sha256: None,
            },
            Some(f) => SplitSpec {
                column: "Metadata_pert".into(),
                train: list(&["train"]),
                test: list(&["test"]),
                shared: list(&["control"]),
                file: Some(PathBuf::from(f)),
                sha256: None,
            },
        }
    }

    fn profiles() -> Profiles {
        let meta = df!(
            "Metadata_pert" => [Some("a"), Some("b"), Some("DMSO"), Some("z"), None],
            "Metadata_Well" => ["A01", "A02", "A03", "A04", "A05"],
        )
        .unwrap();
        Profiles::new(
            meta,
            vec![1.0, 2.0, 3.0, 4.0, 5.0],
            vec!["f".into()],
            Level::Well,
        )
        .unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cpbench-runner-split-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn rows_get_their_side_by_value_or_by_label_and_plugins_see_only_the_side() {
        use SplitSide::*;
        let by_value = spec(None);
        let split = Split {
            spec: &by_value,
            labels: None,
        };
        let p = profiles();
        let sides = split.sides(&p).unwrap();
        assert_eq!(sides, [Some(Train), Some(Test), Some(Shared), None, None]);
        assert_eq!(
            split.scored_rows(&p).unwrap(),
            [false, true, true, false, false]
        );
        let record = split.record(&sides);
        assert_eq!(
            (
                record.rows.train,
                record.rows.test,
                record.rows.shared,
                record.rows.none
            ),
            (1, 1, 1, 2)
        );
        assert_eq!(record.file, None);

        // The side column carries the side, never the value, and goes again after the plugin.
        let with = split.with_side_column(&p).unwrap();
        let shown: Vec<Option<String>> = with.meta_strings(SIDE_COLUMN).unwrap();
        let shown: Vec<&str> = shown.iter().map(|v| v.as_deref().unwrap()).collect();
        assert_eq!(shown, ["train", "test", "shared", "", ""]);
        assert_eq!(with.features(), p.features());
        let err = split.with_side_column(&with).unwrap_err().to_string();
        assert!(err.contains("cpbench reserves"), "{err}");
        let back = drop_side_column(with).unwrap();
        assert_eq!(back.meta_names(), p.meta_names());

        // Through labels of a file: a value without a label is on no side.
        let by_file = spec(Some("dir/split.csv"));
        let labels = HashMap::from([
            ("a".to_string(), "test".to_string()),
            ("b".to_string(), "train".to_string()),
            ("DMSO".to_string(), "control".to_string()),
        ]);
        let split = Split {
            spec: &by_file,
            labels: Some(labels),
        };
        assert_eq!(
            split.sides(&p).unwrap(),
            [Some(Test), Some(Train), Some(Shared), None, None]
        );
        assert_eq!(
            split.record(&split.sides(&p).unwrap()).file.as_deref(),
            Some("dir/split.csv")
        );

        // A table whose aggregation dropped the split column says so.
        let (meta, features, names, level) = profiles().into_parts();
        let dropped =
            Profiles::new(meta.drop("Metadata_pert").unwrap(), features, names, level).unwrap();
        let err = split.sides(&dropped).unwrap_err().to_string();
        assert!(
            err.contains("the split column Metadata_pert is not in the well-level profiles"),
            "{err}"
        );
    }

    #[test]
    fn a_split_file_maps_each_value_once_to_a_listed_label() {
        let dir = scratch("file");
        let by_file = spec(Some("split.csv"));
        let read = |text: &str| {
            let path = dir.join("split.csv");
            std::fs::write(&path, text).unwrap();
            read_labels(&path, &by_file).map_err(|e| e.to_string())
        };
        let ok = read("Metadata_pert,split\na,train\nb,test\nDMSO,control\n").unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok["DMSO"], "control");
        let err = read("Metadata_pert,split\na,train\nb,holdout\n").unwrap_err();
        assert!(
            err.contains("row 2: label `holdout` is in none of columns.split.train, test and shared (they name `train`, `test`, `control`)"),
            "{err}"
        );
        let err = read("Metadata_pert,split\na,train\na,test\n").unwrap_err();
        assert!(
            err.contains("row 2: Metadata_pert `a` is listed again (first as `train`)"),
            "{err}"
        );
        let err = read("Metadata_pert,side\na,train\n").unwrap_err();
        assert!(err.contains("split"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
