//! `cpbench eval relations`: known-relationship recall of gene-level profiles (EFAAR 1.0;
//! definition and where it differs from EFAAR: `cpbench_metrics::relations`).
//!
//! Each `--pairs` file is a table with columns `entity1,entity2` (gene symbols; the shipped
//! `benchmarks/data/annotations/*.pairs.csv.gz`). Pairs naming a gene absent from the profiles
//! are dropped, as EFAAR drops them; the source's name is the file name up to its first dot.
//!
//! Output (JSON, atomic): per source the pairs read, used and the genes they involve, and per
//! tail pair (5/95, 10/90) the recall with its expected value under a random embedding.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_runner::Origin;
use cpbench_runner::eval::relations::{self, Params};

use super::common::{ProfileArgs, similarity, split_list, write_json};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval relations`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile table and the rows and features read from it.
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The column naming each row's gene (one row per gene).
    #[arg(long = "gene-column", value_name = "C")]
    pub gene_column: String,
    /// Annotation pair files (comma-separated), each with columns entity1,entity2.
    #[arg(long, value_name = "FILE[,FILE]")]
    pub pairs: String,
    /// Sources whose usable pairs involve fewer genes are not scored (EFAAR: 20).
    #[arg(long = "min-genes", default_value_t = 20)]
    pub min_genes: usize,
    /// cosine (EFAAR), pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            gene_column: self.gene_column.clone(),
            pairs: split_list(&self.pairs)
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            min_genes: self.min_genes,
            similarity: similarity(&self.similarity)?,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval relations`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let report = relations::evaluate(&profiles, &params, &table.source(), &Console)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}
