//! `cpbench eval map`: average precision per profile and mAP per group with p-values, with
//! copairs 0.5.5's pair rules (`tests/fixtures/copairs/SEMANTICS.md`).
//!
//! Outputs (CSV or Parquet by extension, each written atomically, and only after everything
//! was computed):
//! - `--out-ap`: the input metadata columns + `average_precision, n_pos_pairs, n_total_pairs`,
//!   one row per profile in input order (multilabel: one row per profile and label with a
//!   positive, the multilabel column holding that label);
//! - `--out-map`: the grouping columns + `n_members, mean_average_precision, p_value,
//!   corrected_p_value, below_p, below_corrected_p, p_value_method`, groups in sorted key order;
//! - with `--shard i/n`, instead: `--out-shard`, part `i` of the queries' AP rows with what
//!   `cpbench merge` checks (`cpbench_results::shard`); merging all `n` parts writes the two
//!   tables above, byte for byte.
//!
//! Missing labels in a rule column are an error naming the column and the first row, as
//! copairs refuses them; `--drop-missing` drops those rows instead and says how many.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cpbench_core::hash::sha256_file;
use cpbench_core::io::{Format, write_bytes_atomic, write_tables};
use cpbench_metrics::retrieval::Shard;
use cpbench_results::shard::{SHARD_FORMAT, SHARD_VERSION, ShardFile};
use cpbench_runner::Origin;
use cpbench_runner::bench::shard::map_shard;
use cpbench_runner::eval::map::{self, Params};

use super::common::{ProfileArgs, similarity, split_list};
use crate::Outcome;
use crate::cmd::run::harness_info;
use crate::progress::Console;

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
    /// Average precision per profile (.csv, .tsv, .parquet); required without --shard.
    #[arg(long = "out-ap", value_name = "AP.csv")]
    pub out_ap: Option<PathBuf>,
    /// mAP, p-value and q-value per group (.csv, .tsv, .parquet); required without --shard.
    #[arg(long = "out-map", value_name = "MAP.csv")]
    pub out_map: Option<PathBuf>,
    /// Compute only part i of n of the queries (1 ≤ i ≤ n) into --out-shard; `cpbench merge`
    /// of all n parts writes exactly the tables an unsharded run writes.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, requires = "out_shard")]
    pub shard: Option<Shard>,
    /// Where --shard writes its part (JSON).
    #[arg(long = "out-shard", value_name = "SHARD.json", requires = "shard")]
    pub out_shard: Option<PathBuf>,
}

/// The shard file `kind` of `cpbench eval map`.
pub const SHARD_KIND: &str = "eval-map";

/// Parses `--shard I/N`.
pub(crate) fn parse_shard(text: &str) -> std::result::Result<Shard, String> {
    Shard::parse(text)
}

/// `cpbench eval map`'s flags alone, for reading back the arguments a shard file records.
#[derive(clap::Parser, Debug)]
#[command(name = "eval-map", no_binary_name = true)]
pub struct Recorded {
    /// The parsed flags.
    #[command(flatten)]
    pub args: Args,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            pos_sameby: split_list(&self.pos_sameby),
            pos_diffby: split_list(&self.pos_diffby),
            neg_sameby: split_list(&self.neg_sameby),
            neg_diffby: split_list(&self.neg_diffby),
            reference: self.reference.clone(),
            multilabel: self.multilabel.clone(),
            sep: self.sep.clone(),
            similarity: similarity(&self.similarity)?,
            map_by: self.map_by.as_deref().map(split_list),
            null_size: self.null_size,
            seed: self.seed,
            threshold: self.threshold,
            copairs_null: self.copairs_null,
            drop_missing: self.drop_missing,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

impl Args {
    /// The arguments that define the computation, every flag spelled out and the profile path
    /// absolute (outputs, --shard and --threads, which changes no number, left out): what a
    /// shard file records and `cpbench merge` parses again.
    pub fn defining_args(&self) -> Result<Vec<String>> {
        let i = &self.input;
        let mut a = vec![format!(
            "--profiles={}",
            std::path::absolute(&i.profiles)
                .with_context(|| format!("{}", i.profiles.display()))?
                .display()
        )];
        if let Some(f) = &i.features {
            a.push(format!("--features={f}"));
        }
        a.extend(
            i.metadata_prefix
                .iter()
                .map(|p| format!("--metadata-prefix={p}")),
        );
        a.extend(i.filters.iter().map(|f| format!("--filter={f}")));
        let policy = serde_json::to_value(i.on_nonfinite)?;
        a.push(format!(
            "--on-nonfinite={}",
            policy.as_str().unwrap_or("error")
        ));
        for (flag, v) in [
            ("pos-sameby", &self.pos_sameby),
            ("pos-diffby", &self.pos_diffby),
            ("neg-sameby", &self.neg_sameby),
            ("neg-diffby", &self.neg_diffby),
            ("similarity", &self.similarity),
        ] {
            a.push(format!("--{flag}={v}"));
        }
        // --sep only goes with --multilabel.
        if self.multilabel.is_some() {
            a.push(format!("--sep={}", self.sep));
        }
        for (flag, v) in [
            ("reference", &self.reference),
            ("multilabel", &self.multilabel),
            ("map-by", &self.map_by),
        ] {
            if let Some(v) = v {
                a.push(format!("--{flag}={v}"));
            }
        }
        a.push(format!("--null-size={}", self.null_size));
        a.push(format!("--seed={}", self.seed));
        a.push(format!("--threshold={}", self.threshold));
        if self.copairs_null {
            a.push("--copairs-null".into());
        }
        if self.drop_missing {
            a.push("--drop-missing".into());
        }
        Ok(a)
    }
}

/// Runs `cpbench eval map`.
pub fn run(args: Args) -> Result<Outcome> {
    if let (Some(shard), Some(out)) = (args.shard, &args.out_shard) {
        if args.out_ap.is_some() || args.out_map.is_some() {
            bail!("--shard writes --out-shard only; `cpbench merge` writes --out-ap and --out-map");
        }
        return run_shard(&args, shard, out);
    }
    let (Some(out_ap), Some(out_map)) = (&args.out_ap, &args.out_map) else {
        bail!(
            "name both outputs, --out-ap and --out-map (or compute a part with --shard I/N --out-shard FILE)"
        );
    };
    // Fail on an unusable output path before any work.
    for p in [out_ap, out_map] {
        Format::of(p)?;
    }
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let mut out = map::evaluate(profiles, &params, &table.source(), &Console)?;
    // Both tables move into place together: never a new AP table beside an old mAP table.
    write_tables(&mut [(&mut out.ap, out_ap), (&mut out.map, out_map)])?;
    Ok(Outcome::Ok)
}

/// One part of the queries into a shard file.
fn run_shard(args: &Args, shard: Shard, out: &Path) -> Result<Outcome> {
    let params = args.params()?;
    let recorded = args.defining_args()?;
    let table = args.input.spec();
    let input_sha256 = sha256_file(&args.input.profiles)?;
    let profiles = table.load()?;
    let part = map::evaluate_shard(profiles, &params, &table.source(), &Console, shard)?;
    let harness = harness_info();
    let key = ShardFile::key_of(SHARD_KIND, shard.count, &recorded, &input_sha256, &harness);
    let file = ShardFile {
        format: SHARD_FORMAT.into(),
        version: SHARD_VERSION,
        kind: SHARD_KIND.into(),
        index: shard.index,
        count: shard.count,
        harness,
        args: recorded,
        input_sha256,
        key,
        map: Some(map_shard(part)),
        tasks: None,
        failed: None,
    };
    let mut text = serde_json::to_string(&file)?;
    text.push('\n');
    write_bytes_atomic(out, text.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The recorded arguments parse back into the same computation, whatever the flags hold
    /// (`=`, commas, spaces, regexes, repeated filters).
    #[test]
    fn defining_args_round_trip_through_the_parser() {
        let given = [
            "--profiles",
            "/data/my plates/x.parquet",
            "--features",
            "^Cells_(Area|Int)=?,.*",
            "--metadata-prefix",
            "Image_Metadata_",
            "--metadata-prefix",
            "Metadata_",
            "--filter",
            "Metadata_a != b=c",
            "--filter",
            "Metadata_b in [x, y z]",
            "--on-nonfinite",
            "drop-rows",
            "--pos-sameby",
            "Metadata_moa,Metadata_x",
            "--neg-sameby",
            "Metadata_Plate",
            "--neg-diffby",
            "Metadata_moa",
            "--reference",
            "Metadata_pert=DMSO",
            "--multilabel",
            "Metadata_moa",
            "--sep",
            ";",
            "--similarity",
            "pearson",
            "--map-by",
            "Metadata_x",
            "--null-size",
            "123",
            "--seed",
            "9",
            "--threshold",
            "0.1",
            "--copairs-null",
            "--drop-missing",
            "--threads",
            "3",
        ];
        let first = Recorded::try_parse_from(given).unwrap().args;
        let recorded = first.defining_args().unwrap();
        let again = Recorded::try_parse_from(&recorded).unwrap().args;
        assert_eq!(again.defining_args().unwrap(), recorded);
        assert_eq!(
            format!("{:?}", again.params().unwrap()),
            format!("{:?}", {
                let mut p = first.params().unwrap();
                p.threads = 0;
                p
            })
        );
        assert_eq!(again.input.filters, first.input.filters);
        assert_eq!(again.input.features, first.input.features);
        assert_eq!(again.input.metadata_prefix, first.input.metadata_prefix);
        assert_eq!(again.input.on_nonfinite, first.input.on_nonfinite);
        assert_eq!(again.input.profiles, first.input.profiles);
        // --threads changes no number: it is not recorded.
        assert!(!recorded.iter().any(|a| a.starts_with("--threads")));
    }
}
