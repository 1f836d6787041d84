//! The offline cluster: context-aware policies' lookups answered from the
//! objects in the input, as if they had all been applied already (the shared
//! in-memory cluster, filled the way the API server would store them).

use std::collections::BTreeMap;

pub use policy_runner::InMemoryCluster;
use serde_json::{Value, json};

use crate::admission::ResourceType;
use crate::selection::labels_of;

/// Namespaces every cluster has; answered (with only their name label) when
/// the input does not define them, so a pod in `default` is judged on
/// `default`'s labels rather than on "not found".
pub const BUILTIN_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The label the API server puts on every Namespace.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The input `objects` (each with apiVersion and kind), as stored:
/// quantities normalized, namespaced objects without a namespace in
/// `default`, Namespaces with their `kubernetes.io/metadata.name` label, and
/// the built-in Namespaces the input lacks.
pub fn offline_cluster<'a>(objects: impl IntoIterator<Item = &'a Value>) -> InMemoryCluster {
    let mut cluster = InMemoryCluster::new();
    for object in objects {
        let text = |key| object.get(key).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        let mut object = object.clone();
        crate::admission::normalize_quantities(&mut object);
        let namespaced = ResourceType::of(api_version, kind).namespaced;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            if namespaced && !meta.contains_key("namespace") {
                meta.insert("namespace".to_owned(), json!("default"));
            }
            if api_version == "v1"
                && kind == "Namespace"
                && let Some(name) = meta.get("name").and_then(Value::as_str).map(str::to_owned)
                && let Some(labels) = meta
                    .entry("labels")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            {
                labels.insert(NAME_LABEL.to_owned(), json!(name));
            }
        }
        cluster.add(object);
    }
    for builtin in BUILTIN_NAMESPACES {
        if cluster.get("v1", "Namespace", None, builtin).is_none() {
            cluster.add(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": builtin, "labels": {NAME_LABEL: builtin}},
            }));
        }
    }
    cluster
}

/// Labels of namespace `name`: its Namespace's from the input (or a
/// built-in one), else only `kubernetes.io/metadata.name`.
pub fn namespace_labels(cluster: &InMemoryCluster, name: &str) -> BTreeMap<String, String> {
    cluster.get("v1", "Namespace", None, name).map_or_else(
        || BTreeMap::from([(NAME_LABEL.to_owned(), name.to_owned())]),
        labels_of,
    )
}

#[cfg(test)]
mod tests {
    use policy_runner::{CapabilityError, HostCapabilities, KubernetesRequest};

    use super::*;

    fn cluster() -> InMemoryCluster {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml", "labels": {"gpu-workload-type": "training"}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "ml"}, "spec": {"podSelector": {}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "other"}}),
        ];
        offline_cluster(objects.iter())
    }

    fn list_ns(ns: &str) -> KubernetesRequest {
        KubernetesRequest::KubernetesListResourceNamespace {
            api_version: "networking.k8s.io/v1".into(),
            kind: "NetworkPolicy".into(),
            namespace: ns.into(),
            label_selector: None,
            field_selector: None,
            field_masks: None,
        }
    }

    #[test]
    fn namespaces_get_the_name_label_and_the_builtins_exist() {
        let c = cluster();
        let get = |name| c.kubernetes(&KubernetesRequest::get_namespace(name));
        let ns: Value = serde_json::from_slice(&get("ml").unwrap()).unwrap();
        assert_eq!(ns["metadata"]["labels"][NAME_LABEL], "ml");
        assert_eq!(ns["metadata"]["labels"]["gpu-workload-type"], "training");
        assert!(get("default").is_ok());
        assert!(matches!(get("ghost"), Err(CapabilityError::Failed(_))));
        assert_eq!(namespace_labels(&c, "ghost").len(), 1);
        assert_eq!(namespace_labels(&c, "ml").len(), 2);
        assert_eq!(namespace_labels(&c, "kube-system").len(), 1);
    }

    #[test]
    fn namespaced_objects_without_a_namespace_land_in_default() {
        let c = cluster();
        for (ns, expected) in [("ml", "deny"), ("default", "other")] {
            let list: Value = serde_json::from_slice(&c.kubernetes(&list_ns(ns)).unwrap()).unwrap();
            assert_eq!(list["kind"], "NetworkPolicyList");
            assert_eq!(list["apiVersion"], "networking.k8s.io/v1");
            let names: Vec<&Value> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| &o["metadata"]["name"])
                .collect();
            assert_eq!(names, [expected], "{ns}");
        }
        assert!(c.kubernetes(&list_ns("empty")).is_ok());
    }
}
