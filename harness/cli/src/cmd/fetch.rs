//! `cpbench fetch BENCHMARK…`: every remote data file of the benchmarks into the data cache,
//! verified against its pins; `--offline` checks the cache only and names what is missing.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use cpbench_core::datacache::DataCache;
use cpbench_remote::{Fetcher, Outcome as Fetch, Request, human_bytes};
use cpbench_runner::bench::open_benchmark;

use crate::Outcome;
use crate::progress::FETCHING;

/// Where remote data files are cached, and whether the network may be used.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Data cache folder for remote data files (default: $CPBENCH_DATA_DIR, else data/ under
    /// $CPBENCH_CACHE_DIR, else ~/.cache/cpbench/data).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use the data cache only: a remote file that is not there is an error naming it.
    #[arg(long)]
    pub offline: bool,
}

impl DataArgs {
    /// The fetcher these arguments describe.
    pub fn fetcher(&self) -> Result<Fetcher> {
        Ok(Fetcher::new(
            DataCache::resolve(self.cache_dir.as_deref()),
            self.offline,
        )?)
    }

    /// The same choices as arguments of a child `cpbench` process.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut out = Vec::new();
        if let Some(dir) = &self.cache_dir {
            out.push("--cache-dir".into());
            out.push(dir.clone().into_os_string());
        }
        if self.offline {
            out.push("--offline".into());
        }
        out
    }
}

/// Arguments of `cpbench fetch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Benchmark folders (or their benchmark.toml).
    #[arg(required = true, value_name = "BENCHMARK")]
    pub benchmarks: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `cpbench fetch`: exit 0 when every remote file is in the cache and verified, 2 (with
/// the file, URL and both values of a mismatch) otherwise.
pub fn run(args: Args) -> Result<Outcome> {
    let fetcher = args.data.fetcher()?;
    outln!("data cache: {}", fetcher.cache().root().display());
    for path in &args.benchmarks {
        let bench = open_benchmark(path)?;
        let files = bench.data_files(fetcher.cache());
        let remote: Vec<_> = files.iter().filter(|f| f.remote.is_some()).collect();
        outln!(
            "{}@v{}: {} remote file{}, {} local",
            bench.manifest.id,
            bench.manifest.version,
            remote.len(),
            if remote.len() == 1 { "" } else { "s" },
            files.len() - remote.len()
        );
        for file in remote {
            let r = file.remote.as_ref().expect("filtered on remote");
            let req = Request {
                remote: r,
                sha256: file.sha256.as_deref(),
                key: &file.key,
            };
            let got = fetcher
                .fetch(req, &FETCHING)
                .with_context(|| bench.path.display().to_string())?;
            let how = match got.outcome {
                Fetch::Cached => "cached, verified".to_string(),
                Fetch::Downloaded {
                    bytes,
                    resumed_from: 0,
                } => format!("downloaded {}, verified", human_bytes(bytes)),
                Fetch::Downloaded {
                    bytes,
                    resumed_from,
                } => format!(
                    "resumed at byte {resumed_from}, downloaded {}, verified",
                    human_bytes(bytes)
                ),
            };
            outln!("  {}: {} ({how})", file.key, r.url);
            outln!("    {} sha256 {}", got.path.display(), got.sha256);
        }
    }
    Ok(Outcome::Ok)
}
