//! `cpbench prep feature-select`: pycytominer 1.7.1 `feature_select` operations, after optional
//! CellProfiler-name filters (compartment, channel, positional).

use std::path::PathBuf;

use anyhow::{Result, bail};
use cpbench_core::io::FeatureFloat;
use cpbench_core::select::FeatureSelector;
use cpbench_prep::{CorrMethod, FeatureOp, Thresholds};
use cpbench_runner::prep::feature_select::{SelectSpec, select_profiles};

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::cmd::eval::common::{split_list, write_json};

/// Arguments of `cpbench prep feature-select`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    #[command(flatten)]
    pub fit: FitArgs,
    /// Operations in order (comma-separated): variance_threshold, frequency_threshold,
    /// correlation_threshold, drop_na_columns, blocklist, drop_outliers.
    #[arg(long, default_value = "variance_threshold")]
    pub ops: String,
    /// variance_threshold: features with variance at most this are dropped.
    #[arg(long, default_value_t = 1e-6)]
    pub min_variance: f64,
    /// frequency_threshold: smallest kept ratio of 2nd to 1st most common value count.
    #[arg(long, default_value_t = 0.05)]
    pub freq_cut: f64,
    /// frequency_threshold: smallest kept ratio of distinct values to rows.
    #[arg(long, default_value_t = 0.01)]
    pub unique_cut: f64,
    /// correlation_threshold: a pair correlated above this loses one member.
    #[arg(long, default_value_t = 0.9)]
    pub corr_threshold: f64,
    /// correlation_threshold: pearson or spearman.
    #[arg(long, default_value = "pearson")]
    pub corr_method: String,
    /// drop_na_columns: largest kept share of NaN.
    #[arg(long, default_value_t = 0.05)]
    pub na_cutoff: f64,
    /// drop_outliers: largest kept absolute maximum or minimum.
    #[arg(long, default_value_t = 500.0)]
    pub outlier_cutoff: f64,
    /// blocklist: file of feature names, one a line (default: pycytominer's built-in list).
    #[arg(long, value_name = "FILE")]
    pub blocklist: Option<PathBuf>,
    /// Keep only features of these compartments (comma-separated, e.g. Cells,Nuclei).
    #[arg(long, value_name = "C[,C]")]
    pub compartments: Option<String>,
    /// Keep only features whose channels are all among these (comma-separated, e.g. DNA,RNA).
    #[arg(long, value_name = "CH[,CH]")]
    pub channels: Option<String>,
    /// Drop positional features (Location, Center, bounding boxes).
    #[arg(long)]
    pub drop_positional: bool,
    /// Also write which features each operation excluded, as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub excluded: Option<PathBuf>,
}

/// Parses `--ops` (comma-separated) into operations.
pub fn parse_ops(ops: &[String]) -> Result<Vec<FeatureOp>> {
    let ops = ops
        .iter()
        .map(|o| o.parse::<FeatureOp>())
        .collect::<Result<Vec<_>, _>>()?;
    if ops.is_empty() {
        bail!("--ops names no operation");
    }
    Ok(ops)
}

/// Runs `cpbench prep feature-select`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let thresholds = Thresholds {
        min_variance: args.min_variance,
        freq_cut: args.freq_cut,
        unique_cut: args.unique_cut,
        corr_threshold: args.corr_threshold,
        corr_method: args.corr_method.parse::<CorrMethod>()?,
        na_cutoff: args.na_cutoff,
        outlier_cutoff: args.outlier_cutoff,
    };
    let ops = parse_ops(&split_list(&args.ops))?;
    let spec = SelectSpec::new(ops, thresholds, args.blocklist.as_deref())?;
    let profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let list = |s: &Option<String>| s.as_deref().map(split_list).unwrap_or_default();
    let names = FeatureSelector::all()
        .compartments(&list(&args.compartments))
        .channels(&list(&args.channels))?
        .drop_positional(args.drop_positional);
    let n_input = profiles.n_features();
    let named = names.indices(profiles.feature_names());
    let name_filters: Vec<String> = profiles
        .feature_names()
        .iter()
        .enumerate()
        .filter(|(j, _)| named.binary_search(j).is_err())
        .map(|(_, n)| n.clone())
        .collect();
    if named.is_empty() {
        bail!("{file}: the compartment/channel/positional filters keep none of {n_input} features");
    }
    let profiles = if name_filters.is_empty() {
        profiles
    } else {
        profiles.select_features(&named)?
    };
    let mask = args.fit.rows().mask(&profiles, &file)?;
    let (out, mut excluded) = select_profiles(&profiles, &spec, &mask, &file)?;
    excluded.n_input = n_input;
    excluded.name_filters = name_filters;
    args.io.write(&out)?;
    if let Some(path) = &args.excluded {
        write_json(path, &excluded)?;
    }
    errln!(
        "kept {} of {} features ({})",
        excluded.n_kept,
        n_input,
        excluded
            .ops
            .iter()
            .map(|(op, f)| format!("{op}: -{}", f.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Outcome::Ok)
}
