//! `cpbench info`: what is in a profile table.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cpbench_core::filter::apply_filters;
use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles};
use cpbench_core::select::FeatureSelector;
use cpbench_core::{Level, hash};
use serde::Serialize;

use crate::{Outcome, progress};

/// Arguments of `cpbench info`.
#[derive(clap::Args)]
pub struct Args {
    /// Profile table (.csv, .csv.gz, .tsv, .parquet).
    profiles: PathBuf,
    /// Metadata column prefix; repeat for several (default Metadata_).
    #[arg(long = "metadata-prefix", value_name = "PREFIX")]
    metadata_prefix: Vec<String>,
    /// The level rows describe (cell, site, well, treatment, gene); guessed when omitted.
    #[arg(long)]
    level: Option<Level>,
    /// NaN/missing/infinite feature values: keep (count them), error, drop-rows, drop-columns.
    #[arg(long, default_value = "keep")]
    on_nonfinite: NonFinitePolicy,
    /// Keep only rows passing this metadata filter (COL=VALUE, COL!=VALUE, 'COL in [A, B]'); repeatable.
    #[arg(long = "filter", value_name = "EXPR")]
    filters: Vec<String>,
    /// Keep only feature columns matching this regex.
    #[arg(long = "features", value_name = "REGEX")]
    features: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct MetaSummary {
    name: String,
    dtype: String,
    distinct: usize,
    missing: usize,
    examples: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    file: PathBuf,
    sha256: String,
    rows: usize,
    rows_in_file: usize,
    level: Level,
    level_guessed: bool,
    features: usize,
    nan_values: usize,
    infinite_values: usize,
    rows_with_nonfinite: usize,
    dropped_rows: usize,
    dropped_columns: Vec<String>,
    metadata: Vec<MetaSummary>,
}

/// Runs `cpbench info`.
pub fn run(args: Args) -> Result<Outcome> {
    let mut opts = ReadOptions {
        nonfinite: args.on_nonfinite,
        level: args.level,
        ..ReadOptions::default()
    };
    if !args.metadata_prefix.is_empty() {
        opts.metadata_prefixes = args.metadata_prefix.clone();
    }
    let (mut profiles, report) = read_profiles(&args.profiles, &opts)?;
    let rows_in_file = profiles.n_rows();
    if !args.filters.is_empty() {
        profiles = apply_filters(&profiles, &args.filters)?;
    }
    if let Some(re) = &args.features {
        profiles = FeatureSelector::all().include(&[re])?.apply(&profiles)?;
    }
    let len = std::fs::metadata(&args.profiles)
        .map(|m| m.len())
        .unwrap_or(0);
    let bar = progress::bytes(len, "sha256");
    let sha256 = hash::sha256_file_with_progress(&args.profiles, |n| bar.inc(n))
        .with_context(|| format!("hashing {}", args.profiles.display()))?;
    bar.finish_and_clear();

    let meta = profiles.meta();
    let mut metadata = Vec::new();
    for col in meta.columns() {
        let s = col.as_materialized_series();
        let values = profiles.meta_strings(col.name())?;
        let mut examples: Vec<String> = Vec::new();
        for v in values.iter().flatten() {
            if examples.len() == 3 {
                break;
            }
            if !examples.contains(v) {
                examples.push(v.clone());
            }
        }
        metadata.push(MetaSummary {
            name: col.name().to_string(),
            dtype: s.dtype().to_string(),
            distinct: s.drop_nulls().n_unique()?,
            missing: s.null_count(),
            examples,
        });
    }
    let x = profiles.features();
    let d = profiles.n_features().max(1);
    let summary = Summary {
        file: args.profiles.clone(),
        sha256,
        rows: profiles.n_rows(),
        rows_in_file,
        level: profiles.level(),
        level_guessed: report.level_guessed,
        features: profiles.n_features(),
        nan_values: x.iter().filter(|v| v.is_nan()).count(),
        infinite_values: x.iter().filter(|v| v.is_infinite()).count(),
        rows_with_nonfinite: x
            .chunks(d)
            .filter(|r| r.iter().any(|v| !v.is_finite()))
            .count(),
        dropped_rows: report.dropped_rows.len(),
        dropped_columns: report.dropped_columns,
        metadata,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_text(&summary);
    }
    Ok(Outcome::Ok)
}

fn print_text(s: &Summary) {
    outln!("file:      {}", s.file.display());
    outln!("sha256:    {}", s.sha256);
    if s.rows == s.rows_in_file {
        outln!("rows:      {}", s.rows);
    } else {
        outln!(
            "rows:      {} (of {} in the file pass the filters)",
            s.rows,
            s.rows_in_file
        );
    }
    let how = if s.level_guessed {
        " (guessed from the metadata column names; set it with --level)"
    } else {
        ""
    };
    outln!("level:     {}{how}", s.level);
    outln!(
        "features:  {} (NaN or missing values: {}, infinite: {}, rows affected: {})",
        s.features,
        s.nan_values,
        s.infinite_values,
        s.rows_with_nonfinite
    );
    if s.dropped_rows > 0 {
        outln!("dropped:   {} rows with non-finite values", s.dropped_rows);
    }
    if !s.dropped_columns.is_empty() {
        outln!(
            "dropped:   {} feature columns with non-finite values",
            s.dropped_columns.len()
        );
    }
    outln!("metadata:  {} columns", s.metadata.len());
    let width = s.metadata.iter().map(|m| m.name.len()).max().unwrap_or(0);
    for m in &s.metadata {
        outln!(
            "  {:<width$}  {:>5} distinct  {:>5} missing  {:<4}  {}",
            m.name,
            m.distinct,
            m.missing,
            m.dtype,
            if m.examples.is_empty() {
                String::new()
            } else {
                format!("e.g. {}", m.examples.join(", "))
            }
        );
    }
}
