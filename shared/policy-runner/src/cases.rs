//! Data-driven test cases (`test_data/cases.yaml`), their discovery across
//! the workspace, running them through a [`PolicyRunner`] and reporting
//! mismatches. See the crate README for the file format.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::capabilities::ReplaySession;
use crate::metadata::{ContextAwareResource, load_context_aware_resources};
use crate::runner::{
    CompiledPolicy, HostCall, HostCallOutcome, PolicyOptions, PolicyRunner, ValidationResponse,
};

/// A whole `cases.yaml` file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One case: a request, settings, an optional session and the expectation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Case {
    /// Human-readable name, shown on failure.
    pub name: String,
    /// AdmissionRequest (or AdmissionReview) JSON file, relative to `test_data/`.
    pub request: PathBuf,
    /// Inline settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
    /// Settings file (JSON or YAML), relative to `test_data/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_file: Option<PathBuf>,
    /// kwctl replay session, relative to `test_data/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<PathBuf>,
    /// The expected decision.
    pub expect: Expectation,
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl OneOrMany {
    /// All strings.
    pub fn items(&self) -> Vec<&str> {
        match self {
            Self::One(s) => vec![s.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// What the policy must answer. Only the given fields are checked.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expectation {
    /// The decision.
    pub accepted: bool,
    /// Substrings the message must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_contains: Option<OneOrMany>,
    /// Whether `mutated_object` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutated: Option<bool>,
    /// JSON pointer -> expected value inside `mutated_object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patched: Option<BTreeMap<String, Value>>,
    /// The response code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Substrings that must each appear in some warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings_contain: Option<OneOrMany>,
    /// Whether `validate_settings` accepts the case's settings (default
    /// true). `false` tests `validate`'s own defence against settings that
    /// bypassed settings validation: `validate` still runs and is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_valid: Option<bool>,
}

/// Parses a `cases.yaml` document; `source` names it in errors.
pub fn parse_case_file(yaml: &str, source: &Path) -> Result<CaseFile> {
    // Parse generically first, so an error can name the offending case.
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml)
        .with_context(|| format!("{}: not valid YAML", source.display()))?;
    let Some(cases) = doc.get("cases").and_then(serde_yaml::Value::as_sequence) else {
        bail!(
            "{}: expected a top-level `cases:` list (see policy-runner README)",
            source.display()
        );
    };
    if let Some(map) = doc.as_mapping()
        && let Some(key) = map.keys().find(|k| k.as_str() != Some("cases"))
    {
        bail!("{}: unknown top-level key {key:?}", source.display());
    }
    let mut parsed = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(serde_yaml::Value::as_str)
            .map_or_else(
                || format!("#{index} (unnamed)"),
                |n| format!("#{index} {n:?}"),
            );
        let case: Case = serde_yaml::from_value(case.clone())
            .with_context(|| format!("{}: case {name} is malformed", source.display()))?;
        if case.settings.is_some() && case.settings_file.is_some() {
            bail!(
                "{}: case {name} gives both `settings` and `settingsFile`",
                source.display()
            );
        }
        parsed.push(case);
    }
    Ok(CaseFile { cases: parsed })
}

/// Reads a `cases.yaml` file.
pub fn load_case_file(path: &Path) -> Result<CaseFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read case file {}", path.display()))?;
    parse_case_file(&text, path)
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

/// Where built modules live: `$POLICY_WASM_DIR`, else `<root>/target/policies`.
pub fn wasm_dir(workspace_root: &Path) -> PathBuf {
    std::env::var_os("POLICY_WASM_DIR")
        .map_or_else(|| workspace_root.join("target/policies"), PathBuf::from)
}

/// Reads a JSON or YAML file (YAML is a superset; JSON keeps exact numbers).
pub fn read_json_or_yaml(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", path.display()))
    } else {
        serde_yaml::from_str(&text).with_context(|| format!("{}: invalid YAML", path.display()))
    }
}

/// Compares a response with an expectation; every difference, one per line.
pub fn compare(expect: &Expectation, actual: &ValidationResponse) -> Vec<String> {
    let mut problems = Vec::new();
    if expect.accepted != actual.accepted {
        problems.push(format!(
            "expected accepted: {}, got accepted: {}",
            expect.accepted, actual.accepted
        ));
    }
    if let Some(wanted) = &expect.message_contains {
        let message = actual.message.as_deref().unwrap_or("");
        for part in wanted.items() {
            if !message.contains(part) {
                problems.push(format!(
                    "expected the message to contain {part:?}, message is {:?}",
                    actual.message
                ));
            }
        }
    }
    if let Some(code) = expect.code
        && actual.code != Some(code)
    {
        problems.push(format!("expected code {code}, got {:?}", actual.code));
    }
    if let Some(mutated) = expect.mutated
        && mutated != actual.mutated_object.is_some()
    {
        problems.push(format!(
            "expected mutated: {mutated}, got mutated_object {}",
            if actual.mutated_object.is_some() {
                "present"
            } else {
                "absent"
            }
        ));
    }
    if let Some(patched) = &expect.patched {
        match &actual.mutated_object {
            None => problems.push("expected patched fields, but there is no mutated_object".into()),
            Some(object) => {
                for (pointer, value) in patched {
                    match object.pointer(pointer) {
                        Some(found) if found == value => {}
                        found => problems.push(format!(
                            "expected mutated_object{pointer} = {value}, got {}",
                            found.map_or_else(|| "nothing".to_owned(), Value::to_string)
                        )),
                    }
                }
            }
        }
    }
    if let Some(wanted) = &expect.warnings_contain {
        let warnings = actual.warnings.clone().unwrap_or_default();
        for part in wanted.items() {
            if !warnings.iter().any(|w| w.contains(part)) {
                problems.push(format!(
                    "expected a warning containing {part:?}, got {warnings:?}"
                ));
            }
        }
    }
    problems
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

fn failure(policy: &PolicyUnderTest, file: &Path, case: &str, problem: String) -> CaseFailure {
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

/// Runs one case on an instantiated policy.
pub fn run_case(
    runner: &PolicyRunner,
    policy: &PolicyUnderTest,
    file: &Path,
    case: &Case,
) -> std::result::Result<(), Box<CaseFailure>> {
    let fail = |problem: String| Box::new(failure(policy, file, &case.name, problem));
    let base = &policy.test_data;
    let request =
        read_json_or_yaml(&base.join(&case.request)).map_err(|e| fail(format!("{e:#}")))?;
    let settings = match (&case.settings, &case.settings_file) {
        (Some(inline), _) => inline.clone(),
        (None, Some(path)) => {
            read_json_or_yaml(&base.join(path)).map_err(|e| fail(format!("{e:#}")))?
        }
        (None, None) => Value::Object(serde_json::Map::new()),
    };
    let session = match &case.session {
        Some(path) => {
            Some(ReplaySession::from_file(&base.join(path)).map_err(|e| fail(format!("{e:#}")))?)
        }
        None => None,
    };
    runner.set_host_capabilities(session.map(|s| Arc::new(s) as _));

    // kwctl refuses to evaluate with settings the policy rejects: so do we,
    // unless the case says the settings are meant to be invalid.
    let settings_valid = case.expect.settings_valid.unwrap_or(true);
    match runner.validate_settings(&settings) {
        Ok(r) if r.valid == settings_valid => {}
        Ok(r) if r.valid => {
            return Err(fail(
                "the case expects settingsValid: false, but validate_settings accepts the settings"
                    .to_owned(),
            ));
        }
        Ok(r) => {
            return Err(fail(format!(
                "the policy rejects the case's settings: {}",
                r.message.unwrap_or_default()
            )));
        }
        Err(e) => return Err(fail(format!("{e:#}"))),
    }

    let actual = runner.validate(&request, &settings);
    let host_calls = runner.host_calls();
    let actual = match actual {
        Ok(actual) => actual,
        Err(e) => {
            let mut f = fail(format!("{e:#}"));
            f.expected = Some(case.expect.clone());
            f.host_calls = host_calls;
            return Err(f);
        }
    };
    let mut problems = compare(&case.expect, &actual);
    // A lookup missing from the session must never go unnoticed, even when
    // the policy's (fail-closed) decision happens to match.
    for call in &host_calls {
        if let HostCallOutcome::Unanswered(m) = &call.outcome {
            problems.push(format!(
                "host capability request not answered by the session: {m}"
            ));
        }
        if let HostCallOutcome::Unsupported(m) = &call.outcome {
            problems.push(format!("unsupported host call: {m}"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Box::new(CaseFailure {
        policy: policy.name.clone(),
        file: file.to_path_buf(),
        case: case.name.clone(),
        problems,
        expected: Some(case.expect.clone()),
        actual: Some(actual),
        host_calls,
    }))
}

fn settings_files(dir: &Path) -> Result<Vec<PathBuf>> {
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
pub fn run_settings_checks(runner: &PolicyRunner, policy: &PolicyUnderTest) -> SuiteReport {
    let mut report = SuiteReport::default();
    for (folder, want_valid) in [("valid-settings", true), ("invalid-settings", false)] {
        let files = match settings_files(&policy.test_data.join(folder)) {
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
            let outcome = read_json_or_yaml(&file).and_then(|s| runner.validate_settings(&s));
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
    let options = match policy.context_aware_resources() {
        Ok(resources) => PolicyOptions::default().context_aware_resources(resources),
        Err(e) => {
            report
                .failures
                .push(failure(policy, &file, "(metadata)", format!("{e:#}")));
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
    report.merge(run_settings_checks(&runner, policy));
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
    for case in &cases.cases {
        match run_case(&runner, policy, cases_path, case) {
            Ok(()) => report.passed += 1,
            Err(f) => report.failures.push(*f),
        }
    }
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

    fn response(accepted: bool, message: Option<&str>) -> ValidationResponse {
        ValidationResponse {
            accepted,
            message: message.map(str::to_owned),
            code: None,
            mutated_object: None,
            warnings: None,
            audit_annotations: None,
        }
    }

    fn expect(yaml: &str) -> Expectation {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn parses_the_documented_format() {
        let yaml = r#"
cases:
  - name: gpu pod with limit is accepted
    request: requests/pod.json
    settings: {maxGpusPerPod: 2}
    session: sessions/ns.yml
    expect:
      accepted: false
      messageContains: ["containers[0]", "nvidia.com/gpu"]
      mutated: false
      code: 400
  - name: mutation
    request: requests/pod.json
    settingsFile: settings/strict.yaml
    expect:
      accepted: true
      messageContains: one
      patched:
        /spec/tolerations/0/key: nvidia.com/gpu
"#;
        let file = parse_case_file(yaml, Path::new("cases.yaml")).unwrap();
        assert_eq!(file.cases.len(), 2);
        assert_eq!(file.cases[0].expect.code, Some(400));
        assert_eq!(
            file.cases[1].expect.message_contains,
            Some(OneOrMany::One("one".into()))
        );
        assert_eq!(
            file.cases[1].expect.patched.as_ref().unwrap()["/spec/tolerations/0/key"],
            Value::String("nvidia.com/gpu".into())
        );
    }

    #[test]
    fn malformed_case_names_file_and_case() {
        let yaml = "cases:\n  - name: ok\n    request: r.json\n    expect: {accepted: true}\n  - name: broken one\n    request: r.json\n    expect: {acepted: true}\n";
        let err = parse_case_file(yaml, Path::new("p/test_data/cases.yaml")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("p/test_data/cases.yaml"), "{text}");
        assert!(text.contains("broken one"), "{text}");
        assert!(text.contains("acepted"), "{text}");
    }

    #[test]
    fn malformed_documents_are_errors() {
        for yaml in [
            "cases: [",
            "other: 1",
            "cases: []\nextra: 1",
            "cases:\n  - name: x\n    request: r\n    settings: {}\n    settingsFile: s\n    expect: {accepted: true}\n",
        ] {
            assert!(
                parse_case_file(yaml, Path::new("c.yaml")).is_err(),
                "{yaml}"
            );
        }
        let err = load_case_file(Path::new("/nonexistent/cases.yaml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/cases.yaml"));
    }

    #[test]
    fn matching_response_has_no_problems() {
        let e = expect(
            "{accepted: false, messageContains: [containers, gpu], code: 400, mutated: false}",
        );
        let mut r = response(false, Some("containers[0]: gpu missing"));
        r.code = Some(400);
        assert!(compare(&e, &r).is_empty());
    }

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

    #[test]
    fn mutation_checks() {
        let e = expect("{accepted: true, mutated: true, patched: {/metadata/labels/a: b, /x: 1}}");
        let mut r = response(true, None);
        assert_eq!(compare(&e, &r).len(), 2);
        r.mutated_object = Some(serde_json::json!({"metadata": {"labels": {"a": "c"}}}));
        let problems = compare(&e, &r);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("/metadata/labels/a = \"b\", got \"c\""),
            "{problems:?}"
        );
        assert!(problems[1].contains("/x = 1, got nothing"), "{problems:?}");
        let not_mutated = expect("{accepted: true, mutated: false}");
        assert_eq!(compare(&not_mutated, &r).len(), 1);
    }

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
