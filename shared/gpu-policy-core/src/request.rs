//! The admission request as a policy receives it.
//!
//! kwctl and policy-server send `{"request": <AdmissionRequest>, "settings":
//! {...}}`. [`ValidationPayload::parse`] reads it in one pass: the object of
//! a kind the policies judge is read with the envelope, because finding the
//! end of a raw object costs a second scan of its text (most of it
//! `managedFields`, which no rule reads). Every other object, and
//! `oldObject`, stays raw JSON until a policy asks for the part it needs.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::admitted::{Admitted, AdmittedKind};
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

impl<'a> ValidationPayload<'a> {
    /// Reads a payload, the admitted object in the same pass when the
    /// request's `kind` comes before its `object` (as the API server writes
    /// it). Whatever that pass cannot read is read again the plain way, so
    /// errors and their messages are those of the plain read.
    pub fn parse(payload: &'a [u8]) -> serde_json::Result<Self> {
        // UTF-8 checked once for the whole text, not string by string.
        let one_pass = std::str::from_utf8(payload)
            .map_err(de::Error::custom)
            .and_then(serde_json::from_str::<OnePass>);
        match one_pass {
            Ok(OnePass {
                request: OnePassRequest(mut request),
                settings,
            }) => {
                if request.admitted.read {
                    request.source = Some(payload);
                }
                Ok(ValidationPayload { request, settings })
            }
            Err(_) => serde_json::from_slice(payload),
        }
    }
}

/// The fields of an AdmissionRequest the policies use; a field that is
/// absent or `null` reads as empty.
#[derive(Debug, Default)]
pub struct AdmissionRequest<'a> {
    /// `uid` of the request.
    pub uid: String,
    /// The kind of the object (group, version, kind).
    pub kind: GroupVersionKind,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// Name of the object.
    pub name: String,
    /// Namespace of the object (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object being admitted, raw; absent on DELETE and when it was
    /// read with the envelope.
    object: Option<&'a RawValue>,
    /// The object before the change; set on UPDATE and DELETE.
    old_object: Option<&'a RawValue>,
    /// The object read with the envelope, until a policy takes it.
    admitted: ReadObject,
    /// The whole payload, kept when the object was read with the envelope:
    /// its raw text is found again from it if a policy asks (a mutation).
    source: Option<&'a [u8]>,
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

impl<'a> AdmissionRequest<'a> {
    /// The admitted object's raw JSON, when there is one (not `null`).
    pub fn object_json(&self) -> Option<&'a str> {
        if let Some(source) = self.source {
            // Read with the envelope: found again by a plain read.
            let plain: ValidationPayload<'a> = serde_json::from_slice(source).ok()?;
            return raw_non_null(plain.request.object);
        }
        raw_non_null(self.object)
    }

    /// The previous object's raw JSON, when there is one (not `null`).
    pub fn old_object_json(&self) -> Option<&'a str> {
        raw_non_null(self.old_object)
    }

    /// The object read with the envelope, once: `None` after the first call
    /// and when the request was read the plain way.
    pub(crate) fn take_admitted(&self) -> Option<Admitted> {
        self.admitted.object.take()
    }
}

fn raw_non_null(raw: Option<&RawValue>) -> Option<&str> {
    raw.map(RawValue::get).filter(|s| s.trim() != "null")
}

/// The object read with the envelope. A `Cell`, so that a policy holding
/// the request by shared reference can take it without a copy.
#[derive(Default)]
struct ReadObject {
    object: Cell<Option<Admitted>>,
    /// Whether an object was read (it may since have been taken).
    read: bool,
}

impl fmt::Debug for ReadObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadObject")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// The envelope of the one-pass read.
#[derive(Deserialize)]
struct OnePass<'a> {
    #[serde(borrow)]
    request: OnePassRequest<'a>,
    #[serde(borrow, default)]
    settings: Option<&'a RawValue>,
}

/// An AdmissionRequest read in one pass: an `object` after a judged `kind`
/// is read as an [`Admitted`].
struct OnePassRequest<'a>(AdmissionRequest<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for OnePassRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RequestVisitor::<true>(PhantomData))
            .map(OnePassRequest)
    }
}

/// The plain read: `object` stays raw JSON.
impl<'de: 'a, 'a> Deserialize<'de> for AdmissionRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RequestVisitor::<false>(PhantomData))
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    Uid,
    Kind,
    Operation,
    Name,
    Namespace,
    Object,
    OldObject,
    #[serde(other)]
    Other,
}

/// The names of [`Field`]'s known fields, in its order.
const FIELDS: [&str; 7] = [
    "uid",
    "kind",
    "operation",
    "name",
    "namespace",
    "object",
    "oldObject",
];

/// Reads an AdmissionRequest, the object as an [`Admitted`] when
/// `READ_OBJECT` (a constant, so that the plain read, made with another
/// JSON reader, does not compile the object readers a second time).
struct RequestVisitor<'a, const READ_OBJECT: bool>(PhantomData<&'a ()>);

impl<'de: 'a, 'a, const READ_OBJECT: bool> Visitor<'de> for RequestVisitor<'a, READ_OBJECT> {
    type Value = AdmissionRequest<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct AdmissionRequest")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = AdmissionRequest::default();
        // A repeated field is an error, as serde's derived readers make it.
        let mut seen = [false; FIELDS.len()];
        while let Some(field) = map.next_key::<Field>()? {
            let index = field as usize;
            if let (Some(seen), Some(name)) = (seen.get_mut(index), FIELDS.get(index)) {
                if *seen {
                    return Err(de::Error::duplicate_field(name));
                }
                *seen = true;
            }
            match field {
                Field::Uid => r.uid = or_default(map.next_value()?),
                Field::Kind => r.kind = or_default(map.next_value()?),
                Field::Operation => r.operation = or_default(map.next_value()?),
                Field::Name => r.name = or_default(map.next_value()?),
                Field::Namespace => r.namespace = or_default(map.next_value()?),
                Field::Object => match READ_OBJECT.then(|| AdmittedKind::of(&r.kind)).flatten() {
                    Some(kind) => {
                        let admitted = map.next_value_seed(ObjectSeed(kind))?;
                        r.admitted.read = admitted.is_some();
                        r.admitted.object = Cell::new(admitted);
                    }
                    None => r.object = map.next_value()?,
                },
                Field::OldObject => r.old_object = map.next_value()?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(r)
    }
}

fn or_default<T: Default>(value: Option<T>) -> T {
    value.unwrap_or_default()
}

/// An `object` of a known kind: `null`, or read as what it is.
struct ObjectSeed(AdmittedKind);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Option<Admitted>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Option<Admitted>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.read(d).map(Some)
    }
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
    fn field_names_are_the_fields_in_order() {
        for (index, name) in FIELDS.iter().enumerate() {
            let field: Field = serde_json::from_str(&format!("{name:?}")).unwrap();
            assert_eq!(field as usize, index, "{name}");
        }
        let other: Field = serde_json::from_str(r#""userInfo""#).unwrap();
        assert_eq!(other as usize, FIELDS.len());
    }

    #[test]
    fn delete_has_no_object() {
        let text = r#"{"request": {"operation": "DELETE", "oldObject": {"a": 1}}}"#;
        let p: ValidationPayload = serde_json::from_str(text).unwrap();
        assert!(p.request.object_json().is_none());
        assert!(p.settings.is_none());
    }

    const DEPLOYMENT: &str = r#"{"metadata": {"name": "d", "managedFields": [{"manager": "kubectl"}]},
        "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}"#;

    fn envelope(request: &str) -> String {
        format!(r#"{{"request": {request}, "settings": {{"a": 1}}}}"#)
    }

    #[test]
    fn one_pass_reads_the_object_with_the_envelope() {
        let text = envelope(&format!(
            r#"{{"uid": "1", "kind": {{"group": "apps", "version": "v1", "kind": "Deployment"}},
            "userInfo": {{"username": "u"}}, "operation": "CREATE", "object": {DEPLOYMENT}, "oldObject": null}}"#
        ));
        let p = ValidationPayload::parse(text.as_bytes()).unwrap();
        assert_eq!(
            (p.request.uid.as_str(), p.request.operation.as_str()),
            ("1", "CREATE")
        );
        assert_eq!(p.settings.map(RawValue::get), Some(r#"{"a": 1}"#));
        let Some(Admitted::Workload(w)) = p.request.take_admitted() else {
            panic!("not read with the envelope");
        };
        assert_eq!(w.metadata.name, "d");
        assert!(p.request.take_admitted().is_none(), "taken once");
        // the raw text is still there for a mutation
        assert_eq!(p.request.object_json(), Some(DEPLOYMENT));
        assert_eq!(p.request.old_object_json(), None);
    }

    #[test]
    fn what_one_pass_does_not_read_is_read_plain() {
        let deployment = r#"{"group": "apps", "version": "v1", "kind": "Deployment"}"#;
        for request in [
            // object before kind: the kind is not known yet
            format!(r#"{{"object": {DEPLOYMENT}, "kind": {deployment}}}"#),
            // a kind no policy reads as a workload, claim or DeviceClass
            format!(
                r#"{{"kind": {{"group": "", "version": "v1", "kind": "ConfigMap"}}, "object": {DEPLOYMENT}}}"#
            ),
            // objects the one pass cannot read: the plain read says why
            format!(r#"{{"kind": {deployment}, "object": {{"spec": 3}}}}"#),
            format!(r#"{{"kind": {deployment}, "object": [{DEPLOYMENT}]}}"#),
        ] {
            let text = envelope(&request);
            let p = ValidationPayload::parse(text.as_bytes()).unwrap();
            assert!(p.request.take_admitted().is_none(), "{request}");
            let plain: ValidationPayload = serde_json::from_str(&text).unwrap();
            assert_eq!(p.request.object_json(), plain.request.object_json());
            assert!(p.request.object_json().is_some(), "{request}");
        }
        let null = envelope(&format!(r#"{{"kind": {deployment}, "object": null}}"#));
        let p = ValidationPayload::parse(null.as_bytes()).unwrap();
        assert!(p.request.take_admitted().is_none());
        assert!(p.request.object_json().is_none());
        // errors are the plain read's, word for word
        for bad in [
            format!(r#"{{"kind": {deployment}, "kind": {deployment}, "object": {{}}}}"#),
            format!(r#"{{"kind": {deployment}, "object": {{"spec": 3}}"#),
            r#"{"name": 5}"#.to_owned(),
            "null".to_owned(),
        ] {
            let text = envelope(&bad);
            let plain = serde_json::from_str::<ValidationPayload>(&text).unwrap_err();
            let one_pass = ValidationPayload::parse(text.as_bytes()).unwrap_err();
            assert_eq!(one_pass.to_string(), plain.to_string(), "{bad}");
        }
    }
}
