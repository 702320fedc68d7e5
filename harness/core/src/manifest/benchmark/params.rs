//! Parameter tables shared by `[[preprocess]]` steps and `[[task]]`s: each operation or metric
//! names the keys it requires, allows, and of which exactly one must be given. The keys a step
//! or task sets are read off the document itself, in document order, so the first error
//! reported is the first one a reader meets.

use crate::manifest::ManifestError;
use crate::manifest::source::Doc;

/// The keys of the table at `prefix` (e.g. `task[2]`), in document order, without `skip`.
pub(super) fn doc_keys(doc: &Doc<'_>, prefix: &str, skip: &[&str]) -> Vec<String> {
    doc.keys_of(prefix)
        .into_iter()
        .filter(|k| !skip.contains(&k.as_str()))
        .collect()
}

/// Checks the keys `present` against an operation's or metric's table; on failure, the key
/// at fault and why.
pub(super) fn check_params(
    what: &str,
    present: &[String],
    required: &[&str],
    allowed: &[&str],
    one_of: &[&str],
) -> Result<(), (String, String)> {
    for key in present {
        if !allowed.contains(&key.as_str()) {
            return Err((
                key.clone(),
                format!(
                    "not a parameter of {what} (allowed: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    for key in required {
        if !present.iter().any(|p| p == key) {
            return Err((key.to_string(), format!("required by {what}")));
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
                return Err((
                    one_of[0].to_string(),
                    format!("{what} needs one of: {}", one_of.join(", ")),
                ));
            }
            [_, second, ..] => {
                return Err((
                    second.to_string(),
                    format!("give only one of: {}", one_of.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

/// A key problem of the table at `prefix`, as a manifest error naming the key's line.
pub(super) fn at_key(
    doc: &Doc<'_>,
    prefix: &str,
    (key, message): (String, String),
) -> ManifestError {
    doc.invalid(format!("{prefix}.{key}"), message)
}
