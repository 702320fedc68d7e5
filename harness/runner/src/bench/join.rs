//! `[[data.join]]`: metadata tables joined into the profile table's metadata on load.
//!
//! Contract: a left join on the `on` columns, compared as text (so a plate named `1053601756`
//! matches whether a reader took it for a number or not). Every profile row keeps its place;
//! it gains the table's `columns` (as text) from the row with the same key, or missing values
//! when there is none (a key with a missing part matches nothing). A key that appears twice in the table is an error naming the file, the
//! two lines and the key: the join would otherwise have to pick one row or multiply profiles.
//! A column the profiles already have is *checked* instead of added: wherever both tables
//! hold a value they must agree (e.g. a profile file's perturbation ids against the
//! consortium's well layout), else the error names the profile row, the key and both values.

use std::collections::HashMap;
use std::path::Path;

use cpbench_core::manifest::JoinTable;
use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};

use crate::error::{Context, Result};
use crate::{bail, err};

/// The text values of `name` in `df`, or an error naming `what` and the columns it has.
fn text(df: &DataFrame, name: &str, what: &str) -> Result<Vec<Option<String>>> {
    let col = df.column(name).map_err(|_| {
        let have: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        err!(
            "{what} has no column `{name}` (columns: {})",
            have.join(", ")
        )
    })?;
    let cast = col
        .as_materialized_series()
        .cast(&DataType::String)
        .with_context(|| format!("{what}: column `{name}` as text"))?;
    Ok(cast
        .str()
        .with_context(|| format!("{what}: column `{name}` as text"))?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect())
}

/// Adds `spec.columns` of the table at `path` to `meta` (the profiles' metadata, named
/// `profiles` in messages), matched on `spec.on`; returns how many profile rows found no match.
pub fn join_metadata(
    meta: &mut DataFrame,
    profiles: &str,
    spec: &JoinTable,
    path: &Path,
) -> Result<usize> {
    let file = path.display().to_string();
    let table = cpbench_core::io::read_table(path)?;
    let table_keys: Vec<Vec<Option<String>>> = spec
        .on
        .iter()
        .map(|k| text(&table, k, &file))
        .collect::<Result<_>>()?;
    let mut index: HashMap<Vec<Option<String>>, usize> = HashMap::with_capacity(table.height());
    for row in 0..table.height() {
        let key: Vec<Option<String>> = table_keys.iter().map(|c| c[row].clone()).collect();
        // A missing key part matches nothing, as in any left join.
        if key.iter().any(Option::is_none) {
            continue;
        }
        if let Some(first) = index.insert(key.clone(), row) {
            // Lines are 1-based and the header is line 1 (for delimited files).
            bail!(
                "{file}: key {} appears on lines {} and {}: a joined table needs one row per key \
                 ({})",
                show_key(&spec.on, &key),
                first + 2,
                row + 2,
                spec.on.join(", ")
            );
        }
    }
    let profile_keys: Vec<Vec<Option<String>>> = spec
        .on
        .iter()
        .map(|k| text(meta, k, profiles))
        .collect::<Result<_>>()?;
    let rows: Vec<Option<usize>> = (0..meta.height())
        .map(|r| {
            let key: Vec<Option<String>> = profile_keys.iter().map(|c| c[r].clone()).collect();
            if key.iter().any(Option::is_none) {
                return None;
            }
            index.get(&key).copied()
        })
        .collect();
    let unmatched = rows.iter().filter(|r| r.is_none()).count();
    for c in &spec.columns {
        let values = text(&table, c, &file)?;
        let joined: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.and_then(|r| values[r].as_deref()))
            .collect();
        if meta.column(c).is_ok() {
            let have = text(meta, c, profiles)?;
            for (row, (mine, theirs)) in have.iter().zip(&joined).enumerate() {
                if let (Some(mine), Some(theirs)) = (mine.as_deref(), theirs)
                    && mine != *theirs
                {
                    let key: Vec<Option<String>> =
                        profile_keys.iter().map(|k| k[row].clone()).collect();
                    bail!(
                        "{profiles}: row {} ({}) has {c} = `{mine}`, but {file} says `{theirs}`",
                        row + 1,
                        show_key(&spec.on, &key)
                    );
                }
            }
            continue;
        }
        meta.with_column(Column::from(Series::new(c.as_str().into(), joined)))
            .with_context(|| format!("{file}: adding column `{c}`"))?;
    }
    Ok(unmatched)
}

fn show_key(on: &[String], key: &[Option<String>]) -> String {
    on.iter()
        .zip(key)
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("<missing>")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::df;
    use std::path::PathBuf;

    fn spec(path: &str) -> JoinTable {
        JoinTable {
            path: PathBuf::from(path).into(),
            sha256: None,
            on: vec!["Metadata_JCP2022".into()],
            columns: vec!["Metadata_Symbol".into()],
        }
    }

    /// Joins the CSV `table` (as orf.csv) into `meta` with [`spec`].
    fn join(table: &str, meta: &mut DataFrame) -> Result<usize> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orf.csv");
        std::fs::write(&path, table).unwrap();
        join_metadata(meta, "p", &spec(path.to_str().unwrap()), &path)
    }

    fn symbols(meta: &DataFrame) -> Vec<Option<String>> {
        let col = meta
            .column("Metadata_Symbol")
            .unwrap()
            .str()
            .unwrap()
            .clone();
        col.iter().map(|v| v.map(str::to_owned)).collect()
    }

    fn some(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_owned)).collect()
    }

    #[test]
    fn left_join_keeps_rows_and_order() {
        let mut meta = df!("Metadata_JCP2022" => ["J1", "J2", "J3", "J1"]).unwrap();
        let table = "Metadata_JCP2022,Metadata_Symbol\nJ2,TP53\nJ1,NAT1\nJ9,UNUSED\n";
        assert_eq!(join(table, &mut meta).unwrap(), 1);
        assert_eq!(
            symbols(&meta),
            some(&[Some("NAT1"), Some("TP53"), None, Some("NAT1")])
        );
    }

    #[test]
    fn an_existing_column_is_checked_not_added() {
        let table = "Metadata_JCP2022,Metadata_Symbol\nJ1,NAT1\nJ2,TP53\n";
        let mut meta = df!(
            "Metadata_JCP2022" => ["J1", "J2"],
            "Metadata_Symbol" => [Some("NAT1"), None]
        )
        .unwrap();
        join(table, &mut meta).unwrap();
        assert_eq!(meta.width(), 2);
        assert_eq!(symbols(&meta), some(&[Some("NAT1"), None]));
        let mut meta = df!(
            "Metadata_JCP2022" => ["J1", "J2"],
            "Metadata_Symbol" => ["NAT1", "AANAT"]
        )
        .unwrap();
        let e = join(table, &mut meta).unwrap_err().chain();
        assert!(
            e.contains("row 2 (Metadata_JCP2022=J2) has Metadata_Symbol = `AANAT`, but"),
            "{e}"
        );
        assert!(e.contains("says `TP53`"), "{e}");
    }

    #[test]
    fn missing_keys_match_nothing() {
        // Two rows without a key are not a repeated key, and match no profile without one.
        let mut meta = df!("Metadata_JCP2022" => [None, Some("J1")]).unwrap();
        let table = "Metadata_JCP2022,Metadata_Symbol\n,A\n,B\nJ1,NAT1\n";
        assert_eq!(join(table, &mut meta).unwrap(), 1);
        assert_eq!(symbols(&meta), some(&[None, Some("NAT1")]));
    }

    #[test]
    fn repeated_key_is_refused_with_both_lines() {
        let mut meta = df!("Metadata_JCP2022" => ["J1"]).unwrap();
        let table = "Metadata_JCP2022,Metadata_Symbol\nJ1,A\nJ2,B\nJ1,C\n";
        let e = join(table, &mut meta).unwrap_err().chain();
        assert!(
            e.contains("Metadata_JCP2022=J1 appears on lines 2 and 4"),
            "{e}"
        );
    }
}
