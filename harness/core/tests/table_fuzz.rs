//! Fuzz-style robustness of the table readers, deterministic and bounded in time: every file of
//! the seed corpus (`tests/fixtures/fuzz/tables/`: valid and malformed CSV, TSV, gzip and
//! Parquet) is mutated [`CASES`] times (truncations, byte changes, insertions of separators,
//! quotes, line ends and bytes that are not UTF-8, deletions, duplications; gzip files also
//! through their decompressed text) with a fixed-seed generator, and `read_table` and
//! `read_profiles` must return `Ok` or an error naming the file: never panic, never abort. For
//! delimited text, the structure check and polars must also agree on every file the check
//! accepts (no "parsed as" mismatch).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles, read_table};
use cpbench_metrics::rng::SplitMix64;

/// Mutated files per seed.
const CASES: usize = 256;

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

/// Bytes that matter to the formats: separators, quotes, line ends, UTF-8 lead and stray
/// continuation bytes, digits, gzip and Parquet magic.
const SPECIAL: &[u8] = b",\t\"\n\r\xff\xc3\x800.-P\x1f\x8b";

/// One to three random edits of `bytes`.
fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..=rng.below(3) {
        let len = b.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 => b.truncate(at),
            1 if len > 0 => b[at.min(len - 1)] = rng.next() as u8,
            2 if len > 0 => b[at.min(len - 1)] = SPECIAL[rng.below(SPECIAL.len())],
            3 => b.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
            4 => {
                let end = (at + 1 + rng.below(8)).min(len);
                b.drain(at.min(end)..end);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let piece = b[from..(from + 1 + rng.below(16)).min(len)].to_vec();
                b.splice(at..at, piece);
            }
            _ => b.truncate(len.saturating_sub(1 + rng.below(4))),
        }
    }
    b
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn mutated_tables_read_or_fail_cleanly() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz/tables");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 20, "{} seeds", seeds.len());
    // Panics polars raises and the readers catch are counted here, silently; one that escapes
    // fails the test with its message.
    let panics = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.lock().unwrap().push(info.to_string());
    }));
    let dir = tempfile::tempdir().unwrap();
    let keep = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    let mut rng = Rng(SplitMix64::new(20_240_611));
    let (mut oks, mut errs, mut escaped) = (0, 0, Vec::new());
    for seed in &seeds {
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(seed).unwrap();
        let gz = name.ends_with(".gz");
        for case in 0..CASES {
            let bytes = if gz && case % 2 == 0 && !name.starts_with("truncated_stream") {
                gzip(&mutate(&mut rng, &gunzip(&original)))
            } else {
                mutate(&mut rng, &original)
            };
            // The seed's own name (its extension picks the format), one file per case.
            let path = dir.path().join(format!("{case}-{name}"));
            std::fs::write(&path, &bytes).unwrap();
            let result = std::panic::catch_unwind(|| {
                let table = read_table(&path).map(|_| ());
                let profiles = read_profiles(&path, &keep).map(|_| ());
                [table, profiles]
            });
            let Ok(results) = result else {
                escaped.push(format!("{name} case {case}"));
                continue;
            };
            for r in results {
                match r {
                    Ok(()) => oks += 1,
                    Err(e) => {
                        errs += 1;
                        let e = e.to_string();
                        let prefix = format!("{}: ", path.display());
                        assert!(e.starts_with(&prefix), "{name} case {case}: {e}");
                        assert!(
                            !e.contains("the table parsed as"),
                            "{name} case {case}: the check and polars disagree: {e}\n{:?}",
                            String::from_utf8_lossy(&bytes)
                        );
                    }
                }
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::panic::set_hook(previous);
    let panics = panics.lock().unwrap();
    println!(
        "{} seeds × {CASES} cases: {oks} reads Ok, {errs} errors, {} polars panics caught",
        seeds.len(),
        panics.len()
    );
    assert!(
        escaped.is_empty(),
        "panics escaped the readers: {escaped:?}\n{panics:#?}"
    );
}
