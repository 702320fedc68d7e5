//! `cpbench validate`: manifests parse and make sense, their data exists and matches its hashes,
//! and the columns a benchmark names exist in its profile table.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use cpbench_core::datacache::DataCache;
use cpbench_core::hash;
use cpbench_core::io::NonFinitePolicy;
use cpbench_core::manifest::{AnyManifest, BenchmarkManifest, Loaded, load_any};
use cpbench_remote::{Fetcher, Request};

use crate::cmd::fetch::DataArgs;
use crate::cmd::simulate::InProcess;
use crate::progress::FETCHING;
use crate::{Outcome, progress};

/// Arguments of `cpbench validate`.
#[derive(clap::Args)]
pub struct Args {
    /// benchmark.toml, plugin.toml or audits/<id>.toml files.
    #[arg(required = true)]
    manifests: Vec<PathBuf>,
    /// Check the manifests only: skip hashing and reading the data they name.
    #[arg(long)]
    no_data: bool,
    #[command(flatten)]
    data: DataArgs,
}

/// How one manifest fared.
enum Verdict {
    Ok,
    /// The data does not match a pinned hash.
    CheckFailed,
    /// The manifest or its data is unusable.
    Invalid,
}

/// Runs `cpbench validate`.
pub fn run(args: Args) -> Result<Outcome> {
    let mut invalid = 0;
    let mut failed = 0;
    let fetcher = args.data.fetcher()?;
    for path in &args.manifests {
        match check(path, (!args.no_data).then_some(&fetcher)) {
            Verdict::Ok => {}
            Verdict::CheckFailed => failed += 1,
            Verdict::Invalid => invalid += 1,
        }
    }
    let n = args.manifests.len();
    if invalid > 0 {
        bail!("{invalid} of {n} manifests are invalid (see above)");
    }
    if failed > 0 {
        outln!("{failed} of {n} manifests name data that does not match its sha256");
        return Ok(Outcome::CheckFailed);
    }
    outln!("all {n} manifests are valid");
    Ok(Outcome::Ok)
}

fn check(path: &Path, with_data: Option<&Fetcher>) -> Verdict {
    let manifest = match load_any(path) {
        Ok(m) => m,
        Err(e) => {
            errln!("invalid: {e}");
            return Verdict::Invalid;
        }
    };
    outln!(
        "{}: {} '{}' parses",
        path.display(),
        manifest.kind_name(),
        manifest.id()
    );
    let Some(fetcher) = with_data else {
        return Verdict::Ok;
    };
    // Synthetic data is generated on first use; checking a benchmark generates it.
    if let AnyManifest::Benchmark(b) = &manifest
        && let Err(e) = cpbench_runner::bench::ensure_simulated(b, Some(&InProcess))
    {
        errln!("invalid: {}", e.chain());
        return Verdict::Invalid;
    }
    let mut verdict = Verdict::Ok;
    for data in manifest.data_files(fetcher.cache()) {
        // A remote file is fetched (or found in the cache) and verified against every pin.
        if let Some(remote) = &data.remote {
            let req = Request {
                remote,
                sha256: data.sha256.as_deref(),
                key: &data.key,
            };
            match fetcher.fetch(req, &FETCHING) {
                Ok(got) => outln!("  {}: {} verified ({})", data.key, remote.url, got.sha256),
                Err(e) => {
                    errln!("invalid: {}: {e}", path.display());
                    return Verdict::Invalid;
                }
            }
            continue;
        }
        if !data.path.is_file() {
            errln!(
                "invalid: {}: key `{}`: file {} does not exist",
                path.display(),
                data.key,
                data.path.display()
            );
            return Verdict::Invalid;
        }
        let Some(pinned) = &data.sha256 else {
            outln!("  {}: {} (no sha256 pinned)", data.key, data.path.display());
            continue;
        };
        let len = std::fs::metadata(&data.path).map(|m| m.len()).unwrap_or(0);
        let bar = progress::bytes(len, &data.key);
        let actual = match hash::sha256_file_with_progress(&data.path, |n| bar.inc(n)) {
            Ok(h) => h,
            Err(e) => {
                errln!("invalid: {}: {e}", data.path.display());
                return Verdict::Invalid;
            }
        };
        bar.finish_and_clear();
        if &actual == pinned {
            outln!("  {}: sha256 ok", data.key);
        } else {
            outln!(
                "  FAILED {}: {} has sha256 {actual}, the manifest pins {pinned}",
                data.key,
                data.path.display()
            );
            verdict = Verdict::CheckFailed;
        }
    }
    if let AnyManifest::Benchmark(b) = &manifest
        && let Err(e) = check_columns(b, fetcher.cache())
    {
        errln!("invalid: {e:#}");
        return Verdict::Invalid;
    }
    verdict
}

/// Reads the benchmark's profile table (which validates it) and checks every column it names.
fn check_columns(b: &Loaded<BenchmarkManifest>, cache: &DataCache) -> Result<()> {
    let data = &b.manifest.data;
    let nonfinite = if data.on_nonfinite == NonFinitePolicy::Error {
        NonFinitePolicy::Error
    } else {
        NonFinitePolicy::Keep
    };
    // A key or crop table (gene list, crop index) has metadata only: plugins bring the features.
    let (profiles, file) =
        cpbench_runner::bench::read_benchmark_profiles(b, cache, nonfinite, true)?;
    cpbench_runner::bench::check_columns(b, &profiles, &file)?;
    outln!(
        "  data.profiles: {} rows, {} features, every named column present",
        profiles.n_rows(),
        profiles.n_features()
    );
    Ok(())
}
