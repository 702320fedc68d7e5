//! One part of a sharded computation (`cpbench eval map --shard i/n --out-shard FILE`, or
//! `cpbench run --shard i/n --out-shard FILE`): the part's numbers, and the identity
//! `cpbench merge` checks before combining the parts.
//!
//! Shards may be computed on different machines, so each file names what it is a part of: the
//! command's defining arguments (every flag, paths absolute, outputs and `--shard` left out),
//! the SHA-256 of the input table and the harness build, folded into one `key`. `merge` accepts
//! a set of files only when every key and part count agree and each part `1..=count` is there
//! exactly once, and says which part is missing, repeated or foreign otherwise.

use serde::{Deserialize, Serialize};

use crate::result::HarnessInfo;

/// The `format` of every shard file.
pub const SHARD_FORMAT: &str = "cpbench-shard";
/// The version of the shard file layout this build writes and reads.
pub const SHARD_VERSION: u32 = 1;
/// The most parts a computation may have (as `--shard` allows).
pub const MAX_PARTS: usize = 100_000;

/// A shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardFile {
    /// Always [`SHARD_FORMAT`].
    pub format: String,
    /// [`SHARD_VERSION`] when written.
    pub version: u32,
    /// Which computation: `eval-map` or `run`.
    pub kind: String,
    /// This part, 1-based.
    pub index: usize,
    /// How many parts the computation was split into.
    pub count: usize,
    /// The build that computed it.
    pub harness: HarnessInfo,
    /// The command's defining arguments, as `merge` parses them again.
    pub args: Vec<String>,
    /// SHA-256 of the input table.
    pub input_sha256: String,
    /// SHA-256 of everything above but the index: equal in every part of one computation.
    pub key: String,
    /// The part's average precisions (`kind = "eval-map"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<MapShard>,
    /// The part's share of each sharded task (`kind = "run"`), in the benchmark's task order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskShard>>,
    /// Why the part could not compute its share (`kind = "run"`: the plugin or the scoring
    /// failed); the merge then records the failure, or says which part to rerun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// One task's share in a run's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskShard {
    /// The task's id.
    pub task: String,
    /// A mAP task's AP rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<MapShard>,
    /// A k-means task's restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmeans: Option<KmeansShard>,
}

/// The k-means restarts one part computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmeansShard {
    /// Index of the part's first restart.
    pub first: usize,
    /// Its restarts at the task's k.
    pub at_k: RestartColumns,
    /// Its restarts at each k of the sweep, in sweep order.
    pub sweep: Vec<RestartColumns>,
}

/// Restarts column by column; floating-point values as IEEE-754 bits (see [`MapShard`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RestartColumns {
    /// Each restart's generator key.
    pub seed: Vec<u64>,
    /// Lloyd iterations run.
    pub iterations: Vec<usize>,
    /// Inertia bits.
    pub inertia_bits: Vec<u64>,
    /// NMI bits.
    pub nmi_bits: Vec<u64>,
    /// ARI bits.
    pub ari_bits: Vec<u64>,
    /// Purity bits.
    pub purity_bits: Vec<u64>,
}

impl RestartColumns {
    /// Number of restarts, if every column has it.
    fn len(&self) -> Option<usize> {
        let n = self.seed.len();
        [
            self.iterations.len(),
            self.inertia_bits.len(),
            self.nmi_bits.len(),
            self.ari_bits.len(),
            self.purity_bits.len(),
        ]
        .iter()
        .all(|&m| m == n)
        .then_some(n)
    }
}

impl MapShard {
    fn same_lengths(&self) -> bool {
        let n = self.row.len();
        self.average_precision_bits.len() == n
            && self.n_pos_pairs.len() == n
            && self.n_total_pairs.len() == n
            && self.label.as_ref().is_none_or(|l| l.len() == n)
    }
}

/// The rows of the AP table one part computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapShard {
    /// Positive pairs seen from this part's queries.
    pub pos_pairs_seen: u64,
    /// Negative pairs seen from this part's queries.
    pub neg_pairs_seen: u64,
    /// 0-based scored row of each output row.
    pub row: Vec<usize>,
    /// Multilabel mode: each output row's label code.
    pub label: Option<Vec<u32>>,
    /// The IEEE-754 bits of each average precision (NaN for a query without positives): JSON
    /// numbers need not read back to the same double, and merged tables must be the same bytes.
    pub average_precision_bits: Vec<u64>,
    /// Positive pairs of each query.
    pub n_pos_pairs: Vec<usize>,
    /// Rank-list length of each query.
    pub n_total_pairs: Vec<usize>,
}

impl ShardFile {
    /// The key of a computation: `kind`, `count`, `args` but the input's path (the same bytes
    /// may sit at another path on another machine), the input's SHA-256 and the harness.
    pub fn key_of(
        kind: &str,
        count: usize,
        args: &[String],
        input_sha256: &str,
        harness: &HarnessInfo,
    ) -> String {
        let args: Vec<&String> = args
            .iter()
            .filter(|a| !a.starts_with("--profiles="))
            .collect();
        let identity = serde_json::json!({
            "kind": kind,
            "count": count,
            "args": args,
            "input_sha256": input_sha256,
            "harness": harness,
        });
        cpbench_core::hash::sha256_bytes(identity.to_string().as_bytes())
    }

    /// Whether the file is internally consistent: format, version, index within count, key
    /// matching its own fields, and columns of one length.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.format != SHARD_FORMAT {
            return Err(format!("format is `{}`, not `{SHARD_FORMAT}`", self.format));
        }
        if self.version != SHARD_VERSION {
            return Err(format!(
                "shard file version {} (this build reads version {SHARD_VERSION})",
                self.version
            ));
        }
        if self.index == 0 || self.index > self.count || self.count > MAX_PARTS {
            return Err(format!(
                "part {}/{} is out of range (1 ≤ i ≤ n ≤ {MAX_PARTS})",
                self.index, self.count
            ));
        }
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(&self.input_sha256) || !hex64(&self.key) {
            return Err("its input_sha256 or key is not 64 hex digits".into());
        }
        let key = Self::key_of(
            &self.kind,
            self.count,
            &self.args,
            &self.input_sha256,
            &self.harness,
        );
        if key != self.key {
            return Err("its key does not match its contents (edited or corrupted)".into());
        }
        if self.map.as_ref().is_some_and(|m| !m.same_lengths()) {
            return Err("its columns differ in length".into());
        }
        for t in self.tasks.iter().flatten() {
            let map_ok = t.map.as_ref().is_none_or(MapShard::same_lengths);
            let kmeans_ok = t.kmeans.as_ref().is_none_or(|k| {
                let n = k.at_k.len();
                n.is_some() && k.sweep.iter().all(|s| s.len() == n)
            });
            if !(map_ok && kmeans_ok) || t.map.is_some() == t.kmeans.is_some() {
                return Err(format!(
                    "task `{}`: its columns differ in length, or it holds not exactly one of \
                     map and kmeans",
                    t.task
                ));
            }
        }
        Ok(())
    }
}

/// Refuses parts (the first named `name`) computed by another harness build than `here`: the
/// statistics a merge computes must be the same build's as the parts'.
pub fn check_harness(
    name: &str,
    first: &ShardFile,
    here: &HarnessInfo,
) -> std::result::Result<(), String> {
    if &first.harness == here {
        return Ok(());
    }
    let commit = |h: &HarnessInfo| h.git_commit.clone().unwrap_or("unknown commit".into());
    Err(format!(
        "{name}: computed by cpbench {} ({}); this is cpbench {} ({}): merge with the build \
         that computed the parts",
        first.harness.version,
        commit(&first.harness),
        here.version,
        commit(here)
    ))
}

/// Checks that `shards` (with the file each came from) are every part of one computation,
/// each once; the message names the files and parts at fault.
pub fn check_complete(shards: &[(String, ShardFile)]) -> std::result::Result<(), String> {
    let Some((first_name, first)) = shards.first() else {
        return Err("no shard files given".into());
    };
    // Every file is checked (its count within bounds) before anything is sized by a count.
    for (name, s) in shards {
        s.check().map_err(|e| format!("{name}: {e}"))?;
    }
    let mut seen: Vec<Option<&str>> = vec![None; first.count];
    for (name, s) in shards {
        if s.kind != first.kind || s.count != first.count || s.key != first.key {
            return Err(format!(
                "{name} is part {}/{} of another computation than {first_name} (part {}/{}): \
                 the arguments, the input's SHA-256 ({} vs {}) or the harness ({} vs {}) differ",
                s.index,
                s.count,
                first.index,
                first.count,
                short(&s.input_sha256),
                short(&first.input_sha256),
                s.harness.version,
                first.harness.version,
            ));
        }
        if let Some(other) = seen[s.index - 1] {
            return Err(format!(
                "part {}/{} is given twice: {other} and {name}",
                s.index, s.count
            ));
        }
        seen[s.index - 1] = Some(name);
    }
    let missing: Vec<String> = (1..=first.count)
        .filter(|i| seen[i - 1].is_none())
        .map(|i| format!("{i}/{}", first.count))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing part(s) {}", missing.join(", ")));
    }
    Ok(())
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: usize, count: usize, args: &[&str]) -> ShardFile {
        let harness = HarnessInfo {
            version: "0.1.0".into(),
            git_commit: None,
        };
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let key = ShardFile::key_of("eval-map", count, &args, &"a".repeat(64), &harness);
        ShardFile {
            format: SHARD_FORMAT.into(),
            version: SHARD_VERSION,
            kind: "eval-map".into(),
            index,
            count,
            harness,
            args,
            input_sha256: "a".repeat(64),
            key,
            map: Some(MapShard {
                pos_pairs_seen: 1,
                neg_pairs_seen: 1,
                row: vec![index],
                label: None,
                average_precision_bits: vec![0.5f64.to_bits()],
                n_pos_pairs: vec![1],
                n_total_pairs: vec![2],
            }),
            tasks: None,
            failed: None,
        }
    }

    fn named(parts: Vec<ShardFile>) -> Vec<(String, ShardFile)> {
        parts
            .into_iter()
            .map(|p| (format!("s{}.json", p.index), p))
            .collect()
    }

    #[test]
    fn a_complete_set_passes_and_every_fault_is_named() {
        let all = || (1..=3).map(|i| part(i, 3, &["--x"])).collect::<Vec<_>>();
        assert_eq!(check_complete(&named(all())), Ok(()));
        let mut missing = all();
        missing.remove(1);
        let e = check_complete(&named(missing)).unwrap_err();
        assert!(e.contains("missing part(s) 2/3"), "{e}");
        let mut twice = all();
        twice.push(part(3, 3, &["--x"]));
        let e = check_complete(&named(twice)).unwrap_err();
        assert!(e.contains("part 3/3 is given twice"), "{e}");
        let mut foreign = all();
        foreign[2] = part(3, 3, &["--y"]);
        let e = check_complete(&named(foreign)).unwrap_err();
        assert!(
            e.contains("s3.json is part 3/3 of another computation"),
            "{e}"
        );
        let mut edited = all();
        edited[0].args.push("--z".into());
        let e = check_complete(&named(edited)).unwrap_err();
        assert!(e.contains("s1.json: its key does not match"), "{e}");
        let mut ragged = all();
        ragged[1].map.as_mut().unwrap().n_pos_pairs.clear();
        let e = check_complete(&named(ragged)).unwrap_err();
        assert!(e.contains("columns differ in length"), "{e}");
        assert!(check_complete(&[]).is_err());
        // An absurd part count is refused before anything is sized by it.
        let mut huge = part(1, 1, &["--x"]);
        huge.count = usize::MAX;
        let e = check_complete(&named(vec![huge])).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        // The input's path is not part of the key: the same bytes elsewhere are the same input.
        let here = part(1, 2, &["--profiles=/a/x.csv", "--seed=0"]);
        let there = part(2, 2, &["--profiles=/b/x.csv", "--seed=0"]);
        assert_eq!(here.key, there.key);
        assert_eq!(check_complete(&named(vec![here, there])), Ok(()));
    }

    #[test]
    fn parts_of_another_build_are_refused_naming_both() {
        let p = part(1, 1, &[]);
        assert_eq!(check_harness("s1.json", &p, &p.harness), Ok(()));
        let other = HarnessInfo {
            version: "0.2.0".into(),
            git_commit: Some("abc".into()),
        };
        let e = check_harness("s1.json", &p, &other).unwrap_err();
        assert!(
            e.starts_with("s1.json: computed by cpbench 0.1.0 (unknown commit)"),
            "{e}"
        );
        assert!(e.contains("this is cpbench 0.2.0 (abc)"), "{e}");
    }

    #[test]
    fn round_trips_through_json_bit_for_bit() {
        let mut p = part(1, 1, &[]);
        let values = [
            f64::NAN,
            0.1 + 0.2,
            1.0 / 3.0,
            5e-324,
            0.999_999_999_999_999_9,
        ];
        let m = p.map.as_mut().unwrap();
        m.average_precision_bits = values.iter().map(|v| v.to_bits()).collect();
        m.row = vec![0; values.len()];
        m.n_pos_pairs = vec![1; values.len()];
        m.n_total_pairs = vec![2; values.len()];
        let text = serde_json::to_string(&p).unwrap();
        let back: ShardFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert!(
            back.map
                .as_ref()
                .unwrap()
                .average_precision_bits
                .iter()
                .zip(values)
                .all(|(b, v)| *b == v.to_bits())
        );
    }
}
