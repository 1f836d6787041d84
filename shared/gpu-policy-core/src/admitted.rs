//! What an admission request admits, read once: a Pod or workload, a DRA
//! claim (ResourceClaim, ResourceClaimTemplate), or a DeviceClass. Every
//! policy dispatches on this, so a kind is recognised the same way in all.

use serde::Deserializer;

use crate::dra::{AdmittedClaim, DeviceClass, DraKind};
use crate::request::{AdmissionRequest, GroupVersionKind};
use crate::violation::Violation;
use crate::workload::{Workload, WorkloadKind, parse_object_with};

/// The object of a request, by what the policies judge in it.
// Built once per request and matched at once: boxing the workload would
// cost an allocation on every request to save a move.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Admitted {
    /// A Pod, or a workload with a pod template.
    Workload(Workload),
    /// A ResourceClaim or ResourceClaimTemplate.
    Claim(AdmittedClaim),
    /// A DeviceClass.
    DeviceClass(DeviceClass),
}

impl Admitted {
    /// Reads the request's object. `Ok(None)`: a kind no policy judges, or
    /// no object (DELETE). `Err`: the object cannot be read (a violation
    /// naming the field).
    pub fn from_request(request: &AdmissionRequest) -> Result<Option<Self>, Violation> {
        // Read with the envelope, when the request was parsed in one pass.
        if let Some(admitted) = request.take_admitted() {
            return Ok(Some(admitted));
        }
        let Some(kind) = AdmittedKind::of(&request.kind) else {
            return Ok(None);
        };
        let Some(json) = request.object_json() else {
            return Ok(None);
        };
        parse_object_with(json, |d| kind.read(d)).map(Some)
    }
}

/// What a request's object is read as, known from the request's kind alone.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AdmittedKind {
    Workload(WorkloadKind),
    Claim { template: bool },
    DeviceClass,
}

impl AdmittedKind {
    /// `None`: a kind no policy reads as an [`Admitted`].
    pub(crate) fn of(kind: &GroupVersionKind) -> Option<Self> {
        if let Some(workload) = WorkloadKind::from_group_kind(&kind.group, &kind.kind) {
            return Some(AdmittedKind::Workload(workload));
        }
        Some(
            match DraKind::from_group_version_kind(&kind.group, &kind.version, &kind.kind)? {
                DraKind::ResourceClaimTemplate => AdmittedKind::Claim { template: true },
                DraKind::ResourceClaim => AdmittedKind::Claim { template: false },
                DraKind::DeviceClass => AdmittedKind::DeviceClass,
            },
        )
    }

    /// Reads an object of this kind, which must be a JSON mapping.
    pub(crate) fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<Admitted, D::Error> {
        Ok(match self {
            AdmittedKind::Workload(kind) => Admitted::Workload(Workload::read(kind, d)?),
            AdmittedKind::Claim { template } => Admitted::Claim(AdmittedClaim::read(template, d)?),
            AdmittedKind::DeviceClass => Admitted::DeviceClass(DeviceClass::read(d)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ValidationPayload;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn admitted(
        group: &str,
        version: &str,
        kind: &str,
        object: &str,
    ) -> Result<Option<Admitted>, Violation> {
        let text = format!(
            r#"{{"request": {{"kind": {{"group": "{group}", "version": "{version}", "kind": "{kind}"}}, "operation": "CREATE", "object": {object}}}}}"#
        );
        // read with the envelope and read plain, the same
        let plain: ValidationPayload = serde_json::from_str(&text).unwrap();
        let one_pass = ValidationPayload::parse(text.as_bytes()).unwrap();
        let read = Admitted::from_request(&plain.request);
        let one_pass = Admitted::from_request(&one_pass.request);
        assert_eq!(format!("{read:?}"), format!("{one_pass:?}"), "{text}");
        read
    }

    #[test]
    fn each_kind_is_read_as_what_it_is() {
        let pod = admitted(
            "",
            "v1",
            "Pod",
            r#"{"spec": {"containers": [{"name": "a"}]}}"#,
        );
        assert!(matches!(pod, Ok(Some(Admitted::Workload(_)))));
        let template = r#"{"metadata": {"name": "t", "namespace": "ml"}, "spec": {"spec": {"devices": {"requests": [
            {"name": "g", "exactly": {"deviceClassName": "gpu.nvidia.com", "count": 2, "adminAccess": true,
             "selectors": [{}, {"cel": {"expression": "true"}}]}}]}}}}"#;
        let Ok(Some(Admitted::Claim(claim))) =
            admitted("resource.k8s.io", "v1", "ResourceClaimTemplate", template)
        else {
            panic!("not a claim");
        };
        assert!(claim.template);
        assert_eq!(claim.metadata.namespace, "ml");
        assert_eq!(
            claim.field("devices.requests[0]"),
            "spec.spec.devices.requests[0]"
        );
        let alt = claim.devices.alternatives().next().unwrap();
        assert!(alt.admin_access);
        // the index is the selector's own, not its place among CEL selectors
        assert_eq!(alt.selectors, [(1, "true".to_owned())]);
        let Ok(Some(Admitted::Claim(claim))) = admitted(
            "resource.k8s.io",
            "v1beta2",
            "ResourceClaim",
            r#"{"metadata": {"name": "c"}, "spec": {"devices": {"requests": [{"name": "g", "exactly": {"deviceClassName": "mig.nvidia.com"}}]}}}"#,
        ) else {
            panic!("not a claim");
        };
        assert_eq!(claim.object().kind(), "ResourceClaim");
        assert_eq!(claim.field("devices"), "spec.devices");
        let Ok(Some(Admitted::DeviceClass(class))) = admitted(
            "resource.k8s.io",
            "v1",
            "DeviceClass",
            r#"{"metadata": {"name": "mig-1g.gpu.nvidia.com"}, "spec": {"selectors": [{"cel": {"expression": "x"}}], "extendedResourceName": "nvidia.com/mig-1g.12gb"}}"#,
        ) else {
            panic!("not a DeviceClass");
        };
        assert_eq!(class.selectors, [(0, "x".to_owned())]);
        assert_eq!(
            class.extended_resource_name.as_deref(),
            Some("nvidia.com/mig-1g.12gb")
        );
        assert_eq!(
            DeviceClass::selector_path(0),
            "spec.selectors[0].cel.expression"
        );
    }

    #[test]
    fn other_kinds_versions_and_bad_objects() {
        // v1beta1 has another request shape; a ConfigMap is nobody's
        for (group, version, kind) in [
            ("resource.k8s.io", "v1beta1", "ResourceClaim"),
            ("resource.k8s.io", "v1", "ResourceSlice"),
            ("example.com", "v1", "ResourceClaim"),
            ("", "v1", "ConfigMap"),
        ] {
            assert!(
                matches!(admitted(group, version, kind, "{}"), Ok(None)),
                "{kind}"
            );
        }
        assert!(matches!(
            admitted("resource.k8s.io", "v1", "ResourceClaim", "null"),
            Ok(None)
        ));
        let bad = admitted(
            "resource.k8s.io",
            "v1",
            "ResourceClaimTemplate",
            r#"{"spec": {"spec": {"devices": {"requests": [{"exactly": {"count": "two"}}]}}}}"#,
        )
        .unwrap_err();
        assert_eq!(bad.path, "spec.spec.devices.requests[0].exactly.count");
        for object in [
            "[]",
            r#"{"spec": {"selectors": 3}}"#,
            r#"{"spec": {"extendedResourceName": 1}}"#,
        ] {
            assert!(
                admitted("resource.k8s.io", "v1", "DeviceClass", object).is_err(),
                "{object}"
            );
        }
    }
}
