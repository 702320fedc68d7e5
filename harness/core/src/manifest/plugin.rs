//! `plugin.toml`: a representation plugin (DESIGN §3).

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::source::Doc;
use super::{DataRef, Loaded, Manifest, ManifestError};
use crate::profiles::Level;
use crate::select::DEFAULT_CHANNELS;

/// A representation plugin: what it is, what it consumes and produces, and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// Plugin id: lowercase letters, digits and '-', e.g. `cnn1-efficientnet`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Plugin version, semver style (`MAJOR.MINOR.PATCH`, optional `-pre` and `+build`).
    #[schemars(pattern(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"))]
    pub version: String,
    /// How the plugin is run; the table of the same name configures it.
    pub kind: PluginKind,
    /// Whether the plugin is a method under test or a control/reference for scaling scores.
    pub role: PluginRole,
    /// One-line description shown in reports.
    pub description: String,
    /// License of the plugin and its weights (SPDX expression where possible).
    pub license: String,
    /// How to cite the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// Datasets or benchmark ids the model saw in training; flags contaminated scores. An entry
    /// `<benchmark id>:train` says the model saw only that benchmark's train split (its
    /// `[columns] split`): it is then scored and ranked on the test split there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_datasets: Vec<String>,
    /// Whether the plugin receives label columns; only `role = "control"` (positive controls) may.
    #[serde(default)]
    pub sees_labels: bool,
    /// What the plugin consumes.
    pub input: PluginInput,
    /// What the plugin produces.
    pub output: PluginOutput,
    /// Settings of a `feature-table` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureSpec>,
    /// Settings of an `embedding-table` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingSpec>,
    /// Settings of an `onnx` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnx: Option<OnnxSpec>,
    /// Settings of a `native` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeSpec>,
    /// Settings of a `command` plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSpec>,
    /// Settings of a `builtin` control plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinSpec>,
}

/// How a plugin is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// The benchmark's own features, optionally filtered (`[features]`).
    FeatureTable,
    /// A precomputed table of embeddings keyed by perturbation or gene (`[embedding]`).
    EmbeddingTable,
    /// An ONNX model run with ONNX Runtime (`[onnx]`).
    Onnx,
    /// A cdylib built against cpbench-plugin-api, run in a worker process (`[native]`).
    Native,
    /// Any program, in any language, run in its own process; tables are exchanged as files
    /// (`[command]`).
    Command,
    /// A control the harness itself implements (`[builtin]`): shuffled profiles, positive control.
    Builtin,
}

impl PluginKind {
    /// The name used in manifests, which is also the name of its settings table for
    /// `onnx` and `native`.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::FeatureTable => "feature-table",
            PluginKind::EmbeddingTable => "embedding-table",
            PluginKind::Onnx => "onnx",
            PluginKind::Native => "native",
            PluginKind::Command => "command",
            PluginKind::Builtin => "builtin",
        }
    }

    /// The settings table this kind requires.
    pub fn table(self) -> &'static str {
        match self {
            PluginKind::FeatureTable => "features",
            PluginKind::EmbeddingTable => "embedding",
            PluginKind::Onnx => "onnx",
            PluginKind::Native => "native",
            PluginKind::Command => "command",
            PluginKind::Builtin => "builtin",
        }
    }
}

/// What a plugin is for on the leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PluginRole {
    /// A method under test.
    Method,
    /// A control (random embedding, shuffled profiles, positive control) that anchors score scaling.
    Control,
    /// A published reference representation, shown for comparison.
    Reference,
    /// An example for plugin authors; not ranked.
    Example,
}

/// Levels a plugin consumes or produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginLevel {
    /// Single-cell profiles.
    Cell,
    /// Per-site profiles.
    Site,
    /// Per-well profiles.
    Well,
    /// A set of cell profiles (e.g. all cells of a well) consumed together.
    Set,
    /// Image crops.
    Image,
    /// Per-gene profiles or gene identifiers.
    Gene,
    /// Per-treatment profiles or treatment identifiers.
    Treatment,
}

impl PluginLevel {
    /// The profile level this corresponds to; `None` for `set` and `image`.
    pub fn profile_level(self) -> Option<Level> {
        match self {
            PluginLevel::Cell => Some(Level::Cell),
            PluginLevel::Site => Some(Level::Site),
            PluginLevel::Well => Some(Level::Well),
            PluginLevel::Gene => Some(Level::Gene),
            PluginLevel::Treatment => Some(Level::Treatment),
            PluginLevel::Set | PluginLevel::Image => None,
        }
    }

    /// The level's name as `plugin.toml` spells it.
    pub fn name(self) -> &'static str {
        match self {
            PluginLevel::Cell => "cell",
            PluginLevel::Site => "site",
            PluginLevel::Well => "well",
            PluginLevel::Set => "set",
            PluginLevel::Image => "image",
            PluginLevel::Gene => "gene",
            PluginLevel::Treatment => "treatment",
        }
    }
}

impl From<Level> for PluginLevel {
    fn from(level: Level) -> PluginLevel {
        match level {
            Level::Cell => PluginLevel::Cell,
            Level::Site => PluginLevel::Site,
            Level::Well => PluginLevel::Well,
            Level::Treatment => PluginLevel::Treatment,
            Level::Gene => PluginLevel::Gene,
        }
    }
}

/// The `[input]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginInput {
    /// What one input item is.
    pub level: PluginLevel,
    /// Further levels the plugin accepts unchanged (e.g. a random control works at any level).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<PluginLevel>,
    /// Expected input width (features per profile, or channels for images); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub dim: Option<u32>,
}

/// The `[output]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginOutput {
    /// What one output row describes (cell, site, well, treatment or gene).
    pub level: PluginLevel,
    /// Width of the produced representation; checked against the output when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub dim: Option<u32>,
}

/// The `[features]` table of a `feature-table` plugin: which of the benchmark's features to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Keep only features matching at least one of these regexes (unanchored); empty keeps all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Drop features matching any of these regexes (unanchored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Keep only these compartments (first name token, e.g. `Nuclei`); empty keeps all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<String>,
    /// Keep only features whose channels all lie in this set, e.g. `["DNA"]`; empty keeps all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Channel names beyond the built-in ones (DNA, RNA, ER, AGP, Mito, ...) used in `channels`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_channels: Vec<String>,
    /// With a channel filter, also keep features naming no channel (AreaShape, Neighbors).
    #[serde(default = "yes")]
    pub keep_channel_free: bool,
    /// Drop positional and bookkeeping features (locations, centers, bounding boxes, object numbers).
    #[serde(default)]
    pub drop_positional: bool,
}

fn yes() -> bool {
    true
}

impl FeatureSpec {
    /// The feature selector these settings describe.
    pub fn selector(&self) -> crate::Result<crate::select::FeatureSelector> {
        Ok(crate::select::FeatureSelector::all()
            .known_channels(&self.known_channels)
            .include(&self.include)?
            .exclude(&self.exclude)?
            .compartments(&self.compartments)
            .channels(&self.channels)?
            .keep_channel_free(self.keep_channel_free)
            .drop_positional(self.drop_positional))
    }
}

/// The `[embedding]` table of an `embedding-table` plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Embedding table (.csv, .csv.gz, .tsv, .tsv.gz or .parquet), relative to this manifest.
    pub table: PathBuf,
    /// Expected SHA-256 of the table (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// Column of the table holding the key, e.g. `gene`; the other columns are the embedding.
    pub key: String,
    /// Benchmark column role the key is matched against, e.g. `perturbation` (default) or `gene`.
    #[serde(default = "default_key_role")]
    pub key_role: String,
}

fn default_key_role() -> String {
    "perturbation".to_string()
}

/// Tensor layout of image inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Layout {
    /// Batch, channel, height, width.
    #[serde(rename = "NCHW")]
    Nchw,
    /// Batch, height, width, channel.
    #[serde(rename = "NHWC")]
    Nhwc,
}

/// An ONNX Runtime execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProvider {
    /// NVIDIA CUDA.
    Cuda,
    /// The CPU provider.
    Cpu,
}

/// What an ONNX model's input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnnxShape {
    /// Per-profile encoder: `[N, d] -> [N, k]`.
    Profile,
    /// Image encoder on crops: `[N, C, H, W]` (or NHWC) `-> [N, k]`.
    Image,
    /// Set encoder: `[B, S, d]` plus mask `[B, S]` `-> [B, k]` (cells of a well to one profile).
    Set,
    /// Embedding lookup: indices into `vocabulary` `-> [N, k]`.
    Lookup,
}

/// The vocabulary of a lookup model: a file with one token per line, or the tokens inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected a file path or an inline list of tokens"
)]
pub enum Vocabulary {
    /// A text file, one token per line (line i is index i), relative to this manifest.
    File(PathBuf),
    /// The tokens in index order.
    Inline(Vec<String>),
}

/// The `[onnx]` table of an `onnx` plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnnxSpec {
    /// The .onnx model file, relative to this manifest.
    pub model: PathBuf,
    /// Expected SHA-256 of the model (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// What the model consumes: profiles, image crops, sets of profiles or lookup indices.
    pub shape: OnnxShape,
    /// Name of the input tensor.
    pub input: String,
    /// Name of the output tensor.
    pub output: String,
    /// Name of the mask input tensor (`[B, S]`, 1 for real set members); required for `shape = "set"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_input: Option<String>,
    /// Layout of image inputs (`shape = "image"` only; default NCHW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    /// Items per inference call (profiles, crops or sets).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1))]
    pub batch_size: u32,
    /// Execution providers tried in order; the one that ran is recorded.
    #[serde(default = "default_providers")]
    pub execution_providers: Vec<ExecutionProvider>,
    /// Fail instead of falling back to the CPU when CUDA is unavailable.
    #[serde(default)]
    pub require_gpu: bool,
    /// Per-channel multipliers applied to image pixels before inference (`shape = "image"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Vec<f32>>,
    /// Tokens the lookup indices refer to (`shape = "lookup"` only, required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<Vocabulary>,
    /// Text file naming the model's input features in order, one per line, relative to this
    /// manifest (`shape = "profile"` or `"set"`); the host picks and orders the benchmark's
    /// feature columns by it, and a missing feature is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<PathBuf>,
    /// Largest set fed to the model at once (`shape = "set"` only); larger sets are split into
    /// chunks whose outputs are averaged weighted by chunk size. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_set_size: Option<u32>,
}

fn default_batch_size() -> u32 {
    256
}

fn default_providers() -> Vec<ExecutionProvider> {
    vec![ExecutionProvider::Cuda, ExecutionProvider::Cpu]
}

/// The `[native]` table of a `native` plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeSpec {
    /// The cdylib built against cpbench-plugin-api: a crate or library name such as
    /// `cpbench_plugin_pca` (searched for beside cpbench and in the plugin library folders), or
    /// the built file, relative to this manifest, such as `target/release/libmy_plugin.so` (a
    /// value containing `/` or ending in `.so`, `.dylib` or `.dll` is a file).
    pub library: String,
    /// Expected SHA-256 of the built library (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// Wall-clock limit for one run in seconds; the worker is killed past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_s: Option<u64>,
    /// Memory limit of the worker process in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub memory_limit_mib: Option<u64>,
    /// Free-form settings passed to the plugin unchanged.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: toml::Table,
}

/// What `[native] library` names, by the rule of [`NativeLibrary::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeLibrary<'a> {
    /// A crate or library name (`cpbench_plugin_pca` or `cpbench-plugin-pca`): its platform file
    /// name (`libcpbench_plugin_pca.so`) is searched for by the host.
    Crate(&'a str),
    /// A built library file, relative to the manifest's folder (or absolute).
    File(&'a std::path::Path),
}

/// File name endings that make a `[native] library` value a file even without a `/`.
const LIBRARY_EXTENSIONS: [&str; 3] = [".so", ".dylib", ".dll"];

impl<'a> NativeLibrary<'a> {
    /// Reads a `[native] library` value: a file when it contains a path separator or ends in a
    /// library extension (`.so`, `.dylib`, `.dll`), a crate or library name otherwise. Crate
    /// names hold neither, so the two never overlap.
    pub fn parse(value: &'a str) -> NativeLibrary<'a> {
        let is_file = value.contains(['/', '\\'])
            || LIBRARY_EXTENSIONS.iter().any(|ext| value.ends_with(ext));
        if is_file {
            NativeLibrary::File(std::path::Path::new(value))
        } else {
            NativeLibrary::Crate(value)
        }
    }
}

/// Checks `[native] library`: a crate name of letters, digits, `_` and `-`, or a path to a file.
/// The file itself is a build output, so its absence is the run's failure (with how to build
/// it), not the manifest's.
fn validate_native_library(doc: &Doc<'_>, value: &str) -> Result<(), ManifestError> {
    match NativeLibrary::parse(value) {
        NativeLibrary::Crate(name) => {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if valid {
                Ok(())
            } else {
                Err(doc.invalid(
                    "native.library",
                    format!(
                        "`{name}` is not a crate or library name (letters, digits, `_`, `-`), \
                         nor a path to a built library (containing `/`, or ending in .so, \
                         .dylib or .dll)"
                    ),
                ))
            }
        }
        NativeLibrary::File(path) => {
            let names_a_file = !value.ends_with(['/', '\\'])
                && path
                    .file_name()
                    .is_some_and(|n| n != "." && n != ".." && !n.is_empty());
            if names_a_file {
                Ok(())
            } else {
                Err(doc.invalid(
                    "native.library",
                    format!(
                        "`{value}` names a folder: name the built library file, e.g. \
                         target/release/libmy_plugin.so"
                    ),
                ))
            }
        }
    }
}

/// A control implemented by the harness.
///
/// Controls anchor the leaderboard's scaling (0 = negative, 1 = positive control). The positive
/// control must see labels, which the native plugin interface never carries (its label firewall
/// admits only plate, well, batch, control flag and split), so it runs inside the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinControl {
    /// The benchmark's features with rows permuted among the wells of each plate (seeded).
    Shuffle,
    /// One-hot encoding of the benchmark's label columns plus seeded Gaussian noise.
    PositiveControl,
}

/// The `[builtin]` table of a `builtin` plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSpec {
    /// Which control.
    pub control: BuiltinControl,
    /// Seed of the permutation or the noise.
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of the noise added to the positive control's one-hot code.
    #[serde(default = "default_noise")]
    #[schemars(range(min = 0.0))]
    pub noise: f64,
}

fn default_noise() -> f64 {
    0.1
}

/// The `[command]` table of a `command` plugin: any program, run in its own process.
///
/// cpbench writes the plugin's input (features and the allowed context, never labels) to a
/// Parquet file, a job file in JSON beside it (parameters, fit-on rows, where to write), runs the program
/// with the job file's path as its last argument, and reads the table it writes back. The
/// protocol is `cpbench-command/1`, documented in docs/plugins.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The program and its arguments, e.g. `["python", "harmony_plugin.py"]`. The program is
    /// `python` (the plugin's Python: the environment built from `requirements`, else
    /// `interpreter`), a path relative to this manifest (it contains a `/`), or a program on
    /// PATH. The job file's path is appended as the last argument. It runs in the plugin's folder.
    pub run: Vec<String>,
    /// Files the program runs from (scripts, weights), hashed into the plugin's digest like every
    /// artifact; `plugin check` wants each pinned by its SHA-256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<CommandFile>,
    /// A pip requirements file pinning every package (`name==version` per line): cpbench installs
    /// it into a virtual environment of its own, cached by the hash of the file and the
    /// interpreter, and `python` in `run` is that environment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<PathBuf>,
    /// The Python that creates the environment, or that runs `python` without `requirements`: a
    /// path (absolute, or relative to this manifest) or a name on PATH. Default `python3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// Wall-clock limit for one run in seconds; the program and its children are killed past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_s: Option<u64>,
    /// Address-space limit of the program in MiB (`RLIMIT_AS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub memory_limit_mib: Option<u64>,
    /// Environment variables set for the program; it otherwise gets a minimal environment
    /// (PATH, HOME, LANG, TMPDIR, and thread counts), none of cpbench's own.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    /// Free-form settings written to the job file's `config` unchanged.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: toml::Table,
}

/// A file a `command` plugin runs from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandFile {
    /// Path relative to the manifest.
    pub path: PathBuf,
    /// Expected SHA-256 (64 lowercase hex digits); checked before every run when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// Environment variables cpbench sets for every run of a command plugin.
pub const COMMAND_RESERVED_ENV: [&str; 2] = ["CPBENCH_JOB", "CPBENCH_THREADS"];

static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$").expect("valid regex")
});

impl Manifest for PluginManifest {
    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        doc.check_schema_version(self.schema_version)?;
        doc.check_slug("id", &self.id)?;
        if !SEMVER.is_match(&self.version) {
            return Err(doc.invalid(
                "version",
                format!(
                    "`{}` is not a version: expected MAJOR.MINOR.PATCH, e.g. 0.1.0",
                    self.version
                ),
            ));
        }
        doc.check_nonempty("description", &self.description)?;
        doc.check_nonempty("license", &self.license)?;
        for (i, d) in self.training_datasets.iter().enumerate() {
            let key = format!("training_datasets[{i}]");
            doc.check_nonempty(&key, d)?;
            // A mistyped split reference would match no benchmark and hide contamination.
            match super::benchmark::train_split_benchmark(d) {
                Some(id) => doc.check_slug(&key, id).map_err(|_| {
                    doc.invalid(
                        &key,
                        format!("`{d}`: before `:train` must come a benchmark id (lowercase letters, digits and '-')"),
                    )
                })?,
                None if d.contains(':') => {
                    return Err(doc.invalid(
                        &key,
                        format!(
                            "`{d}`: an entry is a dataset or benchmark id (`lincs-sq00015054`, \
                             `CORUM`), or a benchmark's train split (`lincs-sq00015054:train`); \
                             no other `:` suffix is known"
                        ),
                    ));
                }
                None => {}
            }
        }
        if self.sees_labels && self.role != PluginRole::Control {
            return Err(doc.invalid(
                "sees_labels",
                "only `role = \"control\"` plugins (positive controls) may see labels",
            ));
        }
        if let Some(dim) = self.input.dim {
            doc.check_min("input.dim", dim.into(), 1)?;
        }
        if let Some(dim) = self.output.dim {
            doc.check_min("output.dim", dim.into(), 1)?;
        }
        if self.output.level.profile_level().is_none() {
            return Err(doc.invalid(
                "output.level",
                "a plugin outputs profiles: cell, site, well, treatment or gene",
            ));
        }
        self.validate_kind_tables(doc)?;
        if let Some(f) = &self.features {
            validate_features(doc, f)?;
        }
        if let Some(e) = &self.embedding {
            doc.check_sha256("embedding.sha256", e.sha256.as_deref())?;
            doc.require_file("embedding.table", &e.table)?;
            doc.check_nonempty("embedding.key", &e.key)?;
            doc.check_nonempty("embedding.key_role", &e.key_role)?;
        }
        if let Some(o) = &self.onnx {
            self.validate_onnx(doc, o)?;
        }
        if let Some(b) = &self.builtin {
            self.validate_builtin(doc, b)?;
        }
        if let Some(c) = &self.command {
            self.validate_command(doc, c)?;
        }
        if let Some(n) = &self.native {
            validate_native_library(doc, &n.library)?;
            doc.check_sha256("native.sha256", n.sha256.as_deref())?;
            if let Some(t) = n.timeout_s {
                doc.check_min("native.timeout_s", t, 1)?;
            }
            if let Some(m) = n.memory_limit_mib {
                doc.check_min("native.memory_limit_mib", m, 1)?;
            }
        }
        Ok(())
    }
}

impl PluginManifest {
    fn validate_kind_tables(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let present = [
            (PluginKind::FeatureTable, self.features.is_some()),
            (PluginKind::EmbeddingTable, self.embedding.is_some()),
            (PluginKind::Onnx, self.onnx.is_some()),
            (PluginKind::Native, self.native.is_some()),
            (PluginKind::Command, self.command.is_some()),
            (PluginKind::Builtin, self.builtin.is_some()),
        ];
        // The missing table is the more useful message when a plugin switches kinds.
        if !present
            .iter()
            .any(|&(kind, is_present)| kind == self.kind && is_present)
        {
            return Err(doc.invalid(
                self.kind.table(),
                format!(
                    "`kind = \"{}\"` needs a [{}] table",
                    self.kind.as_str(),
                    self.kind.table()
                ),
            ));
        }
        if let Some((kind, _)) = present
            .iter()
            .find(|&&(kind, is_present)| kind != self.kind && is_present)
        {
            return Err(doc.invalid(
                kind.table(),
                format!(
                    "a `{}` plugin takes [{}], not [{}]",
                    self.kind.as_str(),
                    self.kind.table(),
                    kind.table()
                ),
            ));
        }
        Ok(())
    }

    fn validate_command(&self, doc: &Doc<'_>, c: &CommandSpec) -> Result<(), ManifestError> {
        if self.sees_labels {
            return Err(doc.invalid(
                "sees_labels",
                "a `command` plugin never receives labels (label firewall); only builtin \
                 controls may see them",
            ));
        }
        if c.run.is_empty() {
            return Err(doc.invalid(
                "command.run",
                "must name the program, e.g. [\"python\", \"plugin.py\"]",
            ));
        }
        for (i, arg) in c.run.iter().enumerate() {
            if arg.is_empty() || arg.contains('\0') {
                return Err(doc.invalid(
                    format!("command.run[{i}]"),
                    "must be a non-empty string without NUL",
                ));
            }
        }
        let program = &c.run[0];
        if program.contains('/') {
            doc.require_file("command.run[0]", std::path::Path::new(program))?;
        }
        if c.requirements.is_some() && program != "python" {
            return Err(doc.invalid(
                "command.run[0]",
                format!(
                    "`{program}` would not run in the environment built from `requirements`: \
                     start the command with \"python\""
                ),
            ));
        }
        if let Some(interpreter) = &c.interpreter {
            doc.check_nonempty("command.interpreter", interpreter)?;
            if interpreter.contains('/') {
                doc.require_file("command.interpreter", std::path::Path::new(interpreter))?;
            }
        }
        if let Some(r) = &c.requirements {
            doc.require_file("command.requirements", r)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, f) in c.files.iter().enumerate() {
            doc.require_file(&format!("command.files[{i}].path"), &f.path)?;
            doc.check_sha256(&format!("command.files[{i}].sha256"), f.sha256.as_deref())?;
            if !seen.insert(&f.path) {
                return Err(doc.invalid(
                    format!("command.files[{i}].path"),
                    format!("`{}` is listed twice", f.path.display()),
                ));
            }
        }
        if let Some(t) = c.timeout_s {
            doc.check_min("command.timeout_s", t, 1)?;
        }
        if let Some(m) = c.memory_limit_mib {
            doc.check_min("command.memory_limit_mib", m, 1)?;
        }
        for name in c.env.keys() {
            let valid = !name.is_empty()
                && !name.starts_with(|ch: char| ch.is_ascii_digit())
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid {
                return Err(doc.invalid(
                    format!("command.env.{name}"),
                    format!("`{name}` is not an environment variable name"),
                ));
            }
            if COMMAND_RESERVED_ENV.contains(&name.as_str()) {
                return Err(doc.invalid(
                    format!("command.env.{name}"),
                    format!("`{name}` is set by cpbench for every run"),
                ));
            }
        }
        Ok(())
    }

    fn validate_builtin(&self, doc: &Doc<'_>, b: &BuiltinSpec) -> Result<(), ManifestError> {
        if self.role != PluginRole::Control {
            return Err(doc.invalid(
                "role",
                "builtin plugins are controls: set `role = \"control\"`",
            ));
        }
        if !b.noise.is_finite() || b.noise < 0.0 {
            return Err(doc.invalid("builtin.noise", "must be a finite number >= 0"));
        }
        match (b.control, self.sees_labels) {
            (BuiltinControl::PositiveControl, false) => Err(doc.invalid(
                "sees_labels",
                "the positive control encodes the labels: set `sees_labels = true`",
            )),
            (BuiltinControl::Shuffle, true) => Err(doc.invalid(
                "sees_labels",
                "the shuffle control does not use labels: remove `sees_labels`",
            )),
            _ => Ok(()),
        }
    }

    fn validate_onnx(&self, doc: &Doc<'_>, o: &OnnxSpec) -> Result<(), ManifestError> {
        doc.check_sha256("onnx.sha256", o.sha256.as_deref())?;
        doc.require_file("onnx.model", &o.model)?;
        doc.check_nonempty("onnx.input", &o.input)?;
        doc.check_nonempty("onnx.output", &o.output)?;
        doc.check_min("onnx.batch_size", o.batch_size.into(), 1)?;
        if o.execution_providers.is_empty() {
            return Err(doc.invalid(
                "onnx.execution_providers",
                "must list at least one provider",
            ));
        }
        for (i, p) in o.execution_providers.iter().enumerate() {
            if o.execution_providers[..i].contains(p) {
                return Err(doc.invalid(format!("onnx.execution_providers[{i}]"), "listed twice"));
            }
        }
        if o.require_gpu && !o.execution_providers.contains(&ExecutionProvider::Cuda) {
            return Err(doc.invalid("onnx.require_gpu", "needs `cuda` in `execution_providers`"));
        }
        let shape = match o.shape {
            OnnxShape::Profile => "profile",
            OnnxShape::Image => "image",
            OnnxShape::Set => "set",
            OnnxShape::Lookup => "lookup",
        };
        let only = |key: &str, wanted: OnnxShape, present: bool| -> Result<(), ManifestError> {
            if present && o.shape != wanted {
                Err(doc.invalid(
                    format!("onnx.{key}"),
                    format!("not used with `shape = \"{shape}\"`"),
                ))
            } else {
                Ok(())
            }
        };
        only("mask_input", OnnxShape::Set, o.mask_input.is_some())?;
        only("layout", OnnxShape::Image, o.layout.is_some())?;
        only("scale", OnnxShape::Image, o.scale.is_some())?;
        only("vocabulary", OnnxShape::Lookup, o.vocabulary.is_some())?;
        only("max_set_size", OnnxShape::Set, o.max_set_size.is_some())?;
        if let Some(f) = &o.features {
            if !matches!(o.shape, OnnxShape::Profile | OnnxShape::Set) {
                return Err(doc.invalid(
                    "onnx.features",
                    format!("not used with `shape = \"{shape}\"`"),
                ));
            }
            doc.require_file("onnx.features", f)?;
        }
        if let Some(m) = o.max_set_size {
            doc.check_min("onnx.max_set_size", m.into(), 1)?;
        }
        match o.shape {
            OnnxShape::Set => match &o.mask_input {
                Some(m) => doc.check_nonempty("onnx.mask_input", m)?,
                None => {
                    return Err(doc.invalid("onnx.mask_input", "required for `shape = \"set\"`"));
                }
            },
            OnnxShape::Lookup => match &o.vocabulary {
                Some(Vocabulary::File(f)) => doc.require_file("onnx.vocabulary", f)?,
                Some(Vocabulary::Inline(tokens)) => doc.check_names("onnx.vocabulary", tokens)?,
                None => {
                    return Err(doc.invalid("onnx.vocabulary", "required for `shape = \"lookup\"`"));
                }
            },
            OnnxShape::Image | OnnxShape::Profile => {}
        }
        if let Some(scale) = &o.scale {
            if scale.is_empty() {
                return Err(doc.invalid("onnx.scale", "must list one multiplier per channel"));
            }
            if let Some(i) = scale.iter().position(|s| !s.is_finite()) {
                return Err(doc.invalid(format!("onnx.scale[{i}]"), "must be finite"));
            }
        }
        let input = self.input.level;
        let consistent = match o.shape {
            OnnxShape::Image => input == PluginLevel::Image,
            OnnxShape::Set => input == PluginLevel::Set,
            OnnxShape::Lookup => matches!(input, PluginLevel::Gene | PluginLevel::Treatment),
            OnnxShape::Profile => input.profile_level().is_some(),
        };
        if !consistent {
            let expected = match o.shape {
                OnnxShape::Image => "image",
                OnnxShape::Set => "set",
                OnnxShape::Lookup => "gene or treatment",
                OnnxShape::Profile => "cell, site, well, treatment or gene",
            };
            return Err(doc.invalid(
                "input.level",
                format!("`shape = \"{shape}\"` needs input level {expected}"),
            ));
        }
        Ok(())
    }
}

fn validate_features(doc: &Doc<'_>, f: &FeatureSpec) -> Result<(), ManifestError> {
    for (key, patterns) in [
        ("features.include", &f.include),
        ("features.exclude", &f.exclude),
    ] {
        for (i, p) in patterns.iter().enumerate() {
            if let Err(e) = Regex::new(p) {
                return Err(doc.invalid(format!("{key}[{i}]"), format!("invalid regex: {e}")));
            }
        }
    }
    for (key, list) in [
        ("features.compartments", &f.compartments),
        ("features.channels", &f.channels),
        ("features.known_channels", &f.known_channels),
    ] {
        if !list.is_empty() {
            doc.check_names(key, list)?;
        }
    }
    for (i, c) in f.channels.iter().enumerate() {
        if !DEFAULT_CHANNELS.contains(&c.as_str()) && !f.known_channels.contains(c) {
            return Err(doc.invalid(
                format!("features.channels[{i}]"),
                format!(
                    "unknown channel `{c}` (known: {}); add it to `known_channels`",
                    DEFAULT_CHANNELS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl Loaded<PluginManifest> {
    /// The embedding table, ONNX model, vocabulary and feature files, and a command plugin's
    /// requirements and files, resolved, with their pinned digests.
    pub fn data_files(&self) -> Vec<DataRef> {
        let m = &self.manifest;
        let mut out = Vec::new();
        if let Some(e) = &m.embedding {
            out.push(DataRef {
                key: "embedding.table".to_string(),
                path: self.resolve(&e.table),
                sha256: e.sha256.clone(),
                remote: None,
            });
        }
        if let Some(o) = &m.onnx {
            out.push(DataRef {
                key: "onnx.model".to_string(),
                path: self.resolve(&o.model),
                sha256: o.sha256.clone(),
                remote: None,
            });
            if let Some(Vocabulary::File(f)) = &o.vocabulary {
                out.push(DataRef {
                    key: "onnx.vocabulary".to_string(),
                    path: self.resolve(f),
                    sha256: None,
                    remote: None,
                });
            }
            if let Some(f) = &o.features {
                out.push(DataRef {
                    key: "onnx.features".to_string(),
                    path: self.resolve(f),
                    sha256: None,
                    remote: None,
                });
            }
        }
        if let Some(c) = &m.command {
            if let Some(r) = &c.requirements {
                out.push(DataRef {
                    key: "command.requirements".to_string(),
                    path: self.resolve(r),
                    sha256: None,
                    remote: None,
                });
            }
            for (i, f) in c.files.iter().enumerate() {
                out.push(DataRef {
                    key: format!("command.files[{i}]"),
                    path: self.resolve(&f.path),
                    sha256: f.sha256.clone(),
                    remote: None,
                });
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::manifest::test_util::{Fixture, assert_err, relative};

    /// The smallest valid plugin.
    pub(crate) const MINIMAL: &str = r#"
schema_version = 1
id = "cellprofiler"
version = "0.1.0"
kind = "feature-table"
role = "reference"
description = "CellProfiler features"
license = "CC0-1.0"
[input]
level = "well"
[output]
level = "well"
[features]
"#;

    const ONNX: &str = r#"
schema_version = 1
id = "cnn1-efficientnet"
version = "0.1.0-rc.1+abc"
kind = "onnx"
role = "method"
description = "Cell Painting CNN-1 (EfficientNet-B0, block6a, 672-d)"
license = "BSD-3-Clause"
citation = "Moshkov et al., Nat Commun 15 (2024)"
training_datasets = ["jump-cp"]

[input]
level = "image"
dim = 5
[output]
level = "cell"
dim = 672

[onnx]
model = "model.onnx"
sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
shape = "image"
input = "images"
output = "features"
layout = "NCHW"
scale = [1.0, 1.0, 1.0, 1.0, 1.0]
"#;

    const NATIVE: &str = r#"
schema_version = 1
id = "positive-control"
version = "1.0.0"
kind = "native"
role = "control"
description = "Positive control: one-hot labels"
license = "MIT"
sees_labels = true
[input]
level = "well"
[output]
level = "well"
[native]
library = "cpbench_plugin_onehot"
timeout_s = 60
memory_limit_mib = 1024
[native.config]
noise = 0.1
columns = ["Metadata_moa"]
nested = { a = 1 }
"#;

    const BUILTIN: &str = r#"
schema_version = 1
id = "positive-control"
version = "1.0.0"
kind = "builtin"
role = "control"
description = "Positive control: one-hot labels plus noise"
license = "MIT"
sees_labels = true
[input]
level = "well"
[output]
level = "well"
[builtin]
control = "positive-control"
seed = 3
"#;

    #[test]
    fn builtin_controls_parse_and_are_checked() {
        let fx = Fixture::new(&[]);
        let m = fx.load::<PluginManifest>("plugin.toml", BUILTIN).unwrap();
        let b = m.manifest.builtin.as_ref().unwrap();
        assert_eq!(b.control, BuiltinControl::PositiveControl);
        assert_eq!((b.seed, b.noise), (3, 0.1));
        let err = |from: &str, to: &str| {
            assert!(BUILTIN.contains(from), "test edit `{from}` does not apply");
            fx.error::<PluginManifest>("plugin.toml", &BUILTIN.replacen(from, to, 1))
        };
        assert_err(
            &err("sees_labels = true\n", ""),
            "sees_labels",
            "set `sees_labels = true`",
        );
        assert_err(
            &err("role = \"control\"", "role = \"method\""),
            "sees_labels",
            "positive controls",
        );
        assert_err(
            &err("control = \"positive-control\"", "control = \"shuffle\""),
            "sees_labels",
            "remove `sees_labels`",
        );
        assert_err(&err("seed = 3", "noise = -1.0"), "builtin.noise", ">= 0");
        assert_err(&err("[builtin]", "[other]"), "other", "unknown key");
    }

    fn onnx_err(from: &str, to: &str) -> String {
        assert!(ONNX.contains(from), "test edit `{from}` does not apply");
        Fixture::new(&["p/model.onnx", "p/vocab.txt"])
            .error::<PluginManifest>("p/plugin.toml", &ONNX.replacen(from, to, 1))
    }

    #[test]
    fn examples_parse() {
        let fx = Fixture::new(&["p/model.onnx"]);
        let m = fx.load::<PluginManifest>("p/plugin.toml", ONNX).unwrap();
        let o = m.manifest.onnx.as_ref().unwrap();
        assert_eq!(o.batch_size, 256);
        assert_eq!(
            o.execution_providers,
            [ExecutionProvider::Cuda, ExecutionProvider::Cpu]
        );
        assert_eq!(o.layout, Some(Layout::Nchw));
        assert!(!o.require_gpu);
        assert!(!m.manifest.sees_labels);
        assert_eq!(m.manifest.output.dim, Some(672));
        let files = m.data_files();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].key, "onnx.model");
        assert_eq!(
            relative(&files[0].path, fx.dir.path()),
            PathBuf::from("p/model.onnx")
        );
        assert_eq!(files[0].sha256.as_deref(), o.sha256.as_deref());

        let m = fx
            .load::<PluginManifest>("plugin.toml", MINIMAL)
            .unwrap()
            .manifest;
        let f = m.features.unwrap();
        assert!(f.keep_channel_free);
        assert!(!f.drop_positional);
        assert!(f.selector().is_ok());

        let m = fx.load::<PluginManifest>("plugin.toml", NATIVE).unwrap();
        let n = m.manifest.native.as_ref().unwrap();
        assert_eq!(n.config["noise"].as_float(), Some(0.1));
        assert_eq!(n.config["nested"]["a"].as_integer(), Some(1));
        assert!(m.data_files().is_empty());
        let json = serde_json::to_value(&m.manifest).unwrap();
        assert_eq!(json["native"]["config"]["columns"][0], "Metadata_moa");
    }

    #[test]
    fn lookup_and_set_models() {
        let fx = Fixture::new(&["p/model.onnx", "p/vocab.txt"]);
        let lookup = ONNX
            .replace("level = \"image\"\ndim = 5", "level = \"gene\"")
            .replace("shape = \"image\"", "shape = \"lookup\"")
            .replace(
                "layout = \"NCHW\"\nscale = [1.0, 1.0, 1.0, 1.0, 1.0]",
                "vocabulary = \"vocab.txt\"",
            );
        let m = fx.load::<PluginManifest>("p/plugin.toml", &lookup).unwrap();
        let keys: Vec<String> = m.data_files().into_iter().map(|f| f.key).collect();
        assert_eq!(keys, ["onnx.model", "onnx.vocabulary"]);
        let inline = lookup.replace(
            "vocabulary = \"vocab.txt\"",
            "vocabulary = [\"AKT1\", \"MCL1\"]",
        );
        let m = fx.load::<PluginManifest>("p/plugin.toml", &inline).unwrap();
        assert_eq!(
            m.manifest.onnx.unwrap().vocabulary,
            Some(Vocabulary::Inline(vec!["AKT1".into(), "MCL1".into()]))
        );
        let err =
            fx.error::<PluginManifest>("p/plugin.toml", &lookup.replace("vocab.txt", "nope.txt"));
        assert_err(&err, "onnx.vocabulary", "file not found");
        let err =
            fx.error::<PluginManifest>("p/plugin.toml", &lookup.replace("\"vocab.txt\"", "3"));
        assert_err(
            &err,
            "onnx.vocabulary",
            "expected a file path or an inline list of tokens",
        );

        let set = ONNX
            .replace("level = \"image\"\ndim = 5", "level = \"set\"")
            .replace("level = \"cell\"", "level = \"well\"")
            .replace("shape = \"image\"", "shape = \"set\"")
            .replace(
                "layout = \"NCHW\"\nscale = [1.0, 1.0, 1.0, 1.0, 1.0]",
                "mask_input = \"mask\"",
            );
        fx.load::<PluginManifest>("p/plugin.toml", &set).unwrap();
        let err =
            fx.error::<PluginManifest>("p/plugin.toml", &set.replace("mask_input = \"mask\"", ""));
        assert_err(&err, "onnx.mask_input", "required for `shape = \"set\"`");

        let with_features = set.replace(
            "mask_input = \"mask\"",
            "mask_input = \"mask\"\nfeatures = \"vocab.txt\"\nmax_set_size = 512",
        );
        let m = fx
            .load::<PluginManifest>("p/plugin.toml", &with_features)
            .unwrap();
        let keys: Vec<String> = m.data_files().into_iter().map(|f| f.key).collect();
        assert_eq!(keys, ["onnx.model", "onnx.features"]);
        let o = m.manifest.onnx.unwrap();
        assert_eq!(o.features, Some(PathBuf::from("vocab.txt")));
        assert_eq!(o.max_set_size, Some(512));
        let err = fx.error::<PluginManifest>(
            "p/plugin.toml",
            &with_features.replace("max_set_size = 512", "max_set_size = 0"),
        );
        assert_err(&err, "onnx.max_set_size", "at least 1");
        let err = fx.error::<PluginManifest>(
            "p/plugin.toml",
            &with_features.replace("features = \"vocab.txt\"", "features = \"nope.txt\""),
        );
        assert_err(&err, "onnx.features", "file not found");
        let err = fx.error::<PluginManifest>(
            "p/plugin.toml",
            &lookup.replace(
                "vocabulary = \"vocab.txt\"",
                "vocabulary = \"vocab.txt\"\nfeatures = \"vocab.txt\"",
            ),
        );
        assert_err(&err, "onnx.features", "not used with `shape = \"lookup\"`");
        let err = fx.error::<PluginManifest>(
            "p/plugin.toml",
            &lookup.replace(
                "vocabulary = \"vocab.txt\"",
                "vocabulary = \"vocab.txt\"\nmax_set_size = 4",
            ),
        );
        assert_err(
            &err,
            "onnx.max_set_size",
            "not used with `shape = \"lookup\"`",
        );
    }

    #[test]
    fn kind_tables_must_match_kind() {
        assert_err(
            &onnx_err("kind = \"onnx\"", "kind = \"native\""),
            "native",
            "`kind = \"native\"` needs a [native] table",
        );
        let fx = Fixture::new(&["model.onnx"]);
        let both = format!(
            "{MINIMAL}[onnx]\nmodel = \"model.onnx\"\nshape = \"profile\"\ninput = \"x\"\noutput = \"y\"\n"
        );
        assert_err(
            &fx.error::<PluginManifest>("plugin.toml", &both),
            "onnx",
            "a `feature-table` plugin takes [features], not [onnx]",
        );
        assert_err(
            &onnx_err("kind = \"onnx\"", "kind = \"torch\""),
            "kind",
            "unknown value `torch`",
        );
    }

    #[test]
    fn field_checks() {
        assert_err(
            &onnx_err("version = \"0.1.0-rc.1+abc\"", "version = \"v1\""),
            "version",
            "not a version",
        );
        assert_err(
            &onnx_err("id = \"cnn1-efficientnet\"", "id = \"CNN1\""),
            "id",
            "not a valid id",
        );
        assert_err(
            &onnx_err("schema_version = 1", "schema_version = 0"),
            "schema_version",
            "unsupported schema version 0",
        );
        assert_err(
            &onnx_err("role = \"method\"", "role = \"method\"\nsees_labels = true"),
            "sees_labels",
            "only `role = \"control\"`",
        );
        assert_err(
            &onnx_err("sha256 = \"0123", "sha256 = \"z123"),
            "onnx.sha256",
            "64 lowercase hex digits",
        );
        assert_err(
            &onnx_err("model = \"model.onnx\"", "model = \"other.onnx\""),
            "onnx.model",
            "file not found",
        );
        assert_err(
            &onnx_err("layout = \"NCHW\"", "layout = \"nchw\""),
            "onnx.layout",
            "unknown value `nchw`",
        );
        assert_err(
            &onnx_err("layout = \"NCHW\"", "layout = \"NCHW\"\nbatch_size = 0"),
            "onnx.batch_size",
            "at least 1",
        );
        assert_err(
            &onnx_err(
                "layout = \"NCHW\"",
                "layout = \"NCHW\"\nexecution_providers = [\"tpu\"]",
            ),
            "onnx.execution_providers[0]",
            "unknown value `tpu`",
        );
        assert_err(
            &onnx_err(
                "layout = \"NCHW\"",
                "layout = \"NCHW\"\nexecution_providers = [\"cpu\"]\nrequire_gpu = true",
            ),
            "onnx.require_gpu",
            "needs `cuda`",
        );
        assert_err(
            &onnx_err("layout = \"NCHW\"", "layout = \"NCHW\"\nmask_input = \"m\""),
            "onnx.mask_input",
            "not used with `shape = \"image\"`",
        );
        assert_err(
            &onnx_err("shape = \"image\"", "shape = \"profile\""),
            "onnx.layout",
            "not used with `shape = \"profile\"`",
        );
        assert_err(
            &onnx_err("level = \"image\"", "level = \"well\""),
            "input.level",
            "needs input level image",
        );
        assert_err(
            &onnx_err("level = \"cell\"", "level = \"set\""),
            "output.level",
            "a plugin outputs profiles",
        );
        assert_err(
            &onnx_err("dim = 672", "dim = 0"),
            "output.dim",
            "at least 1",
        );
        assert_err(
            &onnx_err("[onnx]", "[onnx]\ntimeout_s = 3"),
            "onnx.timeout_s",
            "unknown key",
        );
    }

    #[test]
    fn training_datasets_name_datasets_or_a_benchmark_train_split() {
        let with = |entry: &str| {
            ONNX.replace(
                "training_datasets = [\"jump-cp\"]",
                &format!("training_datasets = [\"jump-cp\", {entry:?}]"),
            )
        };
        let fx = Fixture::new(&["p/model.onnx"]);
        let m = fx
            .load::<PluginManifest>("p/plugin.toml", &with("lincs-sq00015054:train"))
            .unwrap();
        assert_eq!(m.manifest.training_datasets[1], "lincs-sq00015054:train");
        assert_err(
            &fx.error::<PluginManifest>("p/plugin.toml", &with("lincs-sq00015054:test")),
            "training_datasets[1]",
            "no other `:` suffix is known",
        );
        assert_err(
            &fx.error::<PluginManifest>("p/plugin.toml", &with("LINCS plate:train")),
            "training_datasets[1]",
            "before `:train` must come a benchmark id",
        );
    }

    #[test]
    fn feature_selectors_are_checked() {
        let fx = Fixture::new(&[]);
        let with =
            |body: &str| fx.error::<PluginManifest>("plugin.toml", &format!("{MINIMAL}{body}\n"));
        assert_err(
            &with("include = [\"^Cells_\", \"Nuclei_(\"]"),
            "features.include[1]",
            "invalid regex",
        );
        assert_err(
            &with("exclude = [\"[\"]"),
            "features.exclude[0]",
            "invalid regex",
        );
        assert_err(
            &with("channels = [\"DNA\", \"GFP\"]"),
            "features.channels[1]",
            "unknown channel `GFP`",
        );
        assert_err(
            &with("compartments = [\"Cells\", \"Cells\"]"),
            "features.compartments[1]",
            "listed twice",
        );
        let ok = format!(
            "{MINIMAL}channels = [\"GFP\"]\nknown_channels = [\"GFP\"]\ndrop_positional = true\n"
        );
        let m = fx
            .load::<PluginManifest>("plugin.toml", &ok)
            .unwrap()
            .manifest;
        assert!(m.features.unwrap().selector().is_ok());
    }

    #[test]
    fn native_library_is_a_crate_name_or_a_file() {
        for name in ["cpbench_plugin_pca", "cpbench-plugin-pca", "so"] {
            assert_eq!(NativeLibrary::parse(name), NativeLibrary::Crate(name));
        }
        for file in [
            "target/release/libx.so",
            "libx.so",
            "libx.dylib",
            "x.dll",
            "./libx",
            r"target\release\x.dll",
        ] {
            assert_eq!(
                NativeLibrary::parse(file),
                NativeLibrary::File(std::path::Path::new(file))
            );
        }
    }

    #[test]
    fn native_checks() {
        let fx = Fixture::new(&[]);
        let err = fx.error::<PluginManifest>(
            "plugin.toml",
            &NATIVE.replace("timeout_s = 60", "timeout_s = 0"),
        );
        assert_err(&err, "native.timeout_s", "at least 1");
        let err = fx.error::<PluginManifest>(
            "plugin.toml",
            &NATIVE.replace("cpbench_plugin_onehot", "cpbench plugin"),
        );
        assert_err(&err, "native.library", "not a crate or library name");
        let err = fx.error::<PluginManifest>(
            "plugin.toml",
            &NATIVE.replace("cpbench_plugin_onehot", "target/release/"),
        );
        assert_err(&err, "native.library", "names a folder");
        // A built file need not exist when the manifest loads: it is a build output.
        for file in [
            "target/release/libonehot.so",
            "libonehot.dylib",
            "../x/onehot.dll",
        ] {
            let m = fx
                .load::<PluginManifest>(
                    "plugin.toml",
                    &NATIVE.replace("cpbench_plugin_onehot", file),
                )
                .unwrap();
            assert!(m.data_files().is_empty());
        }
        let err = fx.error::<PluginManifest>(
            "plugin.toml",
            &NATIVE.replace("role = \"control\"", "role = \"example\""),
        );
        assert_err(&err, "sees_labels", "positive controls");
    }

    const COMMAND: &str = r#"
schema_version = 1
id = "harmony"
version = "0.1.0"
kind = "command"
role = "method"
description = "Harmony"
license = "MIT"
[input]
level = "well"
[output]
level = "well"
[command]
run = ["python", "plugin.py"]
requirements = "requirements.txt"
files = [{ path = "plugin.py", sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }]
timeout_s = 60
env = { OPENBLAS_NUM_THREADS = "1" }
[command.config]
batch_key = "batch"
"#;

    #[test]
    fn command_plugins_parse_and_are_checked() {
        let fx = Fixture::new(&["plugin.py", "requirements.txt", "bin/tool"]);
        let m = fx.load::<PluginManifest>("plugin.toml", COMMAND).unwrap();
        let c = m.manifest.command.as_ref().unwrap();
        assert_eq!(c.run, ["python", "plugin.py"]);
        assert_eq!(c.config["batch_key"].as_str(), Some("batch"));
        let keys: Vec<String> = m.data_files().into_iter().map(|f| f.key).collect();
        assert_eq!(keys, ["command.requirements", "command.files[0]"]);
        assert!(m.data_files()[1].sha256.is_some());
        // A program of the plugin's own, no Python.
        let own = COMMAND
            .replace("[\"python\", \"plugin.py\"]", "[\"bin/tool\", \"--fast\"]")
            .replace("requirements = \"requirements.txt\"\n", "");
        assert!(fx.load::<PluginManifest>("plugin.toml", &own).is_ok());
        for (from, to, key, message) in [
            (
                "[\"python\", \"plugin.py\"]",
                "[]",
                "command.run",
                "must name the program",
            ),
            ("\"plugin.py\"]", "\"\"]", "command.run[1]", "non-empty"),
            (
                "[\"python\", \"plugin.py\"]",
                "[\"bin/tool\"]",
                "command.run[0]",
                "start the command with \"python\"",
            ),
            (
                "[\"python\", \"plugin.py\"]",
                "[\"bin/missing\"]",
                "command.run[0]",
                "missing",
            ),
            (
                "requirements.txt",
                "nope.txt",
                "command.requirements",
                "nope.txt",
            ),
            (
                "timeout_s = 60",
                "timeout_s = 0",
                "command.timeout_s",
                "at least 1",
            ),
            (
                "OPENBLAS_NUM_THREADS",
                "CPBENCH_JOB",
                "command.env.CPBENCH_JOB",
                "set by cpbench",
            ),
            (
                "OPENBLAS_NUM_THREADS",
                "\"1X-Y\"",
                "command.env.1X-Y",
                "not an environment variable name",
            ),
            (
                "sha256 = \"0123",
                "sha256 = \"XYZ",
                "command.files[0].sha256",
                "not a SHA-256",
            ),
            (
                "role = \"method\"",
                "role = \"control\"\nsees_labels = true",
                "sees_labels",
                "never receives labels",
            ),
            (
                "kind = \"command\"",
                "kind = \"native\"",
                "native",
                "needs a [native] table",
            ),
        ] {
            let text = COMMAND.replace(from, to);
            assert_ne!(text, COMMAND, "{from}");
            let err = fx.error::<PluginManifest>("plugin.toml", &text);
            assert_err(&err, key, message);
        }
        let twice = COMMAND.replace(
            "files = [{ path = \"plugin.py\", sha256",
            "files = [{ path = \"plugin.py\" }, { path = \"plugin.py\", sha256",
        );
        let err = fx.error::<PluginManifest>("plugin.toml", &twice);
        assert_err(&err, "command.files[1].path", "listed twice");
        let unknown = COMMAND.replace("timeout_s = 60", "timeout = 60");
        assert!(fx.load::<PluginManifest>("plugin.toml", &unknown).is_err());
    }
}
