//! Building the allowed context columns from a benchmark's metadata.

use cpbench_core::Profiles;
use cpbench_plugin_api::ContextColumn;
use cpbench_plugin_api::context::{
    BATCH, CONTROL, CONTROL_FALSE, CONTROL_TRUE, PLATE, SPLIT, WELL,
};

use crate::error::HostError;

/// Which metadata columns hold the context a plugin may see; `None` leaves that context out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextRoles {
    /// Plate column.
    pub plate: Option<String>,
    /// Well column.
    pub well: Option<String>,
    /// Batch column.
    pub batch: Option<String>,
    /// Split column (e.g. `train` / `test`).
    pub split: Option<String>,
}

/// The allowed context of `profiles`: the role columns above plus the control flag per row.
///
/// Missing values become empty strings, so a plugin always gets one value per row.
pub fn build_context(
    profiles: &Profiles,
    roles: &ContextRoles,
    controls: Option<&[bool]>,
) -> Result<Vec<ContextColumn>, HostError> {
    let mut out = Vec::new();
    for (name, column) in [
        (PLATE, &roles.plate),
        (WELL, &roles.well),
        (BATCH, &roles.batch),
        (SPLIT, &roles.split),
    ] {
        let Some(column) = column else { continue };
        let values = profiles.meta_strings(column)?;
        out.push(context_column(
            name,
            values.into_iter().map(Option::unwrap_or_default),
        )?);
    }
    if let Some(mask) = controls {
        if mask.len() != profiles.n_rows() {
            return Err(cpbench_core::Error::Shape(format!(
                "control mask has {} entries for {} rows",
                mask.len(),
                profiles.n_rows()
            ))
            .into());
        }
        out.push(context_column(
            CONTROL,
            mask.iter()
                .map(|&c| if c { CONTROL_TRUE } else { CONTROL_FALSE }),
        )?);
    }
    Ok(out)
}

fn context_column<S: Into<cpbench_plugin_api::abi_stable::std_types::RString>>(
    name: &str,
    values: impl IntoIterator<Item = S>,
) -> Result<ContextColumn, HostError> {
    ContextColumn::new(name, values).map_err(|message| cpbench_core::Error::Shape(message).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpbench_core::Level;
    use polars::prelude::*;

    #[test]
    fn only_named_roles_and_the_control_flag_are_built() {
        let meta = df!(
            "Metadata_Plate" => ["p1", "p2"],
            "Metadata_moa" => ["a", "b"],
        )
        .unwrap();
        let p = Profiles::new(meta, vec![1.0, 2.0], vec!["f".into()], Level::Well).unwrap();
        let roles = ContextRoles {
            plate: Some("Metadata_Plate".into()),
            ..Default::default()
        };
        let ctx = build_context(&p, &roles, Some(&[true, false])).unwrap();
        let names: Vec<&str> = ctx.iter().map(ContextColumn::name).collect();
        assert_eq!(names, ["plate", "control"]);
        assert_eq!(ctx[1].values()[0].as_str(), "true");
        let missing = ContextRoles {
            well: Some("Metadata_Well".into()),
            ..Default::default()
        };
        let err = build_context(&p, &missing, None).unwrap_err().to_string();
        assert!(err.contains("Metadata_Well"), "{err}");
    }
}
