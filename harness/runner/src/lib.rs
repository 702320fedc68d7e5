//! cpbench-runner: the engine behind every `cpbench` command that computes.
//!
//! - [`eval`]: each metric on a profile table — its parameter type (checked once, naming the
//!   flag or manifest key at fault, see [`params::Origin`]), its report type and one
//!   `evaluate` function, shared by `cpbench eval` and benchmark tasks;
//! - [`prep`]: each preprocessing operation on a table and [`prep::pipeline`], the
//!   `[[preprocess]]` executor shared by `cpbench prep` and benchmark runs;
//! - [`bench`]: one (benchmark, plugin) pair from data to a cached result, its report and plot
//!   data: applicability, plugin, preprocessing, [`bench::tasks`], [`bench::views`];
//! - [`leaderboard`] and [`audit`]: every pair scaled between controls, and published claims
//!   recomputed.
//!
//! The runner never prints and never starts its own executable: messages go to the
//! [`reporter::Reporter`] passed in, and whatever needs the binary (running a pair in its own
//! process, generating synthetic data) is passed in as a trait object. Errors are
//! [`error::Error`], with the context each step adds.

pub mod audit;
pub mod bench;
pub mod error;
pub mod eval;
pub mod leaderboard;
pub mod params;
pub mod prep;
pub mod reporter;
pub mod table;

pub use error::{Error, Result};
pub use params::Origin;
pub use reporter::{Reporter, Silent};
