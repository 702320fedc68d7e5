//! Finding a native plugin's built library from `[native] library` in its manifest.
//!
//! The value is a crate name or a file ([`NativeLibrary::parse`] decides which):
//!
//! - A **crate name** (`cpbench_plugin_pca`) is a crate of the cpbench workspace, built by the
//!   same `cargo build` as the `cpbench` binary, so its cdylib sits next to it: in
//!   `target/<profile>/` after `cargo build`, and in `target/<profile>/deps/` when cargo built it
//!   only as a dependency (as `cargo test` and `cargo bench` do). The caller's library folders
//!   (`--plugin-lib-dir`, `CPBENCH_PLUGIN_LIB_DIR`) are searched after those, for crates built
//!   elsewhere.
//! - A **file** (`target/release/libmy_plugin.so`) is a crate built anywhere, named relative to
//!   its manifest. When it is not there, its file name is looked up in the library folders (a
//!   CI that builds into a shared `CARGO_TARGET_DIR`).
//!
//! Either way the result is one file, which the caller hashes as the plugin's artifact.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cpbench_core::manifest::NativeLibrary;

/// A plugin library that could not be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryNotFound {
    /// The name is not a crate or library name.
    #[error(
        "`{name}` is not a native plugin library name: expected a crate name such as cpbench_plugin_pca"
    )]
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// No folder searched holds the file.
    #[error(
        "native plugin library {file_name} not found in {}; a plugin crate of the cpbench \
         workspace is built together with the cpbench binary: run `cargo build --workspace` \
         (or `cargo build --workspace --release` for target/release/cpbench); a crate built \
         elsewhere: add its target/release folder with --plugin-lib-dir (or \
         CPBENCH_PLUGIN_LIB_DIR), or name the built file in `[native] library`",
        searched_list(searched)
    )]
    Missing {
        /// The file looked for, e.g. `libcpbench_plugin_pca.so`.
        file_name: String,
        /// The folders searched, in order.
        searched: Vec<PathBuf>,
    },
    /// The library file the manifest names does not exist, nor its name in a library folder.
    #[error(
        "native plugin library {} does not exist{}; build the plugin first{}",
        path.display(),
        also_searched(searched),
        build_hint(path, crate_manifest.as_deref(), cargo_target_dir.as_deref())
    )]
    FileMissing {
        /// The file as the manifest names it, resolved against the manifest's folder.
        path: PathBuf,
        /// The library folders whose copy of the file name was looked for, in order.
        searched: Vec<PathBuf>,
        /// The `Cargo.toml` beside the plugin's manifest, when there is one: the crate to build.
        crate_manifest: Option<PathBuf>,
        /// `CARGO_TARGET_DIR` when it was set: cargo builds there, not where the manifest says.
        cargo_target_dir: Option<PathBuf>,
    },
}

fn also_searched(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        String::new()
    } else {
        format!(
            ", and no library folder holds its file name ({})",
            searched_list(dirs)
        )
    }
}

/// How to build the library: the crate beside the manifest, and where cargo puts its output when
/// `CARGO_TARGET_DIR` moves it away from the path the manifest names.
fn build_hint(path: &Path, crate_manifest: Option<&Path>, target_dir: Option<&Path>) -> String {
    let mut hint = match crate_manifest {
        Some(m) => format!(": `cargo build --release --manifest-path {}`", m.display()),
        None => String::new(),
    };
    if let (Some(target), Some(name)) = (target_dir, path.file_name()) {
        let moved = target.join("release");
        hint.push_str(&format!(
            " (CARGO_TARGET_DIR is set, so cargo writes {} instead: pass --plugin-lib-dir {})",
            moved.join(name).display(),
            moved.display()
        ));
    }
    hint
}

fn searched_list(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no folder (the executable's location is unknown)".to_owned();
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    shown.join(", ")
}

/// This platform's file name of a crate's cdylib: `libcpbench_plugin_pca.so` on Linux for
/// `cpbench_plugin_pca` or `cpbench-plugin-pca`.
pub fn library_file_name(crate_name: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// Locates the library a plugin manifest's `[native] library` names: a crate name (see
/// [`resolve_library`]) or a file relative to `manifest_dir`, the folder of its `plugin.toml`.
///
/// A file that exists is taken as it is; one that does not is looked up by its file name in
/// each of `search_dirs`, in order.
pub fn resolve_native_library(
    spec_library: &str,
    manifest_dir: &Path,
    search_dirs: &[PathBuf],
) -> Result<PathBuf, LibraryNotFound> {
    match NativeLibrary::parse(spec_library) {
        NativeLibrary::Crate(name) => resolve_library(name, search_dirs),
        NativeLibrary::File(file) => {
            resolve_file(&manifest_dir.join(file), manifest_dir, search_dirs)
        }
    }
}

fn resolve_file(
    path: &Path,
    manifest_dir: &Path,
    search_dirs: &[PathBuf],
) -> Result<PathBuf, LibraryNotFound> {
    // Absolute, so the worker loads this file whatever its working folder: a bare `libx.so`
    // (a manifest in the current folder) would send the dynamic loader to the system paths.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if path.is_file() {
        return Ok(absolute(path));
    }
    let elsewhere = path.file_name().and_then(|name| {
        search_dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if let Some(found) = elsewhere {
        return Ok(absolute(&found));
    }
    let crate_manifest = manifest_dir.join("Cargo.toml");
    Err(LibraryNotFound::FileMissing {
        path: path.to_path_buf(),
        searched: search_dirs.to_vec(),
        crate_manifest: crate_manifest.is_file().then_some(crate_manifest),
        cargo_target_dir: std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
    })
}

/// Locates the cdylib of plugin crate `spec_library` (a crate or library name; a manifest's
/// `[native] library` may also be a file: [`resolve_native_library`] takes both).
///
/// Looks in the running executable's build folder first: its own folder and `deps/` beside it
/// (or, for a test, bench or example binary inside `deps/` or `examples/`, also the profile
/// folder and its `deps/`), taking the most recently built file when several hold one, since
/// `cargo test` refreshes only `deps/`. Then each of `search_dirs` in order.
pub fn resolve_library(
    spec_library: &str,
    search_dirs: &[PathBuf],
) -> Result<PathBuf, LibraryNotFound> {
    let exe = std::env::current_exe().ok();
    resolve_from(exe.as_deref(), spec_library, search_dirs)
}

fn resolve_from(
    exe: Option<&Path>,
    spec_library: &str,
    search_dirs: &[PathBuf],
) -> Result<PathBuf, LibraryNotFound> {
    let valid = !spec_library.is_empty()
        && spec_library
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(LibraryNotFound::InvalidName {
            name: spec_library.to_owned(),
        });
    }
    let file_name = library_file_name(spec_library);
    let build_dirs = exe
        .and_then(Path::parent)
        .map(build_folders)
        .unwrap_or_default();
    let newest = build_dirs
        .iter()
        .map(|d| d.join(&file_name))
        .filter_map(|p| Some((modified(&p)?, p)))
        .max_by_key(|(time, _)| *time)
        .map(|(_, p)| p);
    if let Some(found) = newest {
        return Ok(found);
    }
    if let Some(found) = search_dirs
        .iter()
        .map(|d| d.join(&file_name))
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    Err(LibraryNotFound::Missing {
        file_name,
        searched: build_dirs
            .into_iter()
            .chain(search_dirs.iter().cloned())
            .collect(),
    })
}

/// The executable's folder and the rest of its cargo output folder: for a binary in
/// `target/<profile>/`, its `deps/`; for a test, bench or example binary in `deps/` or
/// `examples/`, also `target/<profile>/` and its `deps/`.
fn build_folders(exe_dir: &Path) -> Vec<PathBuf> {
    let nested = exe_dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples");
    match exe_dir.parent() {
        Some(profile) if nested => {
            let mut dirs = vec![exe_dir.to_path_buf(), profile.to_path_buf()];
            let deps = profile.join("deps");
            if deps != exe_dir {
                dirs.push(deps);
            }
            dirs
        }
        _ => vec![exe_dir.to_path_buf(), exe_dir.join("deps")],
    }
}

/// Modification time of a regular file, `None` when there is none.
fn modified(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some(meta.modified().unwrap_or(SystemTime::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::Duration;

    fn touch(path: &Path, age: Duration) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn file_name_normalizes_dashes() {
        let name = library_file_name("cpbench-plugin-pca");
        assert_eq!(
            name,
            format!(
                "{}cpbench_plugin_pca{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )
        );
    }

    #[test]
    fn build_folder_then_search_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let debug = tmp.path().join("target/debug");
        let extra = tmp.path().join("extra");
        let exe = debug.join("cpbench");
        let name = library_file_name("cpbench_plugin_x");
        touch(&extra.join(&name), Duration::ZERO);
        let found =
            resolve_from(Some(&exe), "cpbench_plugin_x", std::slice::from_ref(&extra)).unwrap();
        assert_eq!(found, extra.join(&name));

        // In the build folder: the newer of target/debug and target/debug/deps wins.
        touch(&debug.join(&name), Duration::from_secs(60));
        touch(&debug.join("deps").join(&name), Duration::ZERO);
        let found =
            resolve_from(Some(&exe), "cpbench-plugin-x", std::slice::from_ref(&extra)).unwrap();
        assert_eq!(found, debug.join("deps").join(&name));
        // A test binary inside deps/ looks at deps/ and its parent.
        let test_exe = debug.join("deps/e2e-0123");
        touch(&debug.join(&name), Duration::ZERO);
        touch(&debug.join("deps").join(&name), Duration::from_secs(60));
        let found = resolve_from(Some(&test_exe), "cpbench_plugin_x", &[]).unwrap();
        assert_eq!(found, debug.join(&name));
        // An example binary looks in examples/, the profile folder and deps/.
        let example = debug.join("examples/demo");
        touch(&debug.join(&name), Duration::from_secs(120));
        let found = resolve_from(Some(&example), "cpbench_plugin_x", &[]).unwrap();
        assert_eq!(found, debug.join("deps").join(&name));
    }

    #[test]
    fn a_file_is_taken_beside_the_manifest_then_by_name_in_the_library_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let plugin = tmp.path().join("my-plugin");
        let extra = tmp.path().join("extra");
        let built = plugin.join("target/release/libmy_plugin.so");
        touch(&built, Duration::ZERO);
        touch(&extra.join("libmy_plugin.so"), Duration::ZERO);
        let dirs = std::slice::from_ref(&extra);
        let spec = "target/release/libmy_plugin.so";
        assert_eq!(resolve_native_library(spec, &plugin, dirs).unwrap(), built);
        fs::remove_file(&built).unwrap();
        assert_eq!(
            resolve_native_library(spec, &plugin, dirs).unwrap(),
            extra.join("libmy_plugin.so")
        );
        // Absent everywhere: the error names the file, the folders and the crate to build.
        fs::write(plugin.join("Cargo.toml"), "").unwrap();
        let err = resolve_native_library(spec, &plugin, &[tmp.path().join("x")]).unwrap_err();
        assert!(matches!(err, LibraryNotFound::FileMissing { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(&built.display().to_string()), "{text}");
        assert!(
            text.contains(&tmp.path().join("x").display().to_string()),
            "{text}"
        );
        let build = format!(
            "cargo build --release --manifest-path {}",
            plugin.join("Cargo.toml").display()
        );
        assert!(text.contains(&build), "{text}");
        // With CARGO_TARGET_DIR set, cargo wrote the library elsewhere: the hint says where.
        let hint = build_hint(&built, None, Some(Path::new("/shared/target")));
        assert!(
            hint.contains("/shared/target/release/libmy_plugin.so")
                && hint.contains("--plugin-lib-dir /shared/target/release"),
            "{hint}"
        );
        // An absolute file is taken as it is.
        let abs = extra.join("libmy_plugin.so");
        let found = resolve_native_library(abs.to_str().unwrap(), &plugin, &[]).unwrap();
        assert_eq!(found, abs);
    }

    #[test]
    fn a_crate_name_is_searched_for_in_the_library_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let extra = tmp.path().join("lib");
        // No build folder of this test binary holds a library of this name.
        let name = library_file_name("cpbench_plugin_only_in_extra");
        touch(&extra.join(&name), Duration::ZERO);
        let found = resolve_native_library(
            "cpbench-plugin-only-in-extra",
            tmp.path(),
            std::slice::from_ref(&extra),
        )
        .unwrap();
        assert_eq!(found, extra.join(&name));
        let err =
            resolve_native_library("cpbench_plugin_only_in_extra", tmp.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("--plugin-lib-dir"), "{err}");
    }

    #[test]
    fn missing_library_says_how_to_build_it() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("release/cpbench");
        let err =
            resolve_from(Some(&exe), "cpbench_plugin_nope", &[tmp.path().join("x")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&library_file_name("cpbench_plugin_nope")),
            "{text}"
        );
        assert!(text.contains("release/deps"), "{text}");
        assert!(text.contains("cargo build --workspace"), "{text}");
        let err = resolve_from(Some(&exe), "../evil", &[]).unwrap_err();
        assert!(matches!(err, LibraryNotFound::InvalidName { .. }), "{err}");
    }
}
