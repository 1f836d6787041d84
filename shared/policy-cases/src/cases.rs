//! The data-driven test cases of a policy (`test_data/cases.yaml`, format in
//! the crate README): reading them; what goes into a policy and comes out as
//! the host sees it (kwctl's `validate` payload, the answers read from their
//! JSON, so that the wasm and the native run compare exactly the same
//! thing); comparing an answer with a case's expectation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
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
    /// How many warnings there are (`warnings: 0`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<usize>,
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
            "{}: expected a top-level `cases:` list (see the policy-cases README)",
            source.display()
        );
    };
    if let Some(map) = doc.as_mapping()
        && let Some(key) = map.keys().find(|k| k.as_str() != Some("cases"))
    {
        bail!("{}: unknown top-level key {key:?}", source.display());
    }
    let mut parsed: Vec<Case> = Vec::with_capacity(cases.len());
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
        // A failure names its case: two cases of one name would be told apart
        // by nothing.
        if parsed.iter().any(|c| c.name == case.name) {
            bail!(
                "{}: case {name} has the name of an earlier case",
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
        let found = actual
            .mutated_object
            .as_ref()
            .map_or("absent", |_| "present");
        problems.push(format!(
            "expected mutated: {mutated}, got mutated_object {found}"
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
    if let Some(count) = expect.warnings {
        let warnings = actual.warnings.clone().unwrap_or_default();
        if warnings.len() != count {
            problems.push(format!("expected {count} warnings, got {warnings:?}"));
        }
    }
    problems
}

/// The guest's answer to `validate_settings`: `message` says why not valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsResponse {
    pub valid: bool,
    pub message: Option<String>,
}

/// The guest's answer to `validate` (the SDK's `ValidationResponse`; a
/// mutating policy that changed something returns `mutated_object`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub mutated_object: Option<Value>,
    pub warnings: Option<Vec<String>>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
}

/// Reads an answer the way the host reads the guest's bytes: through its
/// JSON. Natively, `answer` is the SDK's response the policy returned.
pub fn from_serialized<T: Serialize, R: serde::de::DeserializeOwned>(answer: &T) -> Result<R> {
    let json = serde_json::to_value(answer).context("cannot serialize the policy's answer")?;
    serde_json::from_value(json).context("the policy's answer is not the expected response")
}

/// The AdmissionRequest inside `value`: `value.request` when `value` is an
/// AdmissionReview (`kind: AdmissionReview`, kwctl's rule), else `value`.
pub fn admission_request(value: &Value) -> Result<&Value> {
    let Some(object) = value.as_object() else {
        bail!("an admission request must be a JSON object");
    };
    if object.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        object
            .get("request")
            .context("AdmissionReview without a request")
    } else {
        Ok(value)
    }
}

/// kwctl's `validate` payload `{"request": <AdmissionRequest>, "settings":
/// <settings>}`; `request` may be a whole AdmissionReview, unwrapped as
/// kwctl does.
pub fn validate_payload(request: &Value, settings: &Value) -> Result<Vec<u8>> {
    // Serialize from borrowed values: a json! envelope would deep-copy the
    // request first, which cost more than the policy itself (make bench).
    #[derive(Serialize)]
    struct Payload<'a> {
        request: &'a Value,
        settings: &'a Value,
    }
    let payload = Payload {
        request: admission_request(request)?,
        settings,
    };
    Ok(serde_json::to_vec(&payload)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn response(accepted: bool, message: Option<&str>) -> ValidationResponse {
        ValidationResponse {
            accepted,
            message: message.map(str::to_owned),
            ..ValidationResponse::default()
        }
    }

    pub(crate) fn expect(yaml: &str) -> Expectation {
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
        for part in ["p/test_data/cases.yaml", "broken one", "acepted"] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn malformed_documents_are_errors() {
        for yaml in [
            "cases: [",
            "other: 1",
            "cases: []\nextra: 1",
            "cases:\n  - {name: x, request: r, expect: {accepted: true}}\n  - {name: x, request: s, expect: {accepted: true}}\n",
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
        // Mutations.
        let e = expect("{accepted: true, mutated: true, patched: {/metadata/labels/a: b, /x: 1}}");
        let mut r = response(true, None);
        assert_eq!(compare(&e, &r).len(), 2);
        r.mutated_object = Some(json!({"metadata": {"labels": {"a": "c"}}}));
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
    fn unwraps_admission_review_like_kwctl() {
        let req = json!({"uid": "1", "kind": {"kind": "Pod"}});
        let review =
            json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req});
        assert_eq!(admission_request(&review).unwrap(), &req);
        assert_eq!(admission_request(&req).unwrap(), &req);
        assert!(admission_request(&json!({"kind": "AdmissionReview"})).is_err());
        assert!(admission_request(&json!([1])).is_err());
        let payload: Value =
            serde_json::from_slice(&validate_payload(&review, &json!({"a": 1})).unwrap()).unwrap();
        assert_eq!(payload, json!({"request": req, "settings": {"a": 1}}));
    }

    #[test]
    fn answers_are_read_through_their_json() {
        let r: ValidationResponse =
            from_serialized(&json!({"accepted": false, "message": "no", "code": 400})).unwrap();
        assert_eq!(r.code, Some(400));
        assert!(from_serialized::<_, SettingsResponse>(&json!({"x": 1})).is_err());
    }
}
