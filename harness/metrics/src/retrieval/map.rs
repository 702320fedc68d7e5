//! Mean average precision per group, with p-values, Benjamini–Hochberg q-values and the
//! "fraction retrieved" summary — copairs 0.5.5's `mean_average_precision`
//! (`tests/fixtures/copairs/SEMANTICS.md` §20–§28).
//!
//! Steps, as copairs does them:
//! 1. keep the AP rows with a non-NaN AP and `n_pos_pairs > 0` (the others carry no ranking);
//! 2. group the rows by their group code (the `sameby` key), groups in ascending code order —
//!    codes assigned in sorted key order reproduce copairs' (pandas') row order;
//! 3. mAP = mean of the members' APs, rounded as pandas 3.1 rounds it: `np.add.reduceat` when
//!    the codes are non-decreasing in row order, else a Kahan sum (identical bits to copairs on
//!    every fixture; row order can move the last bit, never more);
//! 4. p-value against the group's null ([`super::null`], which documents the null model, the
//!    exact enumeration, the seeding and where cpbench deliberately differs from copairs);
//! 5. q-values by Benjamini–Hochberg over all groups of the call (statsmodels `fdr_bh`);
//! 6. `below_p = p < threshold`, `below_corrected_p = q < threshold`, both strict.
//!
//! Usage: [`mean_average_precision`] with the AP table as columns, or
//! [`mean_average_precision_rows`] with [`ApRow`]s; then [`fraction_retrieved`].
//!
//! Where cpbench differs from copairs, deliberately: the null's seeding and exact enumeration
//! (see [`super::null`]); errors instead of silent results for `n_pos_pairs > n_total_pairs`
//! and infinite APs; [`fraction_retrieved`] is `None`, not NaN, without groups.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::MetricError;
use crate::retrieval::null::{
    GroupNullInput, NullConfig, NullMode, NullParams, PValueMethod, group_p_values,
    pairwise_sum_f64,
};

/// Parameters of the mAP significance test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapParams {
    /// `T`: draws of the null per configuration (≥ 1); also the scale of exact p-values.
    pub null_size: usize,
    /// Seed of the null (see [`super::null`] for how it is used).
    pub seed: u64,
    /// Significance level for `below_p` / `below_corrected_p`, in `(0, 1]`.
    pub threshold: f64,
    /// cpbench's null (default) or copairs' bit-exact numpy stream.
    pub null_mode: NullMode,
    /// Worker threads; 0 means all available cores. Results never depend on it.
    pub threads: usize,
}

impl Default for MapParams {
    /// `null_size` 10 000, seed 0, threshold 0.05 (copairs' tutorial values), cpbench null.
    fn default() -> MapParams {
        MapParams {
            null_size: 10_000,
            seed: 0,
            threshold: 0.05,
            null_mode: NullMode::Cpbench,
            threads: 0,
        }
    }
}

impl MapParams {
    /// Checks `null_size ≥ 1` and `threshold ∈ (0, 1]`.
    pub fn validate(&self) -> Result<(), MetricError> {
        crate::params::null_size(self.null_size as u64)?;
        crate::params::threshold(self.threshold)
    }
}

/// One AP row as the mAP step consumes it (a row of the AP table plus its group code).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApRow {
    /// The row's average precision; NaN rows are dropped.
    pub average_precision: f64,
    /// `n_pos_pairs` (`M`); rows with 0 are dropped.
    pub n_pos_pairs: u32,
    /// `n_total_pairs` (`L`).
    pub n_total_pairs: u32,
    /// Code of the row's `sameby` key.
    pub group: u32,
}

/// How many members of a group have one null configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigCount {
    /// The configuration `(n_pos_pairs, n_total_pairs)`.
    pub config: NullConfig,
    /// Members with that configuration.
    pub members: u32,
}

/// mAP and significance of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMap {
    /// The group code (as passed in).
    pub group: u32,
    /// Number of AP rows that entered the mean.
    pub n_members: usize,
    /// Mean of the members' APs.
    pub mean_average_precision: f64,
    /// `(1 + #{null > mAP}) / (T + 1)`, or its exact expectation (see `p_method`).
    pub p_value: f64,
    /// Benjamini–Hochberg q-value over all groups of the call.
    pub corrected_p_value: f64,
    /// `p_value < threshold`.
    pub below_p: bool,
    /// `corrected_p_value < threshold`.
    pub below_corrected_p: bool,
    /// The group's distinct null configurations, ascending, with member counts.
    pub configs: Vec<ConfigCount>,
    /// Whether the p-value is exact, cpbench Monte Carlo, or copairs' stream.
    pub p_method: PValueMethod,
}

impl GroupMap {
    /// The configurations as `n_pos:n_total*members` joined by `;` (the fixtures' `null_configs`).
    pub fn configs_label(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.configs.iter().enumerate() {
            let sep = if i == 0 { "" } else { ";" };
            let _ = write!(s, "{sep}{}*{}", c.config, c.members);
        }
        s
    }
}

/// Benjamini–Hochberg q-values as statsmodels `multipletests(p, method="fdr_bh")`: ascending
/// sort, `q_(i) = p_(i) / (i/n)`, running minimum from the largest `i` down, clipped at 1,
/// returned in input order. `p` must not contain NaN.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    debug_assert!(p.iter().all(|v| !v.is_nan()), "BH of NaN p-values");
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Ties may be ordered arbitrarily: their q-values come out equal either way.
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![0.0; n];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        // statsmodels divides by the ecdf factor (i/n), not multiplies by n/i: same rounding.
        let raw = p[i] / ((rank + 1) as f64 / n as f64);
        running = running.min(raw);
        q[i] = running.min(1.0);
    }
    q
}

/// Share of groups whose q-value is below the threshold (copairs' "fraction retrieved");
/// `None` when there are no groups.
pub fn fraction_retrieved(groups: &[GroupMap]) -> Option<f64> {
    (!groups.is_empty())
        .then(|| groups.iter().filter(|g| g.below_corrected_p).count() as f64 / groups.len() as f64)
}

/// The mean of one group's APs, rounded as pandas 3.1 `groupby(...).mean()` rounds it.
///
/// pandas takes one of two paths: when the group codes of the (valid) rows are non-decreasing
/// in row order it uses `np.add.reduceat`, i.e. the first value plus numpy's pairwise sum of
/// the rest; otherwise its Cython `group_mean`, a Kahan-compensated running sum. Both are
/// divided by the count. (Verified against pandas 3.1.1 on random ill-conditioned inputs.)
fn pandas_mean(values: &[f64], codes_monotonic: bool) -> f64 {
    let n = values.len() as f64;
    if codes_monotonic {
        let (first, rest) = values.split_first().expect("a group has at least one row");
        let sum = if rest.is_empty() {
            *first
        } else {
            first + pairwise_sum_f64(rest)
        };
        return sum / n;
    }
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for &v in values {
        let y = v - comp;
        let t = sum + y;
        comp = t - sum - y;
        sum = t;
    }
    sum / n
}

/// mAP, p-value, q-value and flags per group of AP rows (copairs' `mean_average_precision`).
///
/// The four slices are the AP table's columns, one entry per AP row: `ap` (NaN allowed, dropped),
/// `n_pos` / `n_total` (`n_pos_pairs`, `n_total_pairs`) and `group`, the code of the row's
/// `sameby` key (rows whose key is missing must be left out by the caller, as pandas drops them).
/// Output: one [`GroupMap`] per group with at least one valid row, ascending by code.
pub fn mean_average_precision(
    ap: &[f64],
    n_pos: &[u32],
    n_total: &[u32],
    group: &[u32],
    params: &MapParams,
) -> Result<Vec<GroupMap>, MetricError> {
    params.validate()?;
    for (what, got) in [
        ("n_pos_pairs length (AP rows)", n_pos.len()),
        ("n_total_pairs length (AP rows)", n_total.len()),
        ("group length (AP rows)", group.len()),
    ] {
        if got != ap.len() {
            return Err(MetricError::ShapeMismatch {
                what,
                expected: ap.len(),
                got,
            });
        }
    }

    // 1–2. Valid rows, grouped by code; members stay in AP-row order (copairs averages the
    // members' null rows in that order, which matters for float32 rounding).
    let mut members: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (row, &a) in ap.iter().enumerate() {
        if a.is_nan() || n_pos[row] == 0 {
            continue;
        }
        if a.is_infinite() {
            return Err(MetricError::NonFinite { row, col: 0 });
        }
        if n_pos[row] > n_total[row] {
            return Err(MetricError::InvalidParameter {
                name: "n_pos_pairs",
                value: n_pos[row].to_string(),
                reason: format!("AP row {row}: exceeds n_total_pairs = {}", n_total[row]),
            });
        }
        members.entry(group[row]).or_default().push(row);
    }

    // Distinct configurations of the call, ascending (copairs' np.unique order).
    let mut configs: Vec<NullConfig> = members
        .values()
        .flatten()
        .map(|&r| NullConfig {
            n_pos: n_pos[r],
            n_total: n_total[r],
        })
        .collect();
    configs.sort_unstable();
    configs.dedup();
    let config_index = |r: usize| {
        let c = NullConfig {
            n_pos: n_pos[r],
            n_total: n_total[r],
        };
        configs
            .binary_search(&c)
            .expect("every valid row's config is listed")
    };

    // 3. mAP per group, and the null's view of the group.
    let valid_codes = (0..ap.len())
        .filter(|&r| !ap[r].is_nan() && n_pos[r] > 0)
        .map(|r| group[r]);
    let mut previous = None;
    let codes_monotonic = valid_codes.into_iter().all(|c| {
        let ok = previous.is_none_or(|p| p <= c);
        previous = Some(c);
        ok
    });
    let mut out = Vec::with_capacity(members.len());
    let mut inputs = Vec::with_capacity(members.len());
    for (&code, rows) in &members {
        let values: Vec<f64> = rows.iter().map(|&r| ap[r]).collect();
        let map = pandas_mean(&values, codes_monotonic);
        let member_configs: Vec<usize> = rows.iter().map(|&r| config_index(r)).collect();
        let mut counts: BTreeMap<usize, u32> = BTreeMap::new();
        for &c in &member_configs {
            *counts.entry(c).or_default() += 1;
        }
        out.push(GroupMap {
            group: code,
            n_members: rows.len(),
            mean_average_precision: map,
            p_value: f64::NAN,
            corrected_p_value: f64::NAN,
            below_p: false,
            below_corrected_p: false,
            configs: counts
                .into_iter()
                .map(|(c, members)| ConfigCount {
                    config: configs[c],
                    members,
                })
                .collect(),
            p_method: PValueMethod::MonteCarlo,
        });
        inputs.push(GroupNullInput {
            member_configs,
            map,
        });
    }

    // 4. p-values.
    let null_params = NullParams {
        null_size: params.null_size,
        seed: params.seed,
        mode: params.null_mode,
        threads: params.threads,
    };
    let pvals = group_p_values(&configs, &inputs, &null_params)?;

    // 5–6. q-values and flags.
    let p: Vec<f64> = pvals.iter().map(|g| g.p_value).collect();
    let q = benjamini_hochberg(&p);
    for ((g, pv), qv) in out.iter_mut().zip(&pvals).zip(q) {
        g.p_value = pv.p_value;
        g.p_method = pv.method;
        g.corrected_p_value = qv;
        g.below_p = pv.p_value < params.threshold;
        g.below_corrected_p = qv < params.threshold;
    }
    Ok(out)
}

/// [`mean_average_precision`] over AP rows given as [`ApRow`]s.
pub fn mean_average_precision_rows(
    rows: &[ApRow],
    params: &MapParams,
) -> Result<Vec<GroupMap>, MetricError> {
    let ap: Vec<f64> = rows.iter().map(|r| r.average_precision).collect();
    let n_pos: Vec<u32> = rows.iter().map(|r| r.n_pos_pairs).collect();
    let n_total: Vec<u32> = rows.iter().map(|r| r.n_total_pairs).collect();
    let group: Vec<u32> = rows.iter().map(|r| r.group).collect();
    mean_average_precision(&ap, &n_pos, &n_total, &group, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_matches_statsmodels_on_a_hand_example() {
        // statsmodels multipletests([0.01, 0.04, 0.03, 0.2, 0.04], method="fdr_bh")[1]
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2, 0.04]);
        let want = [0.05, 0.05, 0.05, 0.2, 0.05];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]), vec![0.95, 0.95]);
        assert_eq!(benjamini_hochberg(&[1.0]), vec![1.0]);
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.6, 0.7, 0.8]), vec![0.8, 0.8, 0.8]);
    }

    #[test]
    fn pandas_mean_follows_both_pandas_paths() {
        // pandas 3.1.1: pd.Series(v).groupby(keys).mean() — sorted keys take np.add.reduceat,
        // unsorted keys the Kahan loop.
        let v = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(pandas_mean(&v, true), 0.0);
        assert_eq!(pandas_mean(&v, false), 0.25);
        let v = [1e16, 1.0, 1.0, -1e16];
        assert_eq!(pandas_mean(&v, true), 0.5);
        let mut v = vec![1.0];
        v.extend([1e-16; 10]);
        assert_eq!(pandas_mean(&v, false), (1.0 + 1e-15) / 11.0);
    }

    #[test]
    fn parameters_are_validated() {
        let rows = [ApRow {
            average_precision: 0.5,
            n_pos_pairs: 1,
            n_total_pairs: 3,
            group: 0,
        }];
        for p in [
            MapParams {
                null_size: 0,
                ..MapParams::default()
            },
            MapParams {
                threshold: 0.0,
                ..MapParams::default()
            },
            MapParams {
                threshold: 1.5,
                ..MapParams::default()
            },
            MapParams {
                threshold: f64::NAN,
                ..MapParams::default()
            },
        ] {
            let err = mean_average_precision_rows(&rows, &p).unwrap_err();
            assert!(matches!(err, MetricError::InvalidParameter { .. }), "{err}");
        }
        let err = mean_average_precision(&[0.5], &[1, 2], &[3], &[0], &MapParams::default());
        assert!(matches!(err, Err(MetricError::ShapeMismatch { .. })));
        let err = mean_average_precision(&[0.5], &[4], &[3], &[0], &MapParams::default());
        assert!(matches!(
            err,
            Err(MetricError::InvalidParameter {
                name: "n_pos_pairs",
                ..
            })
        ));
        let err = mean_average_precision(&[f64::INFINITY], &[1], &[3], &[0], &MapParams::default());
        assert!(matches!(
            err,
            Err(MetricError::NonFinite { row: 0, col: 0 })
        ));
    }

    #[test]
    fn invalid_rows_are_dropped_and_groups_sorted() {
        let ap = [0.5, f64::NAN, 1.0, 0.25, 0.75];
        let n_pos = [1, 1, 2, 0, 1];
        let n_total = [4, 4, 5, 5, 4];
        let group = [7, 7, 3, 5, 7];
        let out =
            mean_average_precision(&ap, &n_pos, &n_total, &group, &MapParams::default()).unwrap();
        let codes: Vec<u32> = out.iter().map(|g| g.group).collect();
        assert_eq!(codes, vec![3, 7]); // group 5 only had an n_pos = 0 row
        assert_eq!(out[1].n_members, 2);
        assert_eq!(out[1].mean_average_precision, 0.625);
        assert_eq!(out[1].configs_label(), "1:4*2");
        assert_eq!(out[0].configs_label(), "2:5*1");
        assert_eq!(fraction_retrieved(&[]), None);
    }

    /// Golden tests against copairs 0.5.5 (`tests/fixtures/copairs`, see its SEMANTICS.md §9).
    mod fixtures {
        use super::*;
        use std::collections::HashMap;
        use std::path::PathBuf;

        fn fixture_dir() -> PathBuf {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/copairs")
        }

        struct Table {
            header: Vec<String>,
            rows: Vec<Vec<String>>,
        }

        impl Table {
            fn read(file: &str) -> Table {
                let path = fixture_dir().join(file);
                let mut rd =
                    csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                let header = rd.headers().unwrap().iter().map(str::to_string).collect();
                let rows = rd
                    .records()
                    .map(|r| r.unwrap().iter().map(str::to_string).collect())
                    .collect();
                Table { header, rows }
            }
            fn col(&self, name: &str) -> usize {
                self.header
                    .iter()
                    .position(|h| h == name)
                    .unwrap_or_else(|| panic!("no column {name}"))
            }
            fn f64s(&self, name: &str) -> Vec<f64> {
                let c = self.col(name);
                self.rows
                    .iter()
                    .map(|r| r[c].parse::<f64>().unwrap())
                    .collect()
            }
            fn u32s(&self, name: &str) -> Vec<u32> {
                let c = self.col(name);
                self.rows
                    .iter()
                    .map(|r| r[c].parse::<u32>().unwrap())
                    .collect()
            }
            fn bools(&self, name: &str) -> Vec<bool> {
                let c = self.col(name);
                self.rows.iter().map(|r| r[c] == "true").collect()
            }
        }

        /// One mAP case: copairs' AP rows (after its input filter) and its mAP table.
        struct Case {
            id: String,
            null_size: usize,
            seed: u64,
            threshold: f64,
            fraction: f64,
            ap: Vec<f64>,
            n_pos: Vec<u32>,
            n_total: Vec<u32>,
            /// Codes in pandas' sorted key order (numeric columns sort numerically).
            group: Vec<u32>,
            map: Table,
        }

        fn cases() -> Vec<Case> {
            let text = std::fs::read_to_string(fixture_dir().join("cases.json")).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut out = Vec::new();
            for case in json["cases"].as_array().unwrap() {
                let m = &case["map"];
                if m.is_null() {
                    continue;
                }
                let ap_table = Table::read(case["ap"]["file"].as_str().unwrap());
                let sameby: Vec<&str> = m["sameby"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let keep: Vec<bool> = match m["input_filter"].as_object() {
                    None => vec![true; ap_table.rows.len()],
                    Some(f) => {
                        assert_eq!(f["op"], "!=");
                        let c = ap_table.col(f["column"].as_str().unwrap());
                        let v = f["value"].as_str().unwrap();
                        ap_table.rows.iter().map(|r| r[c] != v).collect()
                    }
                };
                let rows: Vec<usize> = (0..ap_table.rows.len()).filter(|&i| keep[i]).collect();
                let pick_f = |v: Vec<f64>| rows.iter().map(|&i| v[i]).collect::<Vec<_>>();
                let pick_u = |v: Vec<u32>| rows.iter().map(|&i| v[i]).collect::<Vec<_>>();
                // Key per row; sort keys column by column, numerically where all values are integers.
                let cols: Vec<usize> = sameby.iter().map(|c| ap_table.col(c)).collect();
                let keys: Vec<Vec<String>> = rows
                    .iter()
                    .map(|&i| cols.iter().map(|&c| ap_table.rows[i][c].clone()).collect())
                    .collect();
                let numeric: Vec<bool> = (0..cols.len())
                    .map(|k| keys.iter().all(|key| key[k].parse::<i64>().is_ok()))
                    .collect();
                let mut distinct = keys.clone();
                distinct.sort_by(|a, b| {
                    for k in 0..a.len() {
                        let o = if numeric[k] {
                            a[k].parse::<i64>()
                                .unwrap()
                                .cmp(&b[k].parse::<i64>().unwrap())
                        } else {
                            a[k].cmp(&b[k])
                        };
                        if o.is_ne() {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                distinct.dedup();
                let code: HashMap<&Vec<String>, u32> = distinct
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k, i as u32))
                    .collect();
                out.push(Case {
                    id: case["id"].as_str().unwrap().to_string(),
                    null_size: m["null_size"].as_u64().unwrap() as usize,
                    seed: m["seed"].as_u64().unwrap(),
                    threshold: m["threshold"].as_f64().unwrap(),
                    fraction: m["fraction_below_corrected_p"].as_f64().unwrap(),
                    ap: pick_f(ap_table.f64s("average_precision")),
                    n_pos: pick_u(ap_table.u32s("n_pos_pairs")),
                    n_total: pick_u(ap_table.u32s("n_total_pairs")),
                    group: keys.iter().map(|k| code[k]).collect(),
                    map: Table::read(m["file"].as_str().unwrap()),
                });
            }
            assert!(out.len() >= 20, "expected the 20 mAP cases of cases.json");
            out
        }

        fn run(case: &Case, mode: NullMode) -> Vec<GroupMap> {
            let params = MapParams {
                null_size: case.null_size,
                seed: case.seed,
                threshold: case.threshold,
                null_mode: mode,
                threads: 2,
            };
            mean_average_precision(&case.ap, &case.n_pos, &case.n_total, &case.group, &params)
                .unwrap()
        }

        #[test]
        fn map_members_and_configs_match_copairs() {
            for case in cases() {
                let got = run(&case, NullMode::Cpbench);
                let want = case.map.f64s("mean_average_precision");
                let members = case.map.u32s("n_members");
                let configs_col = case.map.col("null_configs");
                assert_eq!(got.len(), want.len(), "{}: number of groups", case.id);
                for (k, g) in got.iter().enumerate() {
                    assert_eq!(g.group, k as u32, "{}: group order", case.id);
                    let diff = (g.mean_average_precision - want[k]).abs();
                    assert!(
                        diff <= 1e-12,
                        "{} group {k}: mAP {} vs {}",
                        case.id,
                        g.mean_average_precision,
                        want[k]
                    );
                    // pandas' own rounding is reproduced, so the values are in fact identical.
                    assert_eq!(
                        g.mean_average_precision, want[k],
                        "{} group {k}: mAP bits",
                        case.id
                    );
                    assert_eq!(g.n_members as u32, members[k], "{} group {k}", case.id);
                    assert_eq!(
                        g.configs_label(),
                        case.map.rows[k][configs_col],
                        "{} group {k}",
                        case.id
                    );
                }
            }
        }

        #[test]
        fn bh_and_flags_of_copairs_p_values_match_copairs() {
            for case in cases() {
                let p = case.map.f64s("p_value");
                let q_want = case.map.f64s("corrected_p_value");
                let q = benjamini_hochberg(&p);
                let below_p = case.map.bools("below_p");
                let below_q = case.map.bools("below_corrected_p");
                for k in 0..p.len() {
                    assert!(
                        (q[k] - q_want[k]).abs() <= 1e-12,
                        "{} group {k}: q {} vs {}",
                        case.id,
                        q[k],
                        q_want[k]
                    );
                    assert_eq!(p[k] < case.threshold, below_p[k], "{} group {k}", case.id);
                    assert_eq!(q[k] < case.threshold, below_q[k], "{} group {k}", case.id);
                }
                let groups: Vec<GroupMap> = (0..p.len())
                    .map(|k| GroupMap {
                        group: k as u32,
                        n_members: 1,
                        mean_average_precision: 0.0,
                        p_value: p[k],
                        corrected_p_value: q[k],
                        below_p: p[k] < case.threshold,
                        below_corrected_p: q[k] < case.threshold,
                        configs: Vec::new(),
                        p_method: PValueMethod::CopairsStream,
                    })
                    .collect();
                // serde_json's default float parser may be 1 ulp off, hence the tolerance.
                let fraction = fraction_retrieved(&groups).unwrap();
                assert!(
                    (fraction - case.fraction).abs() <= 1e-15,
                    "{}: {fraction}",
                    case.id
                );
            }
        }

        #[test]
        fn copairs_mode_reproduces_copairs_p_values_bit_for_bit() {
            for case in cases() {
                let got = run(&case, NullMode::Copairs);
                let p = case.map.f64s("p_value");
                let q = case.map.f64s("corrected_p_value");
                for (k, g) in got.iter().enumerate() {
                    assert_eq!(g.p_method, PValueMethod::CopairsStream);
                    assert_eq!(g.p_value, p[k], "{} group {k}: p", case.id);
                    assert!(
                        (g.corrected_p_value - q[k]).abs() <= 1e-12,
                        "{} group {k}: q",
                        case.id
                    );
                }
            }
        }

        #[test]
        fn cpbench_p_values_agree_with_copairs_exactly_or_within_monte_carlo_error() {
            let mut n_exact = 0;
            for case in cases() {
                let got = run(&case, NullMode::Cpbench);
                let t = case.null_size as f64;
                let p_cp = case.map.f64s("p_value");
                let gt = case.map.f64s("exact_p_gt");
                let ge = case.map.f64s("exact_p_ge");
                let enumerable = case.map.bools("null_enumerable");
                let expected = |p: f64| (1.0 + t * p) / (t + 1.0);
                for (k, g) in got.iter().enumerate() {
                    let ctx = format!("{} group {k} ({})", case.id, g.configs_label());
                    if enumerable[k] && g.configs.len() == 1 {
                        assert_eq!(g.p_method, PValueMethod::Exact, "{ctx}");
                    }
                    if g.p_method == PValueMethod::Exact {
                        n_exact += 1;
                        assert!(
                            !gt[k].is_nan(),
                            "{ctx}: exact here, so the fixture has it too"
                        );
                        // The fixture's exact tails treat values within 1e-9 of the mAP as ties
                        // (gt excludes, ge includes them); cpbench decides ties by copairs'
                        // float32 comparison, so its P lies in [gt, ge] and equals gt without ties.
                        let (lo, hi) = (expected(gt[k]), expected(ge[k]));
                        assert!(
                            g.p_value >= lo - 1e-12 && g.p_value <= hi + 1e-12,
                            "{ctx}: exact p {} outside [{lo}, {hi}]",
                            g.p_value
                        );
                    }
                    // Monte-Carlo agreement with copairs' own draw. P: the exact tail where known,
                    // else the two estimates pooled. copairs' p has sd sqrt(P(1−P)/T); when cpbench
                    // samples too, the difference of two independent estimates has sqrt(2) times it.
                    let p_true = if gt[k].is_nan() {
                        ((p_cp[k] + g.p_value) / 2.0 * (t + 1.0) - 1.0) / t
                    } else {
                        gt[k]
                    }
                    .clamp(0.0, 1.0);
                    let spread = if g.p_method == PValueMethod::Exact {
                        1.0
                    } else {
                        2f64.sqrt()
                    };
                    let bound =
                        4.0 * spread * (p_true * (1.0 - p_true) / t).sqrt() + 2.0 / (t + 1.0);
                    let diff = (g.p_value - p_cp[k]).abs();
                    assert!(
                        diff <= bound,
                        "{ctx}: p {} vs copairs {} (bound {bound})",
                        g.p_value,
                        p_cp[k]
                    );
                }
            }
            assert!(n_exact >= 20, "only {n_exact} exact p-values");
        }

        /// The AP rows of one case with whole groups reordered (`order` of codes) and codes
        /// relabelled to `relabel[code]`; rows inside a group keep their order.
        fn reorder(
            case: &Case,
            order: &[u32],
            relabel: &[u32],
        ) -> (Vec<f64>, Vec<u32>, Vec<u32>, Vec<u32>) {
            let mut rows: Vec<usize> = Vec::new();
            for &g in order {
                rows.extend((0..case.ap.len()).filter(|&r| case.group[r] == g));
            }
            (
                rows.iter().map(|&r| case.ap[r]).collect(),
                rows.iter().map(|&r| case.n_pos[r]).collect(),
                rows.iter().map(|&r| case.n_total[r]).collect(),
                rows.iter()
                    .map(|&r| relabel[case.group[r] as usize])
                    .collect(),
            )
        }

        #[test]
        fn cpbench_p_values_do_not_depend_on_order_or_other_groups() {
            let all = cases();
            for id in [
                "synth_no_negatives",
                "lincs_replicates_all_vs_all",
                "bbbc021_moa_not_same_compound",
            ] {
                let case = all.iter().find(|c| c.id == id).unwrap();
                let base = run(case, NullMode::Cpbench);
                assert_eq!(
                    base,
                    run(case, NullMode::Cpbench),
                    "{id}: same seed, same result"
                );
                let n = base.len() as u32;
                let params = MapParams {
                    null_size: case.null_size,
                    seed: case.seed,
                    threshold: case.threshold,
                    null_mode: NullMode::Cpbench,
                    threads: 1,
                };
                // Groups in reverse order, codes relabelled in reverse, one thread.
                let order: Vec<u32> = (0..n).rev().collect();
                let relabel: Vec<u32> = (0..n).map(|g| n - 1 - g).collect();
                let (ap, np, nt, gr) = reorder(case, &order, &relabel);
                let shuffled = mean_average_precision(&ap, &np, &nt, &gr, &params).unwrap();
                for g in &base {
                    let s = &shuffled[(n - 1 - g.group) as usize];
                    assert_eq!(
                        (s.p_value, s.p_method),
                        (g.p_value, g.p_method),
                        "{id} group {}",
                        g.group
                    );
                    // Row order may switch pandas' summation path (see `pandas_mean`): last-bit only.
                    let d = (s.mean_average_precision - g.mean_average_precision).abs();
                    assert!(d <= 1e-15, "{id} group {}: mAP moved by {d}", g.group);
                }
                // Without the first group, and with an unrelated group with a new configuration.
                let keep: Vec<u32> = (1..n).collect();
                let ident: Vec<u32> = (0..n).collect();
                let (mut ap, mut np, mut nt, mut gr) = reorder(case, &keep, &ident);
                for (a, m) in [(0.9, 7u32), (0.4, 7)] {
                    ap.push(a);
                    np.push(m);
                    nt.push(1234);
                    gr.push(n + 10);
                }
                let other = mean_average_precision(&ap, &np, &nt, &gr, &params).unwrap();
                for g in &base[1..] {
                    let o = other.iter().find(|o| o.group == g.group).unwrap();
                    assert_eq!(o.p_value, g.p_value, "{id} group {}", g.group);
                }
            }
        }

        #[test]
        fn copairs_mode_p_values_depend_on_the_other_configurations_as_copairs_does() {
            // SEMANTICS.md §21: dropping a group that removes a configuration reseeds the others.
            let all = cases();
            let case = all.iter().find(|c| c.id == "synth_no_negatives").unwrap();
            let keep: Vec<u32> = (0..5).collect(); // drop G05, the only 5:5 group
            let ident: Vec<u32> = (0..6).collect();
            let (ap, np, nt, gr) = reorder(case, &keep, &ident);
            let params = MapParams {
                null_size: case.null_size,
                seed: case.seed,
                threshold: case.threshold,
                null_mode: NullMode::Copairs,
                threads: 2,
            };
            let full = run(case, NullMode::Copairs);
            let part = mean_average_precision(&ap, &np, &nt, &gr, &params).unwrap();
            assert_ne!(part[0].p_value, full[0].p_value);
            let cp_full = run(case, NullMode::Cpbench);
            let cp_part = mean_average_precision(
                &ap,
                &np,
                &nt,
                &gr,
                &MapParams {
                    null_mode: NullMode::Cpbench,
                    ..params
                },
            )
            .unwrap();
            assert_eq!(cp_part[0].p_value, cp_full[0].p_value);
        }
    }
}
