//! The offline cluster: context-aware policies' lookups answered from the
//! objects in the input, as if they had all been applied already.

use std::collections::BTreeMap;

use policy_runner::{CapabilityError, HostCapabilities, KubernetesRequest};
use serde_json::{Value, json};

use crate::admission::ResourceType;
use crate::selection::{Requirement, labels_of};

/// Namespaces every cluster has; answered (with only their name label) when
/// the input does not define them, so a pod in `default` is judged on
/// `default`'s labels rather than on "not found".
const BUILTIN_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The label the API server puts on every Namespace.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The input objects, indexed by apiVersion and kind.
#[derive(Debug, Default, Clone)]
pub struct InMemoryCluster {
    objects: BTreeMap<(String, String), Vec<Value>>,
}

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

impl InMemoryCluster {
    /// Indexes `objects` (each must have apiVersion and kind). Namespaced
    /// objects without a namespace land in `default`; Namespaces get their
    /// `kubernetes.io/metadata.name` label, as the API server does.
    pub fn new<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut cluster = Self::default();
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
                {
                    let labels = meta.entry("labels").or_insert_with(|| json!({}));
                    if let Some(labels) = labels.as_object_mut() {
                        labels.insert(NAME_LABEL.to_owned(), json!(name));
                    }
                }
            }
            cluster
                .objects
                .entry((api_version.to_owned(), kind.to_owned()))
                .or_default()
                .push(object);
        }
        let namespaces = cluster
            .objects
            .entry(("v1".to_owned(), "Namespace".to_owned()))
            .or_default();
        for builtin in BUILTIN_NAMESPACES {
            if !namespaces
                .iter()
                .any(|n| meta_str(n, "name") == Some(builtin))
            {
                namespaces.push(json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": builtin, "labels": {NAME_LABEL: builtin}},
                }));
            }
        }
        cluster
    }

    fn of_type(&self, api_version: &str, kind: &str) -> &[Value] {
        self.objects
            .get(&(api_version.to_owned(), kind.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Labels of namespace `name`: its Namespace's from the input (or a
    /// built-in one), else only `kubernetes.io/metadata.name`.
    pub fn namespace_labels(&self, name: &str) -> BTreeMap<String, String> {
        self.of_type("v1", "Namespace")
            .iter()
            .find(|n| meta_str(n, "name") == Some(name))
            .map_or_else(
                || BTreeMap::from([(NAME_LABEL.to_owned(), name.to_owned())]),
                labels_of,
            )
    }

    fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<u8>, CapabilityError> {
        let labels = parse_equality_selector(label_selector.unwrap_or_default())
            .map_err(|e| CapabilityError::Failed(format!("invalid label selector: {e}")))?;
        let fields = parse_equality_selector(field_selector.unwrap_or_default())
            .map_err(|e| CapabilityError::Failed(format!("invalid field selector: {e}")))?;
        let mut items = Vec::new();
        for object in self.of_type(api_version, kind) {
            if namespace.is_some_and(|ns| meta_str(object, "namespace") != Some(ns)) {
                continue;
            }
            let object_labels = labels_of(object);
            if !labels
                .iter()
                .all(|term| term.matches(object_labels.get(&term.key).map(String::as_str)))
            {
                continue;
            }
            let mut field_ok = true;
            for term in &fields {
                let value = match term.key.as_str() {
                    "metadata.name" => meta_str(object, "name"),
                    "metadata.namespace" => meta_str(object, "namespace"),
                    other => {
                        return Err(CapabilityError::Failed(format!(
                            "field selector on {other} is not supported offline (metadata.name, metadata.namespace)"
                        )));
                    }
                };
                field_ok &= term.matches(value);
            }
            if field_ok {
                items.push(object.clone());
            }
        }
        // The envelope the API server returns (`<Kind>List` of the
        // resource's apiVersion): the SDK's typed `k8s_openapi::List<T>`
        // checks both, and readers that only take `items` don't care.
        let list = json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": "0"},
            "items": items,
        });
        serde_json::to_vec(&list).map_err(|e| CapabilityError::Failed(e.to_string()))
    }
}

/// Not-found, worded like the API server, plus why offline.
fn not_found(kind: &str, name: &str, namespace: Option<&str>) -> CapabilityError {
    let plural = ResourceType::of("v1", kind).resource;
    let place = namespace.map_or_else(String::new, |ns| format!(" in namespace {ns}"));
    CapabilityError::Failed(format!(
        "{plural} \"{name}\" not found (gpu-policy-check: no {kind} \"{name}\"{place} in the input manifests; add it to check against it)"
    ))
}

impl HostCapabilities for InMemoryCluster {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        match request {
            KubernetesRequest::KubernetesGetResource {
                api_version,
                kind,
                name,
                namespace,
                ..
            } => {
                let found = self.of_type(api_version, kind).iter().find(|o| {
                    meta_str(o, "name") == Some(name.as_str())
                        && namespace
                            .as_deref()
                            .is_none_or(|ns| meta_str(o, "namespace") == Some(ns))
                });
                let object = found.ok_or_else(|| not_found(kind, name, namespace.as_deref()))?;
                serde_json::to_vec(object).map_err(|e| CapabilityError::Failed(e.to_string()))
            }
            KubernetesRequest::KubernetesListResourceNamespace {
                api_version,
                kind,
                namespace,
                label_selector,
                field_selector,
                ..
            } => self.list(
                api_version,
                kind,
                Some(namespace),
                label_selector.as_deref(),
                field_selector.as_deref(),
            ),
            KubernetesRequest::KubernetesListResourceAll {
                api_version,
                kind,
                label_selector,
                field_selector,
                ..
            } => self.list(
                api_version,
                kind,
                None,
                label_selector.as_deref(),
                field_selector.as_deref(),
            ),
        }
    }
}

/// An equality-based selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`), as the
/// `matchExpressions` it is equivalent to.
fn parse_equality_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let mut terms = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.contains(" in ") || part.contains(" notin ") || part.contains('(') {
            return Err(format!("set-based term {part:?} is not supported offline"));
        }
        let (key, operator, value) = if let Some((k, v)) = part.split_once("!=") {
            (k, "NotIn", Some(v))
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            (k, "In", Some(v))
        } else if let Some(k) = part.strip_prefix('!') {
            (k, "DoesNotExist", None)
        } else {
            (part, "Exists", None)
        };
        terms.push(Requirement {
            key: key.trim().to_owned(),
            operator: operator.to_owned(),
            values: value.map(|v| v.trim().to_owned()).into_iter().collect(),
        });
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> InMemoryCluster {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml", "labels": {"gpu-workload-type": "training"}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "ml", "labels": {"fence": "yes"}}, "spec": {"podSelector": {}}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "other", "namespace": "web"}}),
        ];
        InMemoryCluster::new(objects.iter())
    }

    fn get(name: &str) -> KubernetesRequest {
        KubernetesRequest::get_namespace(name)
    }

    fn list_ns(ns: &str, labels: Option<&str>) -> KubernetesRequest {
        KubernetesRequest::KubernetesListResourceNamespace {
            api_version: "networking.k8s.io/v1".into(),
            kind: "NetworkPolicy".into(),
            namespace: ns.into(),
            label_selector: labels.map(str::to_owned),
            field_selector: None,
            field_masks: None,
        }
    }

    fn items(bytes: Vec<u8>) -> Vec<Value> {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["kind"], "NetworkPolicyList");
        assert_eq!(v["apiVersion"], "networking.k8s.io/v1");
        v["items"].as_array().unwrap().clone()
    }

    #[test]
    fn get_finds_namespaces_and_adds_the_name_label() {
        let c = cluster();
        let ns: Value = serde_json::from_slice(&c.kubernetes(&get("ml")).unwrap()).unwrap();
        assert_eq!(ns["metadata"]["labels"][NAME_LABEL], "ml");
        assert_eq!(ns["metadata"]["labels"]["gpu-workload-type"], "training");
        assert!(c.kubernetes(&get("default")).is_ok());
        let Err(CapabilityError::Failed(msg)) = c.kubernetes(&get("ghost")) else {
            panic!("expected not found");
        };
        assert!(msg.starts_with("namespaces \"ghost\" not found"), "{msg}");
        assert!(msg.contains("input manifests"), "{msg}");
        assert_eq!(c.namespace_labels("ghost").len(), 1);
        assert_eq!(c.namespace_labels("ml").len(), 2);
    }

    #[test]
    fn lists_by_namespace_and_selector() {
        let c = cluster();
        for (ns, selector, expected) in [
            ("ml", None, 1),
            ("empty", None, 0),
            ("ml", Some("fence=yes"), 1),
            ("ml", Some("fence!=yes"), 0),
            ("ml", Some("!fence"), 0),
        ] {
            let listed = items(c.kubernetes(&list_ns(ns, selector)).unwrap());
            assert_eq!(listed.len(), expected, "{ns} {selector:?}");
        }
        assert!(c.kubernetes(&list_ns("ml", Some("a in (b)"))).is_err());
        let all = KubernetesRequest::KubernetesListResourceAll {
            api_version: "networking.k8s.io/v1".into(),
            kind: "NetworkPolicy".into(),
            label_selector: None,
            field_selector: Some("metadata.namespace=web".into()),
            field_masks: None,
        };
        assert_eq!(items(c.kubernetes(&all).unwrap()).len(), 1);
    }
}
