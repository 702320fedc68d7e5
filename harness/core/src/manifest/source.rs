//! A manifest's text, parsed once with spans, so that every error (serde's or ours) can name
//! the key path and the line it concerns.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

use super::ManifestError;

/// A parsed manifest document: its location, its text and its spanned TOML tree.
pub(crate) struct Doc<'a> {
    path: &'a Path,
    dir: &'a Path,
    text: &'a str,
    root: DeValue<'a>,
}

impl<'a> Doc<'a> {
    /// Parses `text` as TOML; a syntax error names the line.
    pub(crate) fn parse(
        path: &'a Path,
        dir: &'a Path,
        text: &'a str,
    ) -> Result<Self, ManifestError> {
        let root = DeTable::parse(text).map_err(|e| ManifestError::Syntax {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_at(text, s.start)),
            message: e.message().to_string(),
        })?;
        Ok(Doc {
            path,
            dir,
            text,
            root: DeValue::Table(root.into_inner()),
        })
    }

    /// The top-level keys, for telling manifest kinds apart.
    pub(crate) fn has_top_level_key(&self, key: &str) -> bool {
        self.root.get(key).is_some()
    }

    /// Deserializes the whole document, tracking the key path of the first error.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ManifestError> {
        let de = toml::de::Deserializer::parse(self.text).map_err(|e| ManifestError::Syntax {
            path: self.path.to_path_buf(),
            line: e.span().map(|s| line_at(self.text, s.start)),
            message: e.message().to_string(),
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| self.serde_error(&e))
    }

    fn serde_error(&self, err: &serde_path_to_error::Error<toml::de::Error>) -> ManifestError {
        let mut key = err.path().to_string();
        if key == "." {
            key.clear();
        }
        let inner = err.inner();
        let line = inner.span().map(|s| line_at(self.text, s.start));
        let (key, message) = humanize(key, inner.message());
        ManifestError::Invalid {
            path: self.path.to_path_buf(),
            key,
            line,
            message,
        }
    }

    /// An error about `key` (a path such as `task[2].k`), with the line where that key, or
    /// its nearest enclosing table when the key is absent, is written.
    pub(crate) fn invalid(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ManifestError {
        let key = key.into();
        ManifestError::Invalid {
            path: self.path.to_path_buf(),
            line: self.line_of(&key),
            key,
            message: message.into(),
        }
    }

    /// The 1-based line of `key`, falling back to its nearest ancestor present in the document.
    pub(crate) fn line_of(&self, key: &str) -> Option<usize> {
        let mut node = &self.root;
        let mut span = None;
        for seg in segments(key) {
            let next = match seg {
                Seg::Key(k) => node.get(k),
                Seg::Index(i) => node.get(i),
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    node = v.get_ref();
                }
                None => break,
            }
        }
        span.map(|s| line_at(self.text, s.start))
    }

    /// The value at `key` exactly (no fallback to an ancestor).
    fn node(&self, key: &str) -> Option<&DeValue<'a>> {
        let mut node = &self.root;
        for seg in segments(key) {
            let next = match seg {
                Seg::Key(k) => node.get(k),
                Seg::Index(i) => node.get(i),
            }?;
            node = next.get_ref();
        }
        Some(node)
    }

    /// The keys of the table at `key`, in document order; none when it is not a table.
    pub(crate) fn keys_of(&self, key: &str) -> Vec<String> {
        let Some(table) = self.node(key).and_then(DeValue::as_table) else {
            return Vec::new();
        };
        let mut keys: Vec<(usize, String)> = table
            .iter()
            .map(|(k, _)| (k.span().start, k.get_ref().to_string()))
            .collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    /// The string at `key`, when it is one.
    pub(crate) fn str_at(&self, key: &str) -> Option<&str> {
        self.node(key).and_then(DeValue::as_str)
    }

    /// The length of the array at `key` (0 when absent or not an array).
    pub(crate) fn len_of(&self, key: &str) -> usize {
        self.node(key)
            .and_then(DeValue::as_array)
            .map_or(0, |a| a.len())
    }

    /// The manifest's directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir
    }

    /// `rel` resolved against the manifest's directory (absolute paths stay as they are).
    pub(crate) fn resolve(&self, rel: &Path) -> PathBuf {
        resolve(self.dir, rel)
    }

    /// Fails unless the file `rel` (named by `key`) exists.
    pub(crate) fn require_file(&self, key: &str, rel: &Path) -> Result<(), ManifestError> {
        if rel.as_os_str().is_empty() {
            return Err(self.invalid(key, "empty path"));
        }
        let file = self.resolve(rel);
        if file.is_file() {
            Ok(())
        } else {
            Err(self.missing_file(key, file))
        }
    }

    /// The error for a referenced file (already resolved) that does not exist.
    pub(crate) fn missing_file(&self, key: &str, file: PathBuf) -> ManifestError {
        ManifestError::MissingFile {
            path: self.path.to_path_buf(),
            line: self.line_of(key),
            key: key.to_string(),
            file,
        }
    }

    pub(crate) fn check_schema_version(&self, version: u32) -> Result<(), ManifestError> {
        if version == super::SCHEMA_VERSION {
            Ok(())
        } else {
            Err(self.invalid(
                "schema_version",
                format!(
                    "unsupported schema version {version}; this cpbench reads schema_version = {}",
                    super::SCHEMA_VERSION
                ),
            ))
        }
    }

    pub(crate) fn check_slug(&self, key: &str, value: &str) -> Result<(), ManifestError> {
        if is_slug(value) {
            Ok(())
        } else {
            Err(self.invalid(
                key,
                format!(
                    "`{value}` is not a valid id: use lowercase letters, digits and '-', \
                     starting with a letter or digit"
                ),
            ))
        }
    }

    pub(crate) fn check_sha256(&self, key: &str, value: Option<&str>) -> Result<(), ManifestError> {
        match value {
            Some(v) if !is_sha256(v) => Err(self.invalid(
                key,
                format!("`{v}` is not a SHA-256 digest: expected 64 lowercase hex digits"),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn check_nonempty(&self, key: &str, value: &str) -> Result<(), ManifestError> {
        if value.trim().is_empty() {
            Err(self.invalid(key, "must not be empty"))
        } else {
            Ok(())
        }
    }

    /// A list must be non-empty and hold no empty or repeated entries.
    pub(crate) fn check_names(&self, key: &str, values: &[String]) -> Result<(), ManifestError> {
        if values.is_empty() {
            return Err(self.invalid(key, "must list at least one entry"));
        }
        for (i, v) in values.iter().enumerate() {
            self.check_nonempty(&format!("{key}[{i}]"), v)?;
            if values[..i].contains(v) {
                return Err(self.invalid(format!("{key}[{i}]"), format!("`{v}` is listed twice")));
            }
        }
        Ok(())
    }

    /// A float must be finite and lie in `[lo, hi]` (or `(lo, hi]` when `lo_open`).
    pub(crate) fn check_range(
        &self,
        key: &str,
        value: f64,
        lo: f64,
        lo_open: bool,
        hi: f64,
    ) -> Result<(), ManifestError> {
        let above = if lo_open { value > lo } else { value >= lo };
        if value.is_finite() && above && value <= hi {
            return Ok(());
        }
        let open = if lo_open { "(" } else { "[" };
        let range = if hi.is_infinite() {
            if lo_open {
                format!("> {lo}")
            } else {
                format!(">= {lo}")
            }
        } else {
            format!("in {open}{lo}, {hi}]")
        };
        Err(self.invalid(
            key,
            format!("{value} is out of range: must be finite and {range}"),
        ))
    }

    /// An integer must be at least `min`.
    pub(crate) fn check_min(&self, key: &str, value: u64, min: u64) -> Result<(), ManifestError> {
        if value >= min {
            Ok(())
        } else {
            Err(self.invalid(key, format!("must be at least {min}")))
        }
    }
}

pub(crate) fn resolve(dir: &Path, rel: &Path) -> PathBuf {
    if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        dir.join(rel)
    }
}

pub(crate) fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

enum Seg<'k> {
    Key(&'k str),
    Index(usize),
}

/// Splits `task[2].pos_sameby[0]` into `task`, 2, `pos_sameby`, 0. Manifest keys never
/// contain `.` or `[`, so no quoting is needed.
fn segments(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Seg::Key(name));
        }
        while let Some((idx, tail)) = rest.split_once(']') {
            if let Ok(i) = idx.parse() {
                out.push(Seg::Index(i));
            }
            rest = tail.strip_prefix('[').unwrap_or(tail);
        }
    }
    out
}

/// Rewrites serde's messages into manifest vocabulary: a missing field names the missing key,
/// an unknown field suggests the nearest allowed one, Rust type names become TOML ones.
fn humanize(key: String, message: &str) -> (String, String) {
    if let Some(field) = backticked(message.strip_prefix("missing field ")) {
        let key = if key.is_empty() {
            field.to_string()
        } else {
            format!("{key}.{field}")
        };
        return (key, "required key is missing".to_string());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let field = backticked(Some(rest)).unwrap_or_default();
        let allowed: Vec<&str> = rest
            .split_once(", ")
            .map(|(_, expected)| expected.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let message = match closest(field, &allowed) {
            Some(near) => format!("unknown key (did you mean `{near}`?)"),
            None if allowed.is_empty() => "unknown key (this table takes no keys)".to_string(),
            None => format!("unknown key (allowed: {})", allowed.join(", ")),
        };
        return (key, message);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return (key, format!("unknown value {rest}"));
    }
    static RUST_TYPES: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"expected (u8|u16|u32|u64|usize|i8|i16|i32|i64|f32|f64)\b")
            .expect("valid regex")
    });
    let message = RUST_TYPES.replace_all(message, |c: &regex::Captures<'_>| {
        if c[1].starts_with('f') {
            "expected a number".to_string()
        } else if c[1].starts_with('u') {
            "expected a non-negative integer".to_string()
        } else {
            "expected an integer".to_string()
        }
    });
    (key, message.into_owned())
}

fn backticked(s: Option<&str>) -> Option<&str> {
    s?.strip_prefix('`')?.split('`').next()
}

/// The allowed name within edit distance 2 of `word`, if exactly one is nearest.
pub(crate) fn closest<'s>(word: &str, candidates: &[&'s str]) -> Option<&'s str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_digests() {
        assert!(is_slug("lincs-sq00015054"));
        assert!(is_slug("0abc"));
        assert!(!is_slug("-abc"));
        assert!(!is_slug("Abc"));
        assert!(!is_slug("a_b"));
        assert!(!is_slug(""));
        assert!(is_sha256(&"ab".repeat(32)));
        assert!(!is_sha256(&"AB".repeat(32)));
        assert!(!is_sha256(&"ab".repeat(31)));
    }

    #[test]
    fn key_paths_split_into_keys_and_indices() {
        let segs: Vec<String> = segments("task[2].pos_sameby[0]")
            .into_iter()
            .map(|s| match s {
                Seg::Key(k) => k.to_string(),
                Seg::Index(i) => format!("#{i}"),
            })
            .collect();
        assert_eq!(segs, ["task", "#2", "pos_sameby", "#0"]);
    }

    #[test]
    fn lines_fall_back_to_the_enclosing_table() {
        let text =
            "id = 'x'\n\n[data]\nprofiles = 'p'\n\n[[task]]\nid = 'a'\n[[task]]\nid = 'b'\nk = 3\n";
        let doc = Doc::parse(Path::new("m.toml"), Path::new("."), text).unwrap();
        assert_eq!(doc.line_of("data.profiles"), Some(4));
        assert_eq!(doc.line_of("task[1].k"), Some(10));
        // Absent key: the line of its table header.
        assert_eq!(doc.line_of("task[1].seed"), Some(8));
        assert_eq!(doc.line_of("nothing"), None);
    }

    #[test]
    fn serde_messages_are_rewritten() {
        let (k, m) = humanize("task[1]".into(), "missing field `id`");
        assert_eq!(
            (k.as_str(), m.as_str()),
            ("task[1].id", "required key is missing")
        );
        let (_, m) = humanize(
            "task[0].nul_size".into(),
            "unknown field `nul_size`, expected one of `id`, `null_size`, `seed`",
        );
        assert_eq!(m, "unknown key (did you mean `null_size`?)");
        let (_, m) = humanize(
            "x".into(),
            "unknown field `zzzzzz`, expected `id` or `seed`",
        );
        assert_eq!(m, "unknown key (allowed: id, seed)");
        let (_, m) = humanize("k".into(), "invalid type: string \"3\", expected u32");
        assert_eq!(
            m,
            "invalid type: string \"3\", expected a non-negative integer"
        );
    }
}
