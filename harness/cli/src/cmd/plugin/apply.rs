//! `cpbench plugin apply`: one plugin on one profile table.

use std::path::PathBuf;

use std::path::Path;

use anyhow::{Result, bail};
use cpbench_core::Profiles;
use cpbench_core::io::read_table;
use cpbench_core::manifest::{OnnxShape, PluginKind};
use cpbench_core::npy::read_npy;
use cpbench_host::plugin::{ApplySpec, ContextRoles, ImageStack, apply_to_profiles, load_plugin};

use crate::Outcome;
use cpbench_runner::prep::common::fit_mask;

use crate::cmd::prep::common::IoArgs;

/// Arguments of `cpbench plugin apply`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plugin folder (or its plugin.toml).
    pub plugin: PathBuf,
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub lib_dirs: super::LibDirArgs,
    /// Plate column, handed to the plugin as context.
    #[arg(long, value_name = "COL")]
    pub plate: Option<String>,
    /// Well column, handed to the plugin as context.
    #[arg(long, value_name = "COL")]
    pub well: Option<String>,
    /// Batch column, handed to the plugin as context.
    #[arg(long, value_name = "COL")]
    pub batch: Option<String>,
    /// Split column (train/test), handed to the plugin as context.
    #[arg(long, value_name = "COL")]
    pub split: Option<String>,
    /// The negative-control rows, e.g. 'Metadata_broad_sample=DMSO' (the `control` context flag).
    #[arg(long, value_name = "EXPR")]
    pub controls: Option<String>,
    /// Rows the plugin may fit on: `all`, `controls`, or a row filter.
    #[arg(long = "fit-on", value_name = "ROWS", default_value = "all")]
    pub fit_on: String,
    /// Column with each row's perturbation or gene key (embedding tables, lookup models).
    #[arg(long, value_name = "COL")]
    pub key: Option<String>,
    /// Label columns, given only to a control with `sees_labels = true` (positive control).
    #[arg(long, value_name = "C[,C]", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Columns defining sets (e.g. plate,well) for set encoders: one output row per set.
    #[arg(long = "set-by", value_name = "C[,C]", value_delimiter = ',')]
    pub set_by: Vec<String>,
    /// Image crops for image encoders: a .npy stack `[N, C, H, W]`, one crop per row of --profiles.
    #[arg(long, value_name = "F.npy")]
    pub images: Option<PathBuf>,
}

/// Runs the plugin and writes its representation.
pub fn run(args: Args) -> Result<Outcome> {
    let env = super::run_env(&args.lib_dirs)?;
    let plugin = load_plugin(&args.plugin)?;
    cpbench_core::io::Format::of(&args.io.out)?;
    let images = match &args.images {
        Some(path) => Some(read_images(path)?),
        None => None,
    };
    // Crop tables and key tables (gene lists for embedding tables and lookup models) need no
    // feature columns: only their metadata reaches the plugin.
    let keyed = plugin.manifest.kind == PluginKind::EmbeddingTable
        || plugin.manifest.onnx.as_ref().map(|o| o.shape) == Some(OnnxShape::Lookup);
    let profiles = if images.is_some() || keyed {
        read_metadata_table(&args.io.profiles, &args.io.metadata_prefix)?
    } else {
        args.io.load()?
    };
    let file = args.io.file();
    // A missing or infinite input value would come back as the plugin's "non-finite output":
    // name the input cell instead.
    if let Some(i) = profiles.features().iter().position(|v| !v.is_finite()) {
        let d = profiles.n_features().max(1);
        bail!(
            "{file}: data row {}, feature '{}' is missing, NaN or infinite; a plugin is given \
             finite features only (drop such rows or columns first)",
            i / d + 1,
            profiles.feature_names()[i % d]
        );
    }
    let controls = match &args.controls {
        Some(expr) => Some(fit_mask(&profiles, expr, None, &file)?),
        None => None,
    };
    let fit_rows = match args.fit_on.trim() {
        "all" => None,
        rows => Some(fit_mask(&profiles, rows, args.controls.as_deref(), &file)?),
    };
    let spec = ApplySpec {
        roles: ContextRoles {
            plate: args.plate,
            well: args.well,
            batch: args.batch,
            split: args.split,
        },
        controls,
        fit_rows,
        key_column: args.key,
        label_columns: args.labels,
        set_by: args.set_by,
        images,
    };
    let applied = apply_to_profiles(&plugin, &profiles, &spec, &env)?;
    args.io.write(&applied.profiles)?;
    let m = &plugin.manifest;
    errln!(
        "{} {} ({}): {} rows × {} → {} rows × {}{}",
        m.id,
        m.version,
        m.kind.as_str(),
        profiles.n_rows(),
        profiles.n_features(),
        applied.profiles.n_rows(),
        applied.output.k,
        applied
            .output
            .execution_provider
            .as_deref()
            .map(|p| format!(" on {p}"))
            .unwrap_or_default()
    );
    for note in &applied.output.notes {
        errln!("  {note}");
    }
    Ok(Outcome::Ok)
}

/// Reads a `[N, C, H, W]` crop stack.
fn read_images(path: &Path) -> Result<ImageStack> {
    let a = read_npy(path)?;
    let [_, c, h, w] = a.shape[..] else {
        bail!(
            "{}: crops must be a 4-d array [N, C, H, W], got shape {:?}",
            path.display(),
            a.shape
        );
    };
    Ok(ImageStack {
        pixels: a.data,
        c,
        h,
        w,
    })
}

/// Reads only the metadata columns of a table (crops, genes) as profiles with no features.
fn read_metadata_table(path: &Path, prefixes: &[String]) -> Result<Profiles> {
    let default = [cpbench_core::io::DEFAULT_METADATA_PREFIX.to_string()];
    let prefixes = if prefixes.is_empty() {
        &default[..]
    } else {
        prefixes
    };
    let table = read_table(path)?;
    let names: Vec<String> = table
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| prefixes.iter().any(|p| c.starts_with(p.as_str())))
        .collect();
    if names.is_empty() {
        bail!(
            "{}: no metadata column (none starts with {})",
            path.display(),
            prefixes.join(" or ")
        );
    }
    let meta = table.select(names)?;
    let level = cpbench_core::io::guess_level(&meta);
    Ok(Profiles::new(meta, Vec::new(), Vec::new(), level)?)
}
