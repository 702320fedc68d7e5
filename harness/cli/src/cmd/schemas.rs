//! `cpbench schemas`: JSON Schemas for editor completion of manifests and for result checks.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cpbench_core::io::write_bytes_atomic;

use crate::Outcome;

/// Arguments of `cpbench schemas`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to write the *.schema.json files into (created if missing).
    #[arg(default_value = "ci/schemas")]
    dir: PathBuf,
}

/// Runs `cpbench schemas`.
pub fn run(args: Args) -> Result<Outcome> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut all = cpbench_core::manifest::json_schemas();
    all.push(("result.schema.json", cpbench_results::result_json_schema()));
    all.push((
        cpbench_results::LEADERBOARD_SCHEMA_FILE,
        cpbench_results::leaderboard_json_schema(),
    ));
    for (name, text) in all {
        let path = args.dir.join(name);
        write_bytes_atomic(&path, text.as_bytes())?;
        outln!("wrote {}", path.display());
    }
    Ok(Outcome::Ok)
}
