//! `test_data/` run natively through `POLICY` (the entry points the wasm
//! module exports): the settings folders, every case of `cases.yaml` (with
//! its replay session), and the coverage of the data. The wasm run of the
//! same data is the tests/ crate's (`make test-wasm`).

#[test]
fn test_data_passes_natively() {
    policy_cases::assert_native(&mig_resource_naming::POLICY, env!("CARGO_MANIFEST_DIR"));
}
