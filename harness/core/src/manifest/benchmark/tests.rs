//! Loading `benchmark.toml` end to end: the full and minimal examples, serde round trips, and
//! an error for each kind of mistake, naming the key and line.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::task::COMMON_TASK_PARAMS;
use super::*;
use crate::datacache::DataCache;
use crate::io::NonFinitePolicy;
use crate::manifest::test_util::{Fixture, assert_err, relative};
use crate::profiles::Level;

/// The smallest valid benchmark; needs `p.csv` next to it.
pub(crate) const MINIMAL: &str = r#"
schema_version = 1
id = "mini"
version = 1
title = "Minimal"

[data]
profiles = "p.csv"
level = "well"

[[task]]
id = "rep-map"
metric = "map"
pos_sameby = ["Metadata_pert"]
null_size = 100
"#;

const FULL: &str = r#"
schema_version = 1
id = "lincs-sq00015054"
version = 2
title = "LINCS plate SQ00015054"
description = "One A549 plate, 58 compounds at 6 doses."

[data]
profiles = "../data/plate.csv.gz"
sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
level = "well"
metadata_prefix = "Metadata_"
on_nonfinite = "drop-columns"
annotations = [
  { name = "CORUM", path = "../data/corum.csv.gz" },
  { name = "moa", path = "../data/moa.tsv", sha256 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" },
]

[columns]
perturbation = "Metadata_broad_sample"
replicate = ["Metadata_broad_sample", "Metadata_mg_per_ml"]
plate = "Metadata_Plate"
well = "Metadata_Well"
batch = "Metadata_Batch_Number"
control = { column = "Metadata_broad_sample", values = ["DMSO"] }
labels = ["Metadata_moa", "Metadata_gene"]
split = { column = "Metadata_split", train = ["train"], test = ["test"] }

[[preprocess]]
op = "feature-select"
ops = ["variance_threshold", "correlation_threshold", "blocklist"]
corr_threshold = 0.9
blocklist = "blocklist.txt"

[[preprocess]]
op = "normalize"
method = "mad_robustize"
fit_on = "Metadata_pert_type=control"
by = ["Metadata_Plate"]
epsilon = 1e-6

[[preprocess]]
op = "sphere"
method = "zca"
fit_on = "controls"
lambda = 0.01

[[preprocess]]
op = "insp"
max_iter = 10
folds = 5
lambda = 1.0

[[preprocess]]
op = "aggregate"
by = ["Metadata_broad_sample", "Metadata_mg_per_ml"]
method = "mean"
level = "treatment"

[[task]]
id = "replicate-map"
metric = "map"
pos_sameby = ["Metadata_broad_sample"]
pos_diffby = []
neg_sameby = []
neg_diffby = ["Metadata_broad_sample"]
reference = "controls"
null_size = 10000
seed = 0
threshold = 0.05

[[task]]
id = "moa-knn"
metric = "knn-accuracy"
labels = "Metadata_moa"
k = 1
exclude_same = ["Metadata_broad_sample"]

[[task]]
id = "moa-enrichment"
metric = "enrichment"
labels = "Metadata_moa"
percentile = 99.0

[[task]]
id = "p-at-k"
metric = "precision-at-k"
labels = "Metadata_broad_sample"
k_values = [1, 5, 10]

[[task]]
id = "percent-replicating"
metric = "replicating"
quantile = 0.95
similarity = "pearson"

[[task]]
id = "clusters"
metric = "kmeans"
labels = "Metadata_moa"
level = "treatment"
k_sweep = [2, 30]
restarts = 100

[[task]]
id = "leakage"
metric = "batch-leakage"
target = "Metadata_Batch_Number"
groups = "Metadata_Plate"
folds = 5

[[task]]
id = "corum"
metric = "relations"
labels = "Metadata_gene"
pairs = ["CORUM"]

[[task]]
id = "held-out"
metric = "partition"
labels = "Metadata_moa"
k = 1
"#;

fn full_fixture() -> Fixture {
    Fixture::new(&[
        "data/plate.csv.gz",
        "data/corum.csv.gz",
        "data/moa.tsv",
        "bench/blocklist.txt",
    ])
}

fn full_err(from: &str, to: &str) -> String {
    assert!(FULL.contains(from), "test edit `{from}` does not apply");
    full_fixture().error::<BenchmarkManifest>("bench/benchmark.toml", &FULL.replacen(from, to, 1))
}

#[test]
fn full_example_parses_with_defaults_and_resolved_paths() {
    let fx = full_fixture();
    let m = fx
        .load::<BenchmarkManifest>("bench/benchmark.toml", FULL)
        .unwrap();
    let b = &m.manifest;
    assert_eq!(b.id, "lincs-sq00015054");
    assert_eq!(b.version, 2);
    assert_eq!(b.data.level, Level::Well);
    assert_eq!(b.data.on_nonfinite, NonFinitePolicy::DropColumns);
    assert_eq!(b.preprocess.len(), 5);
    assert_eq!(b.preprocess[2].op, PrepOp::Sphere);
    assert_eq!(b.preprocess[2].lambda, Some(0.01));
    assert_eq!(b.tasks.len(), 9);
    assert_eq!(b.tasks[1].metric(), Metric::KnnAccuracy);
    let TaskParams::Kmeans(kmeans) = &b.tasks[5].params else {
        panic!("task 5 is k-means")
    };
    assert_eq!(kmeans.k_sweep, Some([2, 30]));
    let TaskParams::Replicating(replicating) = &b.tasks[4].params else {
        panic!("task 4 is percent replicating")
    };
    assert_eq!(replicating.similarity, Some(Similarity::Pearson));
    let TaskParams::Relations(relations) = &m.task("corum").unwrap().params else {
        panic!("corum is a relations task")
    };
    assert_eq!(relations.pairs, ["CORUM"]);
    assert!(m.task("nope").is_none());

    let files = m.data_files(&DataCache::new("/cache"));
    let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "data.profiles",
            "data.annotations[0].path",
            "data.annotations[1].path",
            "preprocess[0].blocklist"
        ]
    );
    assert_eq!(
        relative(&files[0].path, fx.dir.path()),
        PathBuf::from("bench/../data/plate.csv.gz")
    );
    assert!(files.iter().all(|f| f.path.is_file()), "{files:?}");
    assert_eq!(files[0].sha256.as_deref().map(str::len), Some(64));
    assert_eq!(files[1].sha256, None);
    assert_eq!(
        relative(&files[3].path, fx.dir.path()),
        PathBuf::from("bench/blocklist.txt")
    );
}

#[test]
fn minimal_example_gets_defaults() {
    let fx = Fixture::new(&["p.csv"]);
    let m = fx
        .load::<BenchmarkManifest>("benchmark.toml", MINIMAL)
        .unwrap();
    assert_eq!(m.manifest.data.metadata_prefix, "Metadata_");
    assert_eq!(m.manifest.data.on_nonfinite, NonFinitePolicy::Error);
    assert_eq!(m.manifest.columns, Columns::default());
    assert!(m.manifest.preprocess.is_empty());
    assert_eq!(m.dir, fx.dir.path());
}

#[test]
fn absolute_paths_stay_absolute() {
    let fx = Fixture::new(&["elsewhere/p.csv"]);
    let abs = fx.path("elsewhere/p.csv");
    let text = MINIMAL.replace("\"p.csv\"", &format!("{:?}", abs.display().to_string()));
    let m = fx
        .load::<BenchmarkManifest>("b/benchmark.toml", &text)
        .unwrap();
    assert_eq!(m.data_files(&DataCache::new("/cache"))[0].path, abs);
}

#[test]
fn round_trips_through_serde() {
    let fx = full_fixture();
    let m = fx
        .load::<BenchmarkManifest>("bench/benchmark.toml", FULL)
        .unwrap()
        .manifest;
    let text = toml::to_string(&m).unwrap();
    let again = fx
        .load::<BenchmarkManifest>("bench/benchmark.toml", &text)
        .unwrap()
        .manifest;
    assert_eq!(again, m);
}

#[test]
fn unknown_keys_are_named_with_their_path() {
    assert_err(
        &full_err("null_size = 10000", "nul_size = 10000"),
        "task[0].nul_size",
        "unknown key (did you mean `null_size`?)",
    );
    assert_err(&full_err("title = ", "titel = "), "titel", "unknown key");
    assert_err(
        &full_err("well = \"Metadata_Well\"", "wel = \"Metadata_Well\""),
        "columns.wel",
        "did you mean `well`?",
    );
}

#[test]
fn wrong_types_and_values() {
    assert_err(
        &full_err("null_size = 10000", "null_size = \"many\""),
        "task[0].null_size",
        "invalid type: string \"many\", expected a non-negative integer",
    );
    assert_err(
        &full_err("k = 1\nexclude", "k = -1\nexclude"),
        "task[1].k",
        "expected a non-negative integer",
    );
    assert_err(
        &full_err("percentile = 99.0", "percentile = 150.0"),
        "task[2].percentile",
        "150: must be in (0, 100]",
    );
    assert_err(
        &full_err("threshold = 0.05", "threshold = nan"),
        "task[0].threshold",
        "NaN: must be in (0, 1]",
    );
    assert_err(
        &full_err("restarts = 100", "restarts = 0"),
        "task[5].restarts",
        "0: at least one restart is needed",
    );
    assert_err(
        &full_err("k_sweep = [2, 30]", "k_sweep = [30, 2]"),
        "task[5].k_sweep",
        "[30, 2]: not a range of cluster counts: need 2 ≤ first ≤ last",
    );
    assert_err(
        &full_err("k_sweep = [2, 30]", "k_sweep = [2]"),
        "task[5].k_sweep",
        "invalid length 1",
    );
    assert_err(
        &full_err("corr_threshold = 0.9", "corr_threshold = 1.5"),
        "preprocess[0].corr_threshold",
        "(0, 1]",
    );
}

#[test]
fn unknown_enum_values() {
    assert_err(
        &full_err("metric = \"map\"", "metric = \"mAP\""),
        "task[0].metric",
        "unknown value `mAP`, expected one of `map`",
    );
    assert_err(
        &full_err("level = \"well\"", "level = \"plate\""),
        "data.level",
        "unknown value `plate`",
    );
    assert_err(
        &full_err("op = \"sphere\"", "op = \"whiten\""),
        "preprocess[2].op",
        "unknown value `whiten`",
    );
    assert_err(
        &full_err("similarity = \"pearson\"", "similarity = \"spearman\""),
        "task[4].similarity",
        "unknown value `spearman`",
    );
    assert_err(
        &full_err("on_nonfinite = \"drop-columns\"", "on_nonfinite = \"drop\""),
        "data.on_nonfinite",
        "unknown value `drop`",
    );
}

#[test]
fn schema_version_id_and_required_keys() {
    assert_err(
        &full_err("schema_version = 1", "schema_version = 2"),
        "schema_version",
        "unsupported schema version 2",
    );
    assert_err(
        &full_err("id = \"lincs-sq00015054\"", "id = \"LINCS_1\""),
        "id",
        "not a valid id",
    );
    assert_err(
        &full_err("id = \"moa-knn\"", "id = \"moa knn\""),
        "task[1].id",
        "not a valid id",
    );
    assert_err(
        &full_err("version = 2\n", ""),
        "version",
        "required key is missing",
    );
    assert_err(
        &full_err("profiles = \"../data/plate.csv.gz\"\n", ""),
        "data.profiles",
        "required key is missing",
    );
    assert_err(
        &full_err("id = \"moa-knn\"\n", ""),
        "task[1].id",
        "required key is missing",
    );
    let fx = Fixture::new(&["p.csv"]);
    let no_tasks = MINIMAL.split("[[task]]").next().unwrap();
    assert_err(
        &fx.error::<BenchmarkManifest>("benchmark.toml", no_tasks),
        "task",
        "required key is missing",
    );
}

#[test]
fn per_metric_parameters() {
    let err = full_err(
        "id = \"moa-knn\"\nmetric = \"knn-accuracy\"",
        "id = \"moa-knn\"\nmetric = \"map\"",
    );
    assert_err(
        &err,
        "task[1].k",
        "not a parameter of metric `map` (allowed: pos_sameby, pos_diffby",
    );
    let err = full_err("k = 1\nexclude", "k = 1\nnull_size = 5\nexclude");
    assert_err(
        &err,
        "task[1].null_size",
        "not a parameter of metric `knn-accuracy`",
    );
    assert_err(
        &full_err("pos_sameby = [\"Metadata_broad_sample\"]\n", ""),
        "task[0].pos_sameby",
        "required by metric `map`",
    );
    assert_err(
        &full_err("k_values = [1, 5, 10]\n", ""),
        "task[3].k",
        "needs one of: k, k_values",
    );
    assert_err(
        &full_err("k_values = [1, 5, 10]", "k_values = [1, 5, 10]\nk = 3"),
        "task[3].k",
        "give only one of: k, k_values",
    );
    assert_err(
        &full_err("k_values = [1, 5, 10]", "k_values = [1, 5, 5]"),
        "task[3].k_values",
        "5: listed twice (position 3 of [1, 5, 5])",
    );
}

#[test]
fn per_op_parameters() {
    assert_err(
        &full_err("lambda = 0.01", "lambda = 0.01\nmax_iter = 3"),
        "preprocess[2].max_iter",
        "not a parameter of op `sphere` (allowed: method, fit_on",
    );
    assert_err(
        &full_err(
            "ops = [\"variance_threshold\", \"correlation_threshold\", \"blocklist\"]\n",
            "",
        ),
        "preprocess[0].ops",
        "required by op `feature-select`",
    );
    assert_err(
        &full_err(
            "\"correlation_threshold\", \"blocklist\"",
            "\"correlation\", \"blocklist\"",
        ),
        "preprocess[0].ops[1]",
        "unknown feature-selection operation `correlation`",
    );
    assert_err(
        &full_err("method = \"mad_robustize\"", "method = \"zscore\""),
        "preprocess[1].method",
        "unknown method `zscore` for op `normalize`",
    );
    assert_err(
        &full_err("method = \"zca\"", "method = \"zca\"\nrotate = false"),
        "preprocess[2].rotate",
        "contradicts",
    );
    assert_err(
        &full_err(
            "fit_on = \"Metadata_pert_type=control\"",
            "fit_on = \"some rows\"",
        ),
        "preprocess[1].fit_on",
        "expected `controls`, `all`, or a row filter",
    );
    assert_err(
        &full_err("folds = 5\nlambda", "folds = 1\nlambda"),
        "preprocess[3].folds",
        "at least 2",
    );
}

#[test]
fn cross_references() {
    assert_err(
        &full_err("id = \"moa-knn\"", "id = \"replicate-map\""),
        "task[1].id",
        "duplicate task id `replicate-map` (also task[0])",
    );
    assert_err(
        &full_err("pairs = [\"CORUM\"]", "pairs = [\"CORUM\", \"HuMAP\"]"),
        "task[7].pairs[1]",
        "no annotation named `HuMAP`",
    );
    assert_err(
        &full_err(
            "control = { column = \"Metadata_broad_sample\", values = [\"DMSO\"] }\n",
            "",
        ),
        "preprocess[2].fit_on",
        "`[columns] control` is not set",
    );
    assert_err(
        &full_err(
            "labels = [\"Metadata_moa\", \"Metadata_gene\"]",
            "labels = [\"Metadata_gene\"]",
        ),
        "task[1].labels",
        "hidden from plugins",
    );
    assert_err(
        &full_err(
            "split = { column = \"Metadata_split\", train = [\"train\"], test = [\"test\"] }\n",
            "",
        ),
        "task[8].metric",
        "needs `[columns] split`",
    );
    assert_err(
        &full_err("test = [\"test\"]", "test = [\"train\"]"),
        "columns.split.test[0]",
        "both train and test",
    );
    assert_err(
        &full_err(
            "replicate = [\"Metadata_broad_sample\", \"Metadata_mg_per_ml\"]\n",
            "",
        ),
        "task[4].replicate",
        "needs `replicate` or `[columns] replicate`",
    );
    assert_err(
        &full_err("batch = \"Metadata_Batch_Number\"\n", ""),
        "preprocess[3].batch",
        "needs `batch` or `[columns] batch`",
    );
    assert_err(
        &full_err(
            "level = \"treatment\"\nk_sweep",
            "level = \"cell\"\nk_sweep",
        ),
        "task[5].level",
        "finer than the data level `well`",
    );
    assert_err(
        &full_err("{ name = \"moa\"", "{ name = \"CORUM\""),
        "data.annotations[1].name",
        "duplicate annotation name",
    );
}

#[test]
fn digests_and_files() {
    assert_err(
        &full_err("sha256 = \"0123456789abcdef", "sha256 = \"0123456789ABCDEF"),
        "data.sha256",
        "64 lowercase hex digits",
    );
    assert_err(
        &full_err("sha256 = \"fedcba", "sha256 = \"xx"),
        "data.annotations[1].sha256",
        "not a SHA-256 digest",
    );
    let err = full_err("../data/corum.csv.gz", "../data/missing.csv.gz");
    assert_err(&err, "data.annotations[0].path", "file not found: ");
    assert!(err.contains("bench/../data/missing.csv.gz"), "{err}");
    let err = full_err(
        "profiles = \"../data/plate.csv.gz\"",
        "profiles = \"plate.csv.gz\"",
    );
    assert_err(&err, "data.profiles", "bench/plate.csv.gz");
    assert_err(
        &full_err("blocklist = \"blocklist.txt\"", "blocklist = \"nope.txt\""),
        "preprocess[0].blocklist",
        "file not found",
    );
}

#[test]
fn parameter_tables_name_real_fields() {
    let schema = serde_json::to_value(schemars::schema_for!(BenchmarkManifest)).unwrap();
    let props = |def: &str| -> BTreeSet<String> {
        schema["$defs"][def]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let task_fields = props("Task");
    let mut used = BTreeSet::new();
    for metric in [
        Metric::Map,
        Metric::Enrichment,
        Metric::PrecisionAtK,
        Metric::Replicating,
        Metric::Kmeans,
        Metric::KnnAccuracy,
        Metric::BatchLeakage,
        Metric::Relations,
        Metric::Partition,
    ] {
        let (r, o, one) = metric.rule();
        for k in r.iter().chain(o).chain(one).chain(COMMON_TASK_PARAMS) {
            assert!(
                task_fields.contains(*k),
                "{metric}: `{k}` is not a Task field"
            );
            used.insert(k.to_string());
        }
    }
    let unused: Vec<&String> = task_fields
        .iter()
        .filter(|f| !used.contains(*f) && !["id", "metric", "description"].contains(&f.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "Task fields no metric accepts: {unused:?}"
    );

    let step_fields = props("PrepStep");
    let mut used = BTreeSet::new();
    for op in [
        PrepOp::FeatureSelect,
        PrepOp::Normalize,
        PrepOp::Sphere,
        PrepOp::Insp,
        PrepOp::ControlNormalize,
        PrepOp::Aggregate,
        PrepOp::Consensus,
        PrepOp::TreatmentStrength,
    ] {
        let (r, o, _) = op.rule();
        for k in r.iter().chain(o) {
            assert!(
                step_fields.contains(*k),
                "{op}: `{k}` is not a PrepStep field"
            );
            used.insert(k.to_string());
        }
    }
    let unused: Vec<&String> = step_fields
        .iter()
        .filter(|f| !used.contains(*f) && *f != "op")
        .collect();
    assert!(
        unused.is_empty(),
        "PrepStep fields no op accepts: {unused:?}"
    );
}

#[test]
fn a_split_by_value_or_by_file_assigns_sides_and_is_hashed() {
    // Values of a column directly, with the controls on both sides.
    let inline = MINIMAL.replace(
        "[[task]]",
        "[columns]\nsplit = { column = \"Metadata_pert\", train = [\"a\"], test = [\"b\", \"c\"], \
         shared = [\"DMSO\"] }\n\n[[task]]",
    );
    let fx = Fixture::new(&["p.csv", "split.csv"]);
    let m = fx
        .load::<BenchmarkManifest>("benchmark.toml", &inline)
        .unwrap();
    let split = m.manifest.columns.split.as_ref().unwrap();
    let sides: Vec<Option<SplitSide>> = ["a", "b", "DMSO", "z"]
        .iter()
        .map(|v| split.side(v))
        .collect();
    assert_eq!(
        sides,
        [
            Some(SplitSide::Train),
            Some(SplitSide::Test),
            Some(SplitSide::Shared),
            None
        ]
    );
    assert!(SplitSide::Shared.fitted() && SplitSide::Shared.scored());
    assert!(SplitSide::Train.fitted() && !SplitSide::Train.scored());
    assert!(!SplitSide::Test.fitted() && SplitSide::Test.scored());
    assert_eq!(
        m.data_files(&DataCache::new("/cache")).len(),
        1,
        "no split file, nothing more to hash"
    );

    // Through a file: its digest is pinned like any data file's.
    let sha = "ab".repeat(32);
    let by_file = MINIMAL.replace(
        "[[task]]",
        &format!(
            "[columns]\nsplit = {{ column = \"Metadata_pert\", file = \"split.csv\", sha256 = \
             \"{sha}\", train = [\"train\"], test = [\"test\"], shared = [\"control\"] }}\n\n[[task]]"
        ),
    );
    let m = fx
        .load::<BenchmarkManifest>("benchmark.toml", &by_file)
        .unwrap();
    let files = m.data_files(&DataCache::new("/cache"));
    assert_eq!(files[1].key, "columns.split.file");
    assert_eq!(files[1].path, fx.path("split.csv"));
    assert_eq!(files[1].sha256.as_deref(), Some(sha.as_str()));

    let err = |from: &str, to: &str| {
        assert!(by_file.contains(from), "test edit `{from}` does not apply");
        fx.error::<BenchmarkManifest>("benchmark.toml", &by_file.replacen(from, to, 1))
    };
    assert_err(
        &err("shared = [\"control\"]", "shared = [\"test\"]"),
        "columns.split.shared[0]",
        "`test` is in both test and shared",
    );
    assert_err(
        &err("file = \"split.csv\"", "file = \"nope.csv\""),
        "columns.split.file",
        "nope.csv",
    );
    assert_err(
        &err(&format!("sha256 = \"{sha}\""), "sha256 = \"AB\""),
        "columns.split.sha256",
        "64 lowercase hex digits",
    );
    assert_err(
        &err("file = \"split.csv\", ", ""),
        "columns.split.sha256",
        "given without columns.split.file",
    );
    assert_err(
        &err("train = [\"train\"]", "train = []"),
        "columns.split.train",
        "at least one entry",
    );
}

#[test]
fn remote_data_files_are_pinned_and_live_in_the_cache() {
    let fx = Fixture::new(&["p.csv", "orf.csv"]);
    let etag = "064759b3a850dc351b357116b3e7b32d";
    let remote = MINIMAL
        .replace(
            "profiles = \"p.csv\"",
            &format!(
                "profiles = {{ url = \"s3://bucket/dir/profiles.parquet\", etag = \"{etag}\" }}"
            ),
        )
        .replace(
            "level = \"well\"",
            "level = \"well\"\n[[data.join]]\npath = \"orf.csv\"\non = [\"Metadata_JCP2022\"]\n\
             columns = [\"Metadata_Symbol\"]",
        );
    assert!(remote.contains("s3://"), "test edit does not apply");
    let m = fx
        .load::<BenchmarkManifest>("benchmark.toml", &remote)
        .unwrap();
    let cache = DataCache::new("/cache");
    let files = m.data_files(&cache);
    assert_eq!(
        files[0].path,
        PathBuf::from(format!("/cache/blobs/etag-{etag}/profiles.parquet"))
    );
    assert_eq!(
        files[0].remote.as_ref().unwrap().url,
        "s3://bucket/dir/profiles.parquet"
    );
    assert_eq!(files[1].key, "data.join[0].path");
    assert_eq!(files[1].path, fx.path("orf.csv"));
    assert!(files[1].remote.is_none());

    let err = |from: &str, to: &str| {
        assert!(remote.contains(from), "test edit `{from}` does not apply");
        fx.load::<BenchmarkManifest>("benchmark.toml", &remote.replace(from, to))
            .unwrap_err()
            .to_string()
    };
    // No pin at all: refused.
    let e = err(&format!(", etag = \"{etag}\""), "");
    assert!(e.contains("must be pinned"), "{e}");
    // An etag that is not S3's form (quotes kept, upper case, a zero part count).
    for bad in [
        "\\\"abc\\\"",
        "064759B3A850DC351B357116B3E7B32D",
        "064759b3a850dc351b357116b3e7b32d-0",
    ] {
        let e = err(etag, bad);
        assert!(e.contains("data.profiles.etag"), "{bad}: {e}");
    }
    // A multipart etag may carry its part size; a single-part one may not.
    let multipart = remote.replace(
        &format!("etag = \"{etag}\""),
        &format!("etag = \"{etag}-3\", part_size = 8388608, size = 1"),
    );
    fx.load::<BenchmarkManifest>("benchmark.toml", &multipart)
        .unwrap();
    let e = err(
        &format!("etag = \"{etag}\""),
        &format!("etag = \"{etag}\", part_size = 5"),
    );
    assert!(e.contains("only a multipart etag"), "{e}");
    let e = err("s3://bucket/dir/profiles.parquet", "ftp://host/x.parquet");
    assert!(e.contains("scheme `ftp`"), "{e}");
    let e = err("s3://bucket/dir/profiles.parquet", "s3://bucket/dir/");
    assert!(e.contains("names a folder"), "{e}");
    let e = err(
        "s3://bucket/dir/profiles.parquet",
        "https://host/x.parquet?raw=true",
    );
    assert!(e.contains("query or fragment"), "{e}");
    // Joined columns are metadata, and not key columns.
    let e = err("columns = [\"Metadata_Symbol\"]", "columns = [\"Symbol\"]");
    assert!(e.contains("would become a feature"), "{e}");
    let e = err(
        "columns = [\"Metadata_Symbol\"]",
        "columns = [\"Metadata_JCP2022\"]",
    );
    assert!(e.contains("is a key column"), "{e}");
}
