//! Sweeps over every `cpbench eval` and `cpbench prep` subcommand (issue 16).
//!
//! 1. Thread-count identity: each subcommand runs on shipped data at `RAYON_NUM_THREADS` (and,
//!    where the subcommand has it, `--threads`) 1, 2 and 4, and every file it writes, its stdout
//!    and its stderr are byte-identical across the three (none of them holds a timing field).
//!    The inputs are large enough for faer's and rayon's parallel paths: faer splits a
//!    matrix–vector sum between threads above 65,536 values, which the LINCS plate (384 × 454)
//!    exceeds; INSP of its two `Metadata_pert_type` classes gave other accuracies and
//!    projected values at 1, 2 and 4 threads before the binary classifier's gradient got a fixed
//!    split (`cpbench_metrics::classify`).
//! 2. Degenerate inputs: each subcommand on tables with one row, one label, one plate, one
//!    feature, a constant feature, an all-missing feature, a label per row and identical rows,
//!    and with k above the row count, ends in exit 2 naming the problem, or in exit 0 with a
//!    score that is not perfect: never a panic, never a perfect score the data cannot support.
//!    On the well-formed table they all exit 0, so each refusal is the degenerate input's.
//! 3. Damaged Parquet: every damaged Parquet file of the table corpus
//!    (`tests/fixtures/fuzz/tables/`), and a shipped table written by cpbench with one byte
//!    flipped at a time, give exit 2 and cpbench's one-line message on stderr, naming the column
//!    and row group of damaged data: no panic report of polars', even with `RUST_BACKTRACE=1`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cpbench_core::io::{ReadOptions, read_profiles};

use super::{read_json, root, shipped, text};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpbench"));
    cmd.env("RUST_BACKTRACE", "0").stdin(Stdio::null());
    cmd
}

// ---------------------------------------------------------------------------------------------
// 1. Thread-count identity
// ---------------------------------------------------------------------------------------------

/// The thread counts compared.
const THREADS: [usize; 3] = [1, 2, 4];

/// The subcommands that take `--threads` (their worker threads outside rayon).
fn takes_threads(args: &[String]) -> bool {
    matches!(
        (args[0].as_str(), args[1].as_str()),
        (
            "eval",
            "map" | "enrichment" | "replicating" | "kmeans" | "knn" | "relations"
        )
    )
}

/// One run of the sweep: a name (its stdout and stderr are kept as `<name>.stdout|stderr`) and
/// the arguments. Outputs are relative to the run's folder and inputs absolute, so that every
/// path a report records is the same at every thread count.
struct Run {
    name: &'static str,
    args: Vec<String>,
}

/// Pairs of LINCS wells that hold the same compound, as `entity1,entity2`: annotations for
/// `eval relations` with the wells as its "genes".
fn replicate_well_pairs(lincs: &Path, out: &Path) {
    let p = read_profiles(lincs, &ReadOptions::default()).unwrap().0;
    let sample = p.meta_strings("Metadata_broad_sample").unwrap();
    let well = p.meta_strings("Metadata_Well").unwrap();
    let mut by_sample: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (s, w) in sample.iter().zip(&well) {
        let (Some(s), Some(w)) = (s, w) else { continue };
        if s != "DMSO" {
            by_sample.entry(s.clone()).or_default().push(w.clone());
        }
    }
    let mut csv = String::from("entity1,entity2\n");
    for wells in by_sample.values() {
        for pair in wells.windows(2) {
            writeln!(csv, "{},{}", pair[0], pair[1]).unwrap();
        }
    }
    std::fs::write(out, csv).unwrap();
}

/// Every eval and prep subcommand (as `cpbench eval --help` and `cpbench prep --help` list
/// them) on shipped tables, with parameters that keep a thread count's runs at a few seconds
/// in a debug build. In the arguments, `LINCS` is the LINCS plate (384 wells × 454 features),
/// `BBBC` BBBC021's feature-selected wells (632 × 189, with MoA labels), `RAW` the same wells'
/// 516 raw features (with their batch), `PAIRS` pairs of LINCS wells holding one compound and
/// `STEPS` a `[[preprocess]]` file.
const SWEEP: [(&str, &str); 23] = [
    (
        "map",
        "eval map --profiles LINCS --pos-sameby Metadata_broad_sample --neg-diffby \
         Metadata_broad_sample --reference Metadata_broad_sample=DMSO --null-size 1000 \
         --out-ap ap.csv --out-map map.csv",
    ),
    (
        "enrichment",
        "eval enrichment --profiles BBBC --labels Metadata_moa --out enrichment.json \
         --out-queries enrichment_queries.csv",
    ),
    (
        "precision",
        "eval precision-at-k --profiles LINCS --group Metadata_broad_sample --k 1,5,10 \
         --out precision.csv",
    ),
    (
        "replicating",
        "eval replicating --profiles LINCS --replicate Metadata_broad_sample \
         --out replicating.json",
    ),
    (
        "replicating_median",
        "eval replicating --profiles LINCS --replicate Metadata_broad_sample --variant \
         group-median --null-size 200 --out replicating_median.json",
    ),
    // 20 restarts make the Gram matrix (a pool-parallel faer product) pay off; the
    // silhouettes are pool-parallel products too.
    (
        "kmeans",
        "eval kmeans --profiles BBBC --labels Metadata_moa --restarts 20 --k-sweep 2:4 \
         --batch Metadata_Plate --out kmeans.json --out-assignments kmeans_assignments.csv",
    ),
    (
        "partition",
        "eval partition --profiles kmeans_assignments.csv --true Metadata_moa \
         --pred restart_0 --out partition.json",
    ),
    (
        "knn",
        "eval knn --profiles BBBC --labels Metadata_moa --k 3 --exclude-same \
         Metadata_Compound --out knn.json",
    ),
    // Ten batches: the multinomial classifier.
    (
        "leakage",
        "eval batch-leakage --profiles RAW --controls Metadata_Compound=DMSO --target \
         Metadata_Batch --groups Metadata_Plate --folds 3 --out leakage.json",
    ),
    // Two classes: the binary classifier, whose gradient is a matrix–vector product.
    (
        "leakage_binary",
        "eval batch-leakage --profiles LINCS --controls Metadata_Plate=SQ00015054 --target \
         Metadata_pert_type --groups Metadata_Well --folds 3 --out leakage_binary.json",
    ),
    (
        "relations",
        "eval relations --profiles LINCS --gene-column Metadata_Well --pairs PAIRS \
         --min-genes 2 --out relations.json",
    ),
    (
        "feature_select",
        "prep feature-select --profiles RAW --ops \
         variance_threshold,correlation_threshold,drop_na_columns,blocklist \
         --excluded feature_select.json --out feature_select.csv",
    ),
    // Parquet: polars' writer encodes columns on several threads.
    (
        "normalize",
        "prep normalize --profiles RAW --method mad_robustize --by Metadata_Plate \
         --fit-on Metadata_Compound=DMSO --out normalize.parquet",
    ),
    (
        "sphere",
        "prep sphere --profiles BBBC --method zca-cor --out sphere.csv",
    ),
    (
        "sphere_lambdas",
        "prep sphere --profiles RAW --lambdas 0.01,1 --fit-on Metadata_Compound=DMSO \
         --out sphere_{lambda}.parquet",
    ),
    // Two batches over 384 × 454 values: where the thread count used to show.
    (
        "insp",
        "prep insp --profiles LINCS --batch Metadata_pert_type --threshold 0.5 \
         --report insp.json --out insp.csv",
    ),
    (
        "aggregate",
        "prep aggregate --profiles BBBC --by Metadata_Compound,Metadata_Concentration \
         --method mean --out aggregate.csv",
    ),
    (
        "consensus",
        "prep consensus --profiles BBBC --by Metadata_Compound,Metadata_Concentration \
         --method modz --out consensus.csv",
    ),
    (
        "control_normalize",
        "prep control-normalize --profiles RAW --batch Metadata_Batch \
         --fit-on Metadata_Compound=DMSO --out control_normalize.csv",
    ),
    (
        "treatment_strength",
        "prep treatment-strength --profiles RAW --treatment \
         Metadata_Compound,Metadata_Concentration --fit-on Metadata_Compound=DMSO \
         --per-well treatment_strength_wells.csv --out treatment_strength.csv",
    ),
    (
        "pipeline",
        "prep pipeline --profiles RAW --steps STEPS --out pipeline.csv",
    ),
    // At f64 (`--precision f64`), which reads, computes and writes through the f64 instances of
    // the same numerics.
    (
        "sphere_f64",
        "prep sphere --profiles BBBC --method zca-cor --precision f64 --out sphere_f64.parquet",
    ),
    (
        "pipeline_f64",
        "prep pipeline --profiles RAW --steps STEPS --precision f64 --out pipeline_f64.csv",
    ),
];

/// The runs of [`SWEEP`], with their inputs (and the files `PAIRS` and `STEPS`, written into
/// `shared`) in place.
fn sweep_runs(shared: &Path) -> Vec<Run> {
    let lincs = shipped("lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    let pairs = shared.join("well_pairs.csv");
    replicate_well_pairs(&lincs, &pairs);
    let steps = shared.join("steps.toml");
    std::fs::write(
        &steps,
        "[[preprocess]]\nop = \"normalize\"\nmethod = \"mad_robustize\"\nby = [\"Metadata_Plate\"]\n\n\
         [[preprocess]]\nop = \"feature-select\"\n\
         ops = [\"variance_threshold\", \"correlation_threshold\"]\n\n\
         [[preprocess]]\nop = \"sphere\"\nmethod = \"zca\"\n",
    )
    .unwrap();
    let inputs = [
        ("LINCS", lincs),
        (
            "BBBC",
            shipped("bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz"),
        ),
        (
            "RAW",
            shipped("bbbc021/bbbc021_raw_per_well_labelled.csv.gz"),
        ),
        ("PAIRS", pairs),
        ("STEPS", steps),
    ];
    SWEEP
        .iter()
        .map(|&(name, spec)| Run {
            name,
            args: spec
                .split_whitespace()
                .map(|w| {
                    inputs
                        .iter()
                        .find(|(key, _)| *key == w)
                        .map_or_else(|| w.to_owned(), |(_, p)| p.display().to_string())
                })
                .collect(),
        })
        .collect()
}

/// The subcommands `cpbench <group> --help` lists.
fn listed_subcommands(group: &str) -> Vec<String> {
    let o = bin().args([group, "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = text(&o.stdout);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Files of `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| PathBuf::from(e.unwrap().file_name()))
        .collect();
    v.sort();
    v
}

/// Where two byte strings first differ, as text: the line for text, the offset for binary.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(x), Ok(y)) => {
            let (i, (p, q)) = x
                .lines()
                .zip(y.lines())
                .enumerate()
                .find(|(_, (p, q))| p != q)
                .unwrap_or((x.lines().count().min(y.lines().count()), ("(end)", "(end)")));
            let cut = |t: &str| t.chars().take(300).collect::<String>();
            format!("line {}: {} | {}", i + 1, cut(p), cut(q))
        }
        _ => {
            let at = a.iter().zip(b).position(|(p, q)| p != q);
            format!(
                "byte {} (lengths {} and {})",
                at.unwrap_or(a.len().min(b.len())),
                a.len(),
                b.len()
            )
        }
    }
}

#[test]
fn every_eval_and_prep_command_is_byte_identical_at_1_2_and_4_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let runs = sweep_runs(&shared);

    // Every subcommand the binary lists is swept (the rest of this file names them).
    for group in ["eval", "prep"] {
        for sub in listed_subcommands(group) {
            assert!(
                runs.iter().any(|r| r.args[0] == group && r.args[1] == sub),
                "cpbench {group} {sub} is not in the thread sweep"
            );
        }
    }

    let dirs: Vec<PathBuf> = THREADS
        .iter()
        .map(|t| tmp.path().join(format!("t{t}")))
        .collect();
    for (&t, dir) in THREADS.iter().zip(&dirs) {
        std::fs::create_dir(dir).unwrap();
        for run in &runs {
            let mut cmd = bin();
            cmd.current_dir(dir)
                .env("RAYON_NUM_THREADS", t.to_string())
                .args(&run.args);
            if takes_threads(&run.args) {
                cmd.args(["--threads", &t.to_string()]);
            }
            let o = cmd.output().unwrap();
            assert!(
                o.status.success(),
                "{} at {t} thread(s): exit {:?}\n{}",
                run.name,
                o.status.code(),
                text(&o.stderr)
            );
            std::fs::write(dir.join(format!("{}.stdout", run.name)), &o.stdout).unwrap();
            std::fs::write(dir.join(format!("{}.stderr", run.name)), &o.stderr).unwrap();
        }
    }

    // Not vacuous: every run wrote its tables, and INSP removed a direction.
    let written = files(&dirs[0]);
    assert!(written.len() >= 3 * runs.len(), "{written:?}");
    for name in [
        "ap.csv",
        "map.csv",
        "insp.csv",
        "normalize.parquet",
        "sphere_0.01.parquet",
        "kmeans_assignments.csv",
    ] {
        let len = std::fs::metadata(dirs[0].join(name)).unwrap().len();
        assert!(len > 1000, "{name}: {len} bytes");
    }
    let insp = read_json(&dirs[0].join("insp.json"));
    assert!(
        insp["groups"][0]["rank_removed"].as_u64().unwrap() >= 1,
        "{insp}"
    );

    let mut differing = Vec::new();
    for (&t, dir) in THREADS.iter().zip(&dirs).skip(1) {
        assert_eq!(files(dir), written, "different files at {t} threads");
        for f in &written {
            let a = std::fs::read(dirs[0].join(f)).unwrap();
            let b = std::fs::read(dir.join(f)).unwrap();
            if a != b {
                differing.push(format!(
                    "{} (1 vs {t} threads): {}",
                    f.display(),
                    first_difference(&a, &b)
                ));
            }
        }
    }
    assert!(
        differing.is_empty(),
        "{} file(s) depend on the thread count:\n{}",
        differing.len(),
        differing.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Degenerate inputs
// ---------------------------------------------------------------------------------------------

/// Rows of the well-formed table: 4 plates × 6 wells, plates 0–1 in batch B0 and 2–3 in B1;
/// wells 0–2 of each plate are DMSO controls, wells 3–5 compounds C0, C1, C2 with MoA labels L0,
/// L1, L1. `Metadata_Rep` pairs neighbouring wells (the replicate groups of the group-median
/// percent replicating, which needs more groups than rows per group); `Metadata_gene` names
/// each row. Four features: noise in ±1 plus 0.6 along the well's own direction.
const N_ROWS: usize = 24;
const HEADER: &str = "Metadata_Plate,Metadata_Well,Metadata_Batch,Metadata_Type,\
                      Metadata_Compound,Metadata_Label,Metadata_Rep,Metadata_gene";

struct Row {
    meta: Vec<String>,
    features: Vec<Option<f64>>,
}

fn base_rows() -> Vec<Row> {
    let mut state = 17u64;
    let mut unif = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    (0..N_ROWS)
        .map(|i| {
            let (plate, well) = (i / 6, i % 6);
            let control = well < 3;
            let meta = vec![
                format!("P{plate}"),
                format!("W{i:02}"),
                format!("B{}", plate / 2),
                (if control { "control" } else { "trt" }).to_owned(),
                if control {
                    "DMSO".to_owned()
                } else {
                    format!("C{}", well - 3)
                },
                match well {
                    0..=2 => "ctrl".to_owned(),
                    3 => "L0".to_owned(),
                    _ => "L1".to_owned(),
                },
                format!("R{:02}", i / 2),
                format!("G{i:02}"),
            ];
            let features = (0..4)
                .map(|j| Some(unif() + if j == well % 4 { 0.6 } else { 0.0 }))
                .map(|v| v.map(|x| (x * 1e4).round() / 1e4))
                .collect();
            Row { meta, features }
        })
        .collect()
}

/// The label-like columns (`Metadata_Compound`, `Metadata_Label`, `Metadata_Rep`).
const LABEL_COLUMNS: [usize; 3] = [4, 5, 6];

/// The tables: the well-formed one and its degenerate variants.
fn degenerate_tables() -> Vec<(&'static str, Vec<Row>)> {
    let base = base_rows;
    let map = |f: &dyn Fn(usize, &mut Row)| -> Vec<Row> {
        let mut rows = base();
        rows.iter_mut().enumerate().for_each(|(i, r)| f(i, r));
        rows
    };
    vec![
        ("ok", base()),
        ("one_row", base().into_iter().skip(3).take(1).collect()),
        (
            "one_group",
            map(&|_, r| LABEL_COLUMNS.iter().for_each(|&c| r.meta[c] = "X".into())),
        ),
        ("one_plate", map(&|_, r| r.meta[0] = "P0".into())),
        ("one_feature", map(&|_, r| r.features.truncate(1))),
        ("constant_feature", map(&|_, r| r.features[1] = Some(1.5))),
        ("nan_column", map(&|_, r| r.features[1] = None)),
        (
            "unique_labels",
            map(&|i, r| {
                LABEL_COLUMNS
                    .iter()
                    .for_each(|&c| r.meta[c] = format!("U{i:02}"))
            }),
        ),
        (
            "identical_rows",
            map(&|_, r| r.features = vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]),
        ),
    ]
}

fn write_table(dir: &Path, name: &str, rows: &[Row]) -> PathBuf {
    let d = rows.first().map_or(4, |r| r.features.len());
    let mut csv = String::from(HEADER);
    for j in 0..d {
        write!(csv, ",f{j}").unwrap();
    }
    csv.push('\n');
    for r in rows {
        csv.push_str(&r.meta.join(","));
        for v in &r.features {
            csv.push(',');
            if let Some(v) = v {
                write!(csv, "{v}").unwrap();
            }
        }
        csv.push('\n');
    }
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, csv).unwrap();
    path
}

/// The commands of the degenerate sweep, by a short name: arguments after `--profiles P`, with
/// `OUT` standing for the run's output folder and `PAIRS` for the gene-pair file.
const COMMANDS: [(&str, &str); 18] = [
    (
        "map",
        "eval map --pos-sameby Metadata_Label --neg-diffby Metadata_Label --null-size 100 \
         --out-ap OUT/ap.csv --out-map OUT/map.csv",
    ),
    (
        "enrichment",
        "eval enrichment --labels Metadata_Label --out OUT/r.json",
    ),
    (
        "precision",
        "eval precision-at-k --group Metadata_Label --k 1,3 --out OUT/pk.csv",
    ),
    (
        "replicating",
        "eval replicating --replicate Metadata_Label --out OUT/r.json",
    ),
    (
        "replicating_median",
        "eval replicating --replicate Metadata_Rep --variant group-median --null-size 50 \
         --out OUT/r.json",
    ),
    (
        "kmeans",
        "eval kmeans --labels Metadata_Label --restarts 3 --out OUT/r.json",
    ),
    (
        "partition",
        "eval partition --true Metadata_Label --pred Metadata_Compound --out OUT/r.json",
    ),
    ("knn", "eval knn --labels Metadata_Label --out OUT/r.json"),
    (
        "leakage",
        "eval batch-leakage --controls Metadata_Type=control --target Metadata_Batch \
         --groups Metadata_Plate --folds 2 --out OUT/r.json",
    ),
    (
        "relations",
        "eval relations --gene-column Metadata_gene --pairs PAIRS --min-genes 2 \
         --out OUT/r.json",
    ),
    (
        "feature_select",
        "prep feature-select --ops variance_threshold,correlation_threshold,drop_na_columns \
         --out OUT/o.csv",
    ),
    (
        "normalize",
        "prep normalize --method mad_robustize --by Metadata_Plate --out OUT/o.csv",
    ),
    ("sphere", "prep sphere --method zca-cor --out OUT/o.csv"),
    ("insp", "prep insp --batch Metadata_Batch --out OUT/o.csv"),
    (
        "aggregate",
        "prep aggregate --by Metadata_Compound --out OUT/o.csv",
    ),
    (
        "consensus",
        "prep consensus --by Metadata_Compound --method modz --out OUT/o.csv",
    ),
    (
        "control_normalize",
        "prep control-normalize --batch Metadata_Batch --fit-on Metadata_Type=control \
         --out OUT/o.csv",
    ),
    (
        "treatment_strength",
        "prep treatment-strength --treatment Metadata_Compound --fit-on Metadata_Type=control \
         --out OUT/o.csv",
    ),
];

/// The refusals expected, one a line: the table, the command and the text the message must
/// hold (besides the table's file name). Every other (table, command) pair must exit 0 with a
/// score that is not perfect.
const REFUSED: &str = "
one_row          map                 no positive pairs
one_row          enrichment          needs at least 2 rows, got 1
one_row          precision           needs at least 2 rows, got 1
one_row          replicating         no replicate pair
one_row          replicating_median  no replicate group
one_row          kmeans              1 distinct label(s) among the 1 rows
one_row          partition           1 distinct label(s) among the 1 rows
one_row          knn                 a single row has no neighbour
one_row          leakage             matches no row
one_row          relations           needs at least 3 rows, got 1
one_row          feature_select      kept none of 4 features
one_row          sphere              at least 2 distinct fit rows
one_row          insp                the fit rows hold 1 batch
one_row          control_normalize   no row matches the fit rows
one_row          treatment_strength  no row matches the fit rows
one_group        map                 no negative pairs
one_group        enrichment          every row shares a label with every other
one_group        precision           all 24 rows are one replicate group
one_group        replicating         no non-replicate pair
one_group        replicating_median  only 1 distinct replicate values
one_group        kmeans              1 distinct label(s) among the 24 rows
one_group        partition           1 distinct label(s) among the 24 rows
one_group        knn                 every row has the same label (X)
one_plate        leakage             only 1 distinct groups
one_feature      map                 single feature
one_feature      enrichment          single feature
one_feature      precision           is constant (zero norm after centering)
one_feature      replicating         is constant (zero norm after centering)
one_feature      replicating_median  is constant (zero norm after centering)
one_feature      knn                 single feature
one_feature      relations           single feature
constant_feature sphere              feature `f1` has zero variance
nan_column       map                 feature column 'f1' row 1 is missing
nan_column       enrichment          feature column 'f1' row 1 is missing
nan_column       precision           feature column 'f1' row 1 is missing
nan_column       replicating         feature column 'f1' row 1 is missing
nan_column       replicating_median  feature column 'f1' row 1 is missing
nan_column       kmeans              feature column 'f1' row 1 is missing
nan_column       knn                 feature column 'f1' row 1 is missing
nan_column       leakage             feature column 'f1' row 1 is missing
nan_column       relations           feature column 'f1' row 1 is missing
nan_column       sphere              non-finite value in feature `f1`
nan_column       insp                non-finite value in feature `f1`
nan_column       treatment_strength  feature `f1` is not finite
unique_labels    map                 no positive pairs
unique_labels    enrichment          no row shares a label
unique_labels    precision           no two of the 24 rows are replicates
unique_labels    replicating         no replicate pair
unique_labels    replicating_median  no replicate group
unique_labels    kmeans              a distinct label on each of the 24 rows
unique_labels    partition           a distinct label on every row
unique_labels    knn                 no two of the 24 rows share a label
identical_rows   map                 all 24 rows hold the same 4 feature value(s)
identical_rows   enrichment          all 24 rows hold the same 4 feature value(s)
identical_rows   precision           all 24 rows hold the same 4 feature value(s)
identical_rows   replicating         all 24 rows hold the same 4 feature value(s)
identical_rows   replicating_median  all 24 rows hold the same 4 feature value(s)
identical_rows   knn                 all 24 rows hold the same 4 feature value(s)
identical_rows   leakage             all 12 control rows (--controls 'Metadata_Type=control') hold the same
identical_rows   relations           all 24 rows hold the same 4 feature value(s)
identical_rows   feature_select      kept none of 4 features
identical_rows   sphere              feature `f0` has zero variance
identical_rows   treatment_strength  distances to their median have zero spread
";

/// [`REFUSED`] as (table, command, text).
fn refusals() -> Vec<(&'static str, &'static str, &'static str)> {
    REFUSED
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (table, rest) = l.split_once(' ').unwrap();
            let (command, needle) = rest.trim_start().split_once(' ').unwrap();
            (table, command, needle.trim())
        })
        .collect()
}

/// k above the row count, on the well-formed table: (command, extra arguments, expected
/// refusal, or `None` for a documented value).
const K_ABOVE_N: &[(&str, &[&str], Option<&str>)] = &[
    (
        "kmeans",
        &["--k", "40"],
        Some("--k 40: as many clusters as rows (24) or more"),
    ),
    (
        "kmeans",
        &["--k", "24"],
        Some("--k 24: as many clusters as rows (24) or more"),
    ),
    (
        "kmeans",
        &["--k-sweep", "2:30"],
        Some("--k-sweep 30: as many clusters as rows (24) or more"),
    ),
    (
        "knn",
        &["--k", "40"],
        Some("--k 40: a query has only 23 other row(s) to vote"),
    ),
    (
        "leakage",
        &["--knn-k", "40"],
        Some("--knn-k 40: the smallest training set"),
    ),
    // cytominer-eval's precision@k divides by k even past the candidate pairs: documented,
    // and never 1 there.
    ("precision", &["--k", "1000"], None),
];

/// The scores of a successful eval that would be perfect on a too-easy input; they must not
/// all be perfect (each is in [0, 1], higher is better).
fn headline_scores(cmd: &str, out: &Path) -> Vec<f64> {
    let json = || read_json(&out.join("r.json"));
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let csv_column = |file: &str, column: &str| -> Vec<f64> {
        let body = std::fs::read_to_string(out.join(file)).unwrap();
        let mut lines = body.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let c = header.iter().position(|h| *h == column).unwrap();
        lines
            .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
            .collect()
    };
    match cmd {
        "map" => csv_column("map.csv", "mean_average_precision"),
        "enrichment" => vec![f(&json()["interpolated_map"])],
        "precision" => csv_column("pk.csv", "precision"),
        "replicating" | "replicating_median" => vec![f(&json()["percent_replicating"])],
        "kmeans" => {
            let j = json();
            ["nmi", "ari", "purity"]
                .iter()
                .map(|k| f(&j["summary"][k]["mean"]))
                .collect()
        }
        "partition" => {
            let j = json();
            ["nmi", "ari", "purity"].iter().map(|k| f(&j[k])).collect()
        }
        "knn" => vec![f(&json()["accuracy"])],
        "leakage" => {
            let j = json();
            vec![
                f(&j["balanced_accuracy"]["logistic"]),
                f(&j["balanced_accuracy"]["knn"]),
            ]
        }
        "relations" => json()["sources"][0]["recall"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| f(&t["recall"]))
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs `cpbench <command> --profiles table [extra]` with outputs in `out`.
fn run_degenerate(command: &str, table: &Path, out: &Path, pairs: &Path, extra: &[&str]) -> Output {
    let spec = COMMANDS.iter().find(|(c, _)| *c == command).unwrap().1;
    let words: Vec<String> = spec
        .split_whitespace()
        .map(|w| {
            w.replace("OUT", &out.display().to_string())
                .replace("PAIRS", &pairs.display().to_string())
        })
        .collect();
    std::fs::create_dir_all(out).unwrap();
    bin()
        .args(&words[..2])
        .arg("--profiles")
        .arg(table)
        .args(&words[2..])
        .args(extra)
        .output()
        .unwrap()
}

/// Checks one outcome; returns a line describing it for the failure listing, or `None`.
fn check_outcome(
    table: &str,
    command: &str,
    o: &Output,
    out: &Path,
    refused: Option<&str>,
) -> Option<String> {
    let err = text(&o.stderr);
    let code = o.status.code();
    let head = format!("{table} × {command}: exit {code:?}");
    if err.contains("panicked") || code == Some(101) {
        return Some(format!("{head}, a panic: {err}"));
    }
    match (refused, code) {
        (Some(needle), Some(2)) => {
            let named = err.starts_with("error: ") && err.contains(&format!("{table}.csv"));
            (!named || !err.contains(needle))
                .then(|| format!("{head}, message lacks {needle:?} or the file: {err}"))
        }
        (Some(needle), _) => Some(format!("{head}, expected exit 2 with {needle:?}: {err}")),
        (None, Some(0)) => {
            let scores = headline_scores(command, out);
            (!scores.is_empty() && scores.iter().all(|&v| v >= 1.0))
                .then(|| format!("{head}, a perfect score {scores:?}"))
        }
        (None, _) => Some(format!("{head}, expected a score: {err}")),
    }
}

#[test]
fn degenerate_inputs_are_refused_by_name_or_scored_honestly() {
    let tmp = tempfile::tempdir().unwrap();
    let pairs = tmp.path().join("Toy.pairs.csv");
    std::fs::write(
        &pairs,
        "entity1,entity2\nG00,G01\nG02,G03\nG06,G07\nG12,G13\n",
    )
    .unwrap();
    let refused_table = refusals();
    let mut failures = Vec::new();
    let mut tables = Vec::new();
    for (name, rows) in degenerate_tables() {
        let table = write_table(tmp.path(), name, &rows);
        for (command, _) in COMMANDS {
            let out = tmp.path().join("out").join(name).join(command);
            let o = run_degenerate(command, &table, &out, &pairs, &[]);
            let refused = refused_table
                .iter()
                .find(|(t, c, _)| *t == name && *c == command)
                .map(|(_, _, needle)| *needle);
            failures.extend(check_outcome(name, command, &o, &out, refused));
        }
        tables.push((name, table));
    }
    let ok = &tables[0].1;
    for (i, (command, extra, refused)) in K_ABOVE_N.iter().enumerate() {
        let out = tmp.path().join("out/k").join(i.to_string());
        let o = run_degenerate(command, ok, &out, &pairs, extra);
        failures.extend(check_outcome("ok", command, &o, &out, *refused));
        if refused.is_none() && o.status.success() {
            // precision@k past the candidates: hits / k, so well below 1.
            let scores = headline_scores(command, &out);
            assert!(scores.iter().all(|&p| p < 0.5), "{scores:?}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} unexpected outcome(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The refusal table names only pairs that exist.
    for (t, c, _) in &refused_table {
        assert!(
            tables.iter().any(|(name, _)| name == t) && COMMANDS.iter().any(|(name, _)| name == c),
            "{t} × {c}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Damaged Parquet
// ---------------------------------------------------------------------------------------------

/// Runs `cpbench args…` with backtraces on (so that a panic report could not hide) and returns
/// it; the caller checks stderr.
fn run_backtraced(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = bin();
    cmd.env("RUST_BACKTRACE", "1").args(args);
    cmd.output().unwrap()
}

/// stderr must be cpbench's message alone: one line, `error: <file>: …`, no panic report.
fn only_cpbench_message(o: &Output, file: &Path, what: &str) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{what}: a panic report on stderr:\n{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
    let head = format!("error: {}: ", file.display());
    assert!(err.starts_with(&head), "{what}: {err}");
    err
}

#[test]
fn damaged_parquet_is_one_clean_message_naming_the_column_and_row_group() {
    let corpus = root().join("tests/fixtures/fuzz/tables");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.csv");
    let mut damaged: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".parquet") && !name.starts_with("valid")
        })
        .collect();
    damaged.sort();
    assert!(damaged.len() >= 12, "{damaged:?}");
    for file in &damaged {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // The profile reader (`info`, `prep`, `eval knn`) and the table reader (`eval
        // partition`, which reads label columns only).
        let runs: [Vec<&std::ffi::OsStr>; 4] = [
            vec!["info".as_ref(), file.as_os_str()],
            vec![
                "prep".as_ref(),
                "normalize".as_ref(),
                "--profiles".as_ref(),
                file.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "eval".as_ref(),
                "knn".as_ref(),
                "--profiles".as_ref(),
                file.as_os_str(),
                "--labels".as_ref(),
                "Metadata_Plate".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            vec![
                "eval".as_ref(),
                "partition".as_ref(),
                "--profiles".as_ref(),
                file.as_os_str(),
                "--true".as_ref(),
                "Metadata_Plate".as_ref(),
                "--pred".as_ref(),
                "Metadata_Well".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
        ];
        for args in runs {
            let what = format!("{name}, {:?} {:?}", args[0], args[1]);
            let err = only_cpbench_message(&run_backtraced(&args), file, &what);
            // Damage inside the data names where it is.
            if name.starts_with("corrupt_page") || name.starts_with("corrupt_chunk") {
                assert!(
                    err.contains("column '") && err.contains("row group "),
                    "{what}: {err}"
                );
            }
            if name.ends_with("_rg2.parquet") || name == "truncated_page.parquet" {
                assert!(
                    err.contains("column 'Cells_A', row group "),
                    "{what}: {err}"
                );
            }
        }
        assert!(!out.exists(), "{name}: an output was written");
    }

    // A shipped table as cpbench writes it, one byte in every 61 flipped in turn: each read
    // succeeds (a value changed) or is the one clean message.
    let written = tmp.path().join("cellhealth.parquet");
    let o = bin()
        .args(["prep", "normalize", "--profiles"])
        .arg(shipped("cellhealth_micro/cellhealth_matric_subset.csv"))
        .arg("--out")
        .arg(&written)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = std::fs::read(&written).unwrap();
    let damaged = tmp.path().join("damaged.parquet");
    let (mut ok, mut refused) = (0, 0);
    for at in (4..bytes.len() - 8).step_by(61) {
        let mut b = bytes.clone();
        b[at] ^= 0xff;
        std::fs::write(&damaged, &b).unwrap();
        let o = run_backtraced(&["info".as_ref(), damaged.as_os_str()]);
        if o.status.success() {
            ok += 1;
        } else {
            only_cpbench_message(&o, &damaged, &format!("byte {at} flipped"));
            refused += 1;
        }
    }
    assert!(refused > 0 && ok > 0, "{refused} refused, {ok} read");
}
