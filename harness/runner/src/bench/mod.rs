//! One (benchmark, plugin) pair from data to a result file: what `cpbench run` does.
//!
//! load → plugin → benchmark preprocessing → tasks → `RunResult` + `RunFigures` (+ HTML).
//! A benchmark whose own data is broken is bad input (an `Err`); everything that goes wrong
//! with the plugin, its output or the scoring of it is a *failed run* with the reason recorded,
//! so a leaderboard shows it instead of stopping.

pub mod join;
pub mod shard;
pub mod split;
pub mod tasks;
pub mod views;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cpbench_core::datacache::DataCache;
use cpbench_core::filter::RowFilter;
use cpbench_core::hash::{sha256_bytes, sha256_file};
use cpbench_core::io::{Commit, OpenProfiles, ReadOptions};
use cpbench_core::manifest::{
    BenchmarkManifest, BuiltinControl, Loaded, OnnxShape, PluginKind, PluginLevel, PrepOp, PrepStep,
};
use cpbench_core::npy::read_npy;
use cpbench_core::{Level, Profiles};
use cpbench_host::native::resolve_native_library;
use cpbench_host::plugin::{
    ApplySpec, ContextRoles, ImageStack, Plugin, RunEnv, apply_to_profiles, verify_artifacts,
};
use cpbench_metrics::retrieval::Shard;
use cpbench_remote::{Fetcher, Progress, Request};
use cpbench_results::figures::{LambdaPoint, LambdaSweep};
use cpbench_results::{
    BenchmarkRef, DatasetFile, HarnessInfo, PluginRef, Provenance, RunFigures, RunResult,
    SCHEMA_VERSION, Score, Status, Timing,
};

use crate::error::{Context, Error, Result};
use crate::prep::pipeline::{StepContext, run_steps};
use crate::reporter::Silent;
use crate::{bail, err};
use split::{SIDE_COLUMN, Split};
use tasks::{
    TaskEnv, TaskOutput, TaskPart, is_sharded, rows_expr, run_task, run_task_with, task_part,
};

/// A loaded benchmark manifest.
pub type Benchmark = Loaded<BenchmarkManifest>;

/// Loads a benchmark from its folder or manifest path.
pub fn open_benchmark(path: &Path) -> Result<Benchmark> {
    let file = if path.is_dir() {
        path.join("benchmark.toml")
    } else {
        path.to_path_buf()
    };
    cpbench_core::manifest::load_benchmark(&file)
        .with_context(|| format!("loading benchmark {}", path.display()))
}

/// Writes a benchmark's synthetic data (`[data] simulate`, the arguments of
/// `cpbench simulate`) into a folder; the binary provides it, in process.
pub trait Simulator {
    /// Runs the generator named by `args` with its output folder `out`; the error says why not.
    fn simulate(&self, args: &[String], out: &Path) -> std::result::Result<(), String>;
}

/// Where a run's files go, and whether cached results may be reused.
#[derive(Clone)]
pub struct RunOptions<'a> {
    /// Output folder; results go to `runs/<benchmark>/<plugin>.{json,figures.json,html}`.
    pub out_dir: PathBuf,
    /// Recompute even when a result with the same inputs exists.
    pub force: bool,
    /// How native plugins are started.
    pub env: RunEnv,
    /// The harness build results record.
    pub harness: HarnessInfo,
    /// Writes synthetic benchmark data on first use; `None`: missing data is an error.
    pub simulator: Option<&'a dyn Simulator>,
    /// Fetches remote data files into the data cache (or, offline, finds them there).
    pub fetcher: Fetcher,
    /// Shows the progress of fetches.
    pub progress: &'a dyn Progress,
}

/// The files of one run: three outputs and the digests that make them a reusable cache entry.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// The result JSON.
    pub result: PathBuf,
    /// The plot data JSON.
    pub figures: PathBuf,
    /// The HTML report.
    pub report: PathBuf,
    /// SHA-256 of the three, in `sha256sum` format (`sha256sum -c` checks them); written, in
    /// one commit with them, only for a result that may be reused. A run is served from the
    /// cache only when all three match it, so an edited score, a truncated report or a mixed
    /// set of files is recomputed.
    pub digests: PathBuf,
}

impl RunFiles {
    /// Paths of a (benchmark, plugin) run under `out_dir`.
    pub fn new(out_dir: &Path, bench: &BenchmarkManifest, plugin: &Plugin) -> RunFiles {
        let m = &plugin.manifest;
        let dir = out_dir
            .join("runs")
            .join(format!("{}@v{}", bench.id, bench.version));
        let stem = format!("{}@{}", m.id, m.version);
        RunFiles {
            result: dir.join(format!("{stem}.json")),
            figures: dir.join(format!("{stem}.figures.json")),
            report: dir.join(format!("{stem}.html")),
            digests: dir.join(format!("{stem}.sha256")),
        }
    }

    /// Relative path of `file` from `out_dir`, with `/` separators (for links).
    pub fn relative(out_dir: &Path, file: &Path) -> String {
        file.strip_prefix(out_dir)
            .unwrap_or(file)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// What `run_pair` did.
pub struct PairOutcome {
    /// The result (read back from the cache, or fresh).
    pub result: RunResult,
    /// Where both were written.
    pub files: RunFiles,
    /// True when nothing was recomputed.
    pub cached: bool,
}

/// Everything that identifies a run's inputs; equal identities give equal scores.
struct Identity {
    benchmark: BenchmarkRef,
    plugin: PluginRef,
    dataset_files: Vec<DatasetFile>,
    harness: HarnessInfo,
    /// Why the plugin's artifacts could not be verified (the run then fails).
    artifact_error: Option<String>,
}

fn identify(
    bench: &Benchmark,
    plugin: &Plugin,
    env: &RunEnv,
    harness: &HarnessInfo,
    cache: &DataCache,
    strict: bool,
) -> Result<Identity> {
    let m = &bench.manifest;
    let manifest_sha256 =
        sha256_file(&bench.path).with_context(|| format!("reading {}", bench.path.display()))?;
    let mut dataset_files = Vec::new();
    for file in bench.data_files(cache) {
        // A remote file was verified when fetched (and its hash recorded) a moment ago: its
        // provenance is the URL and that hash, without hashing gigabytes twice.
        if let Some(remote) = &file.remote {
            let sha = match cpbench_remote::recorded_sha256(&file.path) {
                Some(sha) => sha,
                // Recording a failed run (its process died, perhaps while fetching): the file
                // is named by its pinned digest if it has one, else left out of the record.
                None if !strict => match &file.sha256 {
                    Some(pinned) => pinned.clone(),
                    None => continue,
                },
                None => bail!(
                    "{}: {} = {} is not in the data cache ({}); run `cpbench fetch {}`",
                    bench.path.display(),
                    file.key,
                    remote.url,
                    file.path.display(),
                    bench.dir.display()
                ),
            };
            dataset_files.push(DatasetFile {
                path: remote.url.clone(),
                sha256: sha,
            });
            continue;
        }
        let sha = sha256_file(&file.path).with_context(|| {
            format!(
                "{}: {} {}",
                bench.path.display(),
                file.key,
                file.path.display()
            )
        })?;
        if let Some(pinned) = &file.sha256
            && pinned != &sha
        {
            bail!(
                "{}: {} = {} has SHA-256 {sha}, but the manifest pins {pinned}; the data changed \
                 since the benchmark was written (restore it, or bump the benchmark's version and \
                 update the hash)",
                bench.path.display(),
                file.key,
                file.path.display()
            );
        }
        let shown = file
            .path
            .strip_prefix(&bench.dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| file.path.clone());
        dataset_files.push(DatasetFile {
            path: shown.display().to_string(),
            sha256: sha,
        });
    }
    let pm = &plugin.manifest;
    let native_lib = match (&pm.kind, &pm.native) {
        (PluginKind::Native, Some(spec)) => Some(resolve_native_library(
            &spec.library,
            &plugin.dir,
            &env.library_dirs,
        )),
        _ => None,
    };
    let (digest, mut artifact_error) = match native_lib {
        Some(Err(e)) => (None, Some(e.to_string())),
        Some(Ok(lib)) => match verify_artifacts(plugin, Some(&lib)) {
            Ok(set) => (Some(set.digest), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => match verify_artifacts(plugin, None) {
            Ok(set) => (Some(set.digest), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    // An unpinned requirement would make the environment, and the scores, depend on the day.
    if artifact_error.is_none()
        && let Err(e) = cpbench_host::command::check_requirements(plugin)
    {
        artifact_error = Some(format!("plugin '{}': {e}", pm.id));
    }
    Ok(Identity {
        benchmark: BenchmarkRef {
            id: m.id.clone(),
            version: m.version,
            manifest_sha256,
        },
        plugin: PluginRef {
            id: pm.id.clone(),
            version: pm.version.clone(),
            role: pm.role,
            kind: pm.kind,
            artifact_sha256: digest,
        },
        dataset_files,
        harness: harness.clone(),
        artifact_error,
    })
}

/// Whether a stored result was computed from exactly these inputs by this harness.
fn same_inputs(old: &RunResult, id: &Identity) -> bool {
    id.artifact_error.is_none()
        && old.benchmark == id.benchmark
        && old.plugin == id.plugin
        && old.harness == id.harness
        && old.provenance.dataset_files == id.dataset_files
}

/// Writes a benchmark's synthetic data (`[data] simulate`) if any of its files is missing; the
/// pinned hashes then check that the bytes are the expected ones.
pub fn ensure_simulated(bench: &Benchmark, simulator: Option<&dyn Simulator>) -> Result<()> {
    let data = &bench.manifest.data;
    let Some(args) = &data.simulate else {
        return Ok(());
    };
    // Validation refuses a remote table with `simulate`: generated data is always local.
    let Some(profiles) = data.profiles.local().map(|p| bench.resolve(p)) else {
        return Ok(());
    };
    let images = data.images.as_ref().map(|i| bench.resolve(i));
    if profiles.exists() && images.as_ref().is_none_or(|i| i.exists()) {
        return Ok(());
    }
    let out = profiles
        .parent()
        .ok_or_else(|| err!("{}: data.profiles has no folder", bench.path.display()))?;
    let Some(simulator) = simulator else {
        bail!(
            "{}: data.simulate: {} is missing; write it with `cpbench simulate {} --out {}`",
            bench.path.display(),
            profiles.display(),
            args.join(" "),
            out.display()
        );
    };
    simulator.simulate(args, out).map_err(|why| {
        err!(
            "{}: data.simulate: `cpbench simulate {} --out {}` failed ({why})",
            bench.path.display(),
            args.join(" "),
            out.display()
        )
    })
}

/// Fetches the benchmark's remote data files into the cache (each verified against its pins;
/// a cached one verified again), or finds them there offline.
pub fn ensure_fetched(bench: &Benchmark, fetcher: &Fetcher, progress: &dyn Progress) -> Result<()> {
    for file in bench.data_files(fetcher.cache()) {
        let Some(remote) = &file.remote else {
            continue;
        };
        let req = Request {
            remote,
            sha256: file.sha256.as_deref(),
            key: &file.key,
        };
        fetcher
            .fetch(req, progress)
            .with_context(|| format!("{}", bench.path.display()))?;
    }
    Ok(())
}

/// Runs `plugin` on `bench` (or reuses a cached result) and writes the run's files.
pub fn run_pair(bench: &Benchmark, plugin: &Plugin, opts: &RunOptions<'_>) -> Result<PairOutcome> {
    let start = Start::now();
    let id = prepare_identity(bench, plugin, opts)?;
    run_pair_with(bench, plugin, opts, start, id, None)
}

/// When a run began: its result's `started_at` and the clock of its `wall_s`.
struct Start {
    at: String,
    clock: Instant,
}

impl Start {
    fn now() -> Start {
        Start {
            at: rfc3339(SystemTime::now()),
            clock: Instant::now(),
        }
    }
}

/// The identity of a run's inputs, checked usable: data simulated or fetched, artifacts
/// verified (bad input is an error of the command, not a failed run).
fn prepare_identity(bench: &Benchmark, plugin: &Plugin, opts: &RunOptions<'_>) -> Result<Identity> {
    ensure_simulated(bench, opts.simulator)?;
    ensure_fetched(bench, &opts.fetcher, opts.progress)?;
    let id = identify(
        bench,
        plugin,
        &opts.env,
        &opts.harness,
        opts.fetcher.cache(),
        true,
    )?;
    // Bad input (an artifact that does not match its pinned digest, a column the manifest
    // names missing from the data) is an error of the command, not a failed run of the plugin.
    if let Some(e) = &id.artifact_error {
        bail!("{e}");
    }
    Ok(id)
}

/// What `run_pair_part` did.
pub struct PartOutcome {
    /// The part as written.
    pub file: cpbench_results::shard::ShardFile,
    /// True when the file already held this part of these inputs.
    pub cached: bool,
}

/// Part `shard` of a sharded run ([`shard`]): the plugin and preprocessing, then this part's
/// share of the sharded tasks, written to `out` as a shard file (atomically). A part whose
/// file already holds these inputs' key is not recomputed (unless `opts.force`); a failed
/// one always is.
pub fn run_pair_part(
    bench: &Benchmark,
    plugin: &Plugin,
    opts: &RunOptions<'_>,
    part: Shard,
    out: &Path,
) -> Result<PartOutcome> {
    let id = prepare_identity(bench, plugin, opts)?;
    let identity = shard::run_identity(&id.benchmark, &id.plugin, &id.dataset_files);
    let key = cpbench_results::shard::ShardFile::key_of(
        shard::RUN_KIND,
        part.count,
        &identity.0,
        &identity.1,
        &opts.harness,
    );
    if !opts.force
        && let Ok(old) = shard::read_shard_file(out)
        && old.check().is_ok()
        && old.key == key
        && old.index == part.index
        && old.failed.is_none()
    {
        return Ok(PartOutcome {
            file: old,
            cached: true,
        });
    }
    let cache = opts.fetcher.cache();
    let data = load_data(bench, plugin, cache)?;
    check_columns(bench, &data.profiles, Path::new(&data.file))?;
    let split = Split::load(bench)?;
    let (tasks, failed) = if not_applicable(bench, plugin, &data).is_some() {
        (Vec::new(), None)
    } else {
        match execute(
            bench,
            plugin,
            data,
            &opts.env,
            split.as_ref(),
            cache,
            Mode::Part(part),
        ) {
            Ok(run) => (
                run.parts
                    .into_iter()
                    .map(|(task, p)| shard::task_shard(&task, p))
                    .collect(),
                None,
            ),
            Err(e) => (Vec::new(), Some(e.chain())),
        }
    };
    let file = shard::shard_file(part, opts.harness.clone(), identity, tasks, failed);
    let mut text = serde_json::to_string(&file)?;
    text.push('\n');
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    cpbench_core::io::write_bytes_atomic(out, text.as_bytes())?;
    Ok(PartOutcome {
        file,
        cached: false,
    })
}

/// The run's files from the shard files of all its parts (`cpbench merge`): the same bytes as
/// [`run_pair`] writes, timing aside. The parts must be complete (`check_complete`) and of these
/// inputs, computed by this harness build; a cached result of the same inputs is reused.
pub fn run_pair_merged(
    bench: &Benchmark,
    plugin: &Plugin,
    opts: &RunOptions<'_>,
    files: &[(String, cpbench_results::shard::ShardFile)],
) -> Result<PairOutcome> {
    let start = Start::now();
    cpbench_results::shard::check_complete(files).map_err(|e| err!("{e}"))?;
    let (name, first) = &files[0];
    if first.kind != shard::RUN_KIND {
        bail!(
            "{name}: a part of `{}`, not of a `cpbench run` (merge it with --out-ap and --out-map)",
            first.kind
        );
    }
    let id = prepare_identity(bench, plugin, opts)?;
    let (args, input_sha256) = shard::run_identity(&id.benchmark, &id.plugin, &id.dataset_files);
    cpbench_results::shard::check_harness(name, first, &opts.harness).map_err(|e| err!("{e}"))?;
    if first.args != args || first.input_sha256 != input_sha256 {
        bail!(
            "{name}: a part of `{}`, computed from other inputs than {} × {} here (the \
             benchmark, its data or the plugin's manifest or artifacts differ)",
            first.args.join(" "),
            bench.path.display(),
            plugin.dir.display()
        );
    }
    let parts = shard::merge_parts(files)?;
    // The identity just checked is the run's: its data is not hashed a second time.
    run_pair_with(bench, plugin, opts, start, id, Some(parts))
}

fn run_pair_with(
    bench: &Benchmark,
    plugin: &Plugin,
    opts: &RunOptions<'_>,
    start: Start,
    id: Identity,
    parts: Option<shard::MergeParts>,
) -> Result<PairOutcome> {
    let cache = opts.fetcher.cache();
    let files = RunFiles::new(&opts.out_dir, &bench.manifest, plugin);
    // What a killed earlier run left in this folder goes first, even if nothing is rewritten.
    if let Some(dir) = files.result.parent() {
        cpbench_core::io::clean_up(dir);
    }
    if !opts.force
        && let Some(result) = read_cached(&files)
        && same_inputs(&result, &id)
    {
        return Ok(PairOutcome {
            result,
            files,
            cached: true,
        });
    }
    let data = load_data(bench, plugin, cache)?;
    check_columns(bench, &data.profiles, Path::new(&data.file))?;
    let split = Split::load(bench)?;
    let split_record = match &split {
        Some(s) => Some(s.record(&s.sides(&data.profiles)?)),
        None => None,
    };
    let mut execution_provider = None;
    let mut seeds = BTreeMap::new();
    let mut reusable = true;
    let (status, reasons, scores, figures) = if let Some(why) = not_applicable(bench, plugin, &data)
    {
        (
            Status::NotApplicable,
            vec![why],
            Vec::new(),
            RunFigures::default(),
        )
    } else {
        let mode = match parts {
            Some(p) => Mode::Merge(p),
            None => Mode::Whole,
        };
        match execute(bench, plugin, data, &opts.env, split.as_ref(), cache, mode) {
            Ok(run) => {
                execution_provider = run.execution_provider;
                seeds = run.seeds;
                (Status::Succeeded, run.notes, run.scores, run.figures)
            }
            // A part failed where this run did not: the run cannot be finished from the parts.
            Err(e) if e.is_parts_incomplete() => return Err(e),
            Err(e) => {
                let mut reasons = vec![e.chain()];
                if e.is_transient() {
                    reusable = false;
                    reasons.push(TRANSIENT_NOTE.to_string());
                }
                (Status::Failed, reasons, Vec::new(), RunFigures::default())
            }
        }
    };
    let result = RunResult {
        schema_version: SCHEMA_VERSION,
        benchmark: id.benchmark,
        plugin: id.plugin,
        status,
        reasons,
        harness: id.harness,
        provenance: Provenance {
            dataset_files: id.dataset_files,
            execution_provider,
            seeds,
            split: split_record,
        },
        timing: Timing {
            wall_s: start.clock.elapsed().as_secs_f64(),
            peak_rss_mib: peak_rss_mib(),
            started_at: start.at,
        },
        scores,
    };
    write_run(&files, &result, &figures, bench, plugin, reusable)?;
    Ok(PairOutcome {
        result,
        files,
        cached: false,
    })
}

/// Added to the reasons of a failure that is not cached.
pub const TRANSIENT_NOTE: &str = "this failure came from outside the plugin (a timeout, memory \
     running out or a signal), so it is not cached: the next run retries it";

/// What a failed run's record is identified with: the run's environment (a native library
/// found only in its `library_dirs` is hashed into the record like in the run itself), the
/// harness build and the data cache its remote files are in.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    /// The run's plugin environment.
    pub env: &'a RunEnv,
    /// The harness build.
    pub harness: &'a HarnessInfo,
    /// The data cache.
    pub cache: &'a DataCache,
}

/// Records a run that could not produce its own result (its process crashed, or its input is
/// bad) with `reasons`; only a `reusable` one is cached (a crash of the plugin's own making
/// repeats, a kill or a bad input fixed since may not).
pub fn write_failed(
    bench: &Benchmark,
    plugin: &Plugin,
    files: &RunFiles,
    reasons: Vec<String>,
    reusable: bool,
    ctx: RunContext<'_>,
) -> Result<RunResult> {
    let id = identify(bench, plugin, ctx.env, ctx.harness, ctx.cache, false)?;
    let result = RunResult {
        schema_version: SCHEMA_VERSION,
        benchmark: id.benchmark,
        plugin: id.plugin,
        status: Status::Failed,
        reasons,
        harness: id.harness,
        provenance: Provenance {
            dataset_files: id.dataset_files,
            execution_provider: None,
            seeds: BTreeMap::new(),
            // Written without reading the data (the run's own process died): nothing scored.
            split: None,
        },
        timing: Timing {
            wall_s: 0.0,
            peak_rss_mib: None,
            started_at: rfc3339(SystemTime::now()),
        },
        scores: Vec::new(),
    };
    write_run(
        files,
        &result,
        &RunFigures::default(),
        bench,
        plugin,
        reusable,
    )?;
    Ok(result)
}

/// Writes result, figures and report as one commit (all new or all old, even across a kill),
/// with their digests when the result may be `reusable` from the cache. A result that may not
/// be reused loses its old digests first, so it can never be served.
pub fn write_run(
    files: &RunFiles,
    result: &RunResult,
    figures: &RunFigures,
    bench: &Benchmark,
    plugin: &Plugin,
    reusable: bool,
) -> Result<()> {
    let mut text = serde_json::to_string_pretty(figures)?;
    text.push('\n');
    if let Some(dir) = files.figures.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let html = render_run_html(result, figures, bench, plugin)?;
    let json = result.to_json_bytes(&files.result)?;
    let outputs: [(&Path, &[u8]); 3] = [
        (&files.figures, text.as_bytes()),
        (&files.report, html.as_bytes()),
        (&files.result, &json),
    ];
    match std::fs::remove_file(&files.digests) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::from(e).context(format!("removing {}", files.digests.display())));
        }
        _ => {}
    }
    let mut commit = Commit::new();
    for (path, bytes) in outputs {
        commit.stage(path, |f| {
            f.write_all(bytes)
                .map_err(|e| cpbench_core::Error::io(path, e))
        })?;
    }
    if reusable {
        let digests: String = outputs
            .iter()
            .map(|(path, bytes)| format!("{}  {}\n", sha256_bytes(bytes), file_name(path)))
            .collect();
        commit.stage(&files.digests, |f| {
            f.write_all(digests.as_bytes())
                .map_err(|e| cpbench_core::Error::io(&files.digests, e))
        })?;
    }
    commit.commit()?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The run's HTML report.
fn render_run_html(
    result: &RunResult,
    figures: &RunFigures,
    bench: &Benchmark,
    plugin: &Plugin,
) -> Result<String> {
    let m = &bench.manifest;
    let task_descriptions = m
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.description.clone().unwrap_or_default()))
        .collect();
    let page = cpbench_report::html::RunPage {
        result,
        figures,
        benchmark_title: &m.title,
        benchmark_description: m.description.as_deref(),
        plugin_description: &plugin.manifest.description,
        task_descriptions,
        index_href: Some("../../index.html"),
    };
    Ok(cpbench_report::html::render_run_report(&page)?)
}

/// A complete earlier run that may be reused: its digests are present and match all three
/// files byte for byte, and the result and plot data parse.
fn read_cached(files: &RunFiles) -> Option<RunResult> {
    let digests = std::fs::read_to_string(&files.digests).ok()?;
    let mut expected: BTreeMap<&str, &str> = BTreeMap::new();
    for line in digests.lines() {
        let (sha, name) = line.split_once("  ")?;
        expected.insert(name, sha);
    }
    let mut read = |path: &Path| -> Option<Vec<u8>> {
        let sha = expected.remove(file_name(path).as_str())?;
        let bytes = std::fs::read(path).ok()?;
        (sha256_bytes(&bytes) == sha).then_some(bytes)
    };
    let result = read(&files.result)?;
    let figures = read(&files.figures)?;
    read(&files.report)?;
    if !expected.is_empty() {
        return None;
    }
    serde_json::from_slice::<RunFigures>(&figures).ok()?;
    RunResult::from_json_bytes(&files.result, &result).ok()
}

/// Fails, naming the manifest key, unless every metadata column the benchmark names is a column
/// of its profile table `profiles` (read from `file`): a run on such data cannot start.
pub fn check_columns(bench: &Benchmark, profiles: &Profiles, file: &Path) -> Result<()> {
    let names = profiles.meta_names();
    for (key, column) in bench.referenced_columns() {
        if !names.contains(&column) {
            let e = cpbench_core::Error::MissingColumn {
                source_name: file.display().to_string(),
                column: column.clone(),
                available: names.clone(),
            };
            bail!("{}: key `{key}`: {e}", bench.path.display());
        }
    }
    Ok(())
}

/// The benchmark's table, its images, and whether it has features.
pub struct Data {
    profiles: Profiles,
    images: Option<ImageStack>,
    file: String,
}

/// The benchmark's profile table (from the data cache when it is remote) with the
/// `[[data.join]]` tables joined into its metadata, and the file's path. The metadata is read
/// and joined first; `[data] rows` is tested on it, and only the rows that pass have their
/// features decoded.
pub fn read_benchmark_profiles(
    bench: &Benchmark,
    cache: &DataCache,
    nonfinite: cpbench_core::io::NonFinitePolicy,
    features: bool,
) -> Result<(Profiles, PathBuf)> {
    let m = &bench.manifest;
    let path = bench.profiles_path(cache);
    let opts = ReadOptions {
        metadata_prefixes: vec![m.data.metadata_prefix.clone()],
        nonfinite,
        level: Some(m.data.level),
    };
    let table = OpenProfiles::open(&path, &opts)?;
    let read = |table: OpenProfiles, meta, keep: Option<&[usize]>| {
        if features {
            table.read_or_keys(meta, keep)
        } else {
            table.read_keys(meta, keep)
        }
    };
    if m.data.join.is_empty() && m.data.rows.is_empty() {
        return Ok((read(table, None, None)?, path));
    }
    let mut meta = table.metadata()?;
    let shown = path.display().to_string();
    for (i, j) in m.data.join.iter().enumerate() {
        let file = bench.locate(&j.path, j.sha256.as_deref(), cache);
        join::join_metadata(&mut meta, &shown, j, &file)
            .with_context(|| format!("{}: data.join[{i}]", bench.path.display()))?;
    }
    let keep = data_rows(bench, &meta, &path)?;
    Ok((read(table, Some(meta), keep.as_deref())?, path))
}

/// The 0-based rows of the table that pass every `[data] rows` filter (`None` without filters).
fn data_rows(
    bench: &Benchmark,
    meta: &polars::prelude::DataFrame,
    path: &Path,
) -> Result<Option<Vec<usize>>> {
    let rows = &bench.manifest.data.rows;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut mask = vec![true; meta.height()];
    for (i, expr) in rows.iter().enumerate() {
        let f = RowFilter::parse(expr)
            .and_then(|f| f.mask_frame(meta))
            .with_context(|| format!("{}: data.rows[{i}]", bench.path.display()))?;
        for (m, pass) in mask.iter_mut().zip(f) {
            *m &= pass;
        }
    }
    let keep: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    if keep.is_empty() {
        bail!(
            "{}: data.rows: no row of {} ({} rows) passes {}",
            bench.path.display(),
            path.display(),
            mask.len(),
            rows.join(" and ")
        );
    }
    Ok(Some(keep))
}

/// Reads the benchmark's data; the feature columns only when the plugin transforms them (a
/// plugin with its own representation, looked up by key or encoded from image crops, gets
/// the metadata alone, and no feature of the table is decoded) or when rows with non-finite
/// features are dropped (which rows every plugin is scored on must not depend on the plugin).
fn load_data(bench: &Benchmark, plugin: &Plugin, cache: &DataCache) -> Result<Data> {
    let m = &bench.manifest;
    // Dropping rows with non-finite features decides which rows every plugin is scored on.
    let features = m.data.on_nonfinite == cpbench_core::io::NonFinitePolicy::DropRows
        || !(keyed(plugin) || plugin.manifest.input.level == PluginLevel::Image);
    let (profiles, path) = read_benchmark_profiles(bench, cache, m.data.on_nonfinite, features)?;
    let images = match &m.data.images {
        Some(rel) => {
            let p = bench.resolve(rel);
            let a = read_npy(&p)?;
            let [n, c, h, w] = a.shape[..] else {
                bail!(
                    "{}: data.images must be a 4-d array [N, C, H, W], got shape {:?}",
                    p.display(),
                    a.shape
                );
            };
            if n != profiles.n_rows() {
                bail!(
                    "{}: {n} crops for {} rows of {}; data.images needs one crop per row",
                    p.display(),
                    profiles.n_rows(),
                    path.display()
                );
            }
            Some(ImageStack {
                pixels: a.data,
                c,
                h,
                w,
            })
        }
        None => None,
    };
    Ok(Data {
        profiles,
        images,
        file: path.display().to_string(),
    })
}

fn keyed(plugin: &Plugin) -> bool {
    let m = &plugin.manifest;
    m.kind == PluginKind::EmbeddingTable
        || m.onnx.as_ref().map(|o| o.shape) == Some(OnnxShape::Lookup)
}

fn accepts(plugin: &Plugin, level: PluginLevel) -> bool {
    let i = &plugin.manifest.input;
    i.level == level || i.levels.contains(&level)
}

/// Why `plugin` cannot run on `bench`, if it cannot: its input level or kind is not offered.
fn not_applicable(bench: &Benchmark, plugin: &Plugin, data: &Data) -> Option<String> {
    let m = &bench.manifest;
    let pm = &plugin.manifest;
    let level = m.data.level;
    let has_features = data.profiles.n_features() > 0;
    let c = &m.columns;
    match pm.input.level {
        PluginLevel::Image => {
            return data.images.is_none().then(|| {
                "the plugin encodes image crops; this benchmark ships no [data] images".to_string()
            });
        }
        PluginLevel::Set => {
            if level != Level::Cell || !has_features {
                return Some(format!(
                    "the plugin encodes sets of single-cell profiles; this benchmark's data are \
                     {level}-level{}",
                    if has_features {
                        ""
                    } else {
                        " without features"
                    }
                ));
            }
            if c.plate.is_none() || c.well.is_none() {
                return Some(
                    "the plugin encodes the cells of a well; the benchmark names no [columns] \
                     plate and well to group them by"
                        .into(),
                );
            }
            return None;
        }
        _ => {}
    }
    if keyed(plugin) {
        if !accepts(plugin, level.into()) {
            return Some(format!(
                "the plugin looks up {}-level keys; this benchmark's data are {level}-level",
                pm.input.level.name()
            ));
        }
        if c.perturbation.is_none() {
            return Some(
                "the plugin looks up a key per row; the benchmark names no [columns] perturbation"
                    .into(),
            );
        }
        return None;
    }
    // Controls that ignore features (random, positive control) work on any table.
    let needs_features = !(pm.kind == PluginKind::Native
        && pm.role == cpbench_core::manifest::PluginRole::Control
        || pm
            .builtin
            .as_ref()
            .is_some_and(|b| b.control == BuiltinControl::PositiveControl));
    if needs_features && !has_features {
        return Some(
            "the plugin transforms feature profiles; this benchmark's table has no feature \
             columns (only plugins with their own representation apply)"
                .into(),
        );
    }
    // A feature table selects columns and works at any profile level.
    if pm.kind != PluginKind::FeatureTable && !accepts(plugin, level.into()) {
        return Some(format!(
            "the plugin takes {}-level input; this benchmark's data are {level}-level",
            pm.input.level.name()
        ));
    }
    if let Some(spec) = &pm.features
        && let Ok(selector) = spec.selector()
        && selector.indices(data.profiles.feature_names()).is_empty()
    {
        return Some(format!(
            "the plugin's [features] selectors keep none of this benchmark's {} features",
            data.profiles.n_features()
        ));
    }
    if let Some(features) = pm.onnx.as_ref().and_then(|o| o.features.as_ref()) {
        let wanted = std::fs::read_to_string(plugin.resolve(features)).ok()?;
        let have: std::collections::HashSet<&str> = data
            .profiles
            .feature_names()
            .iter()
            .map(String::as_str)
            .collect();
        let missing: Vec<&str> = wanted
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !have.contains(l))
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "the model reads {} named input features; this benchmark lacks {} of them (e.g. {})",
                wanted.lines().filter(|l| !l.trim().is_empty()).count(),
                missing.len(),
                missing[0]
            ));
        }
    }
    None
}

/// How much of the tasks a process computes.
enum Mode {
    /// Every task, whole.
    Whole,
    /// Only this part's share of the sharded tasks (no other task, no views).
    Part(Shard),
    /// Every task, the sharded ones from the parts.
    Merge(shard::MergeParts),
}

/// A successful run's content.
struct Executed {
    /// Each sharded task's share (`Mode::Part` only), in task order.
    parts: Vec<(String, TaskPart)>,
    scores: Vec<Score>,
    figures: RunFigures,
    notes: Vec<String>,
    execution_provider: Option<String>,
    seeds: BTreeMap<String, u64>,
}

fn mask_of(profiles: &Profiles, expr: &str) -> Result<Vec<bool>> {
    RowFilter::parse(expr)?.mask(profiles).map_err(Into::into)
}

fn execute(
    bench: &Benchmark,
    plugin: &Plugin,
    data: Data,
    env: &RunEnv,
    split: Option<&Split<'_>>,
    cache: &DataCache,
    mut mode: Mode,
) -> Result<Executed> {
    let m = &bench.manifest;
    let c = &m.columns;
    let pm = &plugin.manifest;
    let input = &data.profiles;
    let mut notes = Vec::new();
    let controls = match &c.control {
        Some(_) => Some(mask_of(input, &rows_expr("controls", c)?)?),
        None => None,
    };
    // With a split, plugins fit on the train and shared rows and see each row's side (not the
    // split column, which may be the perturbation) as their `split` context.
    let (train, with_side): (Option<Vec<bool>>, Option<Profiles>) = match split {
        Some(s) => {
            let fitted = s
                .sides(input)?
                .into_iter()
                .map(|side| side.is_some_and(|x| x.fitted()))
                .collect();
            (Some(fitted), Some(s.with_side_column(input)?))
        }
        None => (None, None),
    };
    let plugin_input = with_side.as_ref().unwrap_or(input);
    let fit_rows = match (&controls, &train) {
        (Some(ctl), Some(tr)) => Some(ctl.iter().zip(tr).map(|(a, b)| *a && *b).collect()),
        (Some(ctl), None) => Some(ctl.clone()),
        (None, Some(tr)) => Some(tr.clone()),
        (None, None) => None,
    };
    let mut label_columns = Vec::new();
    if pm.sees_labels {
        label_columns.extend(c.perturbation.clone());
        label_columns.extend(c.labels.iter().cloned());
    }
    let set_by = if pm.input.level == PluginLevel::Set {
        vec![
            c.plate.clone().unwrap_or_default(),
            c.well.clone().unwrap_or_default(),
        ]
    } else {
        Vec::new()
    };
    let spec = ApplySpec {
        roles: ContextRoles {
            plate: c.plate.clone(),
            well: c.well.clone(),
            batch: c.batch.clone(),
            split: split.map(|_| SIDE_COLUMN.to_string()),
        },
        controls,
        fit_rows,
        key_column: if keyed(plugin) {
            c.perturbation.clone()
        } else {
            None
        },
        label_columns,
        set_by,
        images: if pm.input.level == PluginLevel::Image {
            data.images.clone()
        } else {
            None
        },
    };
    let applied = apply_to_profiles(plugin, plugin_input, &spec, env)
        .with_context(|| format!("plugin `{}`", pm.id))?;
    // From here on only the data's metadata is needed (the coverage view): its feature matrix
    // and images are freed before scoring, so a run holds one representation at a time.
    let input = &input.keys_only();
    let file = data.file.clone();
    drop((spec, with_side, data));
    notes.extend(applied.output.notes.iter().cloned());
    let mut profiles = split::drop_side_column(applied.profiles)?;
    // A plugin that maps each row to a vector keeps the data's level, whatever level its
    // manifest names (a feature table on single cells still gives single cells).
    if !matches!(pm.input.level, PluginLevel::Set | PluginLevel::Image)
        && profiles.level() != m.data.level
    {
        profiles = relevel(profiles, m.data.level)?;
    }
    if profiles.n_rows() == 0 {
        bail!("the plugin produced no rows");
    }

    let ctx = StepContext {
        columns: c,
        base_dir: &bench.dir,
        file: &file,
        reporter: &Silent,
    };
    // The profiles at each level they pass through: tasks may score an earlier level.
    let mut states: BTreeMap<usize, Profiles> = BTreeMap::new();
    states.insert(level_index(profiles.level()), profiles.clone());
    let sphere_at = m.preprocess.iter().position(|s| s.op == PrepOp::Sphere);
    let mut before_sphere = None;
    for (i, step) in m.preprocess.iter().enumerate() {
        if Some(i) == sphere_at {
            before_sphere = Some(profiles.clone());
        }
        if let Some(target) = skipped_aggregation(step, profiles.level()) {
            notes.push(format!(
                "preprocess[{i}] ({}) skipped: the profiles are already {}-level (target {target})",
                step.op,
                profiles.level()
            ));
            continue;
        }
        profiles = run_steps(profiles, std::slice::from_ref(step), &ctx)
            .with_context(|| format!("preprocess[{i}] (op `{}`)", step.op))?;
        states.insert(level_index(profiles.level()), profiles.clone());
    }
    let final_level = profiles.level();
    for p in states.values() {
        check_finite(p)?;
    }

    // Tasks score the plugin's preprocessed output, not the data file: say so in messages.
    let scored_name = format!(
        "{}: profiles of plugin `{}` after preprocessing",
        m.id, pm.id
    );
    let annotations: BTreeMap<String, PathBuf> = m
        .data
        .annotations
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                bench.locate(&a.path, a.sha256.as_deref(), cache),
            )
        })
        .collect();
    let task_env = TaskEnv {
        manifest: m,
        annotations: &annotations,
        file: &scored_name,
    };
    let mut scores = Vec::new();
    let mut figures = RunFigures::default();
    let mut seeds = BTreeMap::new();
    let mut parts = Vec::new();
    for task in &m.tasks {
        if matches!(mode, Mode::Part(_)) && !is_sharded(task) {
            continue;
        }
        let p = scoring_profiles(&states, task.level.unwrap_or(final_level), split)
            .and_then(|p| task_rows(p, task, c))
            .with_context(|| format!("task `{}`", task.id))?;
        let out: TaskOutput = match &mut mode {
            Mode::Whole => run_task(task, p, &task_env)?,
            Mode::Part(shard) => {
                parts.push((task.id.clone(), task_part(task, p, &task_env, *shard)?));
                continue;
            }
            Mode::Merge(merge) => {
                let shares = merge.tasks.remove(&task.id).unwrap_or_default();
                if merge.failed.is_some() && shares.is_empty() {
                    // A part failed, so no part holds a share: the task is scored whole here.
                    // A failure is the run's failure, as in an unsharded run; a run that goes
                    // through is refused after the loop.
                    run_task(task, p, &task_env)?
                } else if is_sharded(task) && shares.len() != merge.count {
                    return Err(Error::PartsIncomplete(format!(
                        "task `{}`: {} of the {} parts hold a share of it (they scored other \
                         profiles); rerun the parts",
                        task.id,
                        shares.len(),
                        merge.count
                    )));
                } else {
                    run_task_with(task, p, &task_env, shares)?
                }
            }
        };
        scores.extend(out.scores);
        seeds.extend(out.seeds);
        figures.map_groups.extend(out.map_groups);
        figures.k_curves.extend(out.k_curves);
        figures.leakage.extend(out.leakage);
    }

    if let Mode::Merge(shard::MergeParts {
        failed: Some(why), ..
    }) = &mode
    {
        return Err(Error::PartsIncomplete(format!(
            "{why}; here the plugin and every task succeed, so that failure came from outside \
             the run (a lost node, a timeout): rerun the parts"
        )));
    }
    if matches!(mode, Mode::Part(_)) {
        return Ok(Executed {
            parts,
            scores,
            figures,
            notes,
            execution_provider: applied.output.execution_provider,
            seeds,
        });
    }
    if let (Some(sweep), Some(at), Some(base)) = (&m.lambda_sweep, sphere_at, before_sphere) {
        figures.lambda_sweep = Some(lambda_sweep(
            bench, sweep, at, base, &ctx, &task_env, split,
        )?);
    }

    let final_profiles = scoring_profiles(&states, final_level, split)?;
    views::add_views(&mut figures, &final_profiles, input, c);
    Ok(Executed {
        parts,
        scores,
        figures,
        notes,
        execution_provider: applied.output.execution_provider,
        seeds,
    })
}

/// Refuses profiles with NaN or infinite values, naming the feature and how many rows.
fn check_finite(p: &Profiles) -> Result<()> {
    let d = p.n_features();
    if d == 0 {
        return Ok(());
    }
    let bad: Vec<usize> = (0..d)
        .filter(|&j| p.features().chunks(d).any(|row| !row[j].is_finite()))
        .collect();
    if let Some(&j) = bad.first() {
        let rows = p
            .features()
            .chunks(d)
            .filter(|row| !row[j].is_finite())
            .count();
        bail!(
            "after preprocessing, {} of {d} {}-level features hold NaN or infinite values \
             (first: {}, in {rows} of {} rows): the benchmark's [[preprocess]] steps do not \
             suit this plugin's output (e.g. a feature constant within a normalization group)",
            bad.len(),
            p.level(),
            p.feature_names()[j],
            p.n_rows()
        );
    }
    Ok(())
}

/// The rows a task's `rows` filter keeps.
fn task_rows(
    p: Profiles,
    task: &cpbench_core::manifest::Task,
    c: &cpbench_core::manifest::Columns,
) -> Result<Profiles> {
    let Some(expr) = &task.rows else {
        return Ok(p);
    };
    let mask = mask_of(&p, &rows_expr(expr, c)?).with_context(|| format!("rows = '{expr}'"))?;
    if !mask.contains(&true) {
        bail!("rows = '{expr}' keeps no row");
    }
    Ok(p.filter_rows(&mask)?)
}

fn relevel(mut p: Profiles, level: Level) -> Result<Profiles> {
    p.set_level(level);
    Ok(p)
}

fn level_index(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

/// The target level of an aggregation that would not make the profiles coarser.
fn skipped_aggregation(step: &PrepStep, current: Level) -> Option<Level> {
    if !matches!(step.op, PrepOp::Aggregate | PrepOp::Consensus) {
        return None;
    }
    let target = step.level.unwrap_or_else(|| {
        Level::ALL
            .get(level_index(current) + 1)
            .copied()
            .unwrap_or(current)
    });
    (level_index(target) <= level_index(current)).then_some(target)
}

/// The profiles a task at `level` scores: the last state at that level, with a split only its
/// test and shared rows.
fn scoring_profiles(
    states: &BTreeMap<usize, Profiles>,
    level: Level,
    split: Option<&Split<'_>>,
) -> Result<Profiles> {
    let p = states.get(&level_index(level)).ok_or_else(|| {
        err!(
            "no {level}-level profiles: the preprocessing goes through {}",
            states
                .keys()
                .map(|i| Level::ALL[*i].to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    match split {
        Some(s) => {
            let mask = s
                .scored_rows(p)
                .context("selecting the test split's rows")?;
            if !mask.contains(&true) {
                bail!("no {level}-level row is in the test split");
            }
            Ok(p.filter_rows(&mask)?)
        }
        None => Ok(p.clone()),
    }
}

fn lambda_sweep(
    bench: &Benchmark,
    sweep: &cpbench_core::manifest::LambdaSweepSpec,
    at: usize,
    base: Profiles,
    ctx: &StepContext<'_>,
    task_env: &TaskEnv<'_>,
    split: Option<&Split<'_>>,
) -> Result<LambdaSweep> {
    let m = &bench.manifest;
    let task = m
        .tasks
        .iter()
        .find(|t| t.id == sweep.task)
        .ok_or_else(|| err!("lambda_sweep: no task `{}`", sweep.task))?;
    let mut points = Vec::new();
    let mut metric = sweep.metric.clone();
    for &lambda in &sweep.values {
        let mut steps: Vec<PrepStep> = m.preprocess[at..].to_vec();
        steps[0].lambda = Some(lambda);
        let mut p = base.clone();
        let mut states = BTreeMap::new();
        states.insert(level_index(p.level()), p.clone());
        for step in &steps {
            if skipped_aggregation(step, p.level()).is_some() {
                continue;
            }
            p = run_steps(p, std::slice::from_ref(step), ctx)
                .with_context(|| format!("lambda_sweep λ = {lambda}"))?;
            states.insert(level_index(p.level()), p.clone());
        }
        let level = task.level.unwrap_or(p.level());
        let scored = task_rows(scoring_profiles(&states, level, split)?, task, &m.columns)?;
        let out = run_task(task, scored, task_env)
            .with_context(|| format!("lambda_sweep λ = {lambda}"))?;
        let pick = out.scores.iter().find(|s| match &metric {
            Some(name) => &s.metric == name,
            None => s.primary,
        });
        if let Some(s) = pick {
            metric.get_or_insert_with(|| s.metric.clone());
            points.push(LambdaPoint {
                lambda,
                value: s.value,
            });
        }
    }
    Ok(LambdaSweep {
        task: task.id.clone(),
        metric: metric.unwrap_or_default(),
        lambda_used: m.preprocess[at].lambda,
        points,
    })
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// `t` as RFC 3339 UTC with second precision.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_269_845), "2026-11-21T14:04:05Z");
    }

    #[test]
    fn aggregation_is_skipped_only_when_it_would_not_coarsen() {
        let step = |level: Option<Level>| -> PrepStep {
            serde_json::from_value(serde_json::json!({"op": "aggregate", "level": level})).unwrap()
        };
        assert_eq!(
            skipped_aggregation(&step(Some(Level::Well)), Level::Cell),
            None
        );
        assert_eq!(
            skipped_aggregation(&step(Some(Level::Well)), Level::Well),
            Some(Level::Well)
        );
        assert_eq!(skipped_aggregation(&step(None), Level::Cell), None);
        assert_eq!(
            skipped_aggregation(&step(Some(Level::Well)), Level::Treatment),
            Some(Level::Well)
        );
    }
}
