//! Parameter tables shared by `[[preprocess]]` steps and `[[task]]`s: each operation or metric
//! names the keys it requires, allows, and of which exactly one must be given. The keys a
//! step or task sets are read off its serialized form, in document order, so the first error
//! reported is the first one a reader meets.

use serde::Serialize;

use crate::manifest::ManifestError;
use crate::manifest::source::Doc;

/// Keys set in a flat parameter struct, found via its serialized form so the list
/// cannot drift from the struct's fields; ordered as written in the document, so the first
/// error reported is the first one a reader meets.
pub(super) fn present_keys<T: Serialize>(
    doc: &Doc<'_>,
    prefix: &str,
    value: &T,
    skip: &[&str],
) -> Vec<String> {
    let mut keys: Vec<String> = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !skip.contains(&k.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    keys.sort_by_cached_key(|k| doc.line_of(&format!("{prefix}.{k}")));
    keys
}

/// Checks parameters against an operation's or metric's table.
pub(super) fn check_params(
    doc: &Doc<'_>,
    prefix: &str,
    what: &str,
    present: &[String],
    required: &[&str],
    allowed: &[&str],
    one_of: &[&str],
) -> Result<(), ManifestError> {
    for key in present {
        if !allowed.contains(&key.as_str()) {
            return Err(doc.invalid(
                format!("{prefix}.{key}"),
                format!(
                    "not a parameter of {what} (allowed: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    for key in required {
        if !present.iter().any(|p| p == key) {
            return Err(doc.invalid(format!("{prefix}.{key}"), format!("required by {what}")));
        }
    }
    if !one_of.is_empty() {
        let set: Vec<&String> = present
            .iter()
            .filter(|p| one_of.contains(&p.as_str()))
            .collect();
        match set.as_slice() {
            [_] => {}
            [] => {
                return Err(doc.invalid(
                    format!("{prefix}.{}", one_of[0]),
                    format!("{what} needs one of: {}", one_of.join(", ")),
                ));
            }
            [_, second, ..] => {
                return Err(doc.invalid(
                    format!("{prefix}.{second}"),
                    format!("give only one of: {}", one_of.join(", ")),
                ));
            }
        }
    }
    Ok(())
}
