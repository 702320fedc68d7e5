//! copairs' pair rules: which pairs of profiles are positives and which are negatives.
//!
//! A rule is a `sameby` list and a `diffby` list of label columns. A pair satisfies it when the
//! two rows are equal on **every** `sameby` column and different on **every** `diffby` column
//! (copairs 0.5.5 "all" semantics; SEMANTICS.md §2). Positive pairs satisfy
//! (`pos_sameby`, `pos_diffby`), negative pairs (`neg_sameby`, `neg_diffby`); the two sets are
//! independent, so one pair may be both (§8).
//!
//! A multilabel column holds a set of labels per row. In `pos_sameby` it makes a pair positive
//! *for label ℓ* when both rows carry ℓ; in `neg_diffby` a pair is negative when the rows share
//! no label; in `neg_sameby` when they share at least one (§18).
//!
//! Missing labels: copairs raises on any missing value in a rule column (§2). cpbench does the
//! same, with an error naming the column and the first 0-based row. For a multilabel column an
//! empty set is not missing: it is copairs' empty list, which shares no label with anything. A
//! caller that wants missing multilabel values rejected must check its raw values (the CLI does).

use crate::labels::{LabelColumn, MultiLabelColumn};

/// Name of the column [`assign_reference_index`] is conventionally stored under (copairs' tutorial).
pub const REFERENCE_COLUMN: &str = "Metadata_Reference";

/// One encoded metadata column as the pair rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairColumn {
    /// One label per row.
    Single(LabelColumn),
    /// A set of labels per row (e.g. `Metadata_moa` split on `|`).
    Multi(MultiLabelColumn),
}

impl PairColumn {
    /// The column name, for messages.
    pub fn name(&self) -> &str {
        match self {
            PairColumn::Single(c) => &c.name,
            PairColumn::Multi(c) => &c.name,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            PairColumn::Single(c) => c.len(),
            PairColumn::Multi(c) => c.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// copairs' four rule lists, as indices into a list of [`PairColumn`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairRules {
    /// Positives are equal on every one of these columns.
    pub pos_sameby: Vec<usize>,
    /// Positives differ on every one of these columns.
    pub pos_diffby: Vec<usize>,
    /// Negatives are equal on every one of these columns.
    pub neg_sameby: Vec<usize>,
    /// Negatives differ on every one of these columns.
    pub neg_diffby: Vec<usize>,
}

/// Which of the two rules an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `pos_sameby` / `pos_diffby`.
    Positive,
    /// `neg_sameby` / `neg_diffby`.
    Negative,
}

impl RuleKind {
    fn prefix(self) -> &'static str {
        match self {
            RuleKind::Positive => "pos",
            RuleKind::Negative => "neg",
        }
    }
}

impl std::fmt::Display for RuleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prefix())
    }
}

/// A pair rule that cannot be applied to the given columns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Both lists of one rule are empty (copairs: "at least one should be provided").
    #[error("{rule}_sameby and {rule}_diffby are both empty: name at least one column")]
    EmptyRule {
        /// The rule.
        rule: RuleKind,
    },
    /// A column is in the `sameby` and the `diffby` list of the same rule (copairs: "must be disjoint").
    #[error("column {column} is in both {rule}_sameby and {rule}_diffby: no pair can satisfy that")]
    SameAndDiff {
        /// The rule.
        rule: RuleKind,
        /// The column name.
        column: String,
    },
    /// A rule names a column index that the column list does not have.
    #[error("{rule} rule names column index {index}, but only {len} label columns were given")]
    UnknownColumn {
        /// The rule.
        rule: RuleKind,
        /// The index.
        index: usize,
        /// Number of columns given.
        len: usize,
    },
    /// A label column has a different number of rows than the profiles.
    #[error("label column {column} has {got} rows, but there are {expected} profiles")]
    LengthMismatch {
        /// The column name.
        column: String,
        /// Rows of the profiles.
        expected: usize,
        /// Rows of the column.
        got: usize,
    },
    /// A rule column has a missing value (copairs raises "metadata columns should not have null values").
    #[error(
        "column {column} has a missing value at row {row} (0-based; {count} missing in all): \
         copairs refuses missing labels in rule columns; drop those rows first"
    )]
    MissingLabel {
        /// The column name.
        column: String,
        /// First 0-based row with a missing value.
        row: usize,
        /// How many rows are missing a value.
        count: usize,
    },
    /// More than one multilabel column is used by the rules.
    #[error(
        "columns {first} and {second} are both multilabel; at most one is supported (as in copairs)"
    )]
    TwoMultilabel {
        /// The first multilabel column.
        first: String,
        /// The second.
        second: String,
    },
    /// The multilabel column is used, but not in `pos_sameby` or it is in `pos_diffby`.
    #[error(
        "multilabel column {column} must be in pos_sameby (a query is scored per label it shares \
         with its positives) and not in pos_diffby"
    )]
    MultilabelPlacement {
        /// The column name.
        column: String,
    },
    /// More rows than the 32-bit row indices used internally can address.
    #[error("{n} rows is more than the supported maximum of {max}")]
    TooManyRows {
        /// Rows given.
        n: usize,
        /// The maximum.
        max: usize,
    },
}

/// Rows that satisfy `condition` get reference ids equal to their 0-based row index; all other
/// rows get `-1`. Encoded as a label column named `name`.
///
/// This is copairs' `assign_reference_index`. Adding the column to `pos_sameby` and
/// `neg_diffby` scores every other row against the matching rows (the controls) only: each
/// control has a unique id, so controls are never positives of each other, and all other rows
/// share `-1`, so they are never negatives of each other (SEMANTICS.md §9).
pub fn assign_reference_index(name: &str, condition: &[bool]) -> LabelColumn {
    let values: Vec<Option<String>> = condition
        .iter()
        .enumerate()
        .map(|(i, &hit)| Some(if hit { i.to_string() } else { "-1".to_owned() }))
        .collect();
    LabelColumn::encode(name, &values)
}

/// One condition of a compiled rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cond {
    /// Index into [`CompiledRules::columns`].
    pub col: usize,
    /// `true` for sameby, `false` for diffby.
    pub same: bool,
}

/// A label column in the form candidate enumeration needs.
#[derive(Debug)]
pub(crate) enum Indexed {
    /// `codes[i]` and the rows of each code, ascending (CSR).
    Single {
        codes: Vec<u32>,
        offsets: Vec<u32>,
        members: Vec<u32>,
    },
    /// Label sets (sorted) and the rows carrying each label, ascending (CSR).
    Multi {
        sets: Vec<Vec<u32>>,
        offsets: Vec<u32>,
        members: Vec<u32>,
    },
}

impl Indexed {
    fn single(c: &LabelColumn) -> Indexed {
        let codes: Vec<u32> = c.codes.iter().map(|v| v.expect("validated")).collect();
        let (offsets, members) = csr(
            c.labels.len(),
            codes.iter().enumerate().map(|(i, &k)| (k, i)),
        );
        Indexed::Single {
            codes,
            offsets,
            members,
        }
    }

    fn multi(c: &MultiLabelColumn) -> Indexed {
        let pairs = c
            .sets
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |&k| (k, i)));
        let (offsets, members) = csr(c.labels.len(), pairs);
        Indexed::Multi {
            sets: c.sets.clone(),
            offsets,
            members,
        }
    }

    /// Rows carrying label `k`, ascending.
    pub fn group(&self, k: u32) -> &[u32] {
        let (offsets, members) = match self {
            Indexed::Single {
                offsets, members, ..
            }
            | Indexed::Multi {
                offsets, members, ..
            } => (offsets, members),
        };
        &members[offsets[k as usize] as usize..offsets[k as usize + 1] as usize]
    }

    /// Number of distinct labels.
    pub fn n_labels(&self) -> usize {
        match self {
            Indexed::Single { offsets, .. } | Indexed::Multi { offsets, .. } => offsets.len() - 1,
        }
    }
}

/// Counting sort of `(key, row)` pairs into offsets and rows; rows stay ascending per key.
fn csr(n_keys: usize, pairs: impl Iterator<Item = (u32, usize)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; n_keys + 1];
    for (k, _) in pairs.clone() {
        offsets[k as usize + 1] += 1;
    }
    for k in 0..n_keys {
        offsets[k + 1] += offsets[k];
    }
    let mut fill = offsets.clone();
    let mut members = vec![0u32; offsets[n_keys] as usize];
    for (k, i) in pairs {
        members[fill[k as usize] as usize] = i as u32;
        fill[k as usize] += 1;
    }
    (offsets, members)
}

/// Validated rules over indexed columns, ready for per-query candidate enumeration.
#[derive(Debug)]
pub(crate) struct CompiledRules {
    /// Number of rows.
    pub n: usize,
    /// The columns the rules use, indexed.
    pub columns: Vec<Indexed>,
    /// Conditions of the positive rule.
    pub pos: Vec<Cond>,
    /// Conditions of the negative rule.
    pub neg: Vec<Cond>,
    /// Position in `columns` of the multilabel column, when `pos_sameby` has one.
    pub multi: Option<usize>,
}

impl PairRules {
    /// Checks the rules against `columns` for `n` rows, as copairs does before pairing.
    ///
    /// Errors: empty rule, a column in both lists of a rule, an unknown index, a column of the
    /// wrong length, a missing label in a used single-label column, two multilabel columns, or a
    /// multilabel column outside `pos_sameby` (or inside `pos_diffby`).
    pub fn validate(&self, columns: &[PairColumn], n: usize) -> Result<(), RuleError> {
        self.compile(columns, n).map(|_| ())
    }

    /// Validates and indexes the used columns.
    pub(crate) fn compile(
        &self,
        columns: &[PairColumn],
        n: usize,
    ) -> Result<CompiledRules, RuleError> {
        if n > u32::MAX as usize {
            return Err(RuleError::TooManyRows {
                n,
                max: u32::MAX as usize,
            });
        }
        let rules = [
            (RuleKind::Positive, &self.pos_sameby, &self.pos_diffby),
            (RuleKind::Negative, &self.neg_sameby, &self.neg_diffby),
        ];
        for (rule, same, diff) in rules {
            if same.is_empty() && diff.is_empty() {
                return Err(RuleError::EmptyRule { rule });
            }
            for &index in same.iter().chain(diff) {
                if index >= columns.len() {
                    return Err(RuleError::UnknownColumn {
                        rule,
                        index,
                        len: columns.len(),
                    });
                }
            }
            if let Some(&c) = same.iter().find(|c| diff.contains(c)) {
                return Err(RuleError::SameAndDiff {
                    rule,
                    column: columns[c].name().to_owned(),
                });
            }
        }

        // The used columns, in first-mention order, each indexed once.
        let mut used: Vec<usize> = Vec::new();
        for lists in [
            &self.pos_sameby,
            &self.pos_diffby,
            &self.neg_sameby,
            &self.neg_diffby,
        ] {
            for &c in lists.iter() {
                if !used.contains(&c) {
                    used.push(c);
                }
            }
        }
        let mut multi_col: Option<usize> = None;
        for &c in &used {
            let col = &columns[c];
            if col.len() != n {
                return Err(RuleError::LengthMismatch {
                    column: col.name().to_owned(),
                    expected: n,
                    got: col.len(),
                });
            }
            match col {
                PairColumn::Single(s) => {
                    let missing = s.codes.iter().filter(|v| v.is_none()).count();
                    if let Some(row) = s.codes.iter().position(Option::is_none) {
                        return Err(RuleError::MissingLabel {
                            column: s.name.clone(),
                            row,
                            count: missing,
                        });
                    }
                }
                PairColumn::Multi(m) => {
                    if let Some(first) = multi_col {
                        return Err(RuleError::TwoMultilabel {
                            first: columns[first].name().to_owned(),
                            second: m.name.clone(),
                        });
                    }
                    if !self.pos_sameby.contains(&c) || self.pos_diffby.contains(&c) {
                        return Err(RuleError::MultilabelPlacement {
                            column: m.name.clone(),
                        });
                    }
                    multi_col = Some(c);
                }
            }
        }

        let slot = |c: usize| used.iter().position(|&u| u == c).expect("used");
        let conds = |same: &[usize], diff: &[usize]| -> Vec<Cond> {
            let mut out: Vec<Cond> = Vec::new();
            for (list, is_same) in [(same, true), (diff, false)] {
                for &c in list {
                    let col = slot(c);
                    // Repeating a column in one list changes nothing.
                    if !out.iter().any(|k| k.col == col && k.same == is_same) {
                        out.push(Cond { col, same: is_same });
                    }
                }
            }
            out
        };
        Ok(CompiledRules {
            n,
            columns: used
                .iter()
                .map(|&c| match &columns[c] {
                    PairColumn::Single(s) => Indexed::single(s),
                    PairColumn::Multi(m) => Indexed::multi(m),
                })
                .collect(),
            pos: conds(&self.pos_sameby, &self.pos_diffby),
            neg: conds(&self.neg_sameby, &self.neg_diffby),
            multi: multi_col.map(slot),
        })
    }
}

/// Where candidates of one query under one rule come from.
enum Source<'a> {
    /// These rows (a group of a sameby column).
    Rows(&'a [u32]),
    /// Every group of a single-label column except `own`.
    OtherGroups(&'a Indexed, u32),
    /// Every row.
    All,
}

impl CompiledRules {
    /// Whether rows `i` and `j` satisfy `conds`; `label` restricts a multilabel sameby to one label.
    #[inline]
    fn holds(&self, conds: &[Cond], i: usize, j: usize, label: Option<u32>) -> bool {
        conds.iter().all(|c| match &self.columns[c.col] {
            Indexed::Single { codes, .. } => (codes[i] == codes[j]) == c.same,
            Indexed::Multi { sets, .. } => match (c.same, label) {
                (true, Some(l)) => sets[j].binary_search(&l).is_ok(),
                (same, _) => crate::labels::sets_intersect(&sets[i], &sets[j]) == same,
            },
        })
    }

    /// Appends to `out` every row `j ≠ i` that forms a pair with `i` under `conds`, ascending
    /// within each enumerated group. `label` (multilabel positives) means: both carry `label`.
    ///
    /// Candidates come from the cheapest condition: the query's own group of a sameby column,
    /// or the other groups of the diffby column in which the query's group is largest (with
    /// the reference trick, that is the controls for a treated query). Every condition is then
    /// checked on each candidate.
    pub fn candidates(&self, conds: &[Cond], i: usize, label: Option<u32>, out: &mut Vec<u32>) {
        let mut best = (self.n, Source::All);
        for c in conds {
            let col = &self.columns[c.col];
            let option = match (col, c.same) {
                (Indexed::Single { codes, .. }, true) => {
                    let g = col.group(codes[i]);
                    (g.len(), Source::Rows(g))
                }
                (Indexed::Single { codes, .. }, false) => {
                    // Walking the other groups also costs one step per group.
                    let own = codes[i];
                    (
                        self.n - col.group(own).len() + col.n_labels(),
                        Source::OtherGroups(col, own),
                    )
                }
                (Indexed::Multi { .. }, true) => match label {
                    Some(l) => {
                        let g = col.group(l);
                        (g.len(), Source::Rows(g))
                    }
                    None => continue,
                },
                (Indexed::Multi { .. }, false) => continue,
            };
            if option.0 < best.0 {
                best = option;
            }
        }
        let mut push = |j: usize| {
            if j != i && self.holds(conds, i, j, label) {
                out.push(j as u32);
            }
        };
        match best.1 {
            Source::Rows(rows) => rows.iter().for_each(|&j| push(j as usize)),
            Source::OtherGroups(col, own) => {
                for k in (0..col.n_labels() as u32).filter(|&k| k != own) {
                    col.group(k).iter().for_each(|&j| push(j as usize));
                }
            }
            Source::All => (0..self.n).for_each(push),
        }
    }

    /// Label sets of the multilabel column, when there is one.
    pub fn multilabel_sets(&self) -> Option<&[Vec<u32>]> {
        self.multi.map(|m| match &self.columns[m] {
            Indexed::Multi { sets, .. } => sets.as_slice(),
            Indexed::Single { .. } => unreachable!("multi points at a multilabel column"),
        })
    }

    /// The single-label column of `pos_sameby` with the fewest same-label pairs (copairs' own
    /// selectivity order), for clustering queries whose positives overlap.
    pub fn most_selective_pos_codes(&self) -> Option<&[u32]> {
        self.pos
            .iter()
            .filter(|c| c.same)
            .filter_map(|c| match &self.columns[c.col] {
                Indexed::Single { codes, offsets, .. } => {
                    let pairs: u64 = offsets
                        .windows(2)
                        .map(|w| {
                            let s = u64::from(w[1] - w[0]);
                            s * s.saturating_sub(1) / 2
                        })
                        .sum();
                    Some((pairs, codes.as_slice()))
                }
                Indexed::Multi { .. } => None,
            })
            .min_by_key(|(pairs, _)| *pairs)
            .map(|(_, codes)| codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(name: &str, v: &[&str]) -> PairColumn {
        let values: Vec<Option<String>> = v
            .iter()
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .collect();
        PairColumn::Single(LabelColumn::encode(name, &values))
    }

    fn multi(name: &str, v: &[&str]) -> PairColumn {
        let values: Vec<Option<String>> = v.iter().map(|s| Some(s.to_string())).collect();
        PairColumn::Multi(MultiLabelColumn::encode(name, &values, "|"))
    }

    fn rules(ps: &[usize], pd: &[usize], ns: &[usize], nd: &[usize]) -> PairRules {
        PairRules {
            pos_sameby: ps.to_vec(),
            pos_diffby: pd.to_vec(),
            neg_sameby: ns.to_vec(),
            neg_diffby: nd.to_vec(),
        }
    }

    /// Candidates of every row under the positive and the negative rule, sorted.
    fn all_candidates(c: &CompiledRules, label: Option<u32>) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let run = |conds: &[Cond], label| {
            (0..c.n)
                .map(|i| {
                    let mut v = Vec::new();
                    c.candidates(conds, i, label, &mut v);
                    v.sort_unstable();
                    v
                })
                .collect()
        };
        (run(&c.pos, label), run(&c.neg, None))
    }

    #[test]
    fn same_and_diff_mean_all_columns() {
        // cpd:   a a a b b c
        // plate: 1 2 1 1 2 2
        let cols = vec![
            single("cpd", &["a", "a", "a", "b", "b", "c"]),
            single("plate", &["1", "2", "1", "1", "2", "2"]),
        ];
        // Positives: same cpd, different plate. Negatives: differ in cpd AND plate.
        let c = rules(&[0], &[1], &[], &[0, 1]).compile(&cols, 6).unwrap();
        let (pos, neg) = all_candidates(&c, None);
        assert_eq!(
            pos,
            vec![vec![1], vec![0, 2], vec![1], vec![4], vec![3], vec![]]
        );
        assert_eq!(
            neg,
            vec![
                vec![4, 5],
                vec![3],
                vec![4, 5],
                vec![1, 5],
                vec![0, 2],
                vec![0, 2, 3]
            ]
        );
    }

    #[test]
    fn reference_trick_scores_against_controls_only() {
        let cpd = ["x", "DMSO", "x", "y", "DMSO", "y", "DMSO"];
        let mask: Vec<bool> = cpd.iter().map(|&c| c == "DMSO").collect();
        let reference = assign_reference_index(REFERENCE_COLUMN, &mask);
        let texts: Vec<&str> = reference
            .codes
            .iter()
            .map(|k| reference.labels[k.unwrap() as usize].as_str())
            .collect();
        assert_eq!(texts, ["-1", "1", "-1", "-1", "4", "-1", "6"]);
        let cols = vec![single("cpd", &cpd), PairColumn::Single(reference)];
        let c = rules(&[0, 1], &[], &[], &[0, 1]).compile(&cols, 7).unwrap();
        let (pos, neg) = all_candidates(&c, None);
        assert_eq!(
            pos,
            vec![vec![2], vec![], vec![0], vec![5], vec![], vec![3], vec![]]
        );
        let controls = vec![1, 4, 6];
        let treated = vec![0, 2, 3, 5];
        for i in 0..7 {
            let want = if mask[i] { &treated } else { &controls };
            assert_eq!(&neg[i], want, "row {i}");
        }
    }

    #[test]
    fn multilabel_positives_per_label_and_negatives_share_nothing() {
        let cols = vec![
            multi("moa", &["A", "A|B", "B", "C", "", "B|A"]),
            single("cpd", &["1", "2", "3", "4", "5", "2"]),
        ];
        let c = rules(&[0], &[1], &[], &[0]).compile(&cols, 6).unwrap();
        assert_eq!(c.multi, Some(0));
        // Label codes: A = 0, B = 1, C = 2.
        let (pos_a, neg) = all_candidates(&c, Some(0));
        assert_eq!(pos_a[0], vec![1, 5]);
        assert_eq!(pos_a[1], vec![0], "row 5 has the same compound");
        let (pos_b, _) = all_candidates(&c, Some(1));
        assert_eq!(pos_b[1], vec![2]);
        assert_eq!(pos_b[5], vec![2]);
        assert_eq!(neg[0], vec![2, 3, 4]);
        assert_eq!(neg[1], vec![3, 4]);
        assert_eq!(neg[4], vec![0, 1, 2, 3, 5], "an empty set shares no label");
        // neg_sameby on the multilabel column: share at least one label.
        let c = rules(&[0], &[], &[0], &[1]).compile(&cols, 6).unwrap();
        let (_, neg) = all_candidates(&c, None);
        assert_eq!(neg[1], vec![0, 2]);
    }

    #[test]
    fn validation_errors_like_copairs() {
        let cols = vec![
            single("a", &["x", "y", "x"]),
            single("b", &["1", "", ""]),
            multi("m", &["A", "B", "A"]),
            multi("m2", &["A", "B", "A"]),
        ];
        let err = rules(&[], &[], &[], &[0]).validate(&cols, 3).unwrap_err();
        assert_eq!(
            err,
            RuleError::EmptyRule {
                rule: RuleKind::Positive
            }
        );
        assert_eq!(
            err.to_string(),
            "pos_sameby and pos_diffby are both empty: name at least one column"
        );
        let err = rules(&[0], &[], &[0], &[0]).validate(&cols, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column a is in both neg_sameby and neg_diffby: no pair can satisfy that"
        );
        let err = rules(&[0], &[], &[], &[9]).validate(&cols, 3).unwrap_err();
        assert!(matches!(
            err,
            RuleError::UnknownColumn {
                index: 9,
                len: 4,
                ..
            }
        ));
        let err = rules(&[0], &[], &[], &[1]).validate(&cols, 3).unwrap_err();
        assert_eq!(
            err,
            RuleError::MissingLabel {
                column: "b".into(),
                row: 1,
                count: 2
            }
        );
        assert!(
            err.to_string()
                .starts_with("column b has a missing value at row 1 (0-based; 2 missing in all)")
        );
        let err = rules(&[0], &[], &[], &[0]).validate(&cols, 4).unwrap_err();
        assert!(matches!(
            err,
            RuleError::LengthMismatch {
                expected: 4,
                got: 3,
                ..
            }
        ));
        let err = rules(&[2, 3], &[], &[], &[0])
            .validate(&cols, 3)
            .unwrap_err();
        assert!(matches!(err, RuleError::TwoMultilabel { .. }));
        let err = rules(&[0], &[], &[], &[2]).validate(&cols, 3).unwrap_err();
        assert_eq!(err, RuleError::MultilabelPlacement { column: "m".into() });
        let err = rules(&[2], &[2], &[], &[0]).validate(&cols, 3).unwrap_err();
        assert!(matches!(
            err,
            RuleError::SameAndDiff {
                rule: RuleKind::Positive,
                ..
            }
        ));
        // An unused column may have missing values, as in copairs.
        assert!(rules(&[0], &[], &[], &[0]).validate(&cols, 3).is_ok());
        // Repeating a column is harmless.
        let c = rules(&[0, 0], &[], &[], &[0, 0]).compile(&cols, 3).unwrap();
        assert_eq!((c.pos.len(), c.neg.len()), (1, 1));
    }

    #[test]
    fn diffby_only_rules_enumerate_the_complement() {
        let cols = vec![single("plate", &["1", "1", "2", "3", "2"])];
        let c = rules(&[], &[0], &[0], &[]).compile(&cols, 5).unwrap();
        let (pos, neg) = all_candidates(&c, None);
        assert_eq!(pos[0], vec![2, 3, 4]);
        assert_eq!(pos[2], vec![0, 1, 3]);
        assert_eq!(neg[4], vec![2]);
    }

    #[test]
    fn most_selective_column_follows_pair_counts() {
        let cols = vec![
            single("ref", &["-1", "-1", "-1", "-1", "3", "4"]),
            single("cpd", &["a", "a", "b", "b", "c", "c"]),
        ];
        let c = rules(&[0, 1], &[], &[], &[0, 1]).compile(&cols, 6).unwrap();
        let codes = c.most_selective_pos_codes().unwrap();
        assert_eq!(codes, &[0, 0, 1, 1, 2, 2]);
    }
}
