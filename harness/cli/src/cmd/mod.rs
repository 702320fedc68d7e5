//! One module per subcommand.

pub mod audit;
pub mod completions;
pub mod doctor;
pub mod eval;
pub mod fetch;
pub mod info;
pub mod leaderboard;
pub mod merge;
pub mod plugin;
pub mod plugin_worker;
pub mod prep;
pub mod run;
pub mod schemas;
pub mod simulate;
pub mod validate;
