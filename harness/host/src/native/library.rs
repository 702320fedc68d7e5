//! Finding a native plugin's built library from the crate name in its manifest.
//!
//! Native plugins are crates of the cpbench workspace, built by the same `cargo build` as the
//! `cpbench` binary, so their cdylibs sit next to it: in `target/<profile>/` after
//! `cargo build`, and in `target/<profile>/deps/` when cargo built them only as dependencies
//! (as `cargo test` and `cargo bench` do).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
        "native plugin library {file_name} not found in {}; native plugins are built from the \
         cpbench workspace together with the cpbench binary: run `cargo build --workspace` \
         (or `cargo build --workspace --release` for target/release/cpbench)",
        searched_list(searched)
    )]
    Missing {
        /// The file looked for, e.g. `libcpbench_plugin_pca.so`.
        file_name: String,
        /// The folders searched, in order.
        searched: Vec<PathBuf>,
    },
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

/// Locates the cdylib of plugin crate `spec_library` (`[native] library` in `plugin.toml`).
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
