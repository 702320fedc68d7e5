//! Small hand-made results, figures and a leaderboard, for snapshot tests and for rendering
//! example pages (`cargo run -p cpbench-report --example render_fixture -- DIR`).
//!
//! Deterministic: the "random" numbers come from a fixed linear congruential generator.

use std::collections::BTreeMap;

use crate::figures::{
    Colouring, Coverage, KCurve, KCurves, KPoint, LambdaPoint, LambdaSweep, LeakageBar, MapGroup,
    MapGroups, Projection, RunFigures, SimilarityMap,
};
use crate::leaderboard::{
    BenchmarkBoard, BoardRow, Cell, Compared, ControlAnchor, Leaderboard, OverallRow, PluginMeta,
    Regression, RegressionCheck, TaskColumn, Tolerance,
};
use crate::result::{
    BenchmarkRef, DatasetFile, HarnessInfo, PluginKind, PluginRef, PluginRole, Provenance,
    RunResult, Score, ScoredSplit, SplitRows, Status, Timing,
};

/// A tiny deterministic generator of numbers in `[0, 1)`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal, mean 0, sd 1 (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..6).map(|_| self.next()).sum::<f64>() - 3.0
    }
}

fn sha(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn score(task: &str, metric: &str, variant: &str, value: f64, primary: bool) -> Score {
    Score {
        task: task.into(),
        metric: metric.into(),
        variant: variant.into(),
        value,
        sd: None,
        ci: None,
        n: None,
        params: BTreeMap::new(),
        primary,
    }
}

/// A succeeded run of the method `cnn-demo` on `demo-screen`, with several kinds of score.
pub fn run_result() -> RunResult {
    let mut map = score("replicate-map", "map", "copairs-0.05", 0.512, true);
    map.n = Some(40);
    map.params
        .insert("similarity".into(), serde_json::json!("cosine"));
    map.params
        .insert("null_size".into(), serde_json::json!(10000));
    let mut retrieved = score("replicate-map", "fraction-retrieved", "q<0.05", 0.625, true);
    retrieved.ci = Some([0.47, 0.76]);
    retrieved.n = Some(40);
    let mut nmi = score("moa-kmeans", "nmi", "k=labels", 0.4312, true);
    nmi.sd = Some(0.0123);
    nmi.n = Some(10);
    nmi.params.insert("k".into(), serde_json::json!(8));
    let mut leak = score(
        "batch-leakage",
        "batch-leakage",
        "balanced-accuracy",
        0.41,
        true,
    );
    leak.sd = Some(0.03);
    leak.params.insert("folds".into(), serde_json::json!(5));
    leak.params.insert("c".into(), serde_json::json!(0.1));
    RunResult {
        schema_version: crate::result::SCHEMA_VERSION,
        benchmark: BenchmarkRef {
            id: "demo-screen".into(),
            version: 2,
            manifest_sha256: sha('a'),
        },
        plugin: PluginRef {
            id: "cnn-demo".into(),
            version: "1.2.0".into(),
            role: PluginRole::Method,
            kind: PluginKind::Onnx,
            artifact_sha256: Some(sha('b')),
        },
        status: Status::Succeeded,
        reasons: Vec::new(),
        harness: HarnessInfo {
            version: "0.1.0".into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        },
        provenance: Provenance {
            dataset_files: vec![
                DatasetFile {
                    path: "data/profiles.parquet".into(),
                    sha256: sha('c'),
                },
                DatasetFile {
                    path: "data/metadata.csv".into(),
                    sha256: sha('d'),
                },
            ],
            execution_provider: Some("cpu".into()),
            seeds: BTreeMap::from([("kmeans".into(), 7), ("replicate-map.null".into(), 42)]),
            split: None,
        },
        timing: Timing {
            wall_s: 83.4,
            peak_rss_mib: Some(1534.2),
            started_at: "2025-01-31T12:00:00Z".into(),
        },
        scores: vec![map, retrieved, nmi, leak],
    }
}

const MOAS: [&str; 12] = [
    "tubulin inhibitor",
    "HDAC inhibitor",
    "CDK inhibitor",
    "mTOR inhibitor",
    "EGFR inhibitor",
    "HSP inhibitor",
    "proteasome inhibitor",
    "Aurora kinase inhibitor",
    "PI3K inhibitor",
    "topoisomerase inhibitor",
    "glucocorticoid agonist",
    "retinoid receptor agonist",
];

/// Plot data with every section filled; `quality` in `[0, 1]` moves scores up, `seed` varies
/// the noise, so several plugins look different on one page.
pub fn run_figures_with(quality: f64, seed: u64) -> RunFigures {
    let mut rng = Lcg(seed);
    let groups = (0..40)
        .map(|i| {
            let map = (0.15 + 0.7 * quality * rng.next() + 0.15 * rng.next()).min(1.0);
            let p = (10f64).powf(-(map * 4.0 * rng.next() + 0.1 * rng.next()));
            MapGroup {
                label: format!("BRD-K{:05}", 1000 + i * 37),
                map,
                p_value: p,
                q_value: (p * 2.5).min(1.0),
            }
        })
        .collect();
    let ks: Vec<u32> = vec![2, 4, 6, 8, 10, 12, 16, 20];
    let curve = |metric: &str, scale: f64, rng: &mut Lcg| KCurve {
        metric: metric.into(),
        points: ks
            .iter()
            .map(|&k| {
                let base = scale * quality * (1.0 - (-(f64::from(k)) / 6.0).exp());
                KPoint {
                    k,
                    mean: (base + 0.03 * rng.next()).min(1.0),
                    sd: 0.01 + 0.03 * rng.next(),
                }
            })
            .collect(),
    };
    let k_curves = vec![KCurves {
        task: "moa-kmeans".into(),
        k_reference: Some(8),
        curves: vec![
            curve("nmi", 0.8, &mut rng),
            curve("ari", 0.55, &mut rng),
            curve("purity", 0.95, &mut rng),
        ],
    }];
    let leakage = vec![
        LeakageBar {
            task: "batch-leakage".into(),
            target: "Metadata_Batch".into(),
            balanced_accuracy: 0.25 + 0.5 * (1.0 - quality) + 0.05 * rng.next(),
            sd: 0.02 + 0.02 * rng.next(),
            chance: 0.25,
        },
        LeakageBar {
            task: "plate-leakage".into(),
            target: "Metadata_Plate".into(),
            balanced_accuracy: 0.125 + 0.4 * (1.0 - quality) + 0.05 * rng.next(),
            sd: 0.03,
            chance: 0.125,
        },
    ];
    let lambdas = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
    let lambda_sweep = Some(LambdaSweep {
        task: "moa-nsc".into(),
        metric: "nsc-accuracy".into(),
        lambda_used: Some(1e-2),
        points: lambdas
            .iter()
            .map(|&l: &f64| LambdaPoint {
                lambda: l,
                value: quality * (0.6 - 0.05 * (l.log10() + 2.0).powi(2)).max(0.1)
                    + 0.02 * rng.next(),
            })
            .collect(),
    });
    let n = 300;
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut batches = Vec::with_capacity(n);
    for i in 0..n {
        // Frequencies fall with the index, so the last two MoAs end up in "other".
        let m = ((rng.next().powf(1.3)) * MOAS.len() as f64) as usize % MOAS.len();
        let b = i % 4;
        let angle = m as f64 / MOAS.len() as f64 * std::f64::consts::TAU;
        x.push(6.0 * quality * angle.cos() + rng.normal() + 0.8 * b as f64);
        y.push(6.0 * quality * angle.sin() + rng.normal() - 0.5 * b as f64);
        labels.push(MOAS[m].to_string());
        batches.push(format!("batch{}", b + 1));
    }
    let projection = Some(Projection {
        method: "PCA".into(),
        axes: ["PC1 (23.1%)".into(), "PC2 (11.4%)".into()],
        x,
        y,
        label: Some(Colouring {
            column: "Metadata_moa".into(),
            values: labels,
        }),
        batch: Some(Colouring {
            column: "Metadata_Batch".into(),
            values: batches,
        }),
        sampled_from: None,
    });
    let k = 16;
    let sim_labels: Vec<String> = (0..k).map(|i| format!("cmpd-{:02}", i + 1)).collect();
    let moa_of = |i: usize| MOAS[i / 4].to_string();
    let mut values = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let v = if i == j {
                1.0
            } else if i / 4 == j / 4 {
                (0.4 + 0.5 * quality + 0.1 * rng.next()).min(1.0)
            } else {
                0.6 * (rng.next() - 0.6)
            };
            values[i * k + j] = v;
            values[j * k + i] = v;
        }
    }
    let similarity = Some(SimilarityMap {
        column: "Metadata_broad_sample".into(),
        labels: sim_labels,
        annotation: Some(Colouring {
            column: "Metadata_moa".into(),
            values: (0..k).map(moa_of).collect(),
        }),
        values,
    });
    let conditions: Vec<String> = (0..12).map(|i| format!("compound-{:02}", i + 1)).collect();
    let batches: Vec<String> = (1..=4).map(|b| format!("batch{b}")).collect();
    let counts = (0..12 * 4)
        .map(|i| {
            if i % 11 == 3 {
                0
            } else {
                4 + (i * 7 % 13) as u32
            }
        })
        .collect();
    let coverage = Some(Coverage {
        condition_column: "Metadata_compound".into(),
        batch_column: "Metadata_Batch".into(),
        conditions,
        batches,
        counts,
    });
    RunFigures {
        map_groups: vec![MapGroups {
            task: "replicate-map".into(),
            threshold: 0.05,
            groups,
        }],
        k_curves,
        leakage,
        lambda_sweep,
        projection,
        similarity,
        coverage,
    }
}

/// [`run_figures_with`] for the `cnn-demo` run.
pub fn run_figures() -> RunFigures {
    run_figures_with(0.8, 1)
}

fn meta(id: &str, role: PluginRole, kind: PluginKind, description: &str) -> PluginMeta {
    PluginMeta {
        id: id.into(),
        version: "1.0.0".into(),
        role,
        kind,
        description: description.into(),
        training_datasets: Vec::new(),
    }
}

fn cells(values: &[(f64, Option<f64>, f64)]) -> Vec<Cell> {
    values
        .iter()
        .map(|&(raw, sd, scaled)| Cell {
            raw: Some(raw),
            sd,
            scaled: Some(scaled),
        })
        .collect()
}

fn row(plugin: PluginMeta, status: Status, reasons: &[&str], cells: Vec<Cell>) -> BoardRow {
    BoardRow {
        report_file: Some(format!("runs/demo-screen/{}.html", plugin.id)),
        result_file: Some(format!("runs/demo-screen/{}.json", plugin.id)),
        plugin,
        status,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        contaminated: Vec::new(),
        trained_on_train_split: Vec::new(),
        cells,
        mean_scaled: None,
        rank: None,
        execution_provider: None,
        wall_s: 12.5,
    }
}

/// The plugins of [`leaderboard`] that have figures, with the quality and seed of each.
pub const LEADERBOARD_RUNS: [(&str, f64, u64); 5] = [
    ("cnn-demo", 0.8, 1),
    ("pca", 0.55, 2),
    ("random", 0.05, 3),
    ("positive-control", 1.0, 4),
    ("example-mean", 0.4, 5),
];

/// A leaderboard of one benchmark with two controls, two scored methods (one contaminated), a
/// failed run, a not-applicable run and an example.
pub fn leaderboard() -> Leaderboard {
    let columns = vec![
        TaskColumn {
            key: "replicate-map/map/copairs-0.05".into(),
            task: "replicate-map".into(),
            metric: "map".into(),
            variant: "copairs-0.05".into(),
            higher_is_better: true,
            worst_control: Some(ControlAnchor {
                plugin: "random".into(),
                value: 0.21,
            }),
            best_control: Some(ControlAnchor {
                plugin: "positive-control".into(),
                value: 0.93,
            }),
        },
        TaskColumn {
            key: "batch-leakage/batch-leakage/balanced-accuracy".into(),
            task: "batch-leakage".into(),
            metric: "batch-leakage".into(),
            variant: "balanced-accuracy".into(),
            higher_is_better: false,
            worst_control: Some(ControlAnchor {
                plugin: "positive-control".into(),
                value: 0.88,
            }),
            best_control: Some(ControlAnchor {
                plugin: "random".into(),
                value: 0.26,
            }),
        },
    ];
    let mut cnn = meta(
        "cnn-demo",
        PluginRole::Method,
        PluginKind::Onnx,
        "CNN features of single-cell crops, averaged per well",
    );
    cnn.training_datasets = vec!["demo-screen:train".into()];
    let mut cnn_row = row(
        cnn.clone(),
        Status::Succeeded,
        &[],
        cells(&[(0.512, None, 0.419), (0.41, Some(0.03), 0.758)]),
    );
    cnn_row.trained_on_train_split = vec!["demo-screen:train".into()];
    cnn_row.mean_scaled = Some(0.589);
    cnn_row.rank = Some(1);
    cnn_row.execution_provider = Some("cuda".into());
    let pca = meta(
        "pca",
        PluginRole::Method,
        PluginKind::Native,
        "PCA whitening fitted on negative controls",
    );
    let mut pca_row = row(
        pca.clone(),
        Status::Succeeded,
        &[],
        cells(&[(0.47, None, 0.361), (0.95, Some(0.01), -0.113)]),
    );
    pca_row.mean_scaled = Some(0.124);
    pca_row.rank = Some(2);
    let mut failed = meta(
        "broken-model",
        PluginRole::Method,
        PluginKind::Onnx,
        "a model whose run fails",
    );
    failed.training_datasets = vec!["cpg0004".into()];
    let mut failed_row = row(
        failed.clone(),
        Status::Failed,
        &["plugin worker crashed: signal 11 (SIGSEGV) while embedding batch 3"],
        vec![
            Cell {
                raw: None,
                sd: None,
                scaled: None,
            };
            2
        ],
    );
    failed_row.contaminated = vec!["cpg0004".into()];
    let na = meta(
        "gene-table",
        PluginRole::Method,
        PluginKind::EmbeddingTable,
        "embeddings keyed by gene <script>alert('x')</script>",
    );
    let na_row = row(
        na,
        Status::NotApplicable,
        &["plugin produces gene embeddings; benchmark has compound wells"],
        vec![
            Cell {
                raw: None,
                sd: None,
                scaled: None,
            };
            2
        ],
    );
    let random = meta(
        "random",
        PluginRole::Control,
        PluginKind::Native,
        "seeded Gaussian embedding",
    );
    let random_row = row(
        random.clone(),
        Status::Succeeded,
        &[],
        cells(&[(0.21, None, 0.0), (0.26, Some(0.01), 1.0)]),
    );
    let positive = meta(
        "positive-control",
        PluginRole::Control,
        PluginKind::Builtin,
        "profiles with the labels written in",
    );
    let positive_row = row(
        positive.clone(),
        Status::Succeeded,
        &[],
        cells(&[(0.93, None, 1.0), (0.88, Some(0.02), 0.0)]),
    );
    let example = meta(
        "example-mean",
        PluginRole::Example,
        PluginKind::FeatureTable,
        "mean aggregation, for plugin authors",
    );
    let mut example_row = row(
        example.clone(),
        Status::Succeeded,
        &[],
        cells(&[(0.44, None, 0.319), (0.7, Some(0.04), 0.29)]),
    );
    example_row.mean_scaled = Some(0.305);
    let board = BenchmarkBoard {
        id: "demo-screen".into(),
        version: 2,
        title: "Demo compound screen".into(),
        split: Some(ScoredSplit {
            column: "Metadata_compound".into(),
            file: Some("split.csv".into()),
            train: vec!["train".into()],
            test: vec!["test".into()],
            shared: vec!["control".into()],
            rows: SplitRows {
                train: 150,
                test: 210,
                shared: 24,
                none: 0,
            },
        }),
        columns,
        rows: vec![
            cnn_row,
            pca_row,
            failed_row,
            na_row,
            random_row,
            positive_row,
            example_row,
        ],
        notes: vec!["batch-leakage: lower is better, so its best control is the random one".into()],
    };
    let overall =
        |plugin: PluginMeta, mean: Option<f64>, rank: Option<u32>, bad: bool| OverallRow {
            plugin,
            mean_scaled: mean,
            benchmarks: u32::from(mean.is_some()),
            covers_common: mean.is_some(),
            per_benchmark: BTreeMap::from([("demo-screen".into(), mean)]),
            contaminated_on: if bad {
                vec!["demo-screen".into()]
            } else {
                Vec::new()
            },
            rank,
        };
    Leaderboard {
        schema_version: crate::leaderboard::LEADERBOARD_SCHEMA_VERSION,
        harness: HarnessInfo {
            version: "0.1.0".into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        },
        benchmarks: vec![board],
        common_benchmarks: vec!["demo-screen".into()],
        overall: vec![
            overall(cnn, Some(0.589), Some(1), false),
            overall(pca, Some(0.124), Some(2), false),
            overall(failed, None, None, true),
            overall(random, Some(0.5), None, false),
            overall(positive, Some(0.5), None, false),
            overall(example, Some(0.305), None, false),
        ],
        regression_check: Some(regression_check()),
    }
}

/// A comparison with a baseline in which `pca` regressed on one column, for the red box.
pub fn regression_check() -> RegressionCheck {
    RegressionCheck {
        baseline_harness: HarnessInfo {
            version: "0.0.9".into(),
            git_commit: None,
        },
        tolerance: Tolerance {
            default: 0.02,
            per_metric: BTreeMap::from([("batch-leakage".into(), 0.05)]),
        },
        regressions: vec![Regression {
            plugin: "pca".into(),
            benchmark: "demo-screen".into(),
            column: "replicate-map/map/copairs-0.05".into(),
            compared: Compared::Scaled,
            baseline: 0.4333333333333333,
            current: Some(0.36111111111111105),
            drop: Some(0.07222222222222224),
            tolerance: 0.02,
            baseline_raw: 0.522,
            current_raw: Some(0.47),
        }],
        notes: vec!["other-screen: not compared, the baseline has v1 and this leaderboard v2 (a new version may score other rows or tasks)".into()],
    }
}

/// Builders of leaderboard entries for tests of scaling, ranking and the exporters.
pub mod board {
    use std::collections::BTreeMap;

    use crate::leaderboard::{BenchmarkMeta, PluginMeta, RunEntry};
    use crate::result::{
        BenchmarkRef, HarnessInfo, PluginKind, PluginRef, PluginRole, Provenance, RunResult,
        SCHEMA_VERSION, Score, Status, Timing,
    };

    /// A placeholder SHA-256.
    pub const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    /// A mAP column: (task, metric, variant).
    pub const MAP: (&str, &str, &str) = ("replicate-map", "map", "copairs-0.5");
    /// A batch-leakage column (lower is better): (task, metric, variant).
    pub const LEAK: (&str, &str, &str) = ("batch", "batch-leakage", "knn-5");

    /// The harness every fixture names.
    pub fn harness() -> HarnessInfo {
        HarnessInfo {
            version: "0.1.0".into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        }
    }

    /// A primary score of `column` with `value`.
    pub fn score((task, metric, variant): (&str, &str, &str), value: f64) -> Score {
        Score {
            task: task.into(),
            metric: metric.into(),
            variant: variant.into(),
            value,
            sd: None,
            ci: None,
            n: None,
            params: BTreeMap::new(),
            primary: true,
        }
    }

    /// A succeeded run of `plugin` (with `role`) on `benchmark` with `scores`.
    pub fn entry(benchmark: &str, plugin: &str, role: PluginRole, scores: Vec<Score>) -> RunEntry {
        RunEntry {
            result: RunResult {
                schema_version: SCHEMA_VERSION,
                benchmark: BenchmarkRef {
                    id: benchmark.into(),
                    version: 1,
                    manifest_sha256: HASH.into(),
                },
                plugin: PluginRef {
                    id: plugin.into(),
                    version: "1.0".into(),
                    role,
                    kind: PluginKind::Builtin,
                    artifact_sha256: None,
                },
                status: Status::Succeeded,
                reasons: vec![],
                harness: harness(),
                provenance: Provenance {
                    dataset_files: vec![],
                    execution_provider: None,
                    seeds: BTreeMap::new(),
                    split: None,
                },
                timing: Timing {
                    wall_s: 1.5,
                    peak_rss_mib: None,
                    started_at: "2025-01-31T12:00:00Z".into(),
                },
                scores,
            },
            plugin: PluginMeta {
                id: plugin.into(),
                version: "1.0".into(),
                role,
                kind: PluginKind::Builtin,
                description: format!("{plugin} plugin"),
                training_datasets: vec![],
            },
            benchmark: BenchmarkMeta {
                id: benchmark.into(),
                version: 1,
                title: format!("{benchmark} title"),
                datasets: vec![],
            },
            result_file: Some(format!("results/{benchmark}/{plugin}.json")),
            report_file: None,
        }
    }

    /// `e` with another status, one reason and no scores.
    pub fn with_status(mut e: RunEntry, status: Status, reason: &str) -> RunEntry {
        e.result.status = status;
        e.result.reasons = vec![reason.into()];
        e.result.scores.clear();
        e
    }

    /// Controls `random` (worst) and `positive` (best) on both columns of benchmark `b`.
    pub fn controls(benchmark: &str) -> Vec<RunEntry> {
        vec![
            entry(
                benchmark,
                "random",
                PluginRole::Control,
                vec![score(MAP, 0.1), score(LEAK, 0.9)],
            ),
            entry(
                benchmark,
                "positive",
                PluginRole::Control,
                vec![score(MAP, 0.6), score(LEAK, 0.2)],
            ),
        ]
    }
    /// Controls, a method, a failed run with two reasons and a not-applicable run on benchmark `b`.
    pub fn failed_and_not_applicable() -> Vec<RunEntry> {
        let mut entries = controls("b");
        entries.push(entry("b", "m", PluginRole::Method, vec![score(MAP, 0.35)]));
        let mut failed = entry("b", "crash", PluginRole::Method, vec![score(MAP, 0.9)]);
        failed.result.status = Status::Failed;
        failed.result.reasons = vec![
            "worker exited with signal 11 | while embedding batch 3 of 12 after loading the model"
                .into(),
            "second reason".into(),
        ];
        entries.push(failed);
        entries.push(with_status(
            entry("b", "imgs", PluginRole::Method, vec![]),
            Status::NotApplicable,
            "plugin consumes images; benchmark has wells",
        ));
        entries
    }

    /// A plugin trained on LINCS (names in another case), scored on LINCS and on BBBC021.
    pub fn contaminated() -> Vec<RunEntry> {
        let mut entries = controls("lincs-sq00015054");
        let mut m = entry(
            "lincs-sq00015054",
            "cnn",
            PluginRole::Method,
            vec![score(MAP, 0.35)],
        );
        m.plugin.training_datasets =
            vec!["JUMP-CP".into(), "LINCS-SQ00015054".into(), "rxrx3".into()];
        entries.push(m.clone());
        for e in &mut entries {
            e.benchmark.datasets = vec!["jump-cp".into(), "lincs".into()];
        }
        let mut other = m;
        other.benchmark.id = "bbbc021".into();
        other.benchmark.datasets = vec!["BBBC021".into()];
        entries.push(other);
        entries
    }
}
