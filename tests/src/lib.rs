//! wasm-level integration tests: every built policy `.wasm` run through the
//! `policy-runner` waPC host against its `test_data/`. The logic lives in
//! `policy_runner::cases`; this crate only locates the workspace.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// Where the built modules are: `$POLICY_WASM_DIR` or `target/policies`.
pub fn wasm_dir() -> PathBuf {
    policy_runner::cases::wasm_dir(&workspace_root())
}
