//! What every `cpbench prep` command shares: the input and output tables (NaN kept, the steps
//! handle it; the result written with the metadata columns unchanged and in order,
//! atomically), the precision they are read, computed and written in (`--precision`) and the
//! fit rows (`--fit-on`).

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::Profiles;
use cpbench_core::io::{FeatureFloat, Format};
pub use cpbench_runner::prep::common::{FitRows, Precision, Width, read_input, write_output};

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
    /// Checks the output extension before any work, then reads the profiles (NaN kept) as `f32`.
    pub fn load(&self) -> Result<Profiles> {
        self.load_as()
    }

    /// [`IoArgs::load`] with the features as `T` (`f32` or `f64`).
    pub fn load_as<T: FeatureFloat>(&self) -> Result<Profiles<T>> {
        Format::of(&self.out)?;
        Ok(read_input(&self.profiles, &self.metadata_prefix)?)
    }

    /// The input file as shown in messages.
    pub fn file(&self) -> String {
        self.profiles.display().to_string()
    }

    /// Writes `profiles` to `--out`, atomically (features as `Float32` or `Float64` after `T`).
    pub fn write<T: FeatureFloat>(&self, profiles: &Profiles<T>) -> Result<()> {
        Ok(write_output(profiles, &self.out)?)
    }
}

/// `--precision`: the floating-point type a `cpbench prep` command reads, computes and writes
/// features in.
#[derive(clap::Args, Debug, Clone)]
pub struct PrecisionArgs {
    /// Feature precision: f64 reads, computes and writes float64 (Float64 Parquet columns, CSV
    /// with every f64 digit), as pycytominer does; f32 rounds to float32 on reading, as benchmark
    /// runs do; auto is f64 when every feature column of a Parquet input is Float64, else f32
    /// (CSV and TSV store no type).
    #[arg(
        long,
        value_name = "auto|f32|f64",
        default_value = "auto",
        value_parser = str::parse::<Precision>
    )]
    pub precision: Precision,
}

impl PrecisionArgs {
    /// The width the work is done in for the input `io` names (`auto` peeks at its types).
    pub fn width(&self, io: &IoArgs) -> Width {
        self.precision.resolve(&io.profiles, &io.metadata_prefix)
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
