//! The FFI-safe trait a plugin's representation object implements.

// abi_stable 0.11.3's `#[sabi_trait]` emits impls inside a `const` block, which newer rustc
// lints; an attribute on the trait does not reach the generated items, so allow it here.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult, RSlice, RString, RVec};

use crate::ContextColumn;

/// A learned (or fixed) map from input profiles to representation vectors.
///
/// Matrices are row-major `n × d` `f32` slices; `context` holds only allowed context columns
/// (see [`crate::context`]), each with `n` values. Errors are readable reasons the host records.
#[sabi_trait]
pub trait Representation: Send {
    /// Number of columns `transform` returns for input with `input_dim` columns.
    fn output_dim(&self, input_dim: u32) -> u32;

    /// Learns whatever the representation needs from `x` (e.g. control statistics).
    fn fit(
        &mut self,
        x: RSlice<'_, f32>,
        n: u64,
        d: u64,
        context: RVec<ContextColumn>,
    ) -> RResult<(), RString>;

    /// Maps `x` to an `n × output_dim(d)` row-major matrix.
    #[sabi(last_prefix_field)]
    fn transform(
        &self,
        x: RSlice<'_, f32>,
        n: u64,
        d: u64,
        context: RVec<ContextColumn>,
    ) -> RResult<RVec<f32>, RString>;
}

/// An owned, type-erased [`Representation`] as it crosses the FFI boundary.
pub type RepresentationBox = Representation_TO<'static, RBox<()>>;
