//! Running a policy's test data (`test_data/cases.yaml`, the
//! `valid-settings`/`invalid-settings` folders) through a [`Harness`]: the
//! built module in the waPC host (policy-runner) or the policy's native
//! entry points ([`crate::native`]). Both runs share everything but the
//! harness: how a case is read, which settings check comes first, how the
//! answer is compared, which lookups fail a case, how failures are reported.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use gpu_policy_core::WorkloadKind;
use serde::Deserialize as _;
use serde_json::Value;

use crate::cases::{Case, CaseFile, Expectation, compare, load_case_file, read_json_or_yaml};
use crate::host_call::{HostCall, HostCallOutcome};
use crate::metadata::{ContextAwareResource, load_context_aware_resources};
use crate::replay::{KubernetesRequest, ReplaySession};
use crate::response::{SettingsResponse, ValidationResponse, admission_request};

/// Runs a policy for the case harness.
pub trait Harness {
    /// `validate_settings` on `settings`.
    fn check_settings(&self, settings: &Value) -> Result<SettingsResponse>;

    /// `validate` on kwctl's payload for the case's `request` and
    /// `settings`. Lookups are answered by its `session` alone (without one,
    /// none is). Returns the response and the host calls the policy made.
    fn evaluate(&self, case: &CaseInputs) -> (Result<ValidationResponse>, Vec<HostCall>);
}

/// What a case hands the policy, read from the test data.
#[derive(Debug, Clone)]
pub struct CaseInputs {
    /// An AdmissionRequest, or an AdmissionReview to unwrap.
    pub request: Value,
    /// The settings (inline, from `settingsFile`, or `{}`).
    pub settings: Value,
    /// The kwctl replay session that answers the lookups, if any.
    pub session: Option<ReplaySession>,
}

/// A policy (or test fixture) with test data, found in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyUnderTest {
    /// Crate name = directory name = `.wasm` file stem.
    pub name: String,
    /// The crate directory.
    pub dir: PathBuf,
    /// `<dir>/test_data`.
    pub test_data: PathBuf,
    /// `<dir>/metadata.yml`, when present.
    pub metadata: Option<PathBuf>,
    /// `<dir>/test_data/cases.yaml`, when present.
    pub cases_file: Option<PathBuf>,
}

impl PolicyUnderTest {
    /// Describes the crate in `dir` (whether or not it has test data).
    pub fn at(dir: &Path) -> Self {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let test_data = dir.join("test_data");
        let metadata = Some(dir.join("metadata.yml")).filter(|p| p.is_file());
        let cases_file = Some(test_data.join("cases.yaml")).filter(|p| p.is_file());
        Self {
            name,
            dir: dir.to_path_buf(),
            test_data,
            metadata,
            cases_file,
        }
    }

    /// The built module in `wasm_dir`.
    pub fn wasm_path(&self, wasm_dir: &Path) -> PathBuf {
        wasm_dir.join(format!("{}.wasm", self.name))
    }

    /// `contextAwareResources` of its metadata.yml (empty without one).
    pub fn context_aware_resources(&self) -> Result<Vec<ContextAwareResource>> {
        self.metadata
            .as_deref()
            .map_or_else(|| Ok(Vec::new()), load_context_aware_resources)
    }

    /// `contextAwareResources` of its metadata.yml, or a failure naming
    /// the file.
    pub fn allowed_resources(&self) -> Result<Vec<ContextAwareResource>, Box<CaseFailure>> {
        self.context_aware_resources().map_err(|e| {
            Box::new(failure(
                self,
                self.metadata.as_deref().unwrap_or(&self.dir),
                "(metadata)",
                format!("{e:#}"),
            ))
        })
    }

    fn has_test_data(&self) -> bool {
        self.cases_file.is_some()
            || self.test_data.join("valid-settings").is_dir()
            || self.test_data.join("invalid-settings").is_dir()
    }
}

/// Every crate under `<root>/policies/*` and `<root>/tests/fixtures/*` that
/// has `test_data/cases.yaml` or a `valid-settings`/`invalid-settings`
/// folder, sorted by path.
pub fn discover(workspace_root: &Path) -> Result<Vec<PolicyUnderTest>> {
    let mut found = Vec::new();
    for parent in ["policies", "tests/fixtures"] {
        let parent = workspace_root.join(parent);
        if !parent.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&parent)
            .with_context(|| format!("cannot list {}", parent.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", parent.display()))?
                .path();
            if path.is_dir() {
                let policy = PolicyUnderTest::at(&path);
                if policy.has_test_data() {
                    found.push(policy);
                }
            }
        }
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

/// A case that did not go as expected.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFailure {
    /// Policy (crate) name.
    pub policy: String,
    /// The case file.
    pub file: PathBuf,
    /// Case name (or what failed, for settings checks).
    pub case: String,
    /// What went wrong, one item per difference or error.
    pub problems: Vec<String>,
    /// The expectation, when there was one.
    pub expected: Option<Expectation>,
    /// The full actual response, when there was one.
    pub actual: Option<ValidationResponse>,
    /// Host calls the guest made.
    pub host_calls: Vec<HostCall>,
}

impl fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "[{}] case {:?} ({})",
            self.policy,
            self.case,
            self.file.display()
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        if let Some(expected) = &self.expected {
            let text = serde_json::to_string(expected).unwrap_or_default();
            writeln!(f, "  expected: {text}")?;
        }
        if let Some(actual) = &self.actual {
            let text = serde_json::to_string(actual).unwrap_or_default();
            writeln!(f, "  actual:   {text}")?;
        }
        for call in &self.host_calls {
            writeln!(f, "  host call: {call}")?;
        }
        Ok(())
    }
}

/// The outcome of a policy's whole suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteReport {
    /// Checks that passed (cases and settings files).
    pub passed: usize,
    /// Checks that failed.
    pub failures: Vec<CaseFailure>,
}

impl SuiteReport {
    /// Merges another report into this one.
    pub fn merge(&mut self, other: Self) {
        self.passed += other.passed;
        self.failures.extend(other.failures);
    }

    /// `Ok` when nothing failed, else an error listing every failure.
    pub fn into_result(self) -> Result<usize> {
        if self.failures.is_empty() {
            return Ok(self.passed);
        }
        let mut text = format!(
            "{} check(s) failed, {} passed:\n\n",
            self.failures.len(),
            self.passed
        );
        for failure in &self.failures {
            let _ = writeln!(text, "{failure}");
        }
        bail!(text)
    }
}

/// A failure of `case` in `file` with one problem.
pub fn failure(policy: &PolicyUnderTest, file: &Path, case: &str, problem: String) -> CaseFailure {
    CaseFailure {
        policy: policy.name.clone(),
        file: file.to_path_buf(),
        case: case.to_owned(),
        problems: vec![problem],
        expected: None,
        actual: None,
        host_calls: Vec::new(),
    }
}

/// Runs one case: `validate_settings` first (kwctl refuses to evaluate with
/// settings the policy rejects, and so does this, unless the case says
/// `settingsValid: false`), then `validate`, compared with the expectation.
/// A lookup missing from the session, or an unsupported host call, fails
/// the case whatever the decision.
pub fn run_case(
    harness: &dyn Harness,
    policy: &PolicyUnderTest,
    file: &Path,
    case: &Case,
) -> Result<(), Box<CaseFailure>> {
    run_one(harness, policy, file, case).0
}

/// [`run_case`], plus the host calls made (none when the case could not
/// be evaluated).
fn run_one(
    harness: &dyn Harness,
    policy: &PolicyUnderTest,
    file: &Path,
    case: &Case,
) -> (Result<(), Box<CaseFailure>>, Vec<HostCall>) {
    let fail = |problem: String| Box::new(failure(policy, file, &case.name, problem));
    let inputs = case_inputs(&policy.test_data, case).and_then(|inputs| {
        // kwctl refuses to evaluate with settings the policy rejects: so do
        // we, unless the case says the settings are meant to be invalid.
        let settings_valid = case.expect.settings_valid.unwrap_or(true);
        match harness.check_settings(&inputs.settings) {
            Ok(r) if r.valid == settings_valid => Ok(inputs),
            Ok(r) if r.valid => bail!(
                "the case expects settingsValid: false, but validate_settings accepts the settings"
            ),
            Ok(r) => bail!(
                "the policy rejects the case's settings: {}",
                r.message.unwrap_or_default()
            ),
            Err(e) => Err(e),
        }
    });
    let inputs = match inputs {
        Ok(inputs) => inputs,
        Err(e) => return (Err(fail(format!("{e:#}"))), Vec::new()),
    };
    let (actual, host_calls) = harness.evaluate(&inputs);
    let actual = match actual {
        Ok(actual) => actual,
        Err(e) => {
            let mut f = fail(format!("{e:#}"));
            f.expected = Some(case.expect.clone());
            f.host_calls = host_calls.clone();
            return (Err(f), host_calls);
        }
    };
    let mut problems = compare(&case.expect, &actual);
    problems.extend(lookup_problems(&host_calls));
    if problems.is_empty() {
        return (Ok(()), host_calls);
    }
    let failure = Box::new(CaseFailure {
        policy: policy.name.clone(),
        file: file.to_path_buf(),
        case: case.name.clone(),
        problems,
        expected: Some(case.expect.clone()),
        actual: Some(actual),
        host_calls: host_calls.clone(),
    });
    (Err(failure), host_calls)
}

/// A case's request, settings (inline, from `settingsFile`, or `{}`) and
/// replay session, read relative to `test_data`.
fn case_inputs(test_data: &Path, case: &Case) -> Result<CaseInputs> {
    let request = read_json_or_yaml(&test_data.join(&case.request))?;
    let settings = match (&case.settings, &case.settings_file) {
        (Some(inline), _) => inline.clone(),
        (None, Some(path)) => read_json_or_yaml(&test_data.join(path))?,
        (None, None) => Value::Object(serde_json::Map::new()),
    };
    let session = match &case.session {
        Some(path) => Some(ReplaySession::from_file(&test_data.join(path))?),
        None => None,
    };
    Ok(CaseInputs {
        request,
        settings,
        session,
    })
}

/// What in a case's host calls fails it: a lookup missing from the session
/// must never go unnoticed, even when the policy's (fail-closed) decision
/// happens to match; nor a host call the test host does not offer.
pub fn lookup_problems(host_calls: &[HostCall]) -> Vec<String> {
    host_calls
        .iter()
        .filter_map(|call| match &call.outcome {
            HostCallOutcome::Unanswered(m) => Some(format!(
                "host capability request not answered by the session: {m}"
            )),
            HostCallOutcome::Unsupported(m) => Some(format!("unsupported host call: {m}")),
            _ => None,
        })
        .collect()
}

fn folder_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Checks `validate_settings` against `test_data/valid-settings/*` (must be
/// valid) and `test_data/invalid-settings/*` (must be invalid, with a message).
pub fn run_settings_checks(harness: &dyn Harness, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = SuiteReport::default();
    for (folder, want_valid) in [("valid-settings", true), ("invalid-settings", false)] {
        let files = match folder_files(&policy.test_data.join(folder)) {
            Ok(files) => files,
            Err(e) => {
                report
                    .failures
                    .push(failure(policy, &policy.test_data, folder, format!("{e:#}")));
                continue;
            }
        };
        for file in files {
            let case = format!(
                "{folder}/{}",
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            let outcome = read_json_or_yaml(&file).and_then(|s| harness.check_settings(&s));
            let problem = match outcome {
                Err(e) => Some(format!("{e:#}")),
                Ok(r) if r.valid != want_valid => Some(format!(
                    "expected valid: {want_valid}, got valid: {} (message: {:?})",
                    r.valid, r.message
                )),
                Ok(r) if !want_valid && r.message.as_deref().unwrap_or("").trim().is_empty() => {
                    Some("rejected without a message".to_owned())
                }
                Ok(_) => None,
            };
            match problem {
                Some(p) => report.failures.push(failure(policy, &file, &case, p)),
                None => report.passed += 1,
            }
        }
    }
    report
}

/// Checks that the settings of every document in `examples/*.yaml` (a
/// ClusterAdmissionPolicy: `spec.settings`, `{}` when absent) are accepted
/// by `validate_settings`: what a user copies must deploy.
pub fn run_example_checks(harness: &dyn Harness, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = SuiteReport::default();
    let files = match folder_files(&policy.dir.join("examples")) {
        Ok(files) => files,
        Err(e) => {
            report
                .failures
                .push(failure(policy, &policy.dir, "examples", format!("{e:#}")));
            return report;
        }
    };
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
    {
        let case = format!(
            "examples/{}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        let problems = match example_settings(file) {
            Err(e) => vec![format!("{e:#}")],
            Ok(documents) => documents
                .iter()
                .enumerate()
                .filter_map(|(i, settings)| match harness.check_settings(settings) {
                    Ok(r) if r.valid => None,
                    Ok(r) => Some(format!(
                        "document {i}: validate_settings rejects spec.settings: {}",
                        r.message.unwrap_or_default()
                    )),
                    Err(e) => Some(format!("document {i}: {e:#}")),
                })
                .collect(),
        };
        if problems.is_empty() {
            report.passed += 1;
        } else {
            let mut f = failure(policy, file, &case, String::new());
            f.problems = problems;
            report.failures.push(f);
        }
    }
    report
}

/// `spec.settings` of every YAML document in `file`.
fn example_settings(file: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| {
            let document = Value::deserialize(document)
                .with_context(|| format!("{}: invalid YAML", file.display()))?;
            Ok(document
                .pointer("/spec/settings")
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())))
        })
        .collect()
}

/// Runs a policy's settings checks and every case of its `cases.yaml`,
/// then checks that every exchange of every session a case gives was asked
/// for by at least one of the cases that give it (a stale exchange means the
/// policy no longer makes a lookup the case was written for).
pub fn run_cases(harness: &dyn Harness, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = run_settings_checks(harness, policy);
    let Some(cases_path) = &policy.cases_file else {
        return report;
    };
    let cases = match load_case_file(cases_path) {
        Ok(cases) => cases,
        Err(e) => {
            report
                .failures
                .push(failure(policy, cases_path, "(case file)", format!("{e:#}")));
            return report;
        }
    };
    let mut asked: BTreeMap<&Path, Vec<KubernetesRequest>> = BTreeMap::new();
    for case in &cases.cases {
        let (outcome, host_calls) = run_one(harness, policy, cases_path, case);
        match outcome {
            Ok(()) => report.passed += 1,
            Err(f) => report.failures.push(*f),
        }
        if let Some(session) = &case.session {
            asked
                .entry(session)
                .or_default()
                .extend(host_calls.into_iter().filter_map(|c| c.request));
        }
    }
    for (path, requests) in asked {
        let file = policy.test_data.join(path);
        let Ok(session) = ReplaySession::from_file(&file) else {
            continue; // already reported by the cases that give it
        };
        let unused: Vec<String> = session
            .unused(&requests)
            .into_iter()
            .map(|e| format!("no case giving this session asks for {}", e.request))
            .collect();
        if unused.is_empty() {
            report.passed += 1;
        } else {
            let case = format!("(session) {}", path.display());
            let mut f = failure(policy, &file, &case, String::new());
            f.problems = unused;
            report.failures.push(f);
        }
    }
    report
}

/// What the test data of a workload policy must cover: every file in
/// `test_data/requests/` and `test_data/settings/` is used by a case, and
/// the requests hold every [`WorkloadKind`]. One item per gap.
pub fn coverage_problems(policy: &PolicyUnderTest, cases: &CaseFile) -> Vec<String> {
    let mut problems = Vec::new();
    let mut kinds = Vec::new();
    for (folder, used_by) in [
        ("requests", request_of as fn(&Case) -> Option<&PathBuf>),
        ("settings", settings_file_of),
    ] {
        let files = match folder_files(&policy.test_data.join(folder)) {
            Ok(files) => files,
            Err(e) => {
                problems.push(format!("{e:#}"));
                continue;
            }
        };
        for file in files {
            let mut users = cases.cases.iter().filter_map(used_by);
            if !users.any(|p| policy.test_data.join(p) == file) {
                problems.push(format!("{} is not used by any case", file.display()));
            }
            if folder == "requests" {
                match read_json_or_yaml(&file).and_then(|r| workload_kind(&r)) {
                    Ok(kind) => kinds.extend(kind),
                    Err(e) => problems.push(format!("{e:#}")),
                }
            }
        }
    }
    for kind in WorkloadKind::ALL {
        if !kinds.contains(&kind) {
            problems.push(format!(
                "no file in {} is a request for a {} (group {:?})",
                policy.test_data.join("requests").display(),
                kind.name(),
                kind.group()
            ));
        }
    }
    problems
}

fn request_of(case: &Case) -> Option<&PathBuf> {
    Some(&case.request)
}

fn settings_file_of(case: &Case) -> Option<&PathBuf> {
    case.settings_file.as_ref()
}

/// The workload kind a request file is about, `None` for other kinds.
fn workload_kind(request: &Value) -> Result<Option<WorkloadKind>> {
    let request = admission_request(request)?;
    let field = |name: &str| {
        request
            .pointer(&format!("/kind/{name}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    Ok(WorkloadKind::from_group_kind(field("group"), field("kind")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::tests::{expect, response};

    #[test]
    fn wrong_expectation_reports_case_expected_and_actual() {
        let case = Case {
            name: "gpu pod without limit is rejected".into(),
            request: "requests/pod.json".into(),
            settings: None,
            settings_file: None,
            session: None,
            expect: expect("{accepted: false, messageContains: nvidia.com/gpu}"),
        };
        let actual = response(true, None);
        let problems = compare(&case.expect, &actual);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let failure = CaseFailure {
            policy: "gpu-limit-required".into(),
            file: "policies/gpu-limit-required/test_data/cases.yaml".into(),
            case: case.name.clone(),
            problems,
            expected: Some(case.expect.clone()),
            actual: Some(actual),
            host_calls: Vec::new(),
        };
        let report = SuiteReport {
            passed: 3,
            failures: vec![failure],
        };
        let text = format!("{:#}", report.into_result().unwrap_err());
        assert!(text.contains("1 check(s) failed, 3 passed"), "{text}");
        assert!(
            text.contains("case \"gpu pod without limit is rejected\""),
            "{text}"
        );
        assert!(
            text.contains("policies/gpu-limit-required/test_data/cases.yaml"),
            "{text}"
        );
        assert!(
            text.contains("expected accepted: false, got accepted: true"),
            "{text}"
        );
        assert!(
            text.contains("expected the message to contain \"nvidia.com/gpu\""),
            "{text}"
        );
        assert!(
            text.contains(r#"expected: {"accepted":false,"messageContains":"nvidia.com/gpu"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"actual:   {"accepted":true,"message":null"#),
            "{text}"
        );
    }
}
