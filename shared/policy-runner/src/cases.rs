//! The wasm run of the policies' test data: every `test_data/cases.yaml`
//! (and settings folder) of the workspace against its built `.wasm`. The
//! case run is policy-cases' (the native run shares it); this adds loading
//! the module.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use policy_cases::{PolicyUnderTest, SuiteReport, discover, failure, run_cases};

use crate::runner::{CompiledPolicy, PolicyOptions};

/// Where built modules live: `$POLICY_WASM_DIR`, else `<root>/target/policies`.
pub fn wasm_dir(workspace_root: &Path) -> PathBuf {
    std::env::var_os("POLICY_WASM_DIR")
        .map_or_else(|| workspace_root.join("target/policies"), PathBuf::from)
}

/// Runs a policy's settings checks and every case of its `cases.yaml`
/// against `<wasm_dir>/<name>.wasm`, with one compiled instance.
pub fn run_policy(policy: &PolicyUnderTest, wasm_dir: &Path) -> SuiteReport {
    let file = policy.cases_file.as_ref().unwrap_or(&policy.test_data);
    let wasm = policy.wasm_path(wasm_dir);
    let runner = if wasm.is_file() {
        policy.allowed_resources().and_then(|resources| {
            let options = PolicyOptions::default().context_aware_resources(resources);
            CompiledPolicy::from_file(&wasm)
                .and_then(|c| c.instantiate(options))
                .map_err(|e| Box::new(failure(policy, file, "(load)", format!("{e:#}"))))
        })
    } else {
        let missing = format!(
            "{} is missing: run `make build build-fixtures` (or `make test-wasm`) first, \
             or point POLICY_WASM_DIR at the built modules",
            wasm.display()
        );
        Err(Box::new(failure(policy, file, "(load)", missing)))
    };
    match runner {
        Ok(runner) => run_cases(&runner, policy),
        Err(f) => SuiteReport {
            passed: 0,
            failures: vec![*f],
        },
    }
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
