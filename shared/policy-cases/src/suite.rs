//! Running a policy's test data (`test_data/cases.yaml`, the
//! `valid-settings`/`invalid-settings` folders) through a [`Harness`]: the
//! built module in the waPC host (policy-runner) or the policy's native
//! entry points ([`Native`]: the same `validate`/`validate_settings` the wasm
//! module exports, without the wasm boundary, each case's lookups answered
//! by its replay session through an [`InMemoryCluster`] that refuses what
//! `contextAwareResources` does not list). Both runs share everything but
//! the harness: how a case is read, which settings check comes first, how
//! the answer is compared, which lookups fail a case, how failures are
//! reported; the native run adds the examples and the coverage.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use gpu_policy_core::{KubernetesHost, PolicyInfo, WorkloadKind};
use serde::Deserialize as _;
use serde_json::Value;

use crate::cases::{
    Case, CaseFile, Expectation, SettingsResponse, ValidationResponse, admission_request, compare,
    from_serialized, load_case_file, read_json_or_yaml, validate_payload,
};
use crate::cluster::InMemoryCluster;
use crate::metadata::ContextAwareResource;
use crate::replay::{
    HostCall, HostCallOutcome, KubernetesRequest, ReplaySession, load_context_aware_resources,
};

/// Runs a policy for the case harness.
pub trait Harness {
    /// `validate_settings` on `settings`.
    fn check_settings(&self, settings: &Value) -> Result<SettingsResponse>;

    /// `validate` on kwctl's payload for the case's `request` and
    /// `settings`. Lookups are answered by its `session` alone (without one,
    /// none is). Returns the response and the host calls the policy made.
    fn evaluate(&self, case: &CaseInputs) -> (Result<ValidationResponse>, Vec<HostCall>);
}

/// What a case hands the policy, read from the test data: an
/// AdmissionRequest (or an AdmissionReview to unwrap), the settings (inline,
/// from `settingsFile`, or `{}`) and the replay session, if any.
#[derive(Debug, Clone)]
pub struct CaseInputs {
    pub request: Value,
    pub settings: Value,
    pub session: Option<ReplaySession>,
}

/// A policy (or test fixture) with test data, found in the workspace: its
/// crate directory, whose name is the crate's and the `.wasm` file stem;
/// `<dir>/test_data`; `<dir>/metadata.yml` and `test_data/cases.yaml` when
/// present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyUnderTest {
    pub name: String,
    pub dir: PathBuf,
    pub test_data: PathBuf,
    pub metadata: Option<PathBuf>,
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

    /// `contextAwareResources` of its metadata.yml (empty without one), or
    /// a failure naming the file.
    pub fn allowed_resources(&self) -> Result<Vec<ContextAwareResource>, Box<CaseFailure>> {
        let Some(path) = &self.metadata else {
            return Ok(Vec::new());
        };
        load_context_aware_resources(path)
            .map_err(|e| Box::new(failure(self, path, "(metadata)", format!("{e:#}"))))
    }
}

/// Every crate under `<root>/policies/*` and `<root>/tests/fixtures/*` that
/// has `test_data/cases.yaml` or a `valid-settings`/`invalid-settings`
/// folder, sorted by path.
pub fn discover(workspace_root: &Path) -> Result<Vec<PolicyUnderTest>> {
    let mut found = Vec::new();
    for parent in ["policies", "tests/fixtures"] {
        for path in listing(&workspace_root.join(parent))? {
            let policy = PolicyUnderTest::at(&path);
            let folder = |name| policy.test_data.join(name).is_dir();
            if path.is_dir()
                && (policy.cases_file.is_some()
                    || folder("valid-settings")
                    || folder("invalid-settings"))
            {
                found.push(policy);
            }
        }
    }
    Ok(found)
}

/// The entries of `dir`, sorted (none when it is no folder).
fn listing(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let list = || format!("cannot list {}", dir.display());
    let mut paths = std::fs::read_dir(dir)
        .with_context(list)?
        .map(|entry| Ok(entry.with_context(list)?.path()))
        .collect::<Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

fn folder_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(listing(dir)?.into_iter().filter(|p| p.is_file()).collect())
}

/// A case that did not go as expected: the policy (crate) name, the case
/// file, the case's name (or what failed, for settings checks), what went
/// wrong (one item per difference or error), the expectation and the whole
/// response when there were some, and the host calls the guest made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFailure {
    pub policy: String,
    pub file: PathBuf,
    pub case: String,
    pub problems: Vec<String>,
    pub expected: Option<Expectation>,
    pub actual: Option<ValidationResponse>,
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
    /// Checks that passed (cases, settings files, sessions, examples).
    pub passed: usize,
    pub failures: Vec<CaseFailure>,
}

impl SuiteReport {
    /// Merges another report into this one.
    pub fn merge(&mut self, other: Self) {
        self.passed += other.passed;
        self.failures.extend(other.failures);
    }

    /// Counts one check of `case` in `file`: passed when it has no `problems`.
    pub fn record(
        &mut self,
        policy: &PolicyUnderTest,
        file: &Path,
        case: &str,
        problems: Vec<String>,
    ) {
        if problems.is_empty() {
            self.passed += 1;
        } else {
            self.failures.push(CaseFailure {
                problems,
                ..failure(policy, file, case, String::new())
            });
        }
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
        ..CaseFailure::default()
    }
}

/// Runs one case: `validate_settings` first (kwctl refuses to evaluate with
/// settings the policy rejects, and so does this, unless the case says
/// `settingsValid: false`), then `validate`, compared with the expectation.
/// A lookup missing from the session, or an unsupported host call, fails
/// the case whatever the decision. Also returns the host calls made (none
/// when the case could not be evaluated).
pub fn run_case(
    harness: &dyn Harness,
    policy: &PolicyUnderTest,
    file: &Path,
    case: &Case,
) -> (Result<(), Box<CaseFailure>>, Vec<HostCall>) {
    let inputs = case_inputs(&policy.test_data, case).and_then(|inputs| {
        let settings_valid = case.expect.settings_valid.unwrap_or(true);
        match harness.check_settings(&inputs.settings)? {
            r if r.valid == settings_valid => Ok(inputs),
            r if r.valid => bail!(
                "the case expects settingsValid: false, but validate_settings accepts the settings"
            ),
            r => bail!(
                "the policy rejects the case's settings: {}",
                r.message.unwrap_or_default()
            ),
        }
    });
    let inputs = match inputs {
        Ok(inputs) => inputs,
        Err(e) => {
            let failure = failure(policy, file, &case.name, format!("{e:#}"));
            return (Err(Box::new(failure)), Vec::new());
        }
    };
    let (actual, host_calls) = harness.evaluate(&inputs);
    let (problems, actual) = match actual {
        Ok(actual) => {
            let mut problems = compare(&case.expect, &actual);
            problems.extend(lookup_problems(&host_calls));
            (problems, Some(actual))
        }
        Err(e) => (vec![format!("{e:#}")], None),
    };
    if problems.is_empty() {
        return (Ok(()), host_calls);
    }
    let failure = CaseFailure {
        problems,
        expected: Some(case.expect.clone()),
        actual,
        host_calls: host_calls.clone(),
        ..failure(policy, file, &case.name, String::new())
    };
    (Err(Box::new(failure)), host_calls)
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
    let session = case.session.as_ref();
    let session = session
        .map(|path| ReplaySession::from_file(&test_data.join(path)))
        .transpose()?;
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

/// Checks `validate_settings` against `test_data/valid-settings/*` (must be
/// valid) and `test_data/invalid-settings/*` (must be invalid, with a message).
pub fn run_settings_checks(harness: &dyn Harness, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = SuiteReport::default();
    for (folder, want_valid) in [("valid-settings", true), ("invalid-settings", false)] {
        let files = match folder_files(&policy.test_data.join(folder)) {
            Ok(files) => files,
            Err(e) => {
                report.record(policy, &policy.test_data, folder, vec![format!("{e:#}")]);
                continue;
            }
        };
        for file in files {
            let case = format!("{folder}/{}", file_name(&file));
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
            report.record(policy, &file, &case, problem.into_iter().collect());
        }
    }
    report
}

fn file_name(file: &Path) -> std::borrow::Cow<'_, str> {
    file.file_name().unwrap_or_default().to_string_lossy()
}

/// Checks that the settings of every document in `examples/*.yaml` (a
/// ClusterAdmissionPolicy: `spec.settings`, `{}` when absent) are accepted
/// by `validate_settings`: what a user copies must deploy.
pub fn run_example_checks(harness: &dyn Harness, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = SuiteReport::default();
    let files = match folder_files(&policy.dir.join("examples")) {
        Ok(files) => files,
        Err(e) => {
            report.record(policy, &policy.dir, "examples", vec![format!("{e:#}")]);
            return report;
        }
    };
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
    {
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
        report.record(
            policy,
            file,
            &format!("examples/{}", file_name(file)),
            problems,
        );
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
            report.record(policy, cases_path, "(case file)", vec![format!("{e:#}")]);
            return report;
        }
    };
    let mut asked: BTreeMap<&Path, Vec<KubernetesRequest>> = BTreeMap::new();
    for case in &cases.cases {
        let (outcome, host_calls) = run_case(harness, policy, cases_path, case);
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
        let unused = session.unused(&requests).into_iter();
        let unused = unused.map(|e| format!("no case giving this session asks for {}", e.request));
        let case = format!("(session) {}", path.display());
        report.record(policy, &file, &case, unused.collect());
    }
    report
}

/// What the test data of a workload policy must cover: every file in
/// `test_data/requests/` and `test_data/settings/` is used by a case, and
/// the requests hold every [`WorkloadKind`]. One item per gap.
pub fn coverage_problems(policy: &PolicyUnderTest, cases: &CaseFile) -> Vec<String> {
    let mut problems = Vec::new();
    let mut kinds = Vec::new();
    for folder in ["requests", "settings"] {
        let files = match folder_files(&policy.test_data.join(folder)) {
            Ok(files) => files,
            Err(e) => {
                problems.push(format!("{e:#}"));
                continue;
            }
        };
        let used: Vec<PathBuf> = cases
            .cases
            .iter()
            .filter_map(|c| match folder {
                "requests" => Some(&c.request),
                _ => c.settings_file.as_ref(),
            })
            .map(|p| policy.test_data.join(p))
            .collect();
        for file in files {
            if !used.contains(&file) {
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

/// `POLICY.validate` on kwctl's payload for `request` (an AdmissionRequest,
/// or an AdmissionReview to unwrap) and `settings`, lookups answered by
/// `cluster`; the answer read through its JSON, as the host reads it.
pub fn native_validate(
    policy: &PolicyInfo,
    request: &Value,
    settings: &Value,
    cluster: &dyn KubernetesHost,
) -> Result<ValidationResponse> {
    let payload = validate_payload(request, settings)?;
    from_serialized(&(policy.validate)(&payload, cluster))
}

/// `POLICY.validate_settings` on `settings`.
pub fn native_validate_settings(policy: &PolicyInfo, settings: &Value) -> Result<SettingsResponse> {
    from_serialized(&(policy.validate_settings)(&serde_json::to_vec(settings)?))
}

/// The native [`Harness`]: a policy and the resource types it may read
/// (its `contextAwareResources`).
#[derive(Debug, Clone)]
pub struct Native {
    pub policy: PolicyInfo,
    pub allowed: Vec<ContextAwareResource>,
}

impl Harness for Native {
    fn check_settings(&self, settings: &Value) -> Result<SettingsResponse> {
        native_validate_settings(&self.policy, settings)
    }

    fn evaluate(&self, case: &CaseInputs) -> (Result<ValidationResponse>, Vec<HostCall>) {
        let mut cluster = InMemoryCluster::from_replay(case.session.clone().unwrap_or_default());
        cluster.allow_only(self.allowed.clone());
        let response = native_validate(&self.policy, &case.request, &case.settings, &cluster);
        (response, cluster.host_calls())
    }
}

/// Runs the test data of the policy crate in `dir` natively: the settings
/// folders, every case of `test_data/cases.yaml`, the sessions' exchanges,
/// the settings of `examples/*.yaml`, and the coverage of a workload
/// policy's data ([`coverage_problems`]).
pub fn run_native(policy: &PolicyInfo, dir: impl AsRef<Path>) -> SuiteReport {
    let under_test = PolicyUnderTest::at(dir.as_ref());
    // The native run's own checks are labelled with the policy's name.
    let labelled = PolicyUnderTest {
        name: policy.name.to_owned(),
        ..under_test.clone()
    };
    let own = |report: &mut SuiteReport, case: &str, problems: Vec<String>| {
        report.record(&labelled, &under_test.dir, case, problems);
    };
    let mut report = SuiteReport::default();
    if under_test.name != policy.name {
        let problem = format!(
            "the policy is {}, but its test data is that of {}",
            policy.name, under_test.name
        );
        own(&mut report, "(policy)", vec![problem]);
    }
    let Some(cases_path) = &under_test.cases_file else {
        let problem = format!("{} has no test_data/cases.yaml", under_test.dir.display());
        own(&mut report, "(case file)", vec![problem]);
        return report;
    };
    let native = match under_test.allowed_resources() {
        Ok(allowed) => Native {
            policy: *policy,
            allowed,
        },
        Err(f) => {
            report.failures.push(*f);
            return report;
        }
    };
    report.merge(run_cases(&native, &under_test));
    report.merge(run_example_checks(&native, &under_test));
    if let Ok(cases) = load_case_file(cases_path) {
        own(
            &mut report,
            "(coverage)",
            coverage_problems(&under_test, &cases),
        );
    }
    report
}

/// [`run_native`], as a test: panics listing every failure. Every policy's
/// `tests/cases.rs` is one call:
///
/// ```ignore
/// #[test]
/// fn test_data_cases_pass_natively() {
///     policy_cases::assert_native(&gpu_limit_required::POLICY, env!("CARGO_MANIFEST_DIR"));
/// }
/// ```
#[allow(clippy::panic)] // the way a test fails
#[track_caller]
pub fn assert_native(policy: &PolicyInfo, dir: impl AsRef<Path>) {
    match run_native(policy, dir).into_result() {
        Ok(passed) => eprintln!("{}: {passed} native checks passed", policy.name),
        Err(e) => panic!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::tests::{expect, response};

    #[test]
    fn wrong_expectation_reports_case_expected_and_actual() {
        let expected = expect("{accepted: false, messageContains: nvidia.com/gpu}");
        let actual = response(true, None);
        let problems = compare(&expected, &actual);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let failure = CaseFailure {
            policy: "gpu-limit-required".into(),
            file: "policies/gpu-limit-required/test_data/cases.yaml".into(),
            case: "gpu pod without limit is rejected".into(),
            problems,
            expected: Some(expected),
            actual: Some(actual),
            ..CaseFailure::default()
        };
        let report = SuiteReport {
            passed: 3,
            failures: vec![failure],
        };
        let text = format!("{:#}", report.into_result().unwrap_err());
        for wanted in [
            "1 check(s) failed, 3 passed",
            "case \"gpu pod without limit is rejected\"",
            "policies/gpu-limit-required/test_data/cases.yaml",
            "expected accepted: false, got accepted: true",
            "expected the message to contain \"nvidia.com/gpu\"",
            r#"expected: {"accepted":false,"messageContains":"nvidia.com/gpu"}"#,
            r#"actual:   {"accepted":true,"message":null"#,
        ] {
            assert!(text.contains(wanted), "{wanted} not in {text}");
        }
    }
}
