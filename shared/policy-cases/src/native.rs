//! A policy's test data run natively, through its [`PolicyInfo`] (the same
//! `validate`/`validate_settings` the wasm module exports, without the wasm
//! boundary): the same cases, settings checks, comparison and lookup checks
//! as the wasm run, each case's lookups answered by its replay session
//! through an [`InMemoryCluster`] that refuses what `contextAwareResources`
//! does not list. Every policy's `tests/cases.rs` is one call:
//!
//! ```ignore
//! #[test]
//! fn test_data_cases_pass_natively() {
//!     policy_cases::assert_native(&gpu_limit_required::POLICY, env!("CARGO_MANIFEST_DIR"));
//! }
//! ```

use std::path::Path;

use anyhow::Result;
use gpu_policy_core::{KubernetesHost, PolicyInfo};
use serde_json::Value;

use crate::cluster::InMemoryCluster;
use crate::host_call::HostCall;
use crate::metadata::ContextAwareResource;
use crate::response::{SettingsResponse, ValidationResponse, from_serialized, validate_payload};
use crate::suite::{
    CaseFailure, CaseInputs, Harness, PolicyUnderTest, SuiteReport, coverage_problems, failure,
    run_cases, run_example_checks,
};

/// `POLICY.validate` on kwctl's payload for `request` (an AdmissionRequest,
/// or an AdmissionReview to unwrap) and `settings`, lookups answered by
/// `cluster`; the answer read through its JSON, as the host reads it.
pub fn validate(
    policy: &PolicyInfo,
    request: &Value,
    settings: &Value,
    cluster: &dyn KubernetesHost,
) -> Result<ValidationResponse> {
    let payload = validate_payload(request, settings)?;
    from_serialized(&(policy.validate)(&payload, cluster))
}

/// `POLICY.validate_settings` on `settings`.
pub fn validate_settings(policy: &PolicyInfo, settings: &Value) -> Result<SettingsResponse> {
    from_serialized(&(policy.validate_settings)(&serde_json::to_vec(settings)?))
}

/// The native [`Harness`]: a policy and the resource types it may read.
#[derive(Debug, Clone)]
pub struct Native {
    /// The policy.
    pub policy: PolicyInfo,
    /// Its `contextAwareResources`.
    pub allowed: Vec<ContextAwareResource>,
}

impl Harness for Native {
    fn check_settings(&self, settings: &Value) -> Result<SettingsResponse> {
        validate_settings(&self.policy, settings)
    }

    fn evaluate(&self, case: &CaseInputs) -> (Result<ValidationResponse>, Vec<HostCall>) {
        let mut cluster = InMemoryCluster::from_replay(case.session.clone().unwrap_or_default());
        cluster.allow_only(self.allowed.clone());
        let response = validate(&self.policy, &case.request, &case.settings, &cluster);
        (response, cluster.host_calls())
    }
}

/// Runs the test data of the policy crate in `dir` natively: the settings
/// folders, every case of `test_data/cases.yaml`, the sessions' exchanges,
/// the settings of `examples/*.yaml`, and the coverage of a workload
/// policy's data ([`coverage_problems`]).
pub fn run_native(policy: &PolicyInfo, dir: impl AsRef<Path>) -> SuiteReport {
    let under_test = PolicyUnderTest::at(dir.as_ref());
    let mut report = SuiteReport::default();
    let fail = |case: &str, problem: String| {
        let mut failure = failure(&under_test, &under_test.dir, case, problem);
        failure.policy = policy.name.to_owned();
        failure
    };
    if under_test.name != policy.name {
        report.failures.push(fail(
            "(policy)",
            format!(
                "the policy is {}, but its test data is that of {}",
                policy.name, under_test.name
            ),
        ));
    }
    let Some(cases_path) = &under_test.cases_file else {
        report.failures.push(fail(
            "(case file)",
            format!("{} has no test_data/cases.yaml", under_test.dir.display()),
        ));
        return report;
    };
    let allowed = match under_test.allowed_resources() {
        Ok(allowed) => allowed,
        Err(f) => {
            report.failures.push(*f);
            return report;
        }
    };
    let native = Native {
        policy: *policy,
        allowed,
    };
    report.merge(run_cases(&native, &under_test));
    report.merge(run_example_checks(&native, &under_test));
    if let Ok(cases) = crate::cases::load_case_file(cases_path) {
        let problems = coverage_problems(&under_test, &cases);
        if problems.is_empty() {
            report.passed += 1;
        } else {
            report.failures.push(CaseFailure {
                problems,
                ..fail("(coverage)", String::new())
            });
        }
    }
    report
}

/// [`run_native`], as a test: panics listing every failure.
#[allow(clippy::panic)] // the way a test fails
#[track_caller]
pub fn assert_native(policy: &PolicyInfo, dir: impl AsRef<Path>) {
    match run_native(policy, dir).into_result() {
        Ok(passed) => eprintln!("{}: {passed} native checks passed", policy.name),
        Err(e) => panic!("{e:#}"),
    }
}
