//! Retrieval metrics with copairs 0.5.5 semantics (`tests/fixtures/copairs/SEMANTICS.md`).
//!
//! - [`rules`] — pair rules (`pos_sameby`, `pos_diffby`, `neg_sameby`, `neg_diffby`),
//!   multilabel columns and the reference-index trick.
//! - [`ap`] — average precision per query profile (and per label in multilabel mode),
//!   computed block by block without materializing pairs or an `n × n` matrix.
//! - [`map`] — mean average precision per group with p-values and Benjamini–Hochberg q-values.
//! - [`null`] — null distributions of AP per (n_pos, n_total) configuration.

pub mod ap;
pub mod map;
pub mod null;
pub mod rules;

pub use ap::{
    ApError, ApOptions, ApShard, ApTable, Shard, average_precision, average_precision_shard,
    merge_ap_shards,
};
pub use rules::{PairColumn, PairRules, RuleError, RuleKind, assign_reference_index};
