//! wasm-level integration tests: every built policy `.wasm` run through the
//! `policy-runner` waPC host against its `test_data/`. The logic lives in
//! `policy_runner::cases`; this crate only locates the workspace.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's directory). Cargo sets
/// `CARGO_MANIFEST_DIR` when it runs the tests too; reading it at run time
/// keeps a test binary reused from another checkout from testing that one.
pub fn workspace_root() -> PathBuf {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    here.parent()
        .map_or_else(|| here.clone(), Path::to_path_buf)
}

/// Where the built modules are: `$POLICY_WASM_DIR` or `target/policies`.
pub fn wasm_dir() -> PathBuf {
    policy_runner::cases::wasm_dir(&workspace_root())
}
