//! JSON builders for admission requests (no randomness).

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::dra::DraKind;
use serde_json::{Map, Value, json};

/// The workload kind called `kind`, by name alone: a known kind sent in
/// another group (a `Deployment` of `extensions/v1beta1`, a CRD called
/// `Job`) is still built in that kind's shape, so that a policy has to tell
/// it apart by its group.
pub fn workload_kind_named(kind: &str) -> Option<WorkloadKind> {
    WorkloadKind::ALL.into_iter().find(|k| k.name() == kind)
}

/// Where the pod spec sits in an object of `kind` (JSON pointer):
/// [`WorkloadKind::pod_spec_pointer`], `/spec` for any other kind.
pub fn pod_spec_pointer(kind: &str) -> &'static str {
    workload_kind_named(kind).map_or("/spec", WorkloadKind::pod_spec_pointer)
}

/// The object of `kind` holding a pod with `pod_metadata` and `pod_spec`, at
/// the place Kubernetes puts it ([`WorkloadKind::pod_metadata_path`]: the
/// object itself for a Pod, `spec.template`, `spec.jobTemplate.spec.template`).
/// Any other kind gets `pod_spec` as its `spec`.
pub fn workload_object(
    group: &str,
    version: &str,
    kind: &str,
    name: &str,
    namespace: &str,
    pod_metadata: Value,
    pod_spec: Value,
) -> Value {
    let api_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let mut object = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
    });
    let Value::Object(map) = &mut object else {
        return object;
    };
    let template = workload_kind_named(kind).map(|k| k.pod_metadata_path());
    match template.map(|path| path.trim_end_matches("metadata")) {
        // The pod's metadata is the object's own: merge it in.
        Some("") => {
            let mut metadata = match pod_metadata {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            metadata.insert("name".into(), json!(name));
            metadata.insert("namespace".into(), json!(namespace));
            map.insert("metadata".into(), Value::Object(metadata));
            map.insert("spec".into(), pod_spec);
        }
        // `spec.template.`: nest the template below the object.
        Some(parent) => {
            let mut nested = json!({"metadata": pod_metadata, "spec": pod_spec});
            for segment in parent.split('.').filter(|s| !s.is_empty()).rev() {
                nested = json!({ segment: nested });
            }
            if let Value::Object(nested) = nested {
                map.extend(nested);
            }
        }
        None => {
            map.insert("spec".into(), pod_spec);
        }
    }
    object
}

/// An AdmissionRequest as kwctl sends it (`request` of an AdmissionReview).
/// `object` and `old_object` are `null` when absent (DELETE has no object).
#[allow(clippy::too_many_arguments)]
pub fn admission_request(
    group: &str,
    version: &str,
    kind: &str,
    resource: &str,
    operation: &str,
    name: &str,
    namespace: &str,
    object: Value,
    old_object: Value,
) -> Value {
    json!({
        "uid": "1299d386-525b-4032-98ae-1949f69f9cfc",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": object,
        "oldObject": old_object,
        "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
    })
}

/// A CREATE request for `object`, a `resource` (plural, as the API server
/// names it): group, version, kind, name and namespace are the object's own.
pub fn create_request(resource: &str, object: Value) -> Value {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let [api_version, kind, name, namespace] = [
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
    ]
    .map(text);
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    admission_request(
        group,
        version,
        &kind,
        resource,
        "CREATE",
        &name,
        &namespace,
        object,
        Value::Null,
    )
}

/// A CREATE request for a workload of `kind` named `name` in `namespace`.
pub fn workload_request(
    kind: WorkloadKind,
    name: &str,
    namespace: &str,
    pod_metadata: Value,
    pod_spec: Value,
) -> Value {
    let object = workload_object(
        kind.group(),
        kind.version(),
        kind.name(),
        name,
        namespace,
        pod_metadata,
        pod_spec,
    );
    create_request(kind.resource(), object)
}

/// A CREATE request for a DRA object of `kind` named `name` with `spec`
/// (a template's is `{"spec": <claim spec>}`), in namespace `ml` when the
/// kind is namespaced.
pub fn dra_request(kind: DraKind, name: &str, spec: Value) -> Value {
    let metadata = if kind.namespaced() {
        json!({"name": name, "namespace": "ml"})
    } else {
        json!({"name": name})
    };
    let object = json!({
        "apiVersion": format!("{}/{}", DraKind::GROUP, DraKind::VERSION),
        "kind": kind.name(),
        "metadata": metadata,
        "spec": spec,
    });
    create_request(kind.resource(), object)
}

/// A `Pod` CREATE request with `pod_spec`, the shortest way to a request.
pub fn pod_request(pod_spec: Value) -> Value {
    workload_request(WorkloadKind::Pod, "p", "ml", json!({}), pod_spec)
}

/// Where a wrong-typed value may land in an object: JSON pointers below the
/// pod spec, or absolute when they start with `//` (see [`spoil`]).
pub const SPOIL_SLOTS: &[&str] = &[
    "/containers",
    "/containers/0",
    "/containers/0/resources",
    "/containers/0/resources/limits",
    "/containers/0/resources/requests",
    "/containers/0/env",
    "/containers/0/env/0",
    "/containers/0/name",
    "/initContainers",
    "/initContainers/0/restartPolicy",
    "/ephemeralContainers",
    "/tolerations",
    "/tolerations/0",
    "/tolerations/0/key",
    "/tolerations/0/tolerationSeconds",
    "/nodeSelector",
    "/affinity",
    "/affinity/nodeAffinity",
    "/runtimeClassName",
    "//metadata",
    "//metadata/labels",
    "//spec",
    "//kind",
    "//spec/template",
    "//spec/jobTemplate",
    "//spec/podSelector",
    "//spec/policyTypes",
    "//spec/ingress",
];

/// Puts `junk` at `slot` (one of [`SPOIL_SLOTS`]) of `object`, an object of
/// `kind`: below its pod spec, or at the absolute pointer of a `//` slot.
/// Returns whether the place existed.
pub fn spoil(object: &mut Value, kind: &str, slot: &str, junk: Value) -> bool {
    let pointer = match slot.strip_prefix('/').filter(|s| s.starts_with('/')) {
        Some(absolute) => absolute.to_owned(),
        None => format!("{}{slot}", pod_spec_pointer(kind)),
    };
    set_pointer(object, &pointer, junk)
}

/// Replaces the value at JSON pointer `pointer` (its parent must exist and be
/// an object or an array); returns whether it did.
pub fn set_pointer(root: &mut Value, pointer: &str, value: Value) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            true
        }
        Some(Value::Array(items)) => {
            match last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(slot) => {
                    *slot = value;
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_put_the_pod_where_kubernetes_does() {
        let spec = json!({"containers": [{"name": "c"}]});
        for kind in WorkloadKind::ALL {
            let o = workload_object(
                kind.group(),
                kind.version(),
                kind.name(),
                "n",
                "ns",
                json!({"labels": {"a": "b"}}),
                spec.clone(),
            );
            assert_eq!(o["apiVersion"], kind.api_version(), "{kind}");
            assert_eq!(o.pointer(kind.pod_spec_pointer()), Some(&spec), "{kind}");
            assert_eq!(o["metadata"]["name"], "n", "{kind}");
            assert_eq!(o["metadata"]["namespace"], "ns", "{kind}");
            // Where gpu-policy-core reads it.
            let w = gpu_policy_core::Workload::from_json(kind, &o.to_string()).unwrap();
            assert_eq!(w.containers().count(), 1, "{kind}");
            assert_eq!(
                w.pod_metadata.labels.get("a").map(String::as_str),
                Some("b"),
                "{kind}"
            );
        }
        // Any other kind gets the spec as its `spec`; a known kind in another
        // group keeps its kind's shape.
        for (group, version, kind, pointer) in [
            ("", "v1", "ConfigMap", "/spec"),
            ("extensions", "v1beta1", "Deployment", "/spec/template/spec"),
        ] {
            let o = workload_object(group, version, kind, "n", "ns", json!({}), spec.clone());
            assert_eq!(o.pointer(pointer), Some(&spec), "{kind}");
        }
    }

    #[test]
    fn requests_and_spoils_follow_the_kind() {
        for kind in WorkloadKind::ALL {
            let mut r = workload_request(kind, "n", "ns", json!({}), json!({"containers": []}));
            assert_eq!(r["kind"]["kind"], kind.name());
            assert_eq!(r["resource"]["resource"], kind.resource());
            let object = &mut r["object"];
            assert!(
                spoil(object, kind.name(), "/containers", json!(7)),
                "{kind}"
            );
            assert_eq!(
                object.pointer(&format!("{}/containers", kind.pod_spec_pointer())),
                Some(&json!(7))
            );
            assert!(spoil(object, kind.name(), "//kind", json!(null)));
            assert_eq!(object["kind"], Value::Null);
        }
        assert_eq!(pod_spec_pointer("ConfigMap"), "/spec");
    }

    #[test]
    fn set_pointer_replaces_fields_and_items() {
        let mut v = json!({"a": {"b": [1, 2]}});
        assert!(set_pointer(&mut v, "/a/b/1", json!("x")));
        assert!(set_pointer(&mut v, "/a/c", json!(null)));
        assert!(!set_pointer(&mut v, "/a/b/7", json!(0)));
        assert!(!set_pointer(&mut v, "/z/y", json!(0)));
        assert_eq!(v, json!({"a": {"b": [1, "x"], "c": null}}));
    }
}
