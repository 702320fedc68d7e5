//! One module per subcommand.

pub mod doctor;
pub mod eval;
pub mod info;
pub mod plugin;
pub mod plugin_worker;
pub mod prep;
pub mod schemas;
pub mod simulate;
pub mod validate;
