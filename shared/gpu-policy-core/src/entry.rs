//! The two waPC entry points every policy exposes, done once for every
//! [`Policy`]: settings validation that answers `valid: false` instead of
//! raising a guest error, and request evaluation that turns any unreadable
//! input into a clean rejection instead of a trap.

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::CallResult;
use serde_json::Value;

use crate::host::{KubernetesHost, WapcHost};
use crate::policy::Policy;
use crate::request::ValidationPayload;
use crate::settings;
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
    /// Admit unchanged, with admission warnings (kubectl shows them): what
    /// is worth telling but not worth rejecting.
    Warn(Vec<String>),
}

impl Outcome {
    /// Rejects when there are violations, accepts otherwise.
    pub fn from_violations(violations: Vec<Violation>) -> Self {
        Self::from_findings(violations, Vec::new())
    }

    /// Rejects when there are violations (the warnings are then moot),
    /// else accepts with the warnings, if any.
    pub fn from_findings(violations: Vec<Violation>, warnings: Vec<String>) -> Self {
        if !violations.is_empty() {
            Outcome::Reject(violations)
        } else if !warnings.is_empty() {
            Outcome::Warn(warnings)
        } else {
            Outcome::Accept
        }
    }
}

/// Parses, checks and compiles settings: what `validate` runs with.
pub fn compile_settings<P: Policy>(json: &[u8]) -> Result<P::Compiled, String> {
    settings::parse::<P::Settings>(json).and_then(P::compile)
}

/// The whole answer to `validate_settings`: valid exactly when the settings
/// compile.
pub fn check_settings<P: Policy>(json: &[u8]) -> SettingsValidationResponse {
    match compile_settings::<P>(json) {
        Ok(_) => SettingsValidationResponse {
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
pub fn validate_settings<P: Policy>(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&check_settings::<P>(payload))?)
}

/// The `validate` waPC handler, lookups through the waPC host. Unreadable
/// input (not JSON, no `request`, invalid settings) is a rejection with code
/// 400 that says what is wrong; it never traps.
pub fn validate<P: Policy>(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&evaluate::<P>(payload, &WapcHost))?)
}

/// [`validate`] without the serialization, lookups answered by `cluster`:
/// the response as a value, for native tests, fuzzing and benchmarks.
///
/// The one prelude of every policy: read the envelope (and the object with
/// it, see [`ValidationPayload::parse`]), compile the settings
/// once (invalid settings are a 400 on every request, so a broken
/// deployment shows at once), accept what the policy does not judge (see
/// [`Policy::judges`]) without reading the object, run the rules.
pub fn evaluate<P: Policy>(payload: &[u8], cluster: &dyn KubernetesHost) -> ValidationResponse {
    let parsed = match ValidationPayload::parse(payload) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("cannot read the validation request: {e}")),
    };
    let settings_json = parsed
        .settings
        .map(|raw| raw.get().as_bytes())
        .unwrap_or(b"");
    let settings = match compile_settings::<P>(settings_json) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("invalid policy settings: {e}")),
    };
    if !P::judges(&parsed.request) {
        return response(Outcome::Accept);
    }
    response(P::evaluate(&parsed.request, &settings, cluster))
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
        Outcome::Warn(warnings) => r.warnings = Some(warnings),
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
    use crate::host::NoCluster;
    use crate::request::AdmissionRequest;
    use serde::Deserialize;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields, default)]
    struct DemoSettings {
        max_gpus_per_pod: Option<u32>,
        names: Vec<String>,
    }

    struct Demo;

    impl Policy for Demo {
        type Settings = DemoSettings;
        type Compiled = Option<u32>;

        fn compile(settings: DemoSettings) -> Result<Option<u32>, String> {
            match settings.max_gpus_per_pod {
                Some(0) => Err("maxGpusPerPod must be at least 1".into()),
                max => Ok(max),
            }
        }

        fn evaluate(
            req: &AdmissionRequest,
            max: &Option<u32>,
            _cluster: &dyn KubernetesHost,
        ) -> Outcome {
            if req.name == "bad" {
                Outcome::Reject(vec![
                    Violation::new("metadata.name", "is bad").fix("rename it"),
                ])
            } else if *max == Some(9) {
                Outcome::Mutate(serde_json::json!({"mutated": true}))
            } else {
                Outcome::Accept
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
        evaluate::<Demo>(payload.as_bytes(), &NoCluster)
    }

    #[test]
    fn evaluate_dispatches_outcomes() {
        let ok = run(r#"{"request": {"name": "good", "operation": "CREATE"}, "settings": {}}"#);
        assert!(ok.accepted && ok.message.is_none());
        let bad = run(r#"{"request": {"name": "bad", "operation": "UPDATE"}}"#);
        assert!(!bad.accepted);
        assert_eq!(
            bad.message.as_deref(),
            Some("metadata.name: is bad (fix: rename it)")
        );
        assert_eq!(bad.code, None);
        let m = run(r#"{"request": {"operation": "CREATE"}, "settings": {"maxGpusPerPod": 9}}"#);
        assert!(m.accepted);
        assert_eq!(m.mutated_object, Some(serde_json::json!({"mutated": true})));
    }

    #[test]
    fn only_create_and_update_are_judged() {
        for op in ["DELETE", "CONNECT", "", "create"] {
            let r = run(&format!(
                r#"{{"request": {{"name": "bad", "operation": "{op}"}}}}"#
            ));
            assert!(r.accepted, "{op}");
        }
        // Settings are still checked first: a broken deployment shows on
        // every request, not only on the judged ones.
        let r = run(r#"{"request": {"operation": "DELETE"}, "settings": {"maxGpusPerPod": 0}}"#);
        assert!(!r.accepted);
        assert_eq!(r.code, Some(BAD_REQUEST));
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
        let r = evaluate::<Demo>(&[0xff, 0x00, 0x7b], &NoCluster);
        assert!(!r.accepted);
    }

    #[test]
    fn handlers_answer_json() {
        let bytes = validate_settings::<Demo>(br#"{"x": 1}"#).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["valid"], false);
        let info = crate::policy::PolicyInfo::of::<Demo>("demo");
        assert_eq!((info.settings_keys)(), ["maxGpusPerPod", "names"]);
        assert!(
            !(info.validate)(
                br#"{"request": {"name": "bad", "operation": "CREATE"}}"#,
                &NoCluster
            )
            .accepted
        );
        assert!(!(info.validate_settings)(br#"{"maxGpusPerPod": 0}"#).valid);
    }
}
