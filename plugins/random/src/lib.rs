//! `random`: a control representation that ignores the features and gives every row a seeded
//! standard Gaussian vector.
//!
//! A score earned by this plugin is what chance alone earns on a benchmark, which is what
//! leaderboards scale the other plugins against.
//!
//! # Row identity
//!
//! The vector of a row depends only on the seed and the row's identity, never on row order:
//!
//! - when the context has a `plate` or a `well` column (or both), the identity is
//!   (plate, well, occurrence), where occurrence counts earlier rows with the same plate and
//!   well. At well level every well occurs once, so a well gets the same vector whatever the
//!   order of rows; at cell level the cells of one well get distinct vectors that depend on
//!   their order within the well only;
//! - otherwise the identity is the row index.
//!
//! The identity is hashed with 64-bit FNV-1a and the seed mixed in; the values come from a
//! SplitMix64 stream through the Box–Muller transform, so they are the same on every platform
//! and Rust version.
//!
//! # Config
//!
//! `seed` (u64, default 0) and `dim` (u32 ≥ 1, default: the input's number of features).

use std::collections::HashMap;

use abi_stable::export_root_module;
use abi_stable::std_types::RString;
use cpbench_plugin_api::context::{PLATE, WELL};
use cpbench_plugin_api::{Context, Matrix, NativePlugin, PluginRootMod_Ref, root_module};
use serde::Deserialize;

/// The plugin's settings, from the `[native.config]` table of its `plugin.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    dim: Option<u32>,
}

/// A seeded Gaussian embedding keyed by row identity.
#[derive(Debug)]
pub struct RandomEmbedding {
    seed: u64,
    dim: Option<usize>,
}

impl NativePlugin for RandomEmbedding {
    const NAME: &'static str = "random";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn new(config_json: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config_json)
            .map_err(|e| format!("random: invalid config {config_json}: {e}"))?;
        if config.dim == Some(0) {
            return Err("random: config `dim` must be at least 1".into());
        }
        Ok(RandomEmbedding {
            seed: config.seed,
            dim: config.dim.map(|d| d as usize),
        })
    }

    fn output_dim(&self, input_dim: usize) -> usize {
        self.dim.unwrap_or(input_dim)
    }

    fn transform(&self, x: Matrix<'_>, context: Context<'_>) -> Result<Vec<f32>, String> {
        let k = self.output_dim(x.cols());
        let mut out = vec![0.0f32; x.rows() * k];
        if k == 0 {
            return Ok(out);
        }
        for (row, identity) in out
            .chunks_exact_mut(k)
            .zip(row_identities(x.rows(), context))
        {
            fill_gaussian(row, stream_state(self.seed, identity));
        }
        Ok(out)
    }
}

/// One hash per row: of (plate, well, occurrence) when either column is present, else of the index.
fn row_identities(rows: usize, context: Context<'_>) -> Vec<u64> {
    let plate = context.get(PLATE);
    let well = context.get(WELL);
    if plate.is_none() && well.is_none() {
        return (0..rows as u64)
            .map(|i| fnv1a(&[b"row", &i.to_le_bytes()]))
            .collect();
    }
    fn value(col: Option<&[RString]>, i: usize) -> &str {
        col.map_or("", |c| c[i].as_str())
    }
    let mut seen: HashMap<(&str, &str), u64> = HashMap::new();
    (0..rows)
        .map(|i| {
            let (p, w) = (value(plate, i), value(well, i));
            let occurrence = seen.entry((p, w)).or_insert(0);
            let h = fnv1a(&[
                b"plate",
                p.as_bytes(),
                b"\xffwell",
                w.as_bytes(),
                b"\xff",
                &occurrence.to_le_bytes(),
            ]);
            *occurrence += 1;
            h
        })
        .collect()
}

/// 64-bit FNV-1a over the concatenated parts; stable, unlike std's `DefaultHasher`.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Starting state of a row's stream: the seed is spread over all bits first so that seeds that
/// differ in one bit do not give streams that are shifted copies of each other.
fn stream_state(seed: u64, identity: u64) -> u64 {
    let mut s = seed;
    splitmix64(&mut s) ^ identity
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with standard normal values (Box–Muller on pairs of uniform draws).
fn fill_gaussian(out: &mut [f32], mut state: u64) {
    let mut uniform = || {
        // 53 random bits, shifted into (0, 1] so that ln never sees 0.
        ((splitmix64(&mut state) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    for pair in out.chunks_mut(2) {
        let radius = (-2.0 * uniform().ln()).sqrt();
        let angle = std::f64::consts::TAU * uniform();
        pair[0] = (radius * angle.cos()) as f32;
        if let Some(second) = pair.get_mut(1) {
            *second = (radius * angle.sin()) as f32;
        }
    }
}

/// The root module the worker loads.
#[export_root_module]
pub fn get_library() -> PluginRootMod_Ref {
    root_module::<RandomEmbedding>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpbench_plugin_api::ContextColumn;

    fn run(config: &str, x: &[f32], n: usize, d: usize, ctx: &[ContextColumn]) -> Vec<f32> {
        let plugin = RandomEmbedding::new(config).unwrap();
        let m = Matrix::new(x, n, d).unwrap();
        plugin.transform(m, Context::new(ctx)).unwrap()
    }

    fn wells(plates: &[&str], wells: &[&str]) -> Vec<ContextColumn> {
        vec![
            ContextColumn::new(PLATE, plates.iter().copied()).unwrap(),
            ContextColumn::new(WELL, wells.iter().copied()).unwrap(),
        ]
    }

    #[test]
    fn same_well_gets_the_same_vector_in_any_row_order() {
        let x = [0.0f32; 6];
        let a = run(
            r#"{"seed": 7, "dim": 5}"#,
            &x,
            3,
            2,
            &wells(&["P1", "P1", "P2"], &["A01", "B02", "A01"]),
        );
        let b = run(
            r#"{"seed": 7, "dim": 5}"#,
            &x,
            3,
            2,
            &wells(&["P2", "P1", "P1"], &["A01", "A01", "B02"]),
        );
        assert_eq!(a.len(), 15);
        assert_eq!(a[0..5], b[5..10]);
        assert_eq!(a[5..10], b[10..15]);
        assert_eq!(a[10..15], b[0..5]);
        // Same well name on another plate is another identity.
        assert_ne!(a[0..5], a[10..15]);
    }

    #[test]
    fn features_are_ignored_and_seeds_differ() {
        let a = run(r#"{"seed": 1}"#, &[1.0, 2.0, 3.0, 4.0], 2, 2, &[]);
        let b = run(r#"{"seed": 1}"#, &[9.0, 9.0, 9.0, 9.0], 2, 2, &[]);
        let c = run(r#"{"seed": 2}"#, &[1.0, 2.0, 3.0, 4.0], 2, 2, &[]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a[0..2], a[2..4]);
    }

    #[test]
    fn cells_of_one_well_get_distinct_vectors() {
        let out = run(
            r#"{"dim": 3}"#,
            &[0.0; 2],
            2,
            1,
            &wells(&["P1", "P1"], &["A01", "A01"]),
        );
        assert_ne!(out[0..3], out[3..6]);
    }

    #[test]
    fn values_look_standard_normal() {
        let n = 2000;
        let out = run(r#"{"seed": 3, "dim": 10}"#, &vec![0.0; n], n, 1, &[]);
        let len = out.len() as f64;
        let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / len;
        let var = out
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / len;
        // 20,000 draws: the mean's standard error is 0.007, the variance's about 0.01.
        assert!(mean.abs() < 0.04, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn bad_config_is_refused() {
        let err = RandomEmbedding::new(r#"{"dim": 0}"#).unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
        let err = RandomEmbedding::new(r#"{"seeds": 1}"#).unwrap_err();
        assert!(err.contains("unknown field `seeds`"), "{err}");
    }
}
