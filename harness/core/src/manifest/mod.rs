//! Manifests: `benchmark.toml` (a dataset, its column roles, preprocessing and tasks),
//! `plugin.toml` (a representation plugin) and `audits/<id>.toml` (published claims to
//! reproduce).
//!
//! Loading deserializes with unknown keys denied, then validates everything that can be
//! checked without reading the data: ids, digests, per-metric and per-operation parameters,
//! cross references and the existence of referenced files. Every error names the manifest,
//! the key path (`task[2].null_size`) and, where known, the line.

mod audit;
mod benchmark;
mod pipeline;
mod plugin;
mod source;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;

pub use audit::{AuditManifest, Claim, ManifestRef};
pub use benchmark::{
    Annotation, BenchmarkManifest, Columns, ControlSpec, DataLocation, DataSpec, EnrichmentTask,
    JoinTable, KmeansTask, KnnTask, LambdaSweepSpec, LeakageTask, MapTask, Metric, PartitionTask,
    PrecisionAtKTask, PrepOp, PrepStep, RelationsTask, RemoteFile, ReplicatingTask,
    SPLIT_FILE_LABEL_COLUMN, Similarity, SplitSide, SplitSpec, TRAIN_SPLIT_SUFFIX, Task,
    TaskParams, VoteTies, etag_parts, is_s3_etag, split_url, train_split_benchmark,
};
pub use pipeline::PrepPipeline;
pub use plugin::NativeLibrary;
pub use plugin::{
    BuiltinControl, BuiltinSpec, COMMAND_RESERVED_ENV, CommandFile, CommandSpec, EmbeddingSpec,
    ExecutionProvider, FeatureSpec, Layout, NativeSpec, OnnxShape, OnnxSpec, PluginInput,
    PluginKind, PluginLevel, PluginManifest, PluginOutput, PluginRole, Vocabulary,
};

use source::Doc;

/// The `schema_version` every manifest must declare.
pub const SCHEMA_VERSION: u32 = 1;

/// A manifest that could not be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The manifest file.
        path: PathBuf,
        /// The underlying IO error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}: invalid TOML: {message}", location(path, *line))]
    Syntax {
        /// The manifest file.
        path: PathBuf,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// What the TOML parser reported.
        message: String,
    },
    /// A key is missing, unknown, of the wrong type or has a value that is not allowed.
    #[error("{}: {}{message}", location(path, *line), key_part(key))]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// Dotted key path, e.g. `task[2].null_size`; empty for the document as a whole.
        key: String,
        /// 1-based line of the key (or of its enclosing table), when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A file the manifest refers to does not exist.
    #[error("{}: {}file not found: {}", location(path, *line), key_part(key), file.display())]
    MissingFile {
        /// The manifest file.
        path: PathBuf,
        /// Dotted key path of the reference, e.g. `data.profiles`.
        key: String,
        /// 1-based line of the key, when known.
        line: Option<usize>,
        /// The referenced path, resolved against the manifest's directory.
        file: PathBuf,
    },
    /// `load_any` could not tell which kind of manifest the file is.
    #[error(
        "{}: not a cpbench manifest: expected a file named benchmark.toml or plugin.toml, \
         a file in an `audits` directory, or top-level `[[task]]`, `kind` or `[[claim]]` keys",
        path.display()
    )]
    UnknownKind {
        /// The file.
        path: PathBuf,
    },
}

fn location(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

fn key_part(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

impl ManifestError {
    /// The manifest file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ManifestError::Io { path, .. }
            | ManifestError::Syntax { path, .. }
            | ManifestError::Invalid { path, .. }
            | ManifestError::MissingFile { path, .. }
            | ManifestError::UnknownKind { path } => path,
        }
    }

    /// The dotted key path the error is about, when it concerns one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ManifestError::Invalid { key, .. } | ManifestError::MissingFile { key, .. } => {
                Some(key)
            }
            _ => None,
        }
    }

    /// The 1-based line the error is about, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ManifestError::Syntax { line, .. }
            | ManifestError::Invalid { line, .. }
            | ManifestError::MissingFile { line, .. } => *line,
            _ => None,
        }
    }
}

/// A validated manifest together with where it was loaded from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// The manifest's contents.
    pub manifest: T,
    /// The manifest file as given to the loader.
    pub path: PathBuf,
    /// The directory holding the manifest; relative paths inside it are relative to this.
    pub dir: PathBuf,
}

impl<T> Loaded<T> {
    /// `rel` resolved against the manifest's directory; absolute paths are returned unchanged.
    pub fn resolve(&self, rel: &Path) -> PathBuf {
        source::resolve(&self.dir, rel)
    }
}

/// A data file a manifest refers to, with the digest it pins (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRef {
    /// Dotted key path of the reference, e.g. `data.annotations[0].path`.
    pub key: String,
    /// The file, resolved against the manifest's directory.
    pub path: PathBuf,
    /// The expected lowercase hex SHA-256, when the manifest pins one.
    pub sha256: Option<String>,
    /// The remote object this file is fetched from; `path` is then its place in the data
    /// cache, which holds it once fetched.
    pub remote: Option<RemoteFile>,
}

/// Any of the three manifest kinds, as returned by [`load_any`].
#[derive(Debug, Clone, PartialEq)]
pub enum AnyManifest {
    /// A `benchmark.toml`.
    Benchmark(Box<Loaded<BenchmarkManifest>>),
    /// A `plugin.toml`.
    Plugin(Box<Loaded<PluginManifest>>),
    /// An `audits/<id>.toml`.
    Audit(Box<Loaded<AuditManifest>>),
}

impl AnyManifest {
    /// The manifest file.
    pub fn path(&self) -> &Path {
        match self {
            AnyManifest::Benchmark(m) => &m.path,
            AnyManifest::Plugin(m) => &m.path,
            AnyManifest::Audit(m) => &m.path,
        }
    }

    /// The manifest's `id`.
    pub fn id(&self) -> &str {
        match self {
            AnyManifest::Benchmark(m) => &m.manifest.id,
            AnyManifest::Plugin(m) => &m.manifest.id,
            AnyManifest::Audit(m) => &m.manifest.id,
        }
    }

    /// `"benchmark"`, `"plugin"` or `"audit"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            AnyManifest::Benchmark(_) => "benchmark",
            AnyManifest::Plugin(_) => "plugin",
            AnyManifest::Audit(_) => "audit",
        }
    }

    /// The data files the manifest pins (none for audits); remote ones at their place in
    /// `cache`.
    pub fn data_files(&self, cache: &crate::datacache::DataCache) -> Vec<DataRef> {
        match self {
            AnyManifest::Benchmark(m) => m.data_files(cache),
            AnyManifest::Plugin(m) => m.data_files(),
            AnyManifest::Audit(_) => Vec::new(),
        }
    }
}

/// A manifest type: deserialized by serde, then checked against its document.
pub(crate) trait Manifest: serde::de::DeserializeOwned {
    /// Checks on the document before serde reads it (default: none).
    fn precheck(_doc: &Doc<'_>) -> Result<(), ManifestError> {
        Ok(())
    }

    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError>;
}

fn manifest_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn read(path: &Path) -> Result<String, ManifestError> {
    std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn load_doc<T: Manifest>(
    doc: &Doc<'_>,
    path: &Path,
    dir: PathBuf,
) -> Result<Loaded<T>, ManifestError> {
    T::precheck(doc)?;
    let manifest: T = doc.deserialize()?;
    manifest.validate(doc)?;
    Ok(Loaded {
        manifest,
        path: path.to_path_buf(),
        dir,
    })
}

/// Parses and validates `text` as the manifest at `path` (which need not exist; referenced
/// files are looked up next to it).
fn load_str<T: Manifest>(path: &Path, text: &str) -> Result<Loaded<T>, ManifestError> {
    let dir = manifest_dir(path);
    let doc = Doc::parse(path, &dir, text)?;
    load_doc(&doc, path, dir.clone())
}

/// Loads and validates a `benchmark.toml`.
pub fn load_benchmark(path: &Path) -> Result<Loaded<BenchmarkManifest>, ManifestError> {
    load_str(path, &read(path)?)
}

/// Loads and validates a `plugin.toml`.
pub fn load_plugin(path: &Path) -> Result<Loaded<PluginManifest>, ManifestError> {
    load_str(path, &read(path)?)
}

/// Loads and validates a `cpbench prep pipeline` steps file (`[columns]` and `[[preprocess]]`).
pub fn load_pipeline(path: &Path) -> Result<Loaded<PrepPipeline>, ManifestError> {
    load_str(path, &read(path)?)
}

/// Loads and validates an audit manifest (`audits/<id>.toml`).
pub fn load_audit(path: &Path) -> Result<Loaded<AuditManifest>, ManifestError> {
    load_str(path, &read(path)?)
}

/// Loads any manifest, telling the kind by file name (`benchmark.toml`, `plugin.toml`, a
/// file in an `audits` directory) or, failing that, by its top-level keys.
pub fn load_any(path: &Path) -> Result<AnyManifest, ManifestError> {
    let text = read(path)?;
    let dir = manifest_dir(path);
    let doc = Doc::parse(path, &dir, &text)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let in_audits = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "audits");
    if file_name == "benchmark.toml" {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Benchmark(Box::new(m)))
    } else if file_name == "plugin.toml" {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Plugin(Box::new(m)))
    } else if in_audits {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Audit(Box::new(m)))
    } else if doc.has_top_level_key("task") {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Benchmark(Box::new(m)))
    } else if doc.has_top_level_key("kind") {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Plugin(Box::new(m)))
    } else if doc.has_top_level_key("claim") {
        load_doc(&doc, path, dir.clone()).map(|m| AnyManifest::Audit(Box::new(m)))
    } else {
        Err(ManifestError::UnknownKind {
            path: path.to_path_buf(),
        })
    }
}

/// JSON Schemas of the three manifests, as (file name, pretty JSON with a final newline);
/// the committed copies live in `ci/schemas/`.
pub fn json_schemas() -> Vec<(&'static str, String)> {
    fn render<T: JsonSchema>() -> String {
        let schema = schemars::generate::SchemaSettings::draft2020_12()
            .with_transform(schemars::transform::RecursiveTransform(drop_null))
            .into_generator()
            .into_root_schema_for::<T>();
        let mut json = serde_json::to_string_pretty(&schema).expect("a schema serializes");
        json.push('\n');
        json
    }
    vec![
        ("benchmark.schema.json", render::<BenchmarkManifest>()),
        ("plugin.schema.json", render::<PluginManifest>()),
        ("audit.schema.json", render::<AuditManifest>()),
    ]
}

/// TOML has no null: a manifest leaves an option unset by omitting the key, so the `null`
/// alternatives schemars gives `Option` fields would only mislead editors.
fn drop_null(schema: &mut schemars::Schema) {
    use serde_json::Value;
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".to_string(), only);
        }
    }
    let is_null = |s: &Value| s.get("type").is_some_and(|t| t == "null");
    if let Some(Value::Array(alternatives)) = obj.get("anyOf")
        && alternatives.iter().any(is_null)
    {
        let mut rest: Vec<Value> = alternatives
            .iter()
            .filter(|s| !is_null(s))
            .cloned()
            .collect();
        obj.remove("anyOf");
        match rest.pop() {
            Some(Value::Object(only)) if rest.is_empty() => {
                for (k, v) in only {
                    obj.entry(k).or_insert(v);
                }
            }
            Some(last) => {
                rest.push(last);
                obj.insert("anyOf".to_string(), Value::Array(rest));
            }
            None => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::path::{Path, PathBuf};

    use super::{Loaded, Manifest, ManifestError};

    /// A temporary directory holding a manifest and the files it refers to.
    pub(crate) struct Fixture {
        pub(crate) dir: tempfile::TempDir,
    }

    impl Fixture {
        pub(crate) fn new(files: &[&str]) -> Fixture {
            let dir = tempfile::tempdir().expect("tempdir");
            for f in files {
                let p = dir.path().join(f);
                std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                std::fs::write(&p, b"x").expect("write");
            }
            Fixture { dir }
        }

        pub(crate) fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        pub(crate) fn load<T: Manifest>(
            &self,
            name: &str,
            text: &str,
        ) -> Result<Loaded<T>, ManifestError> {
            super::load_str(&self.path(name), text)
        }

        /// Loads `text`, expecting an error; returns its Display.
        pub(crate) fn error<T: Manifest + std::fmt::Debug>(
            &self,
            name: &str,
            text: &str,
        ) -> String {
            match self.load::<T>(name, text) {
                Ok(m) => panic!("expected an error, loaded {:?}", m.manifest),
                Err(e) => e.to_string(),
            }
        }
    }

    /// Asserts that `err` names `key` (as `key `...``) and contains `fragment`.
    pub(crate) fn assert_err(err: &str, key: &str, fragment: &str) {
        assert!(
            err.contains(&format!("key `{key}`: ")),
            "expected key `{key}` in: {err}"
        );
        assert!(err.contains(fragment), "expected `{fragment}` in: {err}");
    }

    pub(crate) fn relative(p: &Path, base: &Path) -> PathBuf {
        p.strip_prefix(base).expect("under base").to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/schemas")
    }

    /// Set `CPBENCH_UPDATE_SCHEMAS=1` to rewrite the committed schemas instead of comparing.
    #[test]
    fn committed_schemas_are_current() {
        let dir = schema_dir();
        let update = std::env::var_os("CPBENCH_UPDATE_SCHEMAS").is_some();
        for (name, json) in json_schemas() {
            let file = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&file, &json).unwrap();
                continue;
            }
            let committed = std::fs::read_to_string(&file).unwrap_or_default();
            assert!(
                committed == json,
                "ci/schemas is stale: run `cargo run -p cpbench -- schemas ci/schemas` ({name} differs)"
            );
        }
    }

    #[test]
    fn schemas_carry_descriptions_and_deny_unknown_keys() {
        let schemas = json_schemas();
        let names: Vec<&str> = schemas.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "benchmark.schema.json",
                "plugin.schema.json",
                "audit.schema.json"
            ]
        );
        for (name, json) in &schemas {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["additionalProperties"], false, "{name}");
            assert!(!json.contains("\"null\""), "{name}: TOML has no null");
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}"
            );
            // Every property of every object definition is documented for plugin authors.
            let mut objects = vec![("root".to_string(), &v)];
            if let Some(defs) = v["$defs"].as_object() {
                objects.extend(defs.iter().map(|(k, d)| (k.clone(), d)));
            }
            for (def, obj) in objects {
                if let Some(props) = obj["properties"].as_object() {
                    for (prop, schema) in props {
                        assert!(
                            schema["description"]
                                .as_str()
                                .is_some_and(|d| !d.is_empty()),
                            "{name}: {def}.{prop} has no description"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn loaded_resolves_relative_paths_against_the_manifest_dir() {
        let loaded = Loaded {
            manifest: (),
            path: PathBuf::from("benchmarks/x/benchmark.toml"),
            dir: manifest_dir(Path::new("benchmarks/x/benchmark.toml")),
        };
        assert_eq!(
            loaded.resolve(Path::new("../data/p.csv")),
            PathBuf::from("benchmarks/x/../data/p.csv")
        );
        let abs = std::env::temp_dir().join("p.csv");
        assert_eq!(loaded.resolve(&abs), abs);
        assert_eq!(manifest_dir(Path::new("plugin.toml")), PathBuf::from("."));
    }

    #[test]
    fn load_any_tells_kinds_apart() {
        let fx = test_util::Fixture::new(&["p.csv"]);
        let bench = benchmark::tests::MINIMAL;
        std::fs::write(fx.path("benchmark.toml"), bench).unwrap();
        std::fs::write(fx.path("other.toml"), bench).unwrap();
        std::fs::create_dir_all(fx.path("audits")).unwrap();
        std::fs::write(fx.path("audits/a.toml"), audit::tests::MINIMAL).unwrap();
        std::fs::write(fx.path("plugin.toml"), plugin::tests::MINIMAL).unwrap();
        std::fs::write(fx.path("junk.toml"), "x = 1\n").unwrap();
        let kinds: Vec<&str> = [
            "benchmark.toml",
            "other.toml",
            "audits/a.toml",
            "plugin.toml",
        ]
        .iter()
        .map(|f| load_any(&fx.path(f)).unwrap().kind_name())
        .collect();
        assert_eq!(kinds, ["benchmark", "benchmark", "audit", "plugin"]);
        let err = load_any(&fx.path("junk.toml")).unwrap_err();
        assert!(matches!(err, ManifestError::UnknownKind { .. }), "{err}");
        // The file name wins over the keys: a plugin body in benchmark.toml is a benchmark error.
        std::fs::write(fx.path("benchmark.toml"), plugin::tests::MINIMAL).unwrap();
        let err = load_any(&fx.path("benchmark.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("benchmark.toml:") && err.contains(": unknown key"),
            "{err}"
        );
    }

    #[test]
    fn io_and_syntax_errors_name_the_file_and_line() {
        let fx = test_util::Fixture::new(&[]);
        let err = load_benchmark(&fx.path("none/benchmark.toml")).unwrap_err();
        assert!(matches!(err, ManifestError::Io { .. }));
        assert!(err.to_string().contains("benchmark.toml"), "{err}");
        let err = fx.error::<BenchmarkManifest>("benchmark.toml", "id = 'a'\nid = 'b'\n");
        assert!(
            err.contains("benchmark.toml:2: invalid TOML: duplicate key"),
            "{err}"
        );
    }

    #[test]
    fn errors_expose_key_and_line() {
        let fx = test_util::Fixture::new(&["p.csv"]);
        let text = benchmark::tests::MINIMAL.replace("null_size = 100", "null_size = -1");
        let err = fx
            .load::<BenchmarkManifest>("benchmark.toml", &text)
            .unwrap_err();
        assert_eq!(err.key(), Some("task[0].null_size"));
        let line = text
            .lines()
            .position(|l| l.starts_with("null_size"))
            .unwrap()
            + 1;
        assert_eq!(err.line(), Some(line));
        assert!(
            err.to_string().starts_with(&format!(
                "{}:{line}: key `task[0].null_size`: ",
                fx.path("benchmark.toml").display()
            )),
            "{err}"
        );
    }
}
