//! `retrieval::average_precision` against copairs 0.5.5 on the synthetic golden cases of
//! `tests/fixtures/copairs/cases.json` (the shipped-data cases run through the CLI in
//! `tests/e2e/eval_map.rs`). Library level: no file IO of cpbench, no CLI.

use std::path::PathBuf;

use cpbench_metrics::retrieval::{
    ApError, ApOptions, PairColumn, PairRules, RuleError, assign_reference_index, average_precision,
};
use cpbench_metrics::{LabelColumn, Matrix, MetricError, MultiLabelColumn, Similarity};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/copairs")
}

/// A CSV as a header and rows of fields.
fn read_csv(path: &PathBuf) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Runs one case; returns the AP result and the input row index of each scored row.
fn run_case(
    case: &Value,
) -> (
    Result<cpbench_metrics::retrieval::ApTable, ApError>,
    Vec<usize>,
) {
    let input = case["input"].as_str().unwrap();
    let (header, mut rows) = read_csv(&fixtures().join(input.rsplit('/').next().unwrap()));
    let mut source: Vec<usize> = (0..rows.len()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    if let Some(pre) = case["prefilter"].as_object() {
        let keep: Vec<bool> = rows
            .iter()
            .map(|r| {
                let missing = pre
                    .get("drop_rows_where_missing")
                    .and_then(Value::as_str)
                    .is_some_and(|c| r[col(c)].is_empty());
                let equal = pre
                    .get("drop_rows_where_equal")
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.iter().any(|(c, v)| r[col(c)] == v.as_str().unwrap()));
                !missing && !equal
            })
            .collect();
        source.retain(|&i| keep[i]);
        rows = source.iter().map(|&i| rows[i].clone()).collect();
    }
    let feats: Vec<usize> = (0..header.len())
        .filter(|&j| !header[j].starts_with("Metadata_"))
        .collect();
    let x: Vec<f32> = rows
        .iter()
        .flat_map(|r| {
            feats
                .iter()
                .map(|&j| r[j].parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let n = rows.len();

    let rules = &case["rules"];
    let ml = case["multilabel"].as_object();
    let reference = case["reference"].as_object();
    let reference_col = reference.map(|r| r["reference_col"].as_str().unwrap());
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<PairColumn> = Vec::new();
    let mut index = |name: &str, columns: &mut Vec<PairColumn>| -> usize {
        if let Some(k) = names.iter().position(|c| c == name) {
            return k;
        }
        let c = if Some(name) == reference_col {
            // condition: "Metadata_x == 'VALUE'"
            let cond = reference.unwrap()["condition"].as_str().unwrap();
            let (c, v) = cond.split_once("==").unwrap();
            let (c, v) = (c.trim(), v.trim().trim_matches('\''));
            let mask: Vec<bool> = rows.iter().map(|r| r[col(c)] == v).collect();
            PairColumn::Single(assign_reference_index(name, &mask))
        } else {
            let values: Vec<Option<String>> = rows
                .iter()
                .map(|r| Some(r[col(name)].clone()).filter(|s| !s.is_empty()))
                .collect();
            match ml {
                Some(m) if m["column"] == name => PairColumn::Multi(MultiLabelColumn::encode(
                    name,
                    &values,
                    m["separator"].as_str().unwrap(),
                )),
                _ => PairColumn::Single(LabelColumn::encode(name, &values)),
            }
        };
        names.push(name.to_owned());
        columns.push(c);
        names.len() - 1
    };
    let mut list = |key: &str| -> Vec<usize> {
        strs(&rules[key])
            .iter()
            .map(|c| index(c, &mut columns))
            .collect()
    };
    let r = PairRules {
        pos_sameby: list("pos_sameby"),
        pos_diffby: list("pos_diffby"),
        neg_sameby: list("neg_sameby"),
        neg_diffby: list("neg_diffby"),
    };
    let sim: Similarity = case["distance"].as_str().unwrap().parse().unwrap();
    let d = feats.len();
    let result = average_precision(
        Matrix::new(&x, n, d).unwrap(),
        &columns,
        &r,
        sim,
        &ApOptions::default(),
    );
    (result, source)
}

#[test]
fn synthetic_cases_match_copairs() {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let cases: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    let mut near_tie_differences = 0;
    for case in cases["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let input = case["input"].as_str().unwrap();
        let distance = case["distance"].as_str().unwrap();
        if !input.starts_with("tests/")
            || ["manhattan", "chebyshev", "sqeuclidean"].contains(&distance)
        {
            continue;
        }
        let (result, source) = run_case(case);
        if case.get("expect_error").is_some_and(|e| !e.is_null()) {
            assert_eq!(
                result.unwrap_err(),
                ApError::Rules(RuleError::MissingLabel {
                    column: "Metadata_group_na".into(),
                    row: 3,
                    count: 3
                }),
                "{id}"
            );
            continue;
        }
        if id.starts_with("synth_zero_") {
            // copairs gives NaN similarities; cpbench refuses the all-zero row 0.
            let sim: Similarity = distance.parse().unwrap();
            assert_eq!(
                result.unwrap_err(),
                ApError::Features(MetricError::ZeroNorm {
                    row: 0,
                    similarity: sim
                }),
                "{id}"
            );
            continue;
        }
        let got = result.unwrap_or_else(|e| panic!("{id}: {e}"));
        let (header, want) = read_csv(&fixtures().join(case["ap"]["file"].as_str().unwrap()));
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(got.len(), want.len(), "{id}: rows");
        for (k, w) in want.iter().enumerate() {
            let row_index: usize = w[at("row_index")].parse().unwrap();
            assert_eq!(source[got.row[k]], row_index, "{id}: output row {k}");
            let n_pos: usize = w[at("n_pos_pairs")].parse().unwrap();
            let n_total: usize = w[at("n_total_pairs")].parse().unwrap();
            assert_eq!(
                (got.n_pos_pairs[k], got.n_total_pairs[k]),
                (n_pos, n_total),
                "{id} row {row_index}"
            );
            let ap: f64 = w[at("average_precision")].parse().unwrap();
            let g = got.average_precision[k];
            let same = (g.is_nan() && ap.is_nan()) || (g - ap).abs() <= 1e-12;
            if !same {
                // Only rows copairs flags as near ties may order differently (SEMANTICS.md §9).
                assert!(
                    w[at("has_near_tie")] == "true" && w[at("has_exact_tie")] == "false",
                    "{id} row {row_index}: AP {g} vs copairs {ap}"
                );
                near_tie_differences += 1;
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 12);
    assert_eq!(near_tie_differences, 0);
}
