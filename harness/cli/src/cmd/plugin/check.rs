//! `cpbench plugin check`: a readable pass/fail list for a plugin folder.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_host::plugin::{CheckStatus, check_plugin};

use crate::Outcome;

/// Arguments of `cpbench plugin check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plugin folder (or its plugin.toml).
    pub plugin: PathBuf,
    #[command(flatten)]
    pub lib_dirs: super::LibDirArgs,
}

/// Prints one line per check; exit code 1 when any failed.
pub fn run(args: Args) -> Result<Outcome> {
    let report = check_plugin(&args.plugin, &super::run_env(&args.lib_dirs)?);
    println!("cpbench plugin check {}", args.plugin.display());
    for item in &report.items {
        let mark = match item.status {
            CheckStatus::Pass => "PASS",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skip => "SKIP",
        };
        println!("  {mark}  {:<15} {}", item.name, item.detail);
    }
    if report.passed() {
        println!("all checks passed: the plugin is ready to submit");
        Ok(Outcome::Ok)
    } else {
        let failed = report
            .items
            .iter()
            .filter(|i| i.status == CheckStatus::Fail)
            .count();
        println!("{failed} check(s) failed");
        Ok(Outcome::CheckFailed)
    }
}
