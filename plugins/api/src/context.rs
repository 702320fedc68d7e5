//! The per-row context a plugin may see, and the label firewall that limits it.
//!
//! A benchmark's rows carry labels (mechanism of action, pathway, complex membership,
//! perturbation identity) that the scoring uses as ground truth. A plugin that could read them
//! could score well without learning anything, so the host hands a plugin only the columns
//! named in [`ALLOWED_CONTEXT`]. This module is the one place such a column can be built:
//! [`ContextColumn::new`] refuses every other name, and its fields are private so no other
//! code path can produce one.

use abi_stable::StableAbi;
use abi_stable::std_types::{RString, RVec};

/// Context name: the plate each row was imaged on.
pub const PLATE: &str = "plate";
/// Context name: the well each row comes from (e.g. `A01`).
pub const WELL: &str = "well";
/// Context name: the experimental batch each row belongs to.
pub const BATCH: &str = "batch";
/// Context name: whether each row is a negative control, as [`CONTROL_TRUE`] or [`CONTROL_FALSE`].
pub const CONTROL: &str = "control";
/// Context name: the data split each row belongs to (e.g. `train`, `test`), when a benchmark has one.
pub const SPLIT: &str = "split";

/// The only column names a plugin may receive; everything else stays behind the firewall.
pub const ALLOWED_CONTEXT: [&str; 5] = [PLATE, WELL, BATCH, CONTROL, SPLIT];

/// Value of the [`CONTROL`] column for a control row.
pub const CONTROL_TRUE: &str = "true";
/// Value of the [`CONTROL`] column for a non-control row.
pub const CONTROL_FALSE: &str = "false";

/// One column of allowed per-row context, one value per row of the matrix it accompanies.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ContextColumn {
    name: RString,
    values: RVec<RString>,
}

impl ContextColumn {
    /// Builds a column, refusing any name outside [`ALLOWED_CONTEXT`] and malformed control flags.
    pub fn new<S: Into<RString>>(
        name: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Result<ContextColumn, String> {
        if !ALLOWED_CONTEXT.contains(&name) {
            return Err(format!(
                "context column '{name}' is not allowed: plugins may only see {} \
                 (the label firewall keeps benchmark labels away from plugins)",
                ALLOWED_CONTEXT.join(", ")
            ));
        }
        let values: RVec<RString> = values.into_iter().map(Into::into).collect();
        if name == CONTROL
            && let Some((row, bad)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| v.as_str() != CONTROL_TRUE && v.as_str() != CONTROL_FALSE)
        {
            return Err(format!(
                "context column '{CONTROL}' row {} (counting from 1) holds '{bad}'; \
                 expected '{CONTROL_TRUE}' or '{CONTROL_FALSE}'",
                row + 1
            ));
        }
        Ok(ContextColumn {
            name: name.into(),
            values,
        })
    }

    /// The column's name, one of [`ALLOWED_CONTEXT`].
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// One value per row.
    pub fn values(&self) -> &[RString] {
        self.values.as_slice()
    }

    /// Number of rows the column covers.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column covers no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Borrowed view over the context columns passed with one matrix.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    columns: &'a [ContextColumn],
}

impl<'a> Context<'a> {
    /// Wraps the columns; shape checks happen in [`Context::check`].
    pub fn new(columns: &'a [ContextColumn]) -> Context<'a> {
        Context { columns }
    }

    /// All columns, in the order the host sent them.
    pub fn columns(&self) -> &'a [ContextColumn] {
        self.columns
    }

    /// The values of the column called `name`, if the host sent it.
    pub fn get(&self, name: &str) -> Option<&'a [RString]> {
        self.columns
            .iter()
            .find(|c| c.name() == name)
            .map(ContextColumn::values)
    }

    /// Per-row control flags, if the host sent the [`CONTROL`] column.
    pub fn controls(&self) -> Option<Vec<bool>> {
        self.get(CONTROL)
            .map(|v| v.iter().map(|s| s.as_str() == CONTROL_TRUE).collect())
    }

    /// Checks that every column is allowed, appears once, and has exactly `rows` values.
    ///
    /// Re-checked on the plugin side because the columns cross an FFI boundary, where the
    /// constructor's guarantees are only as good as the host that built them.
    pub fn check(&self, rows: usize) -> Result<(), String> {
        for (i, col) in self.columns.iter().enumerate() {
            if !ALLOWED_CONTEXT.contains(&col.name()) {
                return Err(format!(
                    "context column '{}' is not allowed (allowed: {})",
                    col.name(),
                    ALLOWED_CONTEXT.join(", ")
                ));
            }
            if self.columns[..i].iter().any(|c| c.name() == col.name()) {
                return Err(format!("context column '{}' was sent twice", col.name()));
            }
            if col.len() != rows {
                return Err(format!(
                    "context column '{}' has {} values but the matrix has {rows} rows",
                    col.name(),
                    col.len()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_names_are_accepted() {
        for name in ALLOWED_CONTEXT {
            let values = if name == CONTROL { CONTROL_TRUE } else { "x" };
            let col = ContextColumn::new(name, [values]).unwrap();
            assert_eq!(col.name(), name);
            assert_eq!(col.len(), 1);
        }
    }

    #[test]
    fn label_columns_are_refused() {
        for label in [
            "Metadata_moa",
            "moa",
            "pathway",
            "perturbation",
            "Metadata_Plate",
        ] {
            let err = ContextColumn::new(label, ["a"]).unwrap_err();
            assert!(err.contains(&format!("'{label}' is not allowed")), "{err}");
            assert!(err.contains("label firewall"), "{err}");
        }
    }

    #[test]
    fn control_flags_must_be_true_or_false() {
        let err = ContextColumn::new(CONTROL, ["true", "DMSO"]).unwrap_err();
        assert!(
            err.contains("row 2 (counting from 1) holds 'DMSO'"),
            "{err}"
        );
    }

    #[test]
    fn check_catches_length_and_duplicates() {
        let plate = ContextColumn::new(PLATE, ["P1", "P2"]).unwrap();
        let cols = [plate.clone()];
        assert!(Context::new(&cols).check(2).is_ok());
        let err = Context::new(&cols).check(3).unwrap_err();
        assert!(
            err.contains("has 2 values but the matrix has 3 rows"),
            "{err}"
        );
        let cols = [plate.clone(), plate];
        let err = Context::new(&cols).check(2).unwrap_err();
        assert!(err.contains("sent twice"), "{err}");
    }

    #[test]
    fn lookup_by_name() {
        let cols = [
            ContextColumn::new(CONTROL, ["true", "false", "true"]).unwrap(),
            ContextColumn::new(WELL, ["A01", "A02", "A03"]).unwrap(),
        ];
        let ctx = Context::new(&cols);
        assert_eq!(ctx.controls(), Some(vec![true, false, true]));
        assert_eq!(ctx.get(WELL).unwrap()[1].as_str(), "A02");
        assert!(ctx.get(BATCH).is_none());
    }
}
