//! JSON builders for admission requests (no randomness).

use serde_json::{Map, Value, json};

/// The workload kinds the policies know: `(group, version, kind, resource)`.
pub const WORKLOAD_KINDS: [(&str, &str, &str, &str); 8] = [
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
    ("", "v1", "ReplicationController", "replicationcontrollers"),
];

/// The object of `kind` holding a pod with `pod_metadata` and `pod_spec`, at
/// the place Kubernetes puts it (`spec`, `spec.template`,
/// `spec.jobTemplate.spec.template`). Any other kind gets `pod_spec` as its
/// `spec`.
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
    let template = json!({"metadata": pod_metadata, "spec": pod_spec});
    let (metadata, spec) = match kind {
        "Pod" => {
            let mut metadata = match template.get("metadata") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            metadata.insert("name".into(), json!(name));
            metadata.insert("namespace".into(), json!(namespace));
            (
                Value::Object(metadata),
                template.get("spec").cloned().unwrap_or(Value::Null),
            )
        }
        "CronJob" => (
            json!({"name": name, "namespace": namespace}),
            json!({"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}),
        ),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => (
            json!({"name": name, "namespace": namespace}),
            json!({"replicas": 1, "template": template}),
        ),
        _ => (
            json!({"name": name, "namespace": namespace}),
            template.get("spec").cloned().unwrap_or(Value::Null),
        ),
    };
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec})
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

/// A `Pod` CREATE request with `pod_spec`, the shortest way to a request.
pub fn pod_request(pod_spec: Value) -> Value {
    let object = workload_object("", "v1", "Pod", "p", "ml", json!({}), pod_spec);
    admission_request(
        "",
        "v1",
        "Pod",
        "pods",
        "CREATE",
        "p",
        "ml",
        object,
        Value::Null,
    )
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
        for (group, version, kind, _) in WORKLOAD_KINDS {
            let o = workload_object(
                group,
                version,
                kind,
                "n",
                "ns",
                json!({"labels": {"a": "b"}}),
                spec.clone(),
            );
            let pointer = match kind {
                "Pod" => "/spec",
                "CronJob" => "/spec/jobTemplate/spec/template/spec",
                _ => "/spec/template/spec",
            };
            assert_eq!(o.pointer(pointer), Some(&spec), "{kind}");
        }
        let pod = workload_object(
            "",
            "v1",
            "Pod",
            "n",
            "ns",
            json!({"labels": {"a": "b"}}),
            spec,
        );
        assert_eq!(pod["metadata"]["labels"]["a"], "b");
        assert_eq!(pod["metadata"]["namespace"], "ns");
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
