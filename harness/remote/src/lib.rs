//! Remote data files for benchmarks: objects on S3 (`s3://bucket/key`) or HTTP(S) servers,
//! fetched through `object_store` into cpbench's content-addressed data cache
//! ([`cpbench_core::datacache`]) and verified against the pins of their manifest entry (S3
//! etag, SHA-256, git blob id, size) before they enter it.
//!
//! Contract: a file in the cache was verified when it was fetched and is verified again
//! (SHA-256 against its record) every time it is served, so a corrupted entry is refetched,
//! never used. A remote object whose etag differs from the pin is refused before any byte is
//! written. An interrupted download resumes with a range request; transient failures are
//! retried with backoff. `--offline` ([`Fetcher::new`]) serves the cache only. Where requests
//! go, and the overrides for mirrors and local test servers, is [`store`]'s header.

mod digest;
mod error;
mod fetch;
pub mod store;

pub use digest::DEFAULT_PART_SIZES;
pub use error::RemoteError;
pub use fetch::{
    ATTEMPTS, Fetched, Fetcher, Outcome, Progress, Request, Silent, human_bytes, recorded_sha256,
};
