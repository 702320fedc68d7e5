//! `cpbench eval knn | batch-leakage | relations` through the binary: BBBC021 NSC / NSCB 1-NN
//! accuracy against the scikit-learn fixture (tests/golden/make_sklearn_fixtures.py), batch
//! leakage on synthetic plates, EFAAR recall of a random gene embedding on the shipped
//! annotation files, and bad input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{cpbench, eval_json, fails_with_2, read_json, shipped, sklearn_fixture};

/// Values in [-0.5, 0.5) from a 64-bit LCG, for synthetic tables.
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed;
    move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// The whole chain through cpbench: shipped MAD-robustized wells → `prep aggregate` (mean per
/// compound and concentration) → `eval knn` without DMSO; NSC must equal scikit-learn's on the
/// treatment profiles pandas aggregated.
#[test]
fn bbbc021_nsc_through_cpbench_aggregation_matches_sklearn() {
    let dir = tempfile::tempdir().unwrap();
    let treatments = dir.path().join("treatments.csv");
    cpbench()
        .args(["prep", "aggregate", "--profiles"])
        .arg(shipped(
            "bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz",
        ))
        .args([
            "--by",
            "Metadata_Compound,Metadata_Concentration",
            "--keep",
            "Metadata_moa",
            "--method",
            "mean",
            "--out",
        ])
        .arg(&treatments)
        .assert()
        .success();
    let v = eval_json(
        dir.path(),
        "nsc.json",
        &[
            "knn",
            "--profiles",
            treatments.to_str().unwrap(),
            "--filter",
            "Metadata_Compound!=DMSO",
            "--labels",
            "Metadata_moa",
            "--exclude-same",
            "Metadata_Compound",
        ],
    );
    let want = &read_json(&sklearn_fixture("bbbc021_knn.json"))["nsc"];
    assert_eq!(v["n"], 103);
    assert_eq!(v["accuracy"], want["accuracy"]);
}

#[test]
fn bbbc021_nsc_and_nscb_match_sklearn() {
    let dir = tempfile::tempdir().unwrap();
    let expected = read_json(&sklearn_fixture("bbbc021_knn.json"));
    let treatments = sklearn_fixture("bbbc021_treatments.csv.gz")
        .display()
        .to_string();
    for (variant, exclude) in [
        ("nsc", "Metadata_Compound"),
        ("nscb", "Metadata_Compound,Metadata_Batch"),
    ] {
        let v = eval_json(
            dir.path(),
            &format!("{variant}.json"),
            &[
                "knn",
                "--profiles",
                &treatments,
                "--labels",
                "Metadata_moa",
                "--exclude-same",
                exclude,
            ],
        );
        let want = &expected[variant];
        assert_eq!(v["accuracy"], want["accuracy"], "{variant}");
        assert_eq!(v["n"], 103, "{variant}");
        let confusion = v["confusion"].as_array().unwrap();
        let diagonal: u64 = (0..confusion.len())
            .map(|i| confusion[i][i].as_u64().unwrap())
            .sum();
        assert_eq!(diagonal, want["correct"].as_u64().unwrap(), "{variant}");
        let per_class_n: u64 = v["per_class"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["n"].as_u64().unwrap())
            .sum();
        assert_eq!(per_class_n, 103);
        assert_eq!(v["classes"].as_array().unwrap().len(), 12);
    }
}

#[test]
fn knn_without_exclusions_matches_sklearn_on_synthetic_data() {
    let dir = tempfile::tempdir().unwrap();
    let expected = read_json(&sklearn_fixture("knn_synth.json"));
    let v = eval_json(
        dir.path(),
        "k1.json",
        &[
            "knn",
            "--profiles",
            sklearn_fixture("knn_synth.csv").to_str().unwrap(),
            "--labels",
            "Metadata_label",
        ],
    );
    assert_eq!(v["accuracy"], expected["k"]["1"]["accuracy"]);
    assert_eq!(v["k"], 1);
    assert_eq!(v["similarity"], "cosine");
}

/// `--vote-ties sklearn` reproduces `KNeighborsClassifier`'s predictions where the vote ties
/// (fixture: leave-one-out refits of scikit-learn, `knn_ties.json`); the default rule differs.
#[test]
fn knn_with_sklearn_vote_ties_matches_kneighborsclassifier() {
    let dir = tempfile::tempdir().unwrap();
    let expected = read_json(&sklearn_fixture("knn_ties.json"));
    let table = sklearn_fixture("knn_ties.csv");
    for k in ["4", "10"] {
        let case = &expected["k"][k];
        assert!(case["vote_ties"].as_u64().unwrap() > 0);
        let eval = |rule: &str| {
            eval_json(
                dir.path(),
                &format!("k{k}-{rule}.json"),
                &[
                    "knn",
                    "--profiles",
                    table.to_str().unwrap(),
                    "--labels",
                    "Metadata_label",
                    "--k",
                    k,
                    "--vote-ties",
                    rule,
                ],
            )
        };
        let sklearn = eval("sklearn");
        assert_eq!(sklearn["vote_ties"], "sklearn");
        assert_eq!(sklearn["accuracy"], case["accuracy"], "k = {k}");
        let default = eval("summed-similarity");
        assert_ne!(
            default["accuracy"], case["accuracy"],
            "k = {k}: the rules must differ"
        );
    }
}

#[test]
fn knn_bad_input_exits_2() {
    let treatments = sklearn_fixture("bbbc021_treatments.csv.gz")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let out = out.to_str().unwrap();
    let err = fails_with_2(&[
        "eval",
        "knn",
        "--profiles",
        &treatments,
        "--labels",
        "Metadata_mao",
        "--out",
        out,
    ]);
    assert!(err.contains("Metadata_mao"), "{err}");
    let err = fails_with_2(&[
        "eval",
        "knn",
        "--profiles",
        &treatments,
        "--labels",
        "Metadata_moa",
        "--exclude-same",
        "Metadata_Compund",
        "--out",
        out,
    ]);
    assert!(err.contains("Metadata_Compund"), "{err}");
    let err = fails_with_2(&[
        "eval",
        "knn",
        "--profiles",
        &treatments,
        "--labels",
        "Metadata_moa",
        "--k",
        "0",
        "--out",
        out,
    ]);
    assert!(err.contains("--k"), "{err}");
    assert!(!Path::new(out).exists(), "no output on bad input");
}

/// Control and treated rows on 4 batches × 3 plates; batch shifts the controls' features and
/// the treated rows' label is the batch parity (a confounded design).
fn leakage_table(dir: &Path, shift: f64) -> PathBuf {
    let mut next = lcg(17);
    let mut text = String::from("Metadata_Type,Metadata_Batch,Metadata_Plate,Metadata_label");
    for j in 0..6 {
        write!(text, ",f{j}").unwrap();
    }
    text.push('\n');
    for plate in 0..12 {
        let batch = plate / 3;
        for row in 0..10 {
            let (kind, label) = if row < 6 {
                ("control", "none".to_owned())
            } else {
                ("treated", format!("L{}", batch % 2))
            };
            write!(text, "{kind},B{batch},P{plate:02},{label}").unwrap();
            for j in 0..6 {
                let v = next() + if j == batch { shift } else { 0.0 };
                write!(text, ",{v}").unwrap();
            }
            text.push('\n');
        }
    }
    let path = dir.join(format!("plates_{shift}.csv"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn batch_leakage_finds_a_batch_effect_and_a_confounded_design() {
    let dir = tempfile::tempdir().unwrap();
    let table = leakage_table(dir.path(), 3.0);
    let args = |label: Option<&str>| {
        let mut a = vec![
            "batch-leakage".to_owned(),
            "--profiles".to_owned(),
            table.display().to_string(),
            "--controls".to_owned(),
            "Metadata_Type=control".to_owned(),
            "--target".to_owned(),
            "Metadata_Batch".to_owned(),
            "--groups".to_owned(),
            "Metadata_Plate".to_owned(),
            "--folds".to_owned(),
            "3".to_owned(),
            "--seed".to_owned(),
            "4".to_owned(),
        ];
        if let Some(l) = label {
            a.extend(["--label".to_owned(), l.to_owned()]);
        }
        a
    };
    let a = args(Some("Metadata_label"));
    let v = eval_json(
        dir.path(),
        "leak.json",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(v["chance"], 0.25);
    assert_eq!(v["n_rows"], 72);
    assert_eq!(v["n_groups"], 12);
    assert_eq!(v["fold_sizes"], serde_json::json!([24, 24, 24]));
    // A shift of 3 along the batch's own feature (noise in ±0.5) is perfectly predictable.
    assert_eq!(v["balanced_accuracy"]["logistic"], 1.0);
    assert_eq!(v["balanced_accuracy"]["knn"], 1.0);
    assert_eq!(
        v["logistic"]["balanced_accuracy"]["per_fold"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The treated rows' label is predictable from their batch alone.
    let design = &v["label_from_target"];
    assert_eq!(design["n_classes"], 2);
    assert_eq!(design["n_rows"], 48);
    assert_eq!(design["balanced_accuracy"]["mean"], 1.0);

    // Without a batch effect the classifiers are near chance.
    let table0 = leakage_table(dir.path(), 0.0);
    let mut a = args(None);
    a[2] = table0.display().to_string();
    let v = eval_json(
        dir.path(),
        "leak0.json",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        v["balanced_accuracy"]["logistic"].as_f64().unwrap() < 0.5,
        "{v}"
    );
    assert!(v.get("label_from_target").is_none());
}

#[test]
fn batch_leakage_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let table = leakage_table(dir.path(), 1.0);
    let table = table.to_str().unwrap();
    let out = dir.path().join("r.json");
    let out = out.to_str().unwrap();
    let base = |controls: &str, target: &str, groups: &str, folds: &str| {
        vec![
            "eval".to_owned(),
            "batch-leakage".to_owned(),
            "--profiles".to_owned(),
            table.to_owned(),
            "--controls".to_owned(),
            controls.to_owned(),
            "--target".to_owned(),
            target.to_owned(),
            "--groups".to_owned(),
            groups.to_owned(),
            "--folds".to_owned(),
            folds.to_owned(),
            "--out".to_owned(),
            out.to_owned(),
        ]
    };
    let run = |a: Vec<String>| fails_with_2(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let err = run(base(
        "Metadata_Type=DMSO",
        "Metadata_Batch",
        "Metadata_Plate",
        "3",
    ));
    assert!(
        err.contains("Metadata_Type=DMSO") && err.contains("matches no row"),
        "{err}"
    );
    let err = run(base(
        "Metadata_Type=control",
        "Metadata_Bach",
        "Metadata_Plate",
        "3",
    ));
    assert!(err.contains("Metadata_Bach"), "{err}");
    let err = run(base(
        "Metadata_Type=control",
        "Metadata_Batch",
        "Metadata_Plate",
        "13",
    ));
    assert!(
        err.contains("--folds 13") && err.contains("12 distinct groups"),
        "{err}"
    );
    let err = run(base(
        "Metadata_Type=control",
        "Metadata_Plate",
        "Metadata_Plate",
        "3",
    ));
    assert!(err.contains("--target and --groups"), "{err}");
    assert!(!Path::new(out).exists(), "no output on bad input");
}

#[test]
fn relations_of_a_random_embedding_match_efaar_rules_and_expectation() {
    // The 272 GRAPE genes with random features (tests/fixtures/sklearn/relations_genes.csv)
    // against the five shipped annotation files; relations.json holds EFAAR's recall rules
    // evaluated in Python on the same similarities.
    let dir = tempfile::tempdir().unwrap();
    let expected = read_json(&sklearn_fixture("relations.json"));
    let sources = ["CORUM", "HuMAP", "Reactome", "SIGNOR", "StringDB"];
    let pairs: Vec<String> = sources
        .iter()
        .map(|s| {
            shipped(&format!("annotations/{s}.pairs.csv.gz"))
                .display()
                .to_string()
        })
        .collect();
    let v = eval_json(
        dir.path(),
        "rel.json",
        &[
            "relations",
            "--profiles",
            sklearn_fixture("relations_genes.csv").to_str().unwrap(),
            "--gene-column",
            "Metadata_gene",
            "--pairs",
            &pairs.join(","),
        ],
    );
    assert_eq!(v["n_genes"], 272);
    assert_eq!(v["n_null_pairs"], expected["n_null"]);
    for (name, got) in sources.iter().zip(v["sources"].as_array().unwrap()) {
        let want = &expected["sources"][*name];
        assert_eq!(got["source"], *name);
        assert_eq!(got["n_pairs"], want["n_pairs"], "{name}");
        assert_eq!(got["scored"], want["scored"], "{name}");
        let tails = got["recall"].as_array().unwrap();
        if want["scored"] == false {
            assert!(tails.is_empty(), "{name}");
            continue;
        }
        let n_pairs = got["n_pairs"].as_f64().unwrap();
        for t in tails {
            let key = format!("{}_{}", t["lower"], t["upper"]);
            assert_eq!(t["recall"], want["recall"][&key], "{name} {key}");
            // A random embedding: recall within ~4 binomial standard deviations of 2α.
            let (recall, expected) = (
                t["recall"].as_f64().unwrap(),
                t["expected"].as_f64().unwrap(),
            );
            let sd = (expected * (1.0 - expected) / n_pairs).sqrt();
            assert!(
                (recall - expected).abs() < 4.0 * sd,
                "{name}: {recall} vs {expected}"
            );
        }
    }
}

#[test]
fn relations_recall_related_genes_and_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    // 40 genes; G00..G19 are ten identical pairs (G00 = G01, G02 = G03, …).
    let mut next = lcg(5);
    let mut text = String::from("Metadata_gene,f0,f1,f2,f3\n");
    let mut previous = Vec::new();
    for g in 0..40 {
        let row: Vec<f64> = if g < 20 && g % 2 == 1 {
            previous.clone()
        } else {
            (0..4).map(|_| next()).collect()
        };
        write!(text, "G{g:02}").unwrap();
        row.iter().for_each(|v| write!(text, ",{v}").unwrap());
        text.push('\n');
        previous = row;
    }
    let genes = dir.path().join("genes.csv");
    std::fs::write(&genes, &text).unwrap();
    let mut pairs = String::from("entity1,entity2\n");
    for g in (0..20).step_by(2) {
        writeln!(pairs, "G{g:02},G{:02}", g + 1).unwrap();
        writeln!(pairs, "G{:02},G{g:02}", g + 1).unwrap();
    }
    pairs.push_str("G00,G00\nG00,NOT_A_GENE\n");
    let pair_file = dir.path().join("Toy.pairs.csv");
    std::fs::write(&pair_file, pairs).unwrap();
    let genes = genes.to_str().unwrap();
    let pair_file = pair_file.to_str().unwrap();
    let v = eval_json(
        dir.path(),
        "toy.json",
        &[
            "relations",
            "--profiles",
            genes,
            "--gene-column",
            "Metadata_gene",
            "--pairs",
            pair_file,
        ],
    );
    let s = &v["sources"][0];
    assert_eq!(s["source"], "Toy");
    assert_eq!(s["pairs_read"], 22);
    assert_eq!(
        (s["n_pairs"].as_u64(), s["n_genes"].as_u64()),
        (Some(10), Some(20))
    );
    // Identical profiles have cosine 1, above 95% of the 780 null pairs.
    for t in s["recall"].as_array().unwrap() {
        assert_eq!(t["recall"], 1.0, "{t}");
    }

    let out = dir.path().join("bad.json");
    let out = out.to_str().unwrap();
    let err = fails_with_2(&[
        "eval",
        "relations",
        "--profiles",
        genes,
        "--gene-column",
        "Metadata_gen",
        "--pairs",
        pair_file,
        "--out",
        out,
    ]);
    assert!(err.contains("Metadata_gen"), "{err}");
    let wrong_header = dir.path().join("wrong.csv");
    std::fs::write(&wrong_header, "gene_a,gene_b\nG00,G01\n").unwrap();
    let err = fails_with_2(&[
        "eval",
        "relations",
        "--profiles",
        genes,
        "--gene-column",
        "Metadata_gene",
        "--pairs",
        wrong_header.to_str().unwrap(),
        "--out",
        out,
    ]);
    assert!(
        err.contains("entity1") && err.contains("wrong.csv"),
        "{err}"
    );
    let duplicated = dir.path().join("dup.csv");
    std::fs::write(&duplicated, text.replace("G05,", "G04,")).unwrap();
    let err = fails_with_2(&[
        "eval",
        "relations",
        "--profiles",
        duplicated.to_str().unwrap(),
        "--gene-column",
        "Metadata_gene",
        "--pairs",
        pair_file,
        "--out",
        out,
    ]);
    assert!(
        err.contains("G04") && err.contains("one row per gene"),
        "{err}"
    );
    assert!(!Path::new(out).exists(), "no output on bad input");
}
