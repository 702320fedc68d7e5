//! cpbench-core: the profiles data model, its IO, manifests and provenance hashing.

pub mod datacache;
pub mod error;
pub mod filter;
pub mod hash;
pub mod io;
pub mod manifest;
pub mod npy;
pub mod profiles;
pub mod select;

pub use error::{Error, Result};
pub use profiles::{Level, Profiles};
