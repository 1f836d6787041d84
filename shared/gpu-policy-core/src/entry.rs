//! The two waPC entry points every policy exposes, done once: settings
//! validation that answers `valid: false` instead of raising a guest error,
//! and request evaluation that turns any unreadable input into a clean
//! rejection instead of a trap.

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::{SettingsValidationResponse, Validatable};
use kubewarden_policy_sdk::wapc_guest::CallResult;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::request::{AdmissionRequest, ValidationPayload};
use crate::violation::{Violation, render};

/// The HTTP-like code of a rejection caused by unreadable input.
pub const BAD_REQUEST: u16 = 400;

/// What a policy decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Admit unchanged.
    Accept,
    /// Reject, naming every violation.
    Reject(Vec<Violation>),
    /// Admit the given object instead of the submitted one.
    Mutate(Value),
}

impl Outcome {
    /// Rejects when there are violations, accepts otherwise.
    pub fn from_violations(violations: Vec<Violation>) -> Self {
        if violations.is_empty() {
            Outcome::Accept
        } else {
            Outcome::Reject(violations)
        }
    }
}

/// Parses settings JSON into `T`, with a readable error that names the key
/// (`maxGpusPerPod: invalid type: string "two", expected u32`). An empty
/// payload or `null` means "no settings": the defaults.
pub fn parse_settings<T: DeserializeOwned + Default>(json: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(json).map_err(|e| format!("settings are not UTF-8: {e}"))?;
    let trimmed = text.trim_start();
    if trimmed.trim_end().is_empty() || trimmed.trim_end() == "null" {
        return Ok(T::default());
    }
    // serde also fills structs from arrays; settings are always a mapping.
    if !trimmed.starts_with('{') {
        return Err("settings must be a mapping of keys to values".to_owned());
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let inner = strip_position(&inner.to_string());
        if path.is_empty() || path == "." {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// serde_json appends ` at line 1 column 17`; in a one-line settings
/// document that only adds noise.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

/// Parses and checks settings: the whole answer to `validate_settings`.
pub fn check_settings<T: DeserializeOwned + Default + Validatable>(
    json: &[u8],
) -> SettingsValidationResponse {
    let outcome = parse_settings::<T>(json).and_then(|s| s.validate());
    match outcome {
        Ok(()) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    }
}

/// The `validate_settings` waPC handler: unknown keys, wrong types and the
/// policy's own checks all come back as `{"valid": false, "message": ...}`.
pub fn validate_settings<T: DeserializeOwned + Default + Validatable>(
    payload: &[u8],
) -> CallResult {
    Ok(serde_json::to_vec(&check_settings::<T>(payload))?)
}

/// The `validate` waPC handler. Parses the envelope and settings, runs
/// `policy`, and answers with its decision. Unreadable input (not JSON, no
/// `request`, invalid settings) is a rejection with code 400 that says what is
/// wrong; it never traps.
pub fn validate<T, F>(payload: &[u8], policy: F) -> CallResult
where
    T: DeserializeOwned + Default + Validatable,
    F: FnOnce(&AdmissionRequest, &T) -> Outcome,
{
    Ok(serde_json::to_vec(&evaluate::<T, F>(payload, policy))?)
}

/// [`validate`] without the serialization: the response as a value, for
/// native tests and benchmarks.
pub fn evaluate<T, F>(payload: &[u8], policy: F) -> ValidationResponse
where
    T: DeserializeOwned + Default + Validatable,
    F: FnOnce(&AdmissionRequest, &T) -> Outcome,
{
    let parsed: ValidationPayload = match serde_json::from_slice(payload) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("cannot read the validation request: {e}")),
    };
    let settings_json = parsed
        .settings
        .map(|raw| raw.get().as_bytes())
        .unwrap_or(b"");
    let settings = match parse_settings::<T>(settings_json).and_then(|s| s.validate().map(|()| s)) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("invalid policy settings: {e}")),
    };
    response(policy(&parsed.request, &settings))
}

/// The response for an outcome.
pub fn response(outcome: Outcome) -> ValidationResponse {
    let mut r = ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: None,
    };
    match outcome {
        Outcome::Accept => {}
        Outcome::Reject(violations) => {
            r.accepted = false;
            r.message = Some(render(&violations));
        }
        Outcome::Mutate(object) => r.mutated_object = Some(object),
    }
    r
}

fn bad_request(message: String) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        code: Some(BAD_REQUEST),
        mutated_object: None,
        audit_annotations: None,
        warnings: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
    struct Demo {
        max_gpus_per_pod: Option<u32>,
        names: Vec<String>,
    }

    impl Validatable for Demo {
        fn validate(&self) -> Result<(), String> {
            match self.max_gpus_per_pod {
                Some(0) => Err("maxGpusPerPod must be at least 1".into()),
                _ => Ok(()),
            }
        }
    }

    fn settings_message(json: &str) -> Option<String> {
        let r = check_settings::<Demo>(json.as_bytes());
        assert_eq!(r.valid, r.message.is_none());
        r.message
    }

    #[test]
    fn settings_errors_name_the_key() {
        assert_eq!(settings_message("{}"), None);
        assert_eq!(settings_message(""), None);
        assert_eq!(settings_message("null"), None);
        assert_eq!(settings_message(r#"{"maxGpusPerPod": 2}"#), None);
        assert_eq!(
            settings_message(r#"{"maxGpusPerPod": "two"}"#).unwrap(),
            r#"maxGpusPerPod: invalid type: string "two", expected u32"#
        );
        assert_eq!(
            settings_message(r#"{"maxGpusPerPod": -1}"#).unwrap(),
            "maxGpusPerPod: invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            settings_message(r#"{"maxGpusPerPod": 0}"#).unwrap(),
            "maxGpusPerPod must be at least 1"
        );
        let unknown = settings_message(r#"{"maxGpusPerPods": 1}"#).unwrap();
        assert!(
            unknown.contains("unknown field `maxGpusPerPods`"),
            "{unknown}"
        );
        assert!(unknown.contains("maxGpusPerPod"), "{unknown}");
        assert_eq!(
            settings_message(r#"{"names": ["a", 3]}"#).unwrap(),
            "names[1]: invalid type: integer `3`, expected a string"
        );
        assert!(
            settings_message("[1]")
                .unwrap()
                .contains("must be a mapping")
        );
        assert!(settings_message("3").unwrap().contains("must be a mapping"));
        assert!(settings_message("{").unwrap().contains("EOF"));
        assert!(
            check_settings::<Demo>(&[0xff, 0xfe])
                .message
                .unwrap()
                .contains("UTF-8")
        );
    }

    fn run(payload: &str) -> ValidationResponse {
        evaluate::<Demo, _>(payload.as_bytes(), |req, settings| {
            if req.name == "bad" {
                Outcome::Reject(vec![
                    Violation::new("metadata.name", "is bad").fix("rename it"),
                ])
            } else if settings.max_gpus_per_pod == Some(9) {
                Outcome::Mutate(serde_json::json!({"mutated": true}))
            } else {
                Outcome::Accept
            }
        })
    }

    #[test]
    fn evaluate_dispatches_outcomes() {
        let ok = run(r#"{"request": {"name": "good"}, "settings": {}}"#);
        assert!(ok.accepted && ok.message.is_none());
        let bad = run(r#"{"request": {"name": "bad"}}"#);
        assert!(!bad.accepted);
        assert_eq!(
            bad.message.as_deref(),
            Some("metadata.name: is bad (fix: rename it)")
        );
        assert_eq!(bad.code, None);
        let m = run(r#"{"request": {}, "settings": {"maxGpusPerPod": 9}}"#);
        assert!(m.accepted);
        assert_eq!(m.mutated_object, Some(serde_json::json!({"mutated": true})));
    }

    #[test]
    fn unreadable_input_is_a_clean_rejection() {
        for (payload, needle) in [
            ("", "cannot read the validation request"),
            ("{", "cannot read the validation request"),
            ("{}", "missing field `request`"),
            (r#"{"request": null}"#, "cannot read"),
            (r#"{"request": {"name": 5}}"#, "invalid type"),
            (
                r#"{"request": {}, "settings": {"nope": 1}}"#,
                "invalid policy settings: nope: unknown field `nope`",
            ),
            (
                r#"{"request": {}, "settings": {"maxGpusPerPod": 0}}"#,
                "invalid policy settings: maxGpusPerPod must be at least 1",
            ),
        ] {
            let r = run(payload);
            assert!(!r.accepted, "{payload}");
            assert_eq!(r.code, Some(BAD_REQUEST), "{payload}");
            let message = r.message.unwrap();
            assert!(message.contains(needle), "{payload}: {message}");
        }
        let r = evaluate::<Demo, _>(&[0xff, 0x00, 0x7b], |_, _| Outcome::Accept);
        assert!(!r.accepted);
    }

    #[test]
    fn handlers_answer_json() {
        let bytes = validate_settings::<Demo>(br#"{"x": 1}"#).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["valid"], false);
        let bytes = validate::<Demo, _>(br#"{"request": {"name": "bad"}}"#, |_, _| Outcome::Accept)
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["accepted"], true);
    }
}
