//! The admission request as a policy receives it, read lazily.
//!
//! kwctl and policy-server send `{"request": <AdmissionRequest>, "settings":
//! {...}}`. The envelope is parsed once; `object` and `oldObject` stay raw
//! JSON until a policy asks for the part it needs.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::pod::null_as_default;

/// The payload of a `validate` call.
#[derive(Debug, Deserialize)]
pub struct ValidationPayload<'a> {
    /// The Kubernetes AdmissionRequest.
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    /// The policy settings, parsed by the policy (absent or `null`: defaults).
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// The fields of an AdmissionRequest the policies use.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdmissionRequest<'a> {
    /// `uid` of the request.
    #[serde(deserialize_with = "null_as_default")]
    pub uid: String,
    /// The kind of the object (group, version, kind).
    #[serde(deserialize_with = "null_as_default")]
    pub kind: GroupVersionKind,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    #[serde(deserialize_with = "null_as_default")]
    pub operation: String,
    /// Name of the object.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Namespace of the object (empty for cluster-scoped objects).
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// The object being admitted; absent on DELETE.
    #[serde(borrow)]
    pub object: Option<&'a RawValue>,
    /// The object before the change; set on UPDATE and DELETE.
    #[serde(borrow)]
    pub old_object: Option<&'a RawValue>,
}

/// `{group, version, kind}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct GroupVersionKind {
    /// API group, empty for the core group.
    #[serde(deserialize_with = "null_as_default")]
    pub group: String,
    /// API version.
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
    /// Kind.
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
}

impl AdmissionRequest<'_> {
    /// The admitted object's raw JSON, when there is one (not `null`).
    pub fn object_json(&self) -> Option<&str> {
        raw_non_null(self.object)
    }

    /// The previous object's raw JSON, when there is one (not `null`).
    pub fn old_object_json(&self) -> Option<&str> {
        raw_non_null(self.old_object)
    }
}

fn raw_non_null(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(RawValue::get).filter(|s| s.trim() != "null")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn reads_envelope_and_keeps_object_raw() {
        let text = r#"{"request": {"uid": "1", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "operation": "CREATE", "namespace": "ml", "object": {"spec": {"x": 1}}, "oldObject": null},
            "settings": {"a": 1}}"#;
        let p: ValidationPayload = serde_json::from_str(text).unwrap();
        assert_eq!(p.request.kind.kind, "Deployment");
        assert_eq!(p.request.object_json(), Some(r#"{"spec": {"x": 1}}"#));
        assert_eq!(p.request.old_object_json(), None);
        assert_eq!(p.settings.map(RawValue::get), Some(r#"{"a": 1}"#));
    }

    #[test]
    fn delete_has_no_object() {
        let text = r#"{"request": {"operation": "DELETE", "oldObject": {"a": 1}}}"#;
        let p: ValidationPayload = serde_json::from_str(text).unwrap();
        assert!(p.request.object_json().is_none());
        assert!(p.settings.is_none());
    }
}
