//! Fuzz-style robustness of the manifest loaders and the row-filter parser, deterministic and
//! bounded in time. Every shipped manifest (benchmarks, plugins, audits) and every seed in
//! `tests/fixtures/fuzz/manifests/` is mutated [`CASES`] times with a fixed-seed generator
//! (truncations, byte changes, deletions, duplications, insertions of TOML tokens, keys and
//! extreme values) and loaded next to the files it refers to: the loader must accept it or
//! refuse it with an error naming the manifest, and never panic. Row filters from
//! `filters.txt` and from the manifests' own `rows`/`controls` strings are mutated the same way,
//! parsed and applied to a small table.

use std::path::{Path, PathBuf};

use cpbench_core::filter::RowFilter;
use cpbench_core::manifest::{load_audit, load_benchmark, load_plugin};
use cpbench_metrics::rng::SplitMix64;
use polars::prelude::*;

/// Mutations per seed.
const CASES: usize = 200;

/// The metrics' seeded generator, with the two draws the mutations need.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
}

/// Pieces that reach the parsers' corners: TOML syntax, keys of every manifest kind, values
/// of the wrong type or past every range, and bytes that are not UTF-8.
const TOKENS: &[&[u8]] = &[
    b"=",
    b"\"",
    b"'''",
    b"[",
    b"]",
    b"[[task]]\n",
    b"[[preprocess]]\n",
    b"[data]\n",
    b"[columns]\n",
    b"\n",
    b",",
    b"{",
    b"}",
    b"#",
    b"k = 0\n",
    b"k = -1\n",
    b"k_values = []\n",
    b"k_sweep = [5, 2]\n",
    b"restarts = 0\n",
    b"null_size = 18446744073709551615\n",
    b"threshold = nan\n",
    b"percentile = inf\n",
    b"quantile = -0.5\n",
    b"metric = \"kmeans\"\n",
    b"metric = \"map\"\n",
    b"metric = \"nope\"\n",
    b"labels = \"\"\n",
    b"rows = \"Metadata_x in [\"\n",
    b"level = \"cell\"\n",
    b"schema_version = 2\n",
    b"sha256 = \"zz\"\n",
    b"1e999",
    b"-0",
    b"\xff\xfe",
    b"\xc3",
    b"\0",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 => out.truncate(at),
            1 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next() as u8;
            }
            2 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(80)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Benchmark,
    Plugin,
    Audit,
}

/// The seeds: (kind, manifest path).
fn seeds() -> Vec<(Kind, PathBuf)> {
    let root = root();
    let mut out = Vec::new();
    let mut glob = |dir: PathBuf, file: Option<&str>, kind: Kind| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                match file {
                    Some(name) => Some(p.join(name)).filter(|m| m.is_file()),
                    None => (p.extension().is_some_and(|x| x == "toml")).then_some(p),
                }
            })
            .collect();
        found.sort();
        out.extend(found.into_iter().map(|p| (kind, p)));
    };
    glob(
        root.join("benchmarks"),
        Some("benchmark.toml"),
        Kind::Benchmark,
    );
    glob(root.join("plugins"), Some("plugin.toml"), Kind::Plugin);
    glob(root.join("benchmarks/audits"), None, Kind::Audit);
    let corpus = root.join("tests/fixtures/fuzz/manifests");
    glob(corpus.join("benchmark"), None, Kind::Benchmark);
    glob(corpus.join("plugin"), None, Kind::Plugin);
    out
}

/// Symlinks every entry of `from` except `skip` into `to`, so that a manifest written in `to`
/// finds the files its relative paths name.
fn mirror(from: &Path, to: &Path, skip: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path != skip {
            std::os::unix::fs::symlink(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn mutated_manifests_load_or_fail_naming_the_file() {
    let seeds = seeds();
    assert!(seeds.len() >= 15, "the seed corpus is missing: {seeds:?}");
    let mut rng = Rng(SplitMix64::new(0x6d61_6e69_6665_7374));
    let (mut accepted, mut refused) = (0usize, 0usize);
    for (i, (kind, seed)) in seeds.iter().enumerate() {
        let text = std::fs::read(seed).unwrap();
        // `dir/parent/manifest` mirrored as `tmp/parent/manifest`, with `tmp` holding the
        // parent's siblings: `../data/...` and `models/...` resolve as they do in the tree.
        let tmp = tempfile::tempdir().unwrap();
        let parent = seed.parent().unwrap();
        let grand = parent.parent().unwrap();
        let here = tmp.path().join(format!("s{i}"));
        mirror(parent, &here, seed);
        mirror(grand, tmp.path(), parent);
        let name = match kind {
            Kind::Benchmark => "benchmark.toml".to_string(),
            Kind::Plugin => "plugin.toml".to_string(),
            Kind::Audit => seed.file_name().unwrap().to_string_lossy().into_owned(),
        };
        let target = here.join(name);
        for case in 0..CASES {
            let bytes = if case == 0 {
                text.clone()
            } else {
                mutate(&mut rng, &text)
            };
            std::fs::write(&target, &bytes).unwrap();
            let outcome = std::panic::catch_unwind(|| match kind {
                Kind::Benchmark => load_benchmark(&target).map(|_| ()),
                Kind::Plugin => load_plugin(&target).map(|_| ()),
                Kind::Audit => load_audit(&target).map(|_| ()),
            });
            match outcome {
                Err(_) => panic!(
                    "loading a mutation of {} panicked; input:\n{}",
                    seed.display(),
                    String::from_utf8_lossy(&bytes)
                ),
                Ok(Ok(())) => accepted += 1,
                Ok(Err(e)) => {
                    refused += 1;
                    let message = e.to_string();
                    assert!(
                        message.contains(&target.display().to_string()),
                        "the error must name the manifest: {message}"
                    );
                }
            }
        }
    }
    eprintln!("manifests: {accepted} accepted, {refused} refused, no panic");
    // Both outcomes must occur, or the mutations test nothing.
    assert!(
        accepted > 0 && refused > accepted,
        "{accepted} accepted, {refused} refused"
    );
}

fn table() -> DataFrame {
    df!(
        "Metadata_moa" => ["a", "b", "DMSO", "c"],
        "Metadata_plate" => ["P1", "P1", "P2", "P2"],
    )
    .unwrap()
}

#[test]
fn mutated_row_filters_parse_or_fail_never_panic() {
    let corpus = root().join("tests/fixtures/fuzz/manifests/filters.txt");
    let seeds: Vec<String> = std::fs::read_to_string(corpus)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(seeds.len() >= 10);
    let frame = table();
    let mut rng = Rng(SplitMix64::new(0x726f_7773));
    let (mut parsed, mut refused) = (0usize, 0usize);
    for seed in &seeds {
        for case in 0..CASES {
            let bytes = if case == 0 {
                seed.as_bytes().to_vec()
            } else {
                mutate(&mut rng, seed.as_bytes())
            };
            // Filters come from flags and manifests, which are text.
            let expr = String::from_utf8_lossy(&bytes).into_owned();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                RowFilter::parse(&expr).map(|f| f.mask_frame(&frame).map(|m| m.len()))
            }));
            match outcome {
                Err(_) => panic!("filter {expr:?} panicked"),
                Ok(Ok(Ok(n))) => {
                    assert_eq!(n, frame.height());
                    parsed += 1;
                }
                Ok(Ok(Err(_))) | Ok(Err(_)) => refused += 1,
            }
        }
    }
    eprintln!("filters: {parsed} parsed, {refused} refused, no panic");
    assert!(
        parsed > 0 && refused > 0,
        "{parsed} parsed, {refused} refused"
    );
}
