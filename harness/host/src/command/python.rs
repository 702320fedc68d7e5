//! Python environments of `command` plugins: one virtual environment per requirements file and
//! interpreter, built once and shared by every plugin that pins the same packages.
//!
//! The environment lives in `<cache>/envs/py-<key>`, where `<key>` is the SHA-256 of the
//! requirements file's bytes and the interpreter's version and platform: a changed pin or a
//! different Python gets a new environment, an unchanged one is reused. Building takes an
//! exclusive `flock` on `py-<key>.lock`, so two cpbench processes never build the same
//! environment at once (the second waits, then reuses it). An environment is used only once its
//! `.cpbench-ready` marker exists, written last; a build killed half-way leaves no marker and is
//! removed and redone by the next run. The marker holds `pip freeze` of the environment.
//!
//! Every requirement must be pinned (`name==version`, optionally with extras, environment markers
//! and `--hash` options): an unpinned line would make the environment, and the scores, depend on
//! the day it was built.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cpbench_core::hash::sha256_bytes;

/// Name of the marker file that says an environment is complete.
const READY: &str = ".cpbench-ready";

/// Where a plugin's program finds its Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The interpreter to run (`<env>/bin/python`, or the plugin's interpreter itself).
    pub python: PathBuf,
    /// The virtual environment's folder, when one was built from requirements.
    pub venv: Option<PathBuf>,
    /// What to record about it: interpreter version and, for an environment, its key.
    pub description: String,
}

/// Why an environment could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The interpreter could not be started or did not say its version.
    #[error("cannot run the interpreter `{interpreter}`: {message}")]
    Interpreter {
        /// The interpreter as named.
        interpreter: String,
        /// What went wrong.
        message: String,
    },
    /// A requirement is not pinned to one version.
    #[error(
        "{path}: line {line}: `{text}` is not pinned: write `name==version` so the environment \
         is the same on every machine"
    )]
    Unpinned {
        /// The requirements file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The line as written.
        text: String,
    },
    /// Reading the requirements or writing the environment failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// `python -m venv` or `pip install` failed.
    #[error(
        "building the Python environment {env} failed: {step} {status}\n--- {step} output (last \
         lines) ---\n{tail}"
    )]
    Build {
        /// The environment folder.
        env: PathBuf,
        /// Which step failed.
        step: String,
        /// Its exit status.
        status: String,
        /// The end of its output.
        tail: String,
    },
}

/// The cache root: `$CPBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/cpbench`, else `~/.cache/cpbench`.
pub fn default_cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CPBENCH_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("cpbench");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("cpbench"),
        None => std::env::temp_dir().join("cpbench-cache"),
    }
}

/// Checks that every requirement line pins one version; returns the number of packages.
pub fn check_pinned(path: &Path, text: &str) -> Result<usize, EnvError> {
    let mut packages = 0;
    for (i, raw) in text.lines().enumerate() {
        // A comment starts at `#` at the line start or after whitespace (pip's rule).
        let line = match raw.find(" #") {
            Some(at) => &raw[..at],
            None if raw.trim_start().starts_with('#') => "",
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // Options (`--hash`, `--index-url`) may follow a requirement; a line of options alone
        // (e.g. `--only-binary=:all:`) pins nothing and needs nothing.
        let requirement = line.split(" --").next().unwrap_or("").trim();
        if requirement.starts_with('-') {
            continue;
        }
        let spec = requirement.split(';').next().unwrap_or("").trim();
        let pinned = spec.split_once("==").is_some_and(|(name, version)| {
            !name.trim().is_empty()
                && !version.trim().is_empty()
                && !version.contains(['*', ',', '<', '>', '=', '!', '~'])
        });
        if !pinned {
            return Err(EnvError::Unpinned {
                path: path.to_path_buf(),
                line: i + 1,
                text: raw.trim().to_string(),
            });
        }
        packages += 1;
    }
    Ok(packages)
}

/// The interpreter's `sys.version` and machine, asked once per preparation.
fn interpreter_identity(interpreter: &Path, shown: &str) -> Result<String, EnvError> {
    let out = Command::new(interpreter)
        .args([
            "-c",
            "import sys, platform; print(platform.python_version(), platform.machine(), \
             sys.implementation.name)",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EnvError::Interpreter {
            interpreter: shown.to_string(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() {
        return Err(EnvError::Interpreter {
            interpreter: shown.to_string(),
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(text)
}

/// Prepares the Python a plugin runs: `interpreter` itself, or an environment built from
/// `requirements` with it under `cache_root`.
///
/// `shown` is the interpreter as the manifest names it, for messages. The build's own output is
/// kept in the environment folder (`.cpbench-build.log`) and its tail is in the error.
pub fn prepare(
    interpreter: &Path,
    shown: &str,
    requirements: Option<&Path>,
    cache_root: &Path,
) -> Result<PythonEnv, EnvError> {
    let identity = interpreter_identity(interpreter, shown)?;
    let Some(requirements) = requirements else {
        return Ok(PythonEnv {
            python: interpreter.to_path_buf(),
            venv: None,
            description: format!("Python {identity} ({shown}, no environment)"),
        });
    };
    let io = |path: &Path, e: std::io::Error| EnvError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let text = fs::read_to_string(requirements).map_err(|e| io(requirements, e))?;
    let packages = check_pinned(requirements, &text)?;
    let key = sha256_bytes(format!("{identity}\n{text}").as_bytes());
    let envs = cache_root.join("envs");
    fs::create_dir_all(&envs).map_err(|e| io(&envs, e))?;
    let dir = envs.join(format!("py-{}", &key[..20]));
    let lock_path = envs.join(format!("py-{}.lock", &key[..20]));
    let lock = File::create(&lock_path).map_err(|e| io(&lock_path, e))?;
    lock_exclusive(&lock).map_err(|e| io(&lock_path, e))?;
    if !dir.join(READY).is_file() {
        build(interpreter, requirements, &dir)?;
    }
    drop(lock);
    Ok(PythonEnv {
        python: dir.join("bin").join("python"),
        description: format!(
            "Python {identity}, environment py-{} ({packages} pinned packages from {})",
            &key[..12],
            requirements
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        venv: Some(dir),
    })
}

/// Builds the environment in `dir` from scratch (the caller holds its lock).
fn build(interpreter: &Path, requirements: &Path, dir: &Path) -> Result<(), EnvError> {
    let io = |path: &Path, e: std::io::Error| EnvError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if dir.exists() {
        // A build that was killed half-way: nothing in it can be trusted.
        fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let log_path = dir.with_extension("log");
    let run = |step: &str, command: &mut Command| -> Result<(), EnvError> {
        let log = File::create(&log_path).map_err(|e| io(&log_path, e))?;
        let err = log.try_clone().map_err(|e| io(&log_path, e))?;
        let status = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|e| EnvError::Build {
                env: dir.to_path_buf(),
                step: step.to_string(),
                status: "could not start".to_string(),
                tail: e.to_string(),
            })?;
        if status.success() {
            return Ok(());
        }
        let text = fs::read(&log_path).unwrap_or_default();
        let start = text.len().saturating_sub(4096);
        Err(EnvError::Build {
            env: dir.to_path_buf(),
            step: step.to_string(),
            status: status.to_string(),
            tail: String::from_utf8_lossy(&text[start..]).trim().to_string(),
        })
    };
    run(
        "python -m venv",
        Command::new(interpreter).arg("-m").arg("venv").arg(dir),
    )?;
    let python = dir.join("bin").join("python");
    run(
        "pip install",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--no-cache-dir",
                "-r",
            ])
            .arg(requirements)
            .env("PIP_NO_WARN_SCRIPT_LOCATION", "1"),
    )?;
    let freeze = Command::new(&python)
        .args(["-m", "pip", "freeze", "--disable-pip-version-check"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io(&python, e))?;
    cpbench_core::io::write_bytes_atomic(&dir.join(READY), &freeze.stdout).map_err(|e| {
        EnvError::Io {
            path: dir.join(READY),
            message: e.to_string(),
        }
    })?;
    let _ = fs::remove_file(&log_path);
    Ok(())
}

/// Blocks until this process holds an exclusive `flock` on `file` (released when it closes).
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: a valid open descriptor for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_must_pin_every_package() {
        let p = Path::new("requirements.txt");
        let ok = "# tools\nnumpy==2.2.6  # arrays\n\npyarrow==21.0.0 --hash=sha256:abc\n\
                  combat[extra]==0.3.3 ; python_version >= \"3.9\"\n--only-binary=:all:\n";
        assert_eq!(check_pinned(p, ok).unwrap(), 3);
        for (bad, line) in [
            ("numpy==2.2.6\npandas\n", 2),
            ("numpy>=2\n", 1),
            ("numpy==2.*\n", 1),
            ("numpy===2.0\n", 1),
            ("numpy==\n", 1),
            ("numpy~=2.0\n", 1),
            ("numpy==2.0,<3\n", 1),
            ("git+https://example.org/x.git\n", 1),
        ] {
            match check_pinned(p, bad) {
                Err(EnvError::Unpinned { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_interpreter_that_is_missing_is_named() {
        let err = prepare(
            Path::new("/nonexistent/python9"),
            "python9",
            None,
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot run the interpreter `python9`"),
            "{err}"
        );
    }
}
