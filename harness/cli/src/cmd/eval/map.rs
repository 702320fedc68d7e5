//! `cpbench eval map`: average precision per profile and mAP per group with p-values, with
//! copairs 0.5.5's pair rules (`tests/fixtures/copairs/SEMANTICS.md`).
//!
//! Outputs (CSV or Parquet by extension, each written atomically, and only after everything
//! was computed):
//! - `--out-ap`: the input metadata columns + `average_precision, n_pos_pairs, n_total_pairs`,
//!   one row per profile in input order (multilabel: one row per profile and label with a
//!   positive, the multilabel column holding that label);
//! - `--out-map`: the grouping columns + `n_members, mean_average_precision, p_value,
//!   corrected_p_value, below_p, below_corrected_p, p_value_method`, groups in sorted key order.
//!
//! Missing labels in a rule column are an error naming the column and the first row, as
//! copairs refuses them; `--drop-missing` drops those rows instead and says how many.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use cpbench_core::Profiles;
use cpbench_core::filter::RowFilter;
use cpbench_core::io::{Format, write_table};
use cpbench_metrics::retrieval::map::{MapParams, fraction_retrieved, mean_average_precision};
use cpbench_metrics::retrieval::null::{NullMode, PValueMethod};
use cpbench_metrics::retrieval::rules::REFERENCE_COLUMN;
use cpbench_metrics::retrieval::{
    ApError, ApOptions, ApTable, PairColumn, PairRules, RuleError, assign_reference_index,
    average_precision,
};
use cpbench_metrics::{LabelColumn, MetricError, MultiLabelColumn, Similarity};
use polars::prelude::*;

use super::common::{ProfileArgs, matrix, split_list};
use crate::Outcome;

/// Arguments of `cpbench eval map`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Positive pairs are equal on every one of these columns (comma-separated).
    #[arg(long = "pos-sameby", value_name = "C[,C]", default_value = "")]
    pub pos_sameby: String,
    /// Positive pairs differ on every one of these columns.
    #[arg(long = "pos-diffby", value_name = "C[,C]", default_value = "")]
    pub pos_diffby: String,
    /// Negative pairs are equal on every one of these columns.
    #[arg(long = "neg-sameby", value_name = "C[,C]", default_value = "")]
    pub neg_sameby: String,
    /// Negative pairs differ on every one of these columns.
    #[arg(long = "neg-diffby", value_name = "C[,C]", default_value = "")]
    pub neg_diffby: String,
    /// Score against the rows matching this filter only (COL=VALUE, 'COL in [A, B]'), as
    /// copairs' assign_reference_index: a reference column joins pos-sameby and neg-diffby.
    #[arg(long, value_name = "COL=VALUE")]
    pub reference: Option<String>,
    /// This rule column holds several labels per row, separated by --sep.
    #[arg(long, value_name = "COL")]
    pub multilabel: Option<String>,
    /// Label separator of the --multilabel column.
    #[arg(long, default_value = "|", requires = "multilabel")]
    pub sep: String,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Group mAP by these columns (default: pos-sameby, without the reference column).
    #[arg(long = "map-by", value_name = "C[,C]")]
    pub map_by: Option<String>,
    /// Null draws per (n_pos, n_total) configuration.
    #[arg(long = "null-size", default_value_t = 10_000)]
    pub null_size: usize,
    /// Seed of the null distributions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Significance level of below_p and below_corrected_p.
    #[arg(long, default_value_t = 0.05)]
    pub threshold: f64,
    /// Reproduce copairs' Monte-Carlo null stream bit for bit (fresh cache) instead of
    /// cpbench's order-independent null with exact enumeration.
    #[arg(long = "copairs-null")]
    pub copairs_null: bool,
    /// Drop rows with a missing value in a rule column (default: refuse them, as copairs does).
    #[arg(long = "drop-missing")]
    pub drop_missing: bool,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Average precision per profile (.csv, .tsv, .parquet).
    #[arg(long = "out-ap", value_name = "AP.csv")]
    pub out_ap: PathBuf,
    /// mAP, p-value and q-value per group (.csv, .tsv, .parquet).
    #[arg(long = "out-map", value_name = "MAP.csv")]
    pub out_map: PathBuf,
}

/// Runs `cpbench eval map`.
pub fn run(args: Args) -> Result<Outcome> {
    // Fail on an unusable output path before any work.
    for p in [&args.out_ap, &args.out_map] {
        Format::of(p)?;
    }
    let profiles = args.input.load()?;
    let mut out = compute(&args, profiles)?;
    write_table(&mut out.ap, &args.out_ap)?;
    write_table(&mut out.map, &args.out_map)?;
    Ok(Outcome::Ok)
}

/// What `cpbench eval map` computes: the two output tables and the fraction retrieved.
pub struct MapOutput {
    /// Average precision per profile (the `--out-ap` table).
    pub ap: DataFrame,
    /// mAP, p-value and q-value per group (the `--out-map` table).
    pub map: DataFrame,
    /// Share of groups with a corrected p-value below the threshold.
    pub fraction: Option<f64>,
}

/// Computes `cpbench eval map` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<MapOutput> {
    let similarity: Similarity = args.similarity.parse()?;
    let params = MapParams {
        null_size: args.null_size,
        seed: args.seed,
        threshold: args.threshold,
        null_mode: if args.copairs_null {
            NullMode::Copairs
        } else {
            NullMode::Cpbench
        },
        threads: args.threads,
    };
    params.validate()?;

    let file = args.input.profiles.display().to_string();
    let filtered = !args.input.filters.is_empty();
    let row_note = if filtered {
        " (0-based, counting the rows kept by --filter)"
    } else {
        " (0-based data row)"
    };

    let spec = RuleSpec::parse(args)?;
    for c in spec.all_columns() {
        require_column(&profiles, &c, &file)?;
    }
    if let Some(m) = &args.multilabel
        && !spec.pos_sameby.contains(m)
    {
        bail!(
            "--multilabel {m} must also be in --pos-sameby: a query is scored once per label it \
             shares with its positives"
        );
    }

    // Rows of `profiles` that are scored, and rows missing a rule label.
    let (profiles, rows) = drop_missing(profiles, &spec, args, &file, row_note)?;
    let n = profiles.n_rows();

    let mut columns: Vec<PairColumn> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for name in spec.all_columns() {
        let values = profiles.meta_strings(&name)?;
        let col = if args.multilabel.as_deref() == Some(name.as_str()) {
            PairColumn::Multi(MultiLabelColumn::encode(&name, &values, &args.sep))
        } else {
            PairColumn::Single(LabelColumn::encode(&name, &values))
        };
        index.insert(name, columns.len());
        columns.push(col);
    }
    let ids = |names: &[String]| names.iter().map(|c| index[c]).collect::<Vec<_>>();
    let mut rules = PairRules {
        pos_sameby: ids(&spec.pos_sameby),
        pos_diffby: ids(&spec.pos_diffby),
        neg_sameby: ids(&spec.neg_sameby),
        neg_diffby: ids(&spec.neg_diffby),
    };
    if let Some(expr) = &args.reference {
        let filter = RowFilter::parse(expr)?;
        require_column(&profiles, &filter.column, &file)?;
        let mask = filter.mask(&profiles)?;
        if !mask.contains(&true) {
            bail!(
                "{file}: --reference '{expr}': no scored row matches, so there is nothing to score against"
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

    let x = matrix(&profiles)?;
    let opts = ApOptions {
        threads: args.threads,
    };
    let table = average_precision(x, &columns, &rules, similarity, &opts)
        .map_err(|e| explain(e, &file, &rows, row_note, args))?;

    let multilabel = args.multilabel.as_ref().map(|m| match &columns[index[m]] {
        PairColumn::Multi(c) => (m.as_str(), c),
        PairColumn::Single(_) => unreachable!("encoded as multilabel above"),
    });
    let ap_frame = ap_frame(&profiles, &table, multilabel)?;
    let map_by = match &args.map_by {
        Some(list) => split_list(list),
        None => spec.pos_sameby.clone(),
    };
    if map_by.is_empty() {
        bail!("no columns to group the mAP by: name them with --map-by (pos-sameby is empty)");
    }
    for c in &map_by {
        if ap_frame.column(c).is_err() {
            require_column(&profiles, c, &file)?;
        }
    }
    let (map_frame, fraction) = map_frame(&ap_frame, &table, &map_by, &params)?;

    let scored = table
        .average_precision
        .iter()
        .filter(|a| !a.is_nan())
        .count();
    crate::say!(
        "average precision: {scored} of {} rows have positives ({} profiles, {similarity}); \
         mAP: {} groups, fraction retrieved (q < {}): {}",
        table.len(),
        n,
        map_frame.height(),
        args.threshold,
        fraction.map_or("n/a".to_owned(), |f| format!("{f:.4}")),
    );
    Ok(MapOutput {
        ap: ap_frame,
        map: map_frame,
        fraction,
    })
}

/// The four rule lists as column names.
struct RuleSpec {
    pos_sameby: Vec<String>,
    pos_diffby: Vec<String>,
    neg_sameby: Vec<String>,
    neg_diffby: Vec<String>,
}

impl RuleSpec {
    fn parse(args: &Args) -> Result<RuleSpec> {
        let spec = RuleSpec {
            pos_sameby: split_list(&args.pos_sameby),
            pos_diffby: split_list(&args.pos_diffby),
            neg_sameby: split_list(&args.neg_sameby),
            neg_diffby: split_list(&args.neg_diffby),
        };
        if spec.pos_sameby.is_empty() && spec.pos_diffby.is_empty() {
            bail!("name the positive pairs with --pos-sameby and/or --pos-diffby");
        }
        if spec.neg_sameby.is_empty() && spec.neg_diffby.is_empty() {
            bail!("name the negative pairs with --neg-diffby and/or --neg-sameby");
        }
        Ok(spec)
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

/// Refuses (default) or, with `--drop-missing`, drops rows with a missing value in a rule
/// column. Returns the scored profiles and, for messages, each scored row's index in the input.
fn drop_missing(
    profiles: Profiles,
    spec: &RuleSpec,
    args: &Args,
    file: &str,
    row_note: &str,
) -> Result<(Profiles, Vec<usize>)> {
    let n = profiles.n_rows();
    let mut keep = vec![true; n];
    let mut report: Vec<(String, usize, usize)> = Vec::new();
    for name in spec.all_columns() {
        let values = profiles.meta_strings(&name)?;
        let missing: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_deref().is_none_or(|s| s.trim().is_empty()))
            .map(|(i, _)| i)
            .collect();
        if let Some(&first) = missing.first() {
            if !args.drop_missing {
                bail!(
                    "{file}: column {name} has a missing value at row {first}{row_note}; {} of \
                     {n} rows miss it. copairs refuses missing labels in rule columns: pass \
                     --drop-missing to drop those rows",
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
    // A benchmark run records its own notes; only the ad-hoc command prints these.
    if !crate::progress::quiet() {
        for (name, count, _) in &report {
            eprintln!("note: --drop-missing: {count} rows have no value in {name}");
        }
        eprintln!(
            "note: --drop-missing: dropped {} of {n} rows, scoring {}",
            n - rows.len(),
            rows.len()
        );
    }
    if rows.is_empty() {
        bail!("{file}: every row misses a value in a rule column; nothing to score");
    }
    Ok((profiles.filter_rows(&keep)?, rows))
}

/// Turns a metrics error into a message naming the file and the input row.
fn explain(e: ApError, file: &str, rows: &[usize], row_note: &str, args: &Args) -> anyhow::Error {
    match e {
        ApError::Features(MetricError::ZeroNorm { row, similarity }) => {
            let what = if similarity == Similarity::Pearson {
                "is constant (zero norm after centering)"
            } else {
                "has zero norm"
            };
            anyhow!(
                "{file}: row {}{row_note} {what}: {similarity} similarity is undefined. copairs \
                 would rank that row's pairs last with NaN similarity; cpbench refuses. Remove \
                 the row (--filter) or choose --similarity euclidean",
                rows[row]
            )
        }
        ApError::Features(MetricError::NonFinite { row, col }) => anyhow!(
            "{file}: feature {col} of row {}{row_note} is NaN or infinite",
            rows[row]
        ),
        ApError::Rules(RuleError::MissingLabel { column, row, count }) => anyhow!(
            "{file}: column {column} has a missing value at row {}{row_note}; {count} rows miss \
             it. Pass --drop-missing to drop them",
            rows[row]
        ),
        ApError::NoPositivePairs => anyhow!(
            "{file}: no positive pairs: no two rows are equal on --pos-sameby {:?} and differ on \
             --pos-diffby {:?}{}",
            args.pos_sameby,
            args.pos_diffby,
            if args.reference.is_some() {
                " among the non-reference rows"
            } else {
                ""
            }
        ),
        ApError::NoNegativePairs => anyhow!(
            "{file}: no negative pairs: no two rows are equal on --neg-sameby {:?} and differ on \
             --neg-diffby {:?}",
            args.neg_sameby,
            args.neg_diffby
        ),
        other => anyhow::Error::new(other).context(format!("scoring {file}")),
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
) -> Result<(DataFrame, Option<f64>)> {
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
        eprintln!(
            "note: {dropped} AP rows have a missing value in the mAP grouping columns {map_by:?} \
             and are left out of the mAP (as pandas' groupby does)"
        );
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
    Ok((df, fraction))
}
