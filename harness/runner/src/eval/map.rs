//! Average precision per profile and mAP per group with p-values, with copairs 0.5.5's pair
//! rules (`tests/fixtures/copairs/SEMANTICS.md`).
//!
//! Tables of [`Output`] (as `cpbench eval map` writes them):
//! - `ap`: the input metadata columns + `average_precision, n_pos_pairs, n_total_pairs`, one
//!   row per profile in input order (multilabel: one row per profile and label with a positive,
//!   the multilabel column holding that label);
//! - `map`: the grouping columns + `n_members, mean_average_precision, p_value,
//!   corrected_p_value, below_p, below_corrected_p, p_value_method`, groups in sorted key order.
//!
//! Missing labels in a rule column are an error naming the column and the first row, as
//! copairs refuses them; `drop_missing` drops those rows instead and says how many.

use std::collections::BTreeMap;

use cpbench_core::Profiles;
use cpbench_core::filter::RowFilter;
use cpbench_metrics::retrieval::map::{
    GroupMap, MapParams, fraction_retrieved, mean_average_precision,
};
use cpbench_metrics::retrieval::null::{NullMode, PValueMethod};
use cpbench_metrics::retrieval::rules::REFERENCE_COLUMN;
use cpbench_metrics::retrieval::{
    ApError, ApOptions, ApShard, ApTable, PairColumn, PairRules, RuleError, Shard,
    assign_reference_index, average_precision_shard, merge_ap_shards,
};
use cpbench_metrics::{LabelColumn, MetricError, MultiLabelColumn, Similarity};
use polars::prelude::*;

use crate::error::{Context, Error, Result};
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, matrix, row_note};
use crate::{bail, err};

/// Parameters of average precision and mAP.
#[derive(Debug, Clone)]
pub struct Params {
    /// Positive pairs are equal on every one of these columns.
    pub pos_sameby: Vec<String>,
    /// Positive pairs differ on every one of these columns.
    pub pos_diffby: Vec<String>,
    /// Negative pairs are equal on every one of these columns.
    pub neg_sameby: Vec<String>,
    /// Negative pairs differ on every one of these columns.
    pub neg_diffby: Vec<String>,
    /// Score against the rows matching this filter only, as copairs' assign_reference_index:
    /// a reference column joins pos_sameby and neg_diffby.
    pub reference: Option<String>,
    /// This rule column holds several labels per row, separated by `sep`.
    pub multilabel: Option<String>,
    /// Label separator of the multilabel column.
    pub sep: String,
    /// Similarity between profiles.
    pub similarity: Similarity,
    /// Group mAP by these columns (default: pos_sameby, without the reference column).
    pub map_by: Option<Vec<String>>,
    /// Null draws per (n_pos, n_total) configuration.
    pub null_size: usize,
    /// Seed of the null distributions.
    pub seed: u64,
    /// Significance level of below_p and below_corrected_p.
    pub threshold: f64,
    /// Reproduce copairs' Monte-Carlo null stream bit for bit (fresh cache).
    pub copairs_null: bool,
    /// Drop rows with a missing value in a rule column (default: refuse them, as copairs does).
    pub drop_missing: bool,
    /// Worker threads (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// The metrics crate's mAP parameters.
    fn map_params(&self) -> MapParams {
        MapParams {
            null_size: self.null_size,
            seed: self.seed,
            threshold: self.threshold,
            null_mode: if self.copairs_null {
                NullMode::Copairs
            } else {
                NullMode::Cpbench
            },
            threads: self.threads,
        }
    }

    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        let o = self.origin;
        o.check(self.map_params().validate())?;
        if self.pos_sameby.is_empty() && self.pos_diffby.is_empty() {
            bail!(
                "name the positive pairs with {} and/or {}",
                o.key("pos_sameby"),
                o.key("pos_diffby")
            );
        }
        if self.neg_sameby.is_empty() && self.neg_diffby.is_empty() {
            bail!(
                "name the negative pairs with {} and/or {}",
                o.key("neg_diffby"),
                o.key("neg_sameby")
            );
        }
        if let Some(m) = &self.multilabel
            && !self.pos_sameby.contains(m)
        {
            bail!(
                "{} {m} must also be in {}: a query is scored once per label it shares with its \
                 positives",
                o.key("multilabel"),
                o.key("pos_sameby")
            );
        }
        if let Some(by) = &self.map_by
            && by.is_empty()
        {
            bail!("{} names no column", o.key("map_by"));
        }
        Ok(())
    }

    /// Every column the rules name, each once, in first-mention order.
    fn all_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self
            .pos_sameby
            .iter()
            .chain(&self.pos_diffby)
            .chain(&self.neg_sameby)
            .chain(&self.neg_diffby)
        {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }
}

/// What mAP computes: the two tables, each group's statistics and the fraction retrieved.
#[derive(Debug, Clone)]
pub struct Output {
    /// Average precision per profile (`cpbench eval map --out-ap`).
    pub ap: DataFrame,
    /// mAP, p-value and q-value per group (`cpbench eval map --out-map`).
    pub map: DataFrame,
    /// Each group's statistics, in the `map` table's row order.
    pub groups: Vec<GroupMap>,
    /// Each group's key values joined by " / ", in the `map` table's row order.
    pub group_labels: Vec<String>,
    /// Average precision of every scored query (NaN without positives), in `ap` order.
    pub average_precision: Vec<f64>,
    /// Share of groups with a corrected p-value below the threshold.
    pub fraction: Option<f64>,
}

/// What scoring needs besides the AP computation itself: the scored rows, their label
/// columns and the pair rules over them.
struct Scoring {
    profiles: Profiles,
    /// Each scored row's index in the input, for messages.
    rows: Vec<usize>,
    columns: Vec<PairColumn>,
    index: BTreeMap<String, usize>,
    rules: PairRules,
}

/// Average precision and mAP of `profiles`.
pub fn evaluate(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Output> {
    let whole = Shard { index: 1, count: 1 };
    let sc = scoring(profiles, params, source, reporter)?;
    let shard = ap_shard(&sc, params, source, whole)?;
    finish(sc, vec![shard], params, source, reporter)
}

/// The AP rows of one shard of the queries (`cpbench eval map --shard i/n`): the same values,
/// bit for bit, that [`evaluate`] computes for them. [`evaluate_merged`] turns the shards of
/// every part into [`evaluate`]'s output.
pub fn evaluate_shard(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
    shard: Shard,
) -> Result<ApShard> {
    let sc = scoring(profiles, params, source, reporter)?;
    // What the merge would refuse is refused before any part is computed.
    let map_by = params
        .map_by
        .clone()
        .unwrap_or_else(|| params.pos_sameby.clone());
    if map_by.is_empty() {
        bail!(
            "no columns to group the mAP by: name them with {}",
            params.origin.key("map_by")
        );
    }
    for c in &map_by {
        if !AP_COLUMNS.contains(&c.as_str()) {
            require_column(&sc.profiles, c, &source.name)?;
        }
    }
    ap_shard(&sc, params, source, shard)
}

/// The columns the AP table adds to the metadata (a `map_by` may name them).
const AP_COLUMNS: [&str; 3] = ["average_precision", "n_pos_pairs", "n_total_pairs"];

/// [`evaluate`]'s output from the AP shards of the same profiles and parameters (every part
/// once; the caller checks that): mAP, p-values and q-values are computed here, after the
/// merge, so the tables are the bytes an unsharded evaluation writes.
pub fn evaluate_merged(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
    shards: Vec<ApShard>,
) -> Result<Output> {
    let sc = scoring(profiles, params, source, reporter)?;
    let n = sc.profiles.n_rows();
    let n_labels = params
        .multilabel
        .as_ref()
        .and_then(|m| match &sc.columns[sc.index[m]] {
            PairColumn::Multi(c) => Some(c.labels.len()),
            PairColumn::Single(_) => None,
        });
    for s in &shards {
        let t = &s.table;
        let labels_ok = match (&t.label, n_labels) {
            (None, None) => true,
            (Some(l), Some(k)) => l.iter().all(|&c| (c as usize) < k),
            _ => false,
        };
        if t.row.iter().any(|&r| r >= n) || !labels_ok {
            bail!(
                "{}: a shard names rows or labels this table does not have ({n} scored rows): it \
                 was computed on other data",
                source.name
            );
        }
    }
    finish(sc, shards, params, source, reporter)
}

/// Checks, drops missing labels, encodes the label columns and rules.
fn scoring(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Scoring> {
    params.check()?;
    let o = params.origin;
    let file = &source.name;
    let row_note = row_note(source.filtered());
    for c in params.all_columns() {
        require_column(&profiles, &c, file)?;
    }

    // Rows of `profiles` that are scored, and rows missing a rule label.
    let (profiles, rows) = drop_missing(profiles, params, file, row_note, reporter)?;

    let mut columns: Vec<PairColumn> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for name in params.all_columns() {
        let values = profiles.meta_strings(&name)?;
        let col = if params.multilabel.as_deref() == Some(name.as_str()) {
            PairColumn::Multi(MultiLabelColumn::encode(&name, &values, &params.sep))
        } else {
            PairColumn::Single(LabelColumn::encode(&name, &values))
        };
        index.insert(name, columns.len());
        columns.push(col);
    }
    let ids = |names: &[String]| names.iter().map(|c| index[c]).collect::<Vec<_>>();
    let mut rules = PairRules {
        pos_sameby: ids(&params.pos_sameby),
        pos_diffby: ids(&params.pos_diffby),
        neg_sameby: ids(&params.neg_sameby),
        neg_diffby: ids(&params.neg_diffby),
    };
    if let Some(expr) = &params.reference {
        let filter = RowFilter::parse(expr)?;
        require_column(&profiles, &filter.column, file)?;
        let mask = filter.mask(&profiles)?;
        if !mask.contains(&true) {
            bail!(
                "{file}: {} '{expr}': no scored row matches, so there is nothing to score against",
                o.key("reference")
            );
        }
        let r = columns.len();
        columns.push(PairColumn::Single(assign_reference_index(
            REFERENCE_COLUMN,
            &mask,
        )));
        rules.pos_sameby.push(r);
        rules.neg_diffby.push(r);
    }

    Ok(Scoring {
        profiles,
        rows,
        columns,
        index,
        rules,
    })
}

/// The AP rows of one shard of the queries.
fn ap_shard(sc: &Scoring, params: &Params, source: &Source, shard: Shard) -> Result<ApShard> {
    let x = matrix(&sc.profiles)?;
    super::require_contrast(x, params.similarity, source, params.origin)?;
    let opts = ApOptions {
        threads: params.threads,
    };
    average_precision_shard(x, &sc.columns, &sc.rules, params.similarity, &opts, shard).map_err(
        |e| {
            explain(
                e,
                &source.name,
                &sc.rows,
                row_note(source.filtered()),
                params,
            )
        },
    )
}

/// The AP table from its shards, then the mAP table and the summary.
fn finish(
    sc: Scoring,
    shards: Vec<ApShard>,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Output> {
    let o = params.origin;
    let file = &source.name;
    let Scoring {
        profiles,
        rows,
        columns,
        index,
        ..
    } = sc;
    let n = profiles.n_rows();
    let table = merge_ap_shards(shards)
        .map_err(|e| explain(e, file, &rows, row_note(source.filtered()), params))?;

    let multilabel = params
        .multilabel
        .as_ref()
        .map(|m| match &columns[index[m]] {
            PairColumn::Multi(c) => (m.as_str(), c),
            PairColumn::Single(_) => unreachable!("encoded as multilabel above"),
        });
    let ap_frame = ap_frame(&profiles, &table, multilabel)?;
    let map_by = match &params.map_by {
        Some(list) => list.clone(),
        None => params.pos_sameby.clone(),
    };
    if map_by.is_empty() {
        bail!(
            "no columns to group the mAP by: name them with {} ({} is empty)",
            o.key("map_by"),
            o.key("pos_sameby")
        );
    }
    for c in &map_by {
        if ap_frame.column(c).is_err() {
            require_column(&profiles, c, file)?;
        }
    }
    let (map_frame, groups, fraction) =
        map_frame(&ap_frame, &table, &map_by, &params.map_params(), reporter)?;

    let scored = table
        .average_precision
        .iter()
        .filter(|a| !a.is_nan())
        .count();
    reporter.summary(&format!(
        "average precision: {scored} of {} rows have positives ({} profiles, {}); \
         mAP: {} groups, fraction retrieved (q < {}): {}",
        table.len(),
        n,
        params.similarity,
        map_frame.height(),
        params.threshold,
        fraction.map_or("n/a".to_owned(), |f| format!("{f:.4}")),
    ));
    let group_labels = group_labels(&map_frame, map_by.len())?;
    Ok(Output {
        ap: ap_frame,
        map: map_frame,
        groups,
        group_labels,
        average_precision: table.average_precision,
        fraction,
    })
}

/// Each row's first `n_keys` columns as text joined by " / " (a missing value as "").
fn group_labels(map: &DataFrame, n_keys: usize) -> Result<Vec<String>> {
    let key_cols: Vec<Vec<Option<String>>> = map.columns()[..n_keys]
        .iter()
        .map(|c| {
            let c = c.cast(&DataType::String)?;
            Ok(c.str()?.iter().map(|v| v.map(str::to_string)).collect())
        })
        .collect::<Result<_>>()?;
    Ok((0..map.height())
        .map(|i| {
            key_cols
                .iter()
                .map(|c| c[i].clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect())
}

/// An error naming the file when `column` is not a metadata column.
fn require_column(profiles: &Profiles, column: &str, file: &str) -> Result<()> {
    if profiles.meta().column(column).is_err() {
        let available = profiles.meta_names();
        return Err(cpbench_core::Error::MissingColumn {
            source_name: file.to_owned(),
            column: column.to_owned(),
            available,
        }
        .into());
    }
    Ok(())
}

/// Refuses (default) or, with `drop_missing`, drops rows with a missing value in a rule
/// column. Returns the scored profiles and, for messages, each scored row's index in the input.
fn drop_missing(
    profiles: Profiles,
    params: &Params,
    file: &str,
    row_note: &str,
    reporter: &dyn Reporter,
) -> Result<(Profiles, Vec<usize>)> {
    let n = profiles.n_rows();
    let drop_key = params.origin.key("drop_missing");
    let mut keep = vec![true; n];
    let mut report: Vec<(String, usize, usize)> = Vec::new();
    for name in params.all_columns() {
        let values = profiles.meta_strings(&name)?;
        let missing: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_deref().is_none_or(|s| s.trim().is_empty()))
            .map(|(i, _)| i)
            .collect();
        if let Some(&first) = missing.first() {
            if !params.drop_missing {
                bail!(
                    "{file}: column {name} has a missing value at row {first}{row_note}; {} of \
                     {n} rows miss it. copairs refuses missing labels in rule columns: pass \
                     {drop_key} to drop those rows",
                    missing.len()
                );
            }
            report.push((name.clone(), missing.len(), first));
            missing.iter().for_each(|&i| keep[i] = false);
        }
    }
    let rows: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    if rows.len() == n {
        return Ok((profiles, rows));
    }
    for (name, count, _) in &report {
        reporter.note(&format!(
            "note: {drop_key}: {count} rows have no value in {name}"
        ));
    }
    reporter.note(&format!(
        "note: {drop_key}: dropped {} of {n} rows, scoring {}",
        n - rows.len(),
        rows.len()
    ));
    if rows.is_empty() {
        bail!("{file}: every row misses a value in a rule column; nothing to score");
    }
    Ok((profiles.filter_rows(&keep)?, rows))
}

/// Turns a metrics error into a message naming the file, the input row and the parameters.
fn explain(e: ApError, file: &str, rows: &[usize], row_note: &str, params: &Params) -> Error {
    let o = params.origin;
    match e {
        ApError::Features(MetricError::ZeroNorm { row, similarity }) => {
            let what = if similarity == Similarity::Pearson {
                "is constant (zero norm after centering)"
            } else {
                "has zero norm"
            };
            err!(
                "{file}: row {}{row_note} {what}: {similarity} similarity is undefined. copairs \
                 would rank that row's pairs last with NaN similarity; cpbench refuses. Remove \
                 the row (--filter) or choose {} euclidean",
                rows[row],
                o.key("similarity")
            )
        }
        ApError::Features(MetricError::NonFinite { row, col }) => err!(
            "{file}: feature {col} of row {}{row_note} is NaN or infinite",
            rows[row]
        ),
        ApError::Rules(RuleError::MissingLabel { column, row, count }) => err!(
            "{file}: column {column} has a missing value at row {}{row_note}; {count} rows miss \
             it. Pass {} to drop them",
            rows[row],
            o.key("drop_missing")
        ),
        ApError::NoPositivePairs => err!(
            "{file}: no positive pairs: no two rows are equal on {} {:?} and differ on \
             {} {:?}{}",
            o.key("pos_sameby"),
            params.pos_sameby.join(","),
            o.key("pos_diffby"),
            params.pos_diffby.join(","),
            if params.reference.is_some() {
                " among the non-reference rows"
            } else {
                ""
            }
        ),
        ApError::NoNegativePairs => err!(
            "{file}: no negative pairs: no two rows are equal on {} {:?} and differ on \
             {} {:?}",
            o.key("neg_sameby"),
            params.neg_sameby.join(","),
            o.key("neg_diffby"),
            params.neg_diffby.join(",")
        ),
        other => Error::from(other).context(format!("scoring {file}")),
    }
}

/// The AP table: metadata of each output row + the three AP columns.
fn ap_frame(
    profiles: &Profiles,
    table: &ApTable,
    multilabel: Option<(&str, &MultiLabelColumn)>,
) -> Result<DataFrame> {
    let idx: Vec<IdxSize> = table
        .row
        .iter()
        .map(|&r| IdxSize::try_from(r).context("row index exceeds polars' index type"))
        .collect::<Result<_>>()?;
    let mut df = profiles.meta().take(&IdxCa::from_vec("row".into(), idx))?;
    if let (Some((name, col)), Some(labels)) = (multilabel, &table.label) {
        let text: Vec<&str> = labels
            .iter()
            .map(|&l| col.labels[l as usize].as_str())
            .collect();
        df.with_column(Column::new(name.into(), text))?;
    }
    let counts = |v: &[usize]| v.iter().map(|&c| c as u64).collect::<Vec<u64>>();
    df.with_column(Column::new(
        "average_precision".into(),
        table.average_precision.clone(),
    ))?;
    df.with_column(Column::new(
        "n_pos_pairs".into(),
        counts(&table.n_pos_pairs),
    ))?;
    df.with_column(Column::new(
        "n_total_pairs".into(),
        counts(&table.n_total_pairs),
    ))?;
    Ok(df)
}

/// One component of a group key, ordered as pandas' `groupby(sort=True)`: numbers
/// numerically, text by code point (= UTF-8 byte order).
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum KeyPart {
    Num(f64),
    Text(String),
}

/// mAP per group of the AP table's `map_by` columns, as a table, and the fraction retrieved.
fn map_frame(
    ap: &DataFrame,
    table: &ApTable,
    map_by: &[String],
    params: &MapParams,
    reporter: &dyn Reporter,
) -> Result<(DataFrame, Vec<GroupMap>, Option<f64>)> {
    let h = ap.height();
    // Key of each AP row; None when a key column is missing there (pandas drops those rows).
    let mut keys: Vec<Option<Vec<KeyPart>>> = vec![Some(Vec::new()); h];
    for name in map_by {
        let series = ap.column(name)?.as_materialized_series();
        let parts: Vec<Option<KeyPart>> = if series.dtype().is_primitive_numeric() {
            let f = series.cast(&DataType::Float64)?;
            f.f64()?
                .iter()
                .map(|v| v.filter(|x| !x.is_nan()).map(KeyPart::Num))
                .collect()
        } else {
            let s = series.cast(&DataType::String)?;
            s.str()?
                .iter()
                .map(|v| {
                    v.filter(|t| !t.is_empty())
                        .map(|t| KeyPart::Text(t.to_owned()))
                })
                .collect()
        };
        for (key, part) in keys.iter_mut().zip(parts) {
            match (key.as_mut(), part) {
                (Some(k), Some(p)) => k.push(p),
                _ => *key = None,
            }
        }
    }
    let dropped = keys
        .iter()
        .zip(&table.average_precision)
        .filter(|(k, a)| k.is_none() && !a.is_nan())
        .count();
    if dropped > 0 {
        reporter.note(&format!(
            "note: {dropped} AP rows have a missing value in the mAP grouping columns {map_by:?} \
             and are left out of the mAP (as pandas' groupby does)"
        ));
    }

    // Codes in sorted key order, so that the mAP's code order is pandas' row order.
    let mut distinct: Vec<&Vec<KeyPart>> = keys.iter().flatten().collect();
    distinct.sort_by(|a, b| a.partial_cmp(b).expect("keys hold no NaN"));
    distinct.dedup();
    let code_of = |k: &Vec<KeyPart>| {
        distinct
            .binary_search_by(|d| (*d).partial_cmp(k).expect("keys hold no NaN"))
            .expect("every key is listed") as u32
    };
    let (mut ap_v, mut n_pos, mut n_total, mut group) = (vec![], vec![], vec![], vec![]);
    let mut first_row: BTreeMap<u32, usize> = BTreeMap::new();
    for (r, key) in keys.iter().enumerate() {
        let Some(k) = key else { continue };
        let code = code_of(k);
        first_row.entry(code).or_insert(r);
        ap_v.push(table.average_precision[r]);
        n_pos.push(u32::try_from(table.n_pos_pairs[r]).context("n_pos_pairs exceeds u32")?);
        n_total.push(u32::try_from(table.n_total_pairs[r]).context("n_total_pairs exceeds u32")?);
        group.push(code);
    }
    let groups = mean_average_precision(&ap_v, &n_pos, &n_total, &group, params)?;
    let fraction = fraction_retrieved(&groups);

    // Key values from each group's first AP row, keeping the columns' types.
    let reps: Vec<IdxSize> = groups
        .iter()
        .map(|g| first_row[&g.group] as IdxSize)
        .collect();
    let mut df = ap
        .select(map_by.iter().map(|s| s.as_str()))?
        .take(&IdxCa::from_vec("row".into(), reps))?;
    let col = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    df.with_column(Column::new(
        "n_members".into(),
        groups
            .iter()
            .map(|g| g.n_members as u64)
            .collect::<Vec<_>>(),
    ))?;
    df.with_column(col(
        "mean_average_precision",
        groups.iter().map(|g| g.mean_average_precision).collect(),
    ))?;
    df.with_column(col("p_value", groups.iter().map(|g| g.p_value).collect()))?;
    df.with_column(col(
        "corrected_p_value",
        groups.iter().map(|g| g.corrected_p_value).collect(),
    ))?;
    df.with_column(Column::new(
        "below_p".into(),
        groups.iter().map(|g| g.below_p).collect::<Vec<_>>(),
    ))?;
    df.with_column(Column::new(
        "below_corrected_p".into(),
        groups
            .iter()
            .map(|g| g.below_corrected_p)
            .collect::<Vec<_>>(),
    ))?;
    df.with_column(Column::new(
        "p_value_method".into(),
        groups
            .iter()
            .map(|g| match g.p_method {
                PValueMethod::Exact => "exact",
                PValueMethod::MonteCarlo => "monte-carlo",
                PValueMethod::CopairsStream => "copairs",
            })
            .collect::<Vec<_>>(),
    ))?;
    Ok((df, groups, fraction))
}
