//! What every `cpbench prep` command shares: the input and output tables (NaN kept, the steps
//! handle it; the result written with the metadata columns unchanged and in order,
//! atomically) and the fit rows (`--fit-on`).

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::Profiles;
use cpbench_core::io::Format;
pub use cpbench_runner::prep::common::{FitRows, read_input, write_output};

/// The input and output tables of a `cpbench prep` command.
#[derive(clap::Args, Debug, Clone)]
pub struct IoArgs {
    /// Profile table (.csv, .csv.gz, .tsv, .parquet).
    #[arg(long)]
    pub profiles: PathBuf,
    /// Metadata column prefix; repeat for several (default Metadata_).
    #[arg(long = "metadata-prefix", value_name = "PREFIX")]
    pub metadata_prefix: Vec<String>,
    /// Output table (.csv, .csv.gz, .tsv, .parquet): metadata columns first, unchanged.
    #[arg(long, value_name = "F2")]
    pub out: PathBuf,
}

impl IoArgs {
    /// Checks the output extension before any work, then reads the profiles (NaN kept).
    pub fn load(&self) -> Result<Profiles> {
        Format::of(&self.out)?;
        Ok(read_input(&self.profiles, &self.metadata_prefix)?)
    }

    /// The input file as shown in messages.
    pub fn file(&self) -> String {
        self.profiles.display().to_string()
    }

    /// Writes `profiles` to `--out`, atomically.
    pub fn write(&self, profiles: &Profiles) -> Result<()> {
        Ok(write_output(profiles, &self.out)?)
    }
}

/// Which rows a step is fitted on: `all`, `controls` (the `--controls` filter) or a row filter.
#[derive(clap::Args, Debug, Clone)]
pub struct FitArgs {
    /// Rows to fit on: `all`, `controls`, or a filter (COL=VALUE, COL!=VALUE, 'COL in [A, B]').
    #[arg(long = "fit-on", value_name = "ROWS", default_value = "all")]
    pub fit_on: String,
    /// The filter `--fit-on controls` stands for, e.g. 'Metadata_pert_type=control'.
    #[arg(long, value_name = "EXPR")]
    pub controls: Option<String>,
}

impl FitArgs {
    /// The fit rows the flags name.
    pub fn rows(&self) -> FitRows {
        FitRows {
            fit_on: self.fit_on.clone(),
            controls: self.controls.clone(),
            control_spec: None,
        }
    }
}
