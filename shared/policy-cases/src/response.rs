//! What goes into a policy and what comes out, as the host sees it: kwctl's
//! `validate` payload and the policy's answers, read from their JSON so that
//! the wasm run and the native run compare exactly the same thing.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The guest's answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsResponse {
    /// Whether the settings are accepted.
    pub valid: bool,
    /// Why not, when `valid` is false.
    #[serde(default)]
    pub message: Option<String>,
}

/// The guest's answer to `validate` (the SDK's `ValidationResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationResponse {
    /// Whether the request is admitted.
    pub accepted: bool,
    /// Rejection message.
    #[serde(default)]
    pub message: Option<String>,
    /// Rejection code.
    #[serde(default)]
    pub code: Option<u16>,
    /// The mutated object, for a mutating policy that changed something.
    #[serde(default)]
    pub mutated_object: Option<Value>,
    /// Warnings for the API client.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// Audit annotations.
    #[serde(default)]
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
mod tests {
    use super::*;

    #[test]
    fn unwraps_admission_review_like_kwctl() {
        let req = serde_json::json!({"uid": "1", "kind": {"kind": "Pod"}});
        let review = serde_json::json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req});
        assert_eq!(admission_request(&review).unwrap(), &req);
        assert_eq!(admission_request(&req).unwrap(), &req);
        assert!(admission_request(&serde_json::json!({"kind": "AdmissionReview"})).is_err());
        assert!(admission_request(&serde_json::json!([1])).is_err());
        let payload: Value = serde_json::from_slice(
            &validate_payload(&review, &serde_json::json!({"a": 1})).unwrap(),
        )
        .unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"request": req, "settings": {"a": 1}})
        );
    }

    #[test]
    fn answers_are_read_through_their_json() {
        let r: ValidationResponse =
            from_serialized(&serde_json::json!({"accepted": false, "message": "no", "code": 400}))
                .unwrap();
        assert_eq!(r.code, Some(400));
        assert!(from_serialized::<_, SettingsResponse>(&serde_json::json!({"x": 1})).is_err());
    }
}
