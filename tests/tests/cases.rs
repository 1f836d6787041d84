//! Runs every `policies/*/test_data/cases.yaml` and
//! `tests/fixtures/*/test_data/cases.yaml` (plus valid/invalid settings)
//! through the built `.wasm`, and fails once listing every mismatch.

use policy_runner::cases::run_workspace;
use wasm_integration_tests::{wasm_dir, workspace_root};

#[test]
fn every_policy_case_passes() {
    let root = workspace_root();
    let report = run_workspace(&root, &wasm_dir()).expect("discovering test data");
    match report.into_result() {
        Ok(passed) => eprintln!("{passed} wasm checks passed"),
        Err(e) => panic!("{e:#}"),
    }
}
