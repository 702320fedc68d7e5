//! Label columns encoded as integer codes, the form every metric takes its metadata in.
//!
//! A single-label column holds one label per row or none (missing: null, NaN or empty text in
//! the source table). A multilabel column holds a set of labels per row (e.g. `Metadata_moa`
//! split on `|`); an empty set is how a missing multilabel value is represented. Codes are
//! assigned in byte order of the label text, so they are stable across row orders.
//! [`GroupKeys`] groups rows by the tuple of their values in one or more such columns (missing
//! is a value of its own), groups again in byte order of the text.

use std::collections::BTreeMap;

use crate::error::MetricError;

/// One metadata column as codes: `codes[i]` is the label of row `i`, `None` when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelColumn {
    /// The column name, for messages.
    pub name: String,
    /// Code of each row's label; `None` for a missing value.
    pub codes: Vec<Option<u32>>,
    /// The label text of each code, in code order (byte order of the text).
    pub labels: Vec<String>,
}

impl LabelColumn {
    /// Encodes a column of optional strings; empty strings count as missing.
    pub fn encode(name: &str, values: &[Option<String>]) -> LabelColumn {
        let mut index: BTreeMap<&str, u32> = BTreeMap::new();
        for v in values.iter().flatten().filter(|v| !v.is_empty()) {
            index.entry(v.as_str()).or_insert(0);
        }
        for (code, slot) in index.values_mut().enumerate() {
            *slot = code as u32;
        }
        let codes = values
            .iter()
            .map(|v| v.as_deref().filter(|v| !v.is_empty()).map(|v| index[v]))
            .collect();
        let labels = index.keys().map(|k| k.to_string()).collect();
        LabelColumn {
            name: name.to_string(),
            codes,
            labels,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// 0-based rows whose label is missing.
    pub fn missing_rows(&self) -> Vec<usize> {
        self.codes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_none())
            .map(|(i, _)| i)
            .collect()
    }
}

/// A multilabel column: each row carries a set of label codes (sorted, no duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiLabelColumn {
    /// The column name, for messages.
    pub name: String,
    /// Sorted, de-duplicated label codes of each row; empty when the value is missing.
    pub sets: Vec<Vec<u32>>,
    /// The label text of each code, in code order (byte order of the text).
    pub labels: Vec<String>,
}

impl MultiLabelColumn {
    /// Splits each value on `sep` (labels are trimmed; empty pieces are dropped) and encodes.
    pub fn encode(name: &str, values: &[Option<String>], sep: &str) -> MultiLabelColumn {
        let split = |v: &str| -> Vec<String> {
            v.split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let pieces: Vec<Vec<String>> = values
            .iter()
            .map(|v| v.as_deref().map(split).unwrap_or_default())
            .collect();
        let mut index: BTreeMap<&str, u32> = BTreeMap::new();
        for p in pieces.iter().flatten() {
            index.entry(p.as_str()).or_insert(0);
        }
        for (code, slot) in index.values_mut().enumerate() {
            *slot = code as u32;
        }
        let sets = pieces
            .iter()
            .map(|p| {
                let mut s: Vec<u32> = p.iter().map(|l| index[l.as_str()]).collect();
                s.sort_unstable();
                s.dedup();
                s
            })
            .collect();
        let labels = index.keys().map(|k| k.to_string()).collect();
        MultiLabelColumn {
            name: name.to_string(),
            sets,
            labels,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Whether rows `i` and `j` share at least one label.
    pub fn share(&self, i: usize, j: usize) -> bool {
        sets_intersect(&self.sets[i], &self.sets[j])
    }
}

/// Whether two sorted label-code sets have a code in common (a linear merge).
pub fn sets_intersect(a: &[u32], b: &[u32]) -> bool {
    let (mut x, mut y) = (0, 0);
    while x < a.len() && y < b.len() {
        match a[x].cmp(&b[y]) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Rows grouped by their values in one or more metadata columns (missing is a value of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKeys {
    /// The columns, in the order given.
    pub columns: Vec<String>,
    /// Group index of each row.
    pub keys: Vec<u32>,
    /// Each group's value in each column (`None` = missing), groups in byte order of the text
    /// (missing first).
    pub values: Vec<Vec<Option<String>>>,
}

impl GroupKeys {
    /// Groups rows by their values in `columns`; errors when no column is given or lengths differ.
    pub fn new(columns: &[&LabelColumn]) -> Result<GroupKeys, MetricError> {
        let Some(first) = columns.first() else {
            return Err(MetricError::InvalidParameter {
                name: "columns",
                value: "[]".to_owned(),
                reason: "group by at least one column".to_owned(),
            });
        };
        let n = first.len();
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(MetricError::ShapeMismatch {
                what: "rows of a grouping column",
                expected: n,
                got: c.len(),
            });
        }
        // Codes follow the byte order of the text and None sorts first, so the map's order is
        // the groups' order.
        let mut index: BTreeMap<Vec<Option<u32>>, u32> = BTreeMap::new();
        let tuples: Vec<Vec<Option<u32>>> = (0..n)
            .map(|i| columns.iter().map(|c| c.codes[i]).collect())
            .collect();
        for t in &tuples {
            index.entry(t.clone()).or_insert(0);
        }
        for (g, slot) in index.values_mut().enumerate() {
            *slot = g as u32;
        }
        let values = index
            .keys()
            .map(|t| {
                t.iter()
                    .zip(columns)
                    .map(|(code, c)| code.map(|k| c.labels[k as usize].clone()))
                    .collect()
            })
            .collect();
        Ok(GroupKeys {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            keys: tuples.iter().map(|t| index[t]).collect(),
            values,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of groups.
    pub fn n_groups(&self) -> usize {
        self.values.len()
    }

    /// Rows of each group, in row order.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut m = vec![Vec::new(); self.n_groups()];
        for (i, &k) in self.keys.iter().enumerate() {
            m[k as usize].push(i);
        }
        m
    }

    /// The group's values joined for messages, e.g. `BRD-K1, 0.3` (missing shown as `NA`).
    pub fn describe(&self, group: u32) -> String {
        self.values[group as usize]
            .iter()
            .map(|v| v.as_deref().unwrap_or("NA"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_string)).collect()
    }

    #[test]
    fn codes_follow_byte_order_and_missing_is_none() {
        let c = LabelColumn::encode("m", &s(&[Some("b"), Some("a"), None, Some(""), Some("b")]));
        assert_eq!(c.labels, ["a", "b"]);
        assert_eq!(c.codes, [Some(1), Some(0), None, None, Some(1)]);
        assert_eq!(c.missing_rows(), [2, 3]);
    }

    #[test]
    fn multilabel_sets_are_sorted_and_shared_labels_found() {
        let c =
            MultiLabelColumn::encode("moa", &s(&[Some("b|a"), Some("a|a"), None, Some("c")]), "|");
        assert_eq!(c.labels, ["a", "b", "c"]);
        assert_eq!(c.sets, [vec![0, 1], vec![0], vec![], vec![2]]);
        assert!(c.share(0, 1));
        assert!(!c.share(0, 3));
        assert!(!c.share(2, 2));
    }

    #[test]
    fn group_keys_treat_missing_as_a_value() {
        let a = LabelColumn::encode("a", &s(&[Some("x"), None, Some("x"), None, Some("y")]));
        let b = LabelColumn::encode("b", &s(&[Some("1"), Some("1"), Some("1"), Some("1"), None]));
        let g = GroupKeys::new(&[&a, &b]).unwrap();
        // Groups: (NA,1), (x,1), (y,NA) in byte order, missing first.
        assert_eq!(g.keys, [1, 0, 1, 0, 2]);
        assert_eq!(g.describe(0), "NA, 1");
        assert_eq!(g.describe(2), "y, NA");
        assert_eq!(g.members(), vec![vec![1, 3], vec![0, 2], vec![4]]);
        assert!(GroupKeys::new(&[]).is_err());
        let short = LabelColumn::encode("c", &s(&[Some("x")]));
        assert!(GroupKeys::new(&[&a, &short]).is_err());
    }
}
