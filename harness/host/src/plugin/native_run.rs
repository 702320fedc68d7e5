//! `native` plugins: resolved (a crate name or a file relative to the manifest, searched in
//! [`RunEnv::library_dirs`] too), hashed and run in a worker process, never in this one.

use super::{OutputRows, Plugin, PluginInput, PluginOutput, RunEnv, input_error, numbered_names};
use crate::error::HostError;
use crate::native::{NativeJob, NativeLimits, WorkerCommand, resolve_native_library, run_native};

pub(super) fn run_native_plugin(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    env: &RunEnv,
) -> Result<PluginOutput, HostError> {
    let spec = plugin
        .manifest
        .native
        .as_ref()
        .ok_or_else(|| input_error(plugin, "a native plugin needs a [native] table"))?;
    let library = resolve_native_library(&spec.library, &plugin.dir, &env.library_dirs)
        .map_err(|e| input_error(plugin, &e.to_string()))?;
    super::verify_artifacts(plugin, Some(&library))?;
    let worker = match &env.worker {
        Some(w) => w.clone(),
        None => WorkerCommand::current_exe().map_err(|e| HostError::Failed {
            plugin: plugin.manifest.id.clone(),
            message: format!("cannot find the cpbench executable to start a worker: {e}"),
        })?,
    };
    let config_json = serde_json::to_string(&spec.config).map_err(|e| {
        input_error(
            plugin,
            &format!("[native.config] cannot be sent as JSON: {e}"),
        )
    })?;
    let job = NativeJob {
        library: &library,
        config_json,
        x: input.features,
        n: input.n,
        d: input.d,
        context: &input.context,
        fit_rows: &input.fit_rows,
    };
    let limits = NativeLimits::from_manifest(spec.timeout_s, spec.memory_limit_mib);
    let out = run_native(&worker, &job, &limits).map_err(|f| {
        let (plugin, message) = (plugin.manifest.id.clone(), f.to_string());
        if f.kind.is_transient() {
            HostError::Interrupted { plugin, message }
        } else {
            HostError::Failed { plugin, message }
        }
    })?;
    let mut notes = vec![format!(
        "ran {} {} in a worker process ({})",
        out.plugin_name,
        out.plugin_version,
        library.display()
    )];
    if out.plugin_name != plugin.manifest.id {
        notes.push(format!(
            "the library calls itself '{}', the manifest '{}'",
            out.plugin_name, plugin.manifest.id
        ));
    }
    Ok(PluginOutput {
        data: out.data,
        k: out.k,
        rows: OutputRows::All,
        feature_names: numbered_names(&plugin.manifest.id, out.k),
        execution_provider: None,
        notes,
        missing_keys: Vec::new(),
    })
}
