//! Helpers shared by the integration tests: run the built binary, locate the
//! workspace and the built policies.
// Test-only helpers: failing loudly is their job.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn wasm_dir() -> PathBuf {
    std::env::var_os("POLICY_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/policies"))
}

/// Fails (not skips) when the policies are not built: a silently skipped
/// check is worse than a red test that says what to run.
pub fn require_wasm(names: &[&str]) {
    let missing: Vec<String> = names
        .iter()
        .map(|n| wasm_dir().join(format!("{n}.wasm")))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "policy modules missing: {}\nrun `make build build-fixtures` first (make test-wasm does it)",
        missing.join(", ")
    );
}

/// Every project policy (the policy registry's).
pub fn policies() -> Vec<&'static str> {
    policy_registry::names().collect()
}

/// The compiled-module cache the tests' runs share, under target/ (never
/// the user's own cache folder).
pub fn cache_dir() -> PathBuf {
    root().join("target/test-cache/gpu-policy-check")
}

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpu-policy-check"))
        .args(args)
        .current_dir(root())
        .env("POLICY_WASM_DIR", wasm_dir())
        .env("GPU_POLICY_CHECK_CACHE_DIR", cache_dir())
        .env_remove("COLUMNS")
        .output()
        .expect("run gpu-policy-check")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}
