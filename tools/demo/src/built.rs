//! The function binaries the demo and the SAM tier serve: the debug build `cargo test
//! --workspace` makes, so `make demo` and `make test` share one build.
//!
//! A function built on its own (`cargo build -p proxy`, as `cargo lambda watch` builds one)
//! resolves the workspace's features without the test kit's and tokio's test utilities, so most
//! of the dependency tree compiles a second time under other features. Serving the test build's
//! binaries instead is measured in the README (a fresh clone's first `make demo` and `make
//! test`). The production artifacts are unaffected: `make build` and SAM build each function in
//! release, on the default members' features.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The folder holding the functions' binaries, brought up to date first by the build `make
/// demo` and `make test` run (`cargo test --workspace --no-run`), with the caller's cargo
/// configuration, so into the folder this program was built in. When they already built it,
/// cargo compiles nothing. cargo puts a function's binary there because the function has
/// integration tests (a test below holds every served function to that).
pub fn current(root: &Path) -> Result<PathBuf> {
    let program = std::env::current_exe().context("locating this program")?;
    let folder = program
        .parent()
        .context("this program has no folder")?
        .to_path_buf();
    // Checked before building: run from a copy, a release build or another target folder, the
    // binaries beside this program are not the ones the build below brings up to date. Both
    // sides resolved: the program's own path has its links resolved already.
    let built_into = target_directory(root)?.join("debug");
    let built_into = built_into.canonicalize().unwrap_or(built_into);
    if built_into != folder.canonicalize().unwrap_or_else(|_| folder.clone()) {
        bail!(
            "this program runs from {}, but cargo builds the functions into {}: run the \
             orabridge-demo there (make demo does)",
            folder.display(),
            built_into.display()
        );
    }
    let mut command = cargo(root);
    command.args(["test", "--workspace", "--no-run", "--locked", "--quiet"]);
    // Under `cargo test` this process inherits the variables cargo sets for one package. Build
    // scripts such as ring's track them with rerun-if-env-changed, so passing them on would
    // rebuild half the dependency tree here, and again for the next outer build.
    for (name, _) in std::env::vars_os() {
        if is_package_scoped_cargo_var(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    let status = command.status().context("running cargo")?;
    if !status.success() {
        bail!("`cargo test --workspace --no-run` failed ({status}); its output is above");
    }
    Ok(folder)
}

/// The cargo that runs this program (`CARGO` under cargo), or the one on PATH, in `root`.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// cargo's target folder for the workspace at `root`, as `cargo metadata` resolves it.
fn target_directory(root: &Path) -> Result<PathBuf> {
    let output = cargo(root)
        .args(["metadata", "--locked", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target_directory")
}

/// The binary of `function` in `folder`, or an error saying what builds it.
pub fn binary(folder: &Path, function: &str) -> Result<PathBuf> {
    let path = folder.join(function);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} is not built: `cargo test --workspace --no-run` builds it (make demo runs it)",
            path.display()
        )
    }
}

/// Variables cargo sets for the package it is building or running, as opposed to the user's
/// own cargo configuration (CARGO_HOME, CARGO_TARGET_DIR, ...), which must be kept.
fn is_package_scoped_cargo_var(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_CRATE_", "CARGO_BIN_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_scoped_cargo_variables_are_dropped_and_user_settings_kept() {
        for dropped in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_EXE_x",
        ] {
            assert!(is_package_scoped_cargo_var(dropped), "{dropped}");
        }
        for kept in ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "PATH"] {
            assert!(!is_package_scoped_cargo_var(kept), "{kept}");
        }
    }

    #[test]
    fn every_function_the_demo_serves_has_integration_tests_so_the_test_build_makes_its_binary() {
        // cargo builds a package's binaries in `cargo test` only for its integration tests.
        let root = orabridge_shared::testkit::workspace_root();
        for step in crate::plan::PLAN {
            let tests = root.join("functions").join(step.function).join("tests");
            let has_test_target = std::fs::read_dir(&tests)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .any(|path| {
                    path.extension().is_some_and(|ext| ext == "rs")
                        || path.join("main.rs").is_file()
                });
            assert!(has_test_target, "{} has no integration test", step.function);
        }
    }

    #[test]
    fn a_missing_binary_is_named_with_what_builds_it() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let err = binary(folder.path(), "proxy").expect_err("nothing is built there");
        let message = err.to_string();
        assert!(message.contains("proxy is not built"), "{message}");
        assert!(
            message.contains("cargo test --workspace --no-run"),
            "{message}"
        );
        std::fs::write(folder.path().join("proxy"), b"").expect("a stand-in binary");
        assert_eq!(
            binary(folder.path(), "proxy").expect("now it is there"),
            folder.path().join("proxy")
        );
    }
}
