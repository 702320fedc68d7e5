//! Finding and loading the ONNX Runtime shared library.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and the library that the
//! `ci/setup-onnxruntime.sh` script installed (CPU or CUDA build) is opened at run time. It is
//! opened once per process, through [`init_runtime`], before any other `ort` call: `ort` would
//! otherwise open whatever `ORT_DYLIB_PATH` or the loader path names on first use, and panic if
//! that fails.

use std::ffi::{CStr, OsString, c_char, c_int};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use crate::error::HostError;

/// The ONNX Runtime version cpbench is built and tested against (`ci/setup-onnxruntime.sh`).
pub const ORT_VERSION: &str = "1.31.1";

/// The environment variable that names the ONNX Runtime library explicitly.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where `ci/setup-onnxruntime.sh` puts the CPU library, relative to the repository root.
pub const REPO_RUNTIME_RELATIVE: &str = ".ort/lib/libonnxruntime.so.1.31.1";

/// The name ONNX Runtime gives its CUDA execution provider.
pub(crate) const CUDA_PROVIDER_NAME: &str = "CUDAExecutionProvider";

/// How the ONNX Runtime library was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeSource {
    /// Named by the `ORT_DYLIB_PATH` environment variable.
    EnvVar,
    /// Found as `.ort/lib/libonnxruntime.so.1.31.1` above the current directory or the executable.
    RepositoryOrt,
}

impl RuntimeSource {
    /// The label recorded in results and shown by `cpbench doctor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnvVar => ORT_DYLIB_ENV,
            Self::RepositoryOrt => "repository .ort/lib",
        }
    }
}

impl fmt::Display for RuntimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ONNX Runtime library that [`locate_runtime`] chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLocation {
    /// Absolute path of the shared library.
    pub path: PathBuf,
    /// How it was found.
    pub source: RuntimeSource,
}

/// The loaded ONNX Runtime, as reported by the runtime itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// Absolute path of the shared library that was loaded.
    pub path: PathBuf,
    /// How the library was found.
    pub source: RuntimeSource,
    /// The runtime's own version string (`OrtApiBase::GetVersionString`), e.g. "1.31.1".
    pub version: String,
    /// Execution providers compiled into this build (`GetAvailableProviders`), in ONNX Runtime's order.
    pub available_providers: Vec<String>,
    /// Whether this build has the CUDA execution provider; whether a GPU and the CUDA libraries
    /// are usable is only known when a session is created (see `OnnxModel::load`).
    pub cuda_available: bool,
}

/// Finds the ONNX Runtime library: `ORT_DYLIB_PATH` if set, else the repository's `.ort/lib`.
///
/// The repository copy is searched in the current directory and its ancestors, then in the
/// ancestors of the running executable, so `target/debug/cpbench` finds it from any folder.
pub fn locate_runtime() -> Result<RuntimeLocation, HostError> {
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    locate_runtime_in(
        std::env::var_os(ORT_DYLIB_ENV),
        cwd.as_deref(),
        exe.as_deref(),
    )
}

/// [`locate_runtime`] with its inputs passed in, so tests need not change the process environment.
fn locate_runtime_in(
    env_value: Option<OsString>,
    cwd: Option<&Path>,
    exe: Option<&Path>,
) -> Result<RuntimeLocation, HostError> {
    // An empty variable counts as unset, as `ort` itself treats it.
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        let given = PathBuf::from(value);
        // `ort` resolves a relative path against the executable's folder first; resolve it
        // against the current directory here, as a user who typed it would expect.
        let path = match cwd {
            Some(cwd) if given.is_relative() => cwd.join(&given),
            _ => given,
        };
        if !path.is_file() {
            return Err(HostError::RuntimeEnvPathMissing {
                var: ORT_DYLIB_ENV,
                path,
            });
        }
        return Ok(RuntimeLocation {
            path,
            source: RuntimeSource::EnvVar,
        });
    }

    let starts: Vec<&Path> = [cwd, exe.and_then(Path::parent)]
        .into_iter()
        .flatten()
        .collect();
    for start in &starts {
        for dir in start.ancestors() {
            let candidate = dir.join(REPO_RUNTIME_RELATIVE);
            if candidate.is_file() {
                return Ok(RuntimeLocation {
                    path: candidate,
                    source: RuntimeSource::RepositoryOrt,
                });
            }
        }
    }
    Err(HostError::RuntimeNotFound {
        relative: REPO_RUNTIME_RELATIVE,
        searched: starts.into_iter().map(Path::to_path_buf).collect(),
    })
}

/// The process-wide runtime: its description and the one `ort` environment sessions are made in.
pub(crate) struct Runtime {
    pub(crate) info: RuntimeInfo,
    pub(crate) env: Environment,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serializes first-time initialization; failures are not cached, so a later call (after the
/// user fixed the installation, say in a long-lived process) tries again.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime once per process (see [`locate_runtime`]) and describes it.
///
/// A missing or broken library gives an error, never a panic.
pub fn init_runtime() -> Result<&'static RuntimeInfo, HostError> {
    runtime().map(|rt| &rt.info)
}

/// The loaded runtime, loading it on first use.
pub(crate) fn runtime() -> Result<&'static Runtime, HostError> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    // A poisoned lock only means an earlier attempt panicked; the state it guards is RUNTIME,
    // which is set only on success, so going on is sound.
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let location = locate_runtime()?;
    let rt = load(location)?;
    Ok(RUNTIME.get_or_init(|| rt))
}

fn load(location: RuntimeLocation) -> Result<Runtime, HostError> {
    let RuntimeLocation { path, source } = location;
    let load_error = |message: String| HostError::RuntimeLoad {
        path: path.clone(),
        message,
    };
    // `ort` reports load failures as errors, but a few of its sanity checks (a null API table
    // from a library that claims to be ONNX Runtime) are assertions; turn those into errors too.
    let loaded = catch_unwind(AssertUnwindSafe(|| -> Result<Runtime, String> {
        // Loading by explicit path before any other `ort` call is what makes this path win over
        // an `ORT_DYLIB_PATH` that `ort` would otherwise read by itself.
        let env = ort::init_from(&path)
            .map_err(|e| load_error_message(&e))?
            .with_name("cpbench")
            .build()
            .map_err(|e| e.to_string())?;
        let version = runtime_version(&path)?;
        let available_providers = available_providers()?;
        let cuda_available = available_providers.iter().any(|p| p == CUDA_PROVIDER_NAME);
        Ok(Runtime {
            info: RuntimeInfo {
                path: path.clone(),
                source,
                version,
                available_providers,
                cuda_available,
            },
            env,
        })
    }));
    match loaded {
        Ok(Ok(rt)) => Ok(rt),
        Ok(Err(message)) => Err(load_error(message)),
        Err(panic) => Err(load_error(panic_message(panic.as_ref()))),
    }
}

/// The version string the library reports about itself.
fn runtime_version(path: &Path) -> Result<String, String> {
    // SAFETY: `ort::init_from` has already opened this exact file and checked that it exports
    // `OrtGetApiBase`; opening it again returns the same handle (reference-counted), so no
    // initializer runs twice, and our handle being dropped leaves `ort`'s open.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: the signature is the one of ONNX Runtime's C API (`OrtGetApiBase(void)`).
    let get_api_base: libloading::Symbol<
        '_,
        unsafe extern "C" fn() -> *const ort::sys::OrtApiBase,
    > = unsafe { lib.get(b"OrtGetApiBase") }.map_err(|e| e.to_string())?;
    // SAFETY: OrtGetApiBase takes no arguments and returns a pointer to a static table.
    let base = unsafe { get_api_base() };
    if base.is_null() {
        return Err("OrtGetApiBase returned null".to_owned());
    }
    // SAFETY: `base` is non-null and points to the library's static OrtApiBase; the function
    // returns a static NUL-terminated string.
    let version = unsafe { ((*base).GetVersionString)() };
    if version.is_null() {
        return Err("GetVersionString returned null".to_owned());
    }
    // SAFETY: checked non-null above; the string is static and NUL-terminated.
    let version = unsafe { CStr::from_ptr(version) };
    Ok(version.to_string_lossy().into_owned())
}

/// The execution providers compiled into the loaded build, from `GetAvailableProviders`.
fn available_providers() -> Result<Vec<String>, String> {
    let api = ort::api();
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: both out-pointers are valid; the runtime is loaded (init_from succeeded).
    let status = unsafe { (api.GetAvailableProviders)(&mut list, &mut count) };
    // SAFETY: `status` was just returned by the C API; result_from_status takes ownership.
    unsafe { ort::Error::<()>::result_from_status(status) }.map_err(|e| e.to_string())?;
    if list.is_null() {
        return Ok(Vec::new());
    }
    let len = usize::try_from(count).unwrap_or(0);
    let providers = (0..len)
        .map(|i| {
            // SAFETY: the runtime returned `count` entries, each a NUL-terminated string.
            let name = unsafe { CStr::from_ptr(*list.add(i)) };
            name.to_string_lossy().into_owned()
        })
        .collect();
    // SAFETY: `list` and `count` are exactly what GetAvailableProviders returned.
    let status = unsafe { (api.ReleaseAvailableProviders)(list, count) };
    // SAFETY: as above; a failure to free a few bytes is not worth failing initialization for.
    let _ = unsafe { ort::Error::<()>::result_from_status(status) };
    Ok(providers)
}

/// `ort`'s load error with the loader's own explanation, which `ort` keeps only as a source
/// error (its message alone says just "dlopen failed").
fn load_error_message(e: &ort::LoadDynamicError) -> String {
    let mut message = e.to_string();
    if let ort::LoadDynamicError::Dlopen { error, .. } = e {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
    }
    message
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("ONNX Runtime initialization panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("ONNX Runtime initialization panicked: {s}")
    } else {
        "ONNX Runtime initialization panicked".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository root (harness/host/../..), where `ci/setup-onnxruntime.sh` installs `.ort/`.
    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .expect("harness/host has two ancestors")
            .to_path_buf()
    }

    #[test]
    fn env_var_wins_and_is_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libort.so"), b"x").unwrap();
        let loc = locate_runtime_in(Some("libort.so".into()), Some(dir.path()), None).unwrap();
        assert_eq!(loc.path, dir.path().join("libort.so"));
        assert_eq!(loc.source, RuntimeSource::EnvVar);
        assert_eq!(loc.source.to_string(), "ORT_DYLIB_PATH");
    }

    #[test]
    fn env_var_naming_no_file_is_an_error_naming_variable_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope/libonnxruntime.so");
        let err =
            locate_runtime_in(Some(missing.clone().into()), Some(&repo_root()), None).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, HostError::RuntimeEnvPathMissing { .. }),
            "{msg}"
        );
        assert!(msg.contains("ORT_DYLIB_PATH"), "{msg}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
    }

    #[test]
    fn empty_env_var_counts_as_unset() {
        let loc = locate_runtime_in(Some(OsString::new()), Some(&repo_root()), None).unwrap();
        assert_eq!(loc.source, RuntimeSource::RepositoryOrt);
    }

    #[test]
    fn repository_copy_is_found_from_a_subfolder() {
        let sub = repo_root().join("harness/host/src");
        let loc = locate_runtime_in(None, Some(&sub), None).unwrap();
        assert_eq!(loc.path, repo_root().join(REPO_RUNTIME_RELATIVE));
        assert_eq!(loc.source.as_str(), "repository .ort/lib");
    }

    #[test]
    fn repository_copy_is_found_from_the_executable_when_run_elsewhere() {
        let elsewhere = tempfile::tempdir().unwrap();
        let exe = repo_root().join("target/debug/cpbench");
        let loc = locate_runtime_in(None, Some(elsewhere.path()), Some(&exe)).unwrap();
        assert_eq!(loc.path, repo_root().join(REPO_RUNTIME_RELATIVE));
    }

    #[test]
    fn nothing_found_tells_the_user_what_to_run() {
        let elsewhere = tempfile::tempdir().unwrap();
        let exe = elsewhere.path().join("bin/cpbench");
        let err = locate_runtime_in(None, Some(elsewhere.path()), Some(&exe)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HostError::RuntimeNotFound { .. }), "{msg}");
        for needle in [
            "ci/setup-onnxruntime.sh",
            "ci/setup-onnxruntime.sh --gpu",
            "source .ort/gpu.env",
            "ORT_DYLIB_PATH",
            REPO_RUNTIME_RELATIVE,
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
        }
    }
}
