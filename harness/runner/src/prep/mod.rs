//! Preprocessing operations on a profile table (pycytominer 1.7.1 semantics where pycytominer
//! has them; numerics in `cpbench_prep`): each op's parameters, checked once, and the function
//! that applies it to `Profiles`. [`pipeline`] runs a benchmark's `[[preprocess]]` steps with
//! the same functions `cpbench prep <op>` calls.

pub mod aggregate;
pub mod common;
pub mod control_normalize;
pub mod feature_select;
pub mod insp;
pub mod normalize;
pub mod pipeline;
pub mod sphere;
pub mod treatment_strength;
