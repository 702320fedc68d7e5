//! `cpbench prep` feature-select, normalize, aggregate, consensus, control-normalize,
//! treatment-strength and pipeline: pycytominer 1.7.1 golden values (fixtures from
//! tests/golden/make_pycytominer_prep_fixtures.py), invariants, and bad input.

use std::path::{Path, PathBuf};

use cpbench_core::Profiles;
use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles, read_table};
use polars::prelude::*;
use serde_json::Value;

use super::{close_f32, cpbench, fails_with_2, root, shipped};

const LINCS: &str = "lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz";

fn cases(kind: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/pycytominer/cases.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}

fn read(path: &Path, prefix: &str) -> Profiles {
    let opts = ReadOptions {
        metadata_prefixes: vec![prefix.to_owned()],
        nonfinite: NonFinitePolicy::Keep,
        level: None,
    };
    read_profiles(path, &opts).unwrap().0
}

/// Runs `cpbench prep <args>` with `--out DIR/out.parquet`; returns the output path.
fn prep(dir: &Path, args: &[&str]) -> PathBuf {
    let out = dir.join("out.parquet");
    cpbench()
        .arg("prep")
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    out
}

fn column_f64(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// Compares every fixture feature column with the same-named feature of `got`, on rows
/// `rows` of `got` (fixture row k ↔ `got` row `rows[k]`); returns the number of values compared.
fn compare_features(
    name: &str,
    got: &Profiles,
    want: &DataFrame,
    prefix: &str,
    rows: &[usize],
) -> usize {
    let mut compared = 0;
    for col in want.get_column_names() {
        if col.starts_with(prefix) {
            continue;
        }
        let j = got
            .feature_names()
            .iter()
            .position(|f| f == col.as_str())
            .unwrap_or_else(|| panic!("{name}: output lacks feature {col}"));
        for (k, want_v) in column_f64(want, col).into_iter().enumerate() {
            let got_v = f64::from(got.row(rows[k])[j]);
            assert!(
                close_f32(got_v, want_v),
                "{name}: {col}, row {}: cpbench {got_v}, pycytominer {want_v}",
                rows[k]
            );
            compared += 1;
        }
    }
    compared
}

#[test]
fn feature_select_matches_pycytominer() {
    let all = cases("feature-select");
    assert_eq!(all.len(), 6);
    for case in all {
        let name = case["name"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("excluded.json");
        let ops: Vec<&str> = case["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        let input = root().join(case["input"].as_str().unwrap());
        let prefix = case["metadata_prefix"].as_str().unwrap();
        let ops_arg = ops.join(",");
        let mut args: Vec<String> = [
            "feature-select",
            "--profiles",
            input.to_str().unwrap(),
            "--metadata-prefix",
            prefix,
            "--ops",
            &ops_arg,
            "--excluded",
            report.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (key, value) in case["params"].as_object().unwrap() {
            args.push(format!("--{}", key.replace('_', "-")));
            args.push(value.as_f64().unwrap().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = prep(dir.path(), &args);
        let got: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let want = case["excluded"].as_array().unwrap();
        let got_ops = got["ops"].as_array().unwrap();
        assert_eq!(got_ops.len(), want.len(), "{name}");
        let ties = tie_components(&case["correlation_ties"]);
        for (g, w) in got_ops.iter().zip(want) {
            assert_eq!(g[0], w[0], "{name}: operation order");
            let names = |v: &Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect()
            };
            let (g_names, w_names) = (names(&g[1]), names(&w[1]));
            if w[0] == "correlation_threshold" {
                assert_eq!(
                    modulo_ties(&g_names, &ties),
                    modulo_ties(&w_names, &ties),
                    "{name}: features excluded by correlation_threshold (exact ties aside)"
                );
            } else {
                let mut g_sorted = g_names.clone();
                g_sorted.sort_unstable();
                assert_eq!(g_sorted, w_names, "{name}: features excluded by {}", w[0]);
            }
        }
        assert_eq!(got["n_kept"], case["n_kept"], "{name}");
        let table = read(&out, prefix);
        assert_eq!(
            table.n_features() as u64,
            case["n_kept"].as_u64().unwrap(),
            "{name}"
        );
    }
}

/// Features in exactly tied pairs (duplicated columns), each mapped to its component's
/// smallest name: pycytominer breaks such ties with numpy's machine-dependent SIMD argsort.
fn tie_components(pairs: &Value) -> std::collections::BTreeMap<String, String> {
    let mut comp: std::collections::BTreeMap<String, String> = Default::default();
    let pairs: Vec<(String, String)> = pairs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (a, b) in &pairs {
        comp.entry(a.clone()).or_insert_with(|| a.clone());
        comp.entry(b.clone()).or_insert_with(|| b.clone());
    }
    // Propagate the smallest label until stable (components are tiny).
    loop {
        let mut changed = false;
        for (a, b) in &pairs {
            let m = comp[a].clone().min(comp[b].clone());
            for x in [a, b] {
                if comp[x] != m {
                    comp.insert(x.clone(), m.clone());
                    changed = true;
                }
            }
        }
        if !changed {
            return comp;
        }
    }
}

/// The excluded names with tied features replaced by their component label, sorted: equal
/// when the lists agree up to which member of a tie was dropped.
fn modulo_ties(names: &[String], ties: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = names
        .iter()
        .map(|n| {
            ties.get(n)
                .map_or_else(|| n.clone(), |c| format!("tie:{c}"))
        })
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn normalize_matches_pycytominer() {
    let all = cases("normalize");
    assert_eq!(all.len(), 5);
    for case in all {
        let name = case["name"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = root().join(case["input"].as_str().unwrap());
        let prefix = case["metadata_prefix"].as_str().unwrap();
        let mut args = vec![
            "normalize",
            "--profiles",
            input.to_str().unwrap(),
            "--metadata-prefix",
            prefix,
            "--method",
            case["method"].as_str().unwrap(),
            "--fit-on",
            case["fit_on"].as_str().unwrap(),
        ];
        if let Some(by) = case["by"].as_str() {
            args.extend(["--by", by]);
        }
        let got = read(&prep(dir.path(), &args), prefix);
        let want = read_table(
            &root()
                .join("tests/fixtures/pycytominer")
                .join(case["output"].as_str().unwrap()),
        )
        .unwrap();
        let rows: Vec<usize> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let n = compare_features(name, &got, &want, prefix, &rows);
        assert!(n >= rows.len() * 5, "{name}: compared only {n} values");
    }
}

#[test]
fn aggregate_and_consensus_match_pycytominer() {
    let all: Vec<Value> = cases("aggregate")
        .into_iter()
        .chain(cases("consensus"))
        .collect();
    assert_eq!(all.len(), 7);
    for case in all {
        let name = case["name"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = root().join(case["input"].as_str().unwrap());
        let prefix = case["metadata_prefix"].as_str().unwrap();
        let by: Vec<&str> = case["by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let by_arg = by.join(",");
        let got = read(
            &prep(
                dir.path(),
                &[
                    case["kind"].as_str().unwrap(),
                    "--profiles",
                    input.to_str().unwrap(),
                    "--metadata-prefix",
                    prefix,
                    "--by",
                    &by_arg,
                    "--method",
                    case["method"].as_str().unwrap(),
                ],
            ),
            prefix,
        );
        let want = read_table(
            &root()
                .join("tests/fixtures/pycytominer")
                .join(case["output"].as_str().unwrap()),
        )
        .unwrap();
        assert_eq!(got.n_rows(), want.height(), "{name}: number of groups");
        // Only the grouping columns survive, in pycytominer's sorted group order.
        assert_eq!(got.meta_names(), by, "{name}: metadata columns");
        for c in &by {
            let g = got.meta_strings(c).unwrap();
            let w: Vec<Option<String>> = want
                .column(c)
                .unwrap()
                .cast(&DataType::String)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect();
            assert_eq!(g, w, "{name}: group keys in {c}");
        }
        let rows: Vec<usize> = (0..got.n_rows()).collect();
        let n = compare_features(name, &got, &want, prefix, &rows);
        assert!(n >= got.n_rows() * 5, "{name}: compared only {n} values");
    }
}

#[test]
fn pipeline_equals_the_commands_it_chains() {
    let dir = tempfile::tempdir().unwrap();
    let input = shipped(LINCS);
    let input = input.to_str().unwrap();
    let steps = dir.path().join("steps.toml");
    std::fs::write(
        &steps,
        r#"
[columns]
plate = "Metadata_Plate"
control = { column = "Metadata_broad_sample", values = ["DMSO"] }

[[preprocess]]
op = "normalize"
method = "mad_robustize"
by = ["Metadata_Plate"]
fit_on = "controls"

[[preprocess]]
op = "feature-select"
ops = ["variance_threshold", "correlation_threshold"]
corr_threshold = 0.8

# Wells → compounds: median per well first (a no-op here), then the mean per compound.
[[preprocess]]
op = "aggregate"
by = ["Metadata_Plate", "Metadata_Well"]
columns = ["Metadata_broad_sample"]
method = "median"

[[preprocess]]
op = "aggregate"
by = ["Metadata_broad_sample"]
method = "mean"
"#,
    )
    .unwrap();
    let piped = prep(
        dir.path(),
        &[
            "pipeline",
            "--profiles",
            input,
            "--steps",
            steps.to_str().unwrap(),
        ],
    );
    let piped = read(&piped, "Metadata_");

    let step_dir = tempfile::tempdir().unwrap();
    let mut current = PathBuf::from(input);
    let commands: [&[&str]; 4] = [
        &[
            "normalize",
            "--method",
            "mad_robustize",
            "--by",
            "Metadata_Plate",
            "--fit-on",
            "Metadata_broad_sample=DMSO",
        ],
        &[
            "feature-select",
            "--ops",
            "variance_threshold,correlation_threshold",
            "--corr-threshold",
            "0.8",
        ],
        &[
            "aggregate",
            "--by",
            "Metadata_Plate,Metadata_Well",
            "--keep",
            "Metadata_broad_sample",
            "--method",
            "median",
        ],
        &[
            "aggregate",
            "--by",
            "Metadata_broad_sample",
            "--method",
            "mean",
        ],
    ];
    for (k, args) in commands.iter().enumerate() {
        let out = step_dir.path().join(format!("step{k}.parquet"));
        cpbench()
            .arg("prep")
            .args(&args[..1])
            .args(["--profiles", current.to_str().unwrap()])
            .args(&args[1..])
            .args(["--out", out.to_str().unwrap()])
            .assert()
            .success();
        current = out;
    }
    let chained = read(&current, "Metadata_");
    assert_eq!(piped.n_rows(), 59, "58 compounds and DMSO");
    assert!(
        piped.n_features() < 454,
        "correlation_threshold 0.8 drops features"
    );
    assert_eq!(piped.feature_names(), chained.feature_names());
    assert_eq!(piped.meta_names(), vec!["Metadata_broad_sample"]);
    assert_eq!(
        piped.meta_strings("Metadata_broad_sample").unwrap(),
        chained.meta_strings("Metadata_broad_sample").unwrap()
    );
    assert_eq!(piped.features(), chained.features());
}

#[test]
fn control_normalize_makes_each_batch_controls_standard() {
    let dir = tempfile::tempdir().unwrap();
    let out = prep(
        dir.path(),
        &[
            "control-normalize",
            "--profiles",
            shipped(LINCS).to_str().unwrap(),
            "--batch",
            "Metadata_Plate",
            "--fit-on",
            "Metadata_broad_sample=DMSO",
        ],
    );
    let got = read(&out, "Metadata_");
    assert_eq!(got.n_features(), 454);
    assert_eq!(
        got.meta_names()[..3],
        read(&shipped(LINCS), "Metadata_").meta_names()[..3]
    );
    let samples = got.meta_strings("Metadata_broad_sample").unwrap();
    let ctrl: Vec<usize> = (0..got.n_rows())
        .filter(|&i| samples[i].as_deref() == Some("DMSO"))
        .collect();
    assert_eq!(ctrl.len(), 24);
    for j in 0..got.n_features() {
        let v: Vec<f64> = ctrl.iter().map(|&i| f64::from(got.row(i)[j])).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 1e-5, "feature {j}: control mean {mean}");
        assert!(
            (var - 1.0).abs() < 1e-4,
            "feature {j}: control variance {var}"
        );
    }
    assert!(got.features().iter().all(|v| v.is_finite()));
}

#[test]
fn treatment_strength_z_scores_against_plate_controls() {
    let dir = tempfile::tempdir().unwrap();
    let per_well = dir.path().join("wells.parquet");
    let out = prep(
        dir.path(),
        &[
            "treatment-strength",
            "--profiles",
            shipped(LINCS).to_str().unwrap(),
            "--fit-on",
            "Metadata_broad_sample=DMSO",
            "--treatment",
            "Metadata_broad_sample",
            "--per-well",
            per_well.to_str().unwrap(),
        ],
    );
    let table = read_table(&out).unwrap();
    assert_eq!(table.height(), 58, "every compound, no DMSO");
    let wells = read(&per_well, "Metadata_");
    assert_eq!(wells.feature_names(), ["treatment_strength"]);
    let samples = wells.meta_strings("Metadata_broad_sample").unwrap();
    let z: Vec<f64> = wells.features().iter().map(|&v| f64::from(v)).collect();
    // The controls' own z-scores have mean 0 and sample sd 1.
    let cz: Vec<f64> = (0..z.len())
        .filter(|&i| samples[i].as_deref() == Some("DMSO"))
        .map(|i| z[i])
        .collect();
    let mean = cz.iter().sum::<f64>() / cz.len() as f64;
    let sd = (cz.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (cz.len() - 1) as f64).sqrt();
    assert!(mean.abs() < 1e-5 && (sd - 1.0).abs() < 1e-5, "{mean} {sd}");
    // One plate: a treatment's strength is the mean z of its wells.
    let names = column_strings(&table, "Metadata_broad_sample");
    let strength = column_f64(&table, "treatment_strength");
    for (name, s) in names.iter().zip(&strength) {
        let wz: Vec<f64> = (0..z.len())
            .filter(|&i| samples[i].as_deref() == Some(name.as_str()))
            .map(|i| z[i])
            .collect();
        let want = wz.iter().sum::<f64>() / wz.len() as f64;
        assert!(close_f32(*s, want), "{name}: {s} vs {want}");
    }
    // The two proteasome inhibitors (12 wells at ~20 µM) are far from DMSO; 2 control-sd is a
    // sanity bound, not a published value.
    for strong in ["BRD-K50691590-001-02-2", "BRD-K60230970-001-10-0"] {
        let k = names
            .iter()
            .position(|n| n == strong)
            .unwrap_or_else(|| panic!("{strong} missing from the treatment-strength table"));
        assert!(strength[k] > 2.0, "{strong}: {}", strength[k]);
    }
}

fn column_strings(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let out_s = out.to_str().unwrap();
    let lincs = shipped(LINCS);
    let lincs = lincs.to_str().unwrap();
    // A --by group without fit rows names the group.
    let err = fails_with_2(&[
        "prep",
        "normalize",
        "--profiles",
        lincs,
        "--by",
        "Metadata_Well",
        "--fit-on",
        "Metadata_broad_sample=DMSO",
        "--out",
        out_s,
    ]);
    assert!(
        err.contains("group Metadata_Well=") && err.contains("no fit rows"),
        "{err}"
    );
    let err = fails_with_2(&[
        "prep",
        "control-normalize",
        "--profiles",
        lincs,
        "--batch",
        "Metadata_Well",
        "--fit-on",
        "Metadata_broad_sample=DMSO",
        "--out",
        out_s,
    ]);
    assert!(err.contains("Metadata_Well="), "{err}");
    let err = fails_with_2(&[
        "prep",
        "feature-select",
        "--profiles",
        lincs,
        "--ops",
        "variance,correlation_threshold",
        "--out",
        out_s,
    ]);
    assert!(
        err.contains("variance") && err.contains("correlation_threshold"),
        "{err}"
    );
    let err = fails_with_2(&[
        "prep",
        "aggregate",
        "--profiles",
        lincs,
        "--by",
        "Metadata_nope",
        "--out",
        out_s,
    ]);
    assert!(err.contains("Metadata_nope"), "{err}");
    // Fewer than 2 controls on a plate: named.
    let err = fails_with_2(&[
        "prep",
        "treatment-strength",
        "--profiles",
        lincs,
        "--fit-on",
        "Metadata_Well=A01",
        "--treatment",
        "Metadata_broad_sample",
        "--out",
        out_s,
    ]);
    assert!(err.contains("plate Metadata_Plate=SQ00015054"), "{err}");
    // A steps file with a key the op does not take names the key.
    let steps = dir.path().join("steps.toml");
    std::fs::write(
        &steps,
        "[[preprocess]]\nop = \"aggregate\"\nby = [\"Metadata_Plate\"]\nepsilon = 1.0\n",
    )
    .unwrap();
    let err = fails_with_2(&[
        "prep",
        "pipeline",
        "--profiles",
        lincs,
        "--steps",
        steps.to_str().unwrap(),
        "--out",
        out_s,
    ]);
    assert!(
        err.contains("preprocess[0]") && err.contains("epsilon"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn cell_to_site_median_to_well_mean_to_treatment_mean() {
    // Treatment A: well w1 (site 1: cells 1, 2, 9 → median 2; site 2: cells 4, 6 → median 5;
    // well mean 3.5) and well w2 (one site, cells 10, 11, 12 → 11): treatment mean 7.25.
    // Treatment B: well w3, one site, one cell 100.
    let dir = tempfile::tempdir().unwrap();
    let cells = dir.path().join("cells.csv");
    let mut text = String::from("Metadata_treatment,Metadata_well,Metadata_site,Cells_x\n");
    for (t, w, s, v) in [
        ("A", "w1", 1, 1.0),
        ("A", "w1", 1, 2.0),
        ("A", "w1", 1, 9.0),
        ("A", "w1", 2, 4.0),
        ("A", "w1", 2, 6.0),
        ("A", "w2", 1, 10.0),
        ("A", "w2", 1, 11.0),
        ("A", "w2", 1, 12.0),
        ("B", "w3", 1, 100.0),
    ] {
        text.push_str(&format!("{t},{w},{s},{v}\n"));
    }
    std::fs::write(&cells, text).unwrap();
    let steps = dir.path().join("steps.toml");
    std::fs::write(
        &steps,
        r#"
[[preprocess]]
op = "aggregate"
method = "median"
by = ["Metadata_well", "Metadata_site"]
columns = ["Metadata_treatment"]
level = "site"

[[preprocess]]
op = "aggregate"
method = "mean"
by = ["Metadata_well"]
columns = ["Metadata_treatment"]
level = "well"

[[preprocess]]
op = "aggregate"
method = "mean"
by = ["Metadata_treatment"]
level = "treatment"
"#,
    )
    .unwrap();
    let out = prep(
        dir.path(),
        &[
            "pipeline",
            "--profiles",
            cells.to_str().unwrap(),
            "--steps",
            steps.to_str().unwrap(),
        ],
    );
    let got = read(&out, "Metadata_");
    assert_eq!(
        got.meta_strings("Metadata_treatment").unwrap(),
        vec![Some("A".to_owned()), Some("B".to_owned())]
    );
    assert_eq!(got.features(), &[7.25, 100.0]);
    // A metadata column that varies within a group cannot be kept.
    let err = fails_with_2(&[
        "prep",
        "aggregate",
        "--profiles",
        cells.to_str().unwrap(),
        "--by",
        "Metadata_treatment",
        "--keep",
        "Metadata_well",
        "--out",
        dir.path().join("bad.csv").to_str().unwrap(),
    ]);
    assert!(
        err.contains("Metadata_well") && err.contains("not constant"),
        "{err}"
    );
}

#[test]
fn name_filters_run_before_the_operations() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("excluded.json");
    let out = prep(
        dir.path(),
        &[
            "feature-select",
            "--profiles",
            shipped(LINCS).to_str().unwrap(),
            "--compartments",
            "Nuclei",
            "--drop-positional",
            "--ops",
            "correlation_threshold",
            "--corr-threshold",
            "0.8",
            "--excluded",
            report.to_str().unwrap(),
        ],
    );
    let got = read(&out, "Metadata_");
    let excluded: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let by_names = excluded["name_filters"].as_array().unwrap().len();
    let by_corr = excluded["ops"][0][1].as_array().unwrap().len();
    assert_eq!(excluded["n_input"], 454);
    assert_eq!(got.n_features() + by_names + by_corr, 454);
    assert!(by_corr > 0, "some Nuclei features correlate above 0.8");
    assert!(
        got.feature_names()
            .iter()
            .all(|f| f.starts_with("Nuclei_") && !f.contains("_Location_")),
        "{:?}",
        got.feature_names()
    );
}
