//! The wasm run of the policies' test data: every `test_data/cases.yaml`
//! (and settings folder) of the workspace against its built `.wasm`, through
//! the waPC host. The format, the comparison and the case run are
//! policy-cases' (the native run shares them); this adds loading the module.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
pub use policy_cases::cases::{
    Case, CaseFile, Expectation, OneOrMany, compare, load_case_file, parse_case_file,
    read_json_or_yaml,
};
pub use policy_cases::suite::{
    self, CaseFailure, PolicyUnderTest, SuiteReport, discover, failure, lookup_problems,
};

use crate::runner::{CompiledPolicy, PolicyOptions, PolicyRunner};

/// Runs one case on an instantiated policy.
pub fn run_case(
    runner: &PolicyRunner,
    policy: &PolicyUnderTest,
    file: &Path,
    case: &Case,
) -> std::result::Result<(), Box<CaseFailure>> {
    suite::run_case(runner, policy, file, case)
}

/// Checks `validate_settings` against `test_data/valid-settings/*` (must be
/// valid) and `test_data/invalid-settings/*` (must be invalid, with a message).
pub fn run_settings_checks(runner: &PolicyRunner, policy: &PolicyUnderTest) -> SuiteReport {
    suite::run_settings_checks(runner, policy)
}

/// Where built modules live: `$POLICY_WASM_DIR`, else `<root>/target/policies`.
pub fn wasm_dir(workspace_root: &Path) -> PathBuf {
    std::env::var_os("POLICY_WASM_DIR")
        .map_or_else(|| workspace_root.join("target/policies"), PathBuf::from)
}

/// Runs a policy's settings checks and every case of its `cases.yaml`
/// against `<wasm_dir>/<name>.wasm`, with one compiled instance.
pub fn run_policy(policy: &PolicyUnderTest, wasm_dir: &Path) -> SuiteReport {
    let mut report = SuiteReport::default();
    let file = policy
        .cases_file
        .clone()
        .unwrap_or_else(|| policy.test_data.clone());
    let wasm = policy.wasm_path(wasm_dir);
    if !wasm.is_file() {
        report.failures.push(failure(
            policy,
            &file,
            "(load)",
            format!(
                "{} is missing: run `make build build-fixtures` (or `make test-wasm`) first, \
                 or point POLICY_WASM_DIR at the built modules",
                wasm.display()
            ),
        ));
        return report;
    }
    let options = match policy.allowed_resources() {
        Ok(resources) => PolicyOptions::default().context_aware_resources(resources),
        Err(f) => {
            report.failures.push(*f);
            return report;
        }
    };
    let runner = match CompiledPolicy::from_file(&wasm).and_then(|c| c.instantiate(options)) {
        Ok(runner) => runner,
        Err(e) => {
            report
                .failures
                .push(failure(policy, &file, "(load)", format!("{e:#}")));
            return report;
        }
    };
    report.merge(suite::run_cases(&runner, policy));
    report
}

/// Discovers every policy and fixture under `workspace_root` and runs them all.
pub fn run_workspace(workspace_root: &Path, wasm_dir: &Path) -> Result<SuiteReport> {
    let policies = discover(workspace_root)?;
    if policies.is_empty() {
        bail!(
            "no test data found under {}/policies/*/test_data or tests/fixtures/*/test_data",
            workspace_root.display()
        );
    }
    let mut report = SuiteReport::default();
    for policy in &policies {
        report.merge(run_policy(policy, wasm_dir));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_wasm_tells_to_build() {
        let policy = PolicyUnderTest {
            name: "nope".into(),
            dir: "/x/policies/nope".into(),
            test_data: "/x/policies/nope/test_data".into(),
            metadata: None,
            cases_file: Some("/x/policies/nope/test_data/cases.yaml".into()),
        };
        let report = run_policy(&policy, Path::new("/nonexistent-wasm-dir"));
        let text = format!("{:#}", report.into_result().unwrap_err());
        assert!(
            text.contains("/nonexistent-wasm-dir/nope.wasm is missing"),
            "{text}"
        );
        assert!(text.contains("make build"), "{text}");
    }
}
