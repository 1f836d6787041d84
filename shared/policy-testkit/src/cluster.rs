//! One in-memory cluster for every native run of a context-aware policy
//! (unit tests, property tests, fuzzing, benchmarks): it answers the
//! Kubewarden host's `kubernetes` calls from objects held in memory, the way
//! policy-server answers them from the API server.

use std::cell::RefCell;

use gpu_policy_core::KubernetesHost;
use serde_json::{Value, json};

/// Objects by `apiVersion`, `kind`, namespace and name, with failures to
/// inject and a record of every call.
#[derive(Debug, Default)]
pub struct InMemoryCluster {
    objects: Vec<Value>,
    failures: Vec<(String, String)>,
    calls: RefCell<Vec<String>>,
}

impl InMemoryCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cluster holding `objects` (each with `apiVersion`, `kind` and
    /// `metadata`).
    pub fn with_objects(objects: impl IntoIterator<Item = Value>) -> Self {
        Self {
            objects: objects.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Adds an object (with `apiVersion`, `kind` and `metadata`).
    pub fn add(&mut self, object: Value) -> &mut Self {
        self.objects.push(object);
        self
    }

    /// Every lookup of `kind` fails with the host error text `host_text`
    /// (what policy-server would say: `namespaces "x" is forbidden`, ...).
    pub fn fail(&mut self, kind: &str, host_text: &str) -> &mut Self {
        self.failures.push((kind.to_owned(), host_text.to_owned()));
        self
    }

    /// The calls made so far, as `get Namespace ml` / `list NetworkPolicy ml`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn matching<'a>(
        &'a self,
        api_version: &'a str,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| {
            field(o, "/apiVersion") == api_version
                && field(o, "/kind") == kind
                && namespace.is_none_or(|ns| field(o, "/metadata/namespace") == ns)
        })
    }
}

fn field<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn text<'a>(request: &'a Value, key: &str) -> &'a str {
    request.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl KubernetesHost for InMemoryCluster {
    fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let request: Value =
            serde_json::from_slice(payload).map_err(|e| format!("bad request: {e}"))?;
        let (api_version, kind) = (text(&request, "api_version"), text(&request, "kind"));
        let namespace = request.get("namespace").and_then(Value::as_str);
        let verb = match operation {
            "get_resource" => "get",
            "list_resources_by_namespace" => "list",
            other => return Err(format!("unsupported operation {other}")),
        };
        let target = match operation {
            "get_resource" => text(&request, "name"),
            _ => namespace.unwrap_or_default(),
        };
        self.calls
            .borrow_mut()
            .push(format!("{verb} {kind} {target}"));
        if let Some((_, host_text)) = self.failures.iter().find(|(k, _)| k == kind) {
            return Err(host_text.clone());
        }
        let answer = if verb == "get" {
            let name = text(&request, "name");
            self.matching(api_version, kind, namespace)
                .find(|o| field(o, "/metadata/name") == name)
                .cloned()
                .ok_or_else(|| {
                    format!("Cannot find {api_version}/{kind} named '{name}' in namespace '{namespace:?}'")
                })?
        } else {
            let items: Vec<Value> = self
                .matching(api_version, kind, namespace)
                .cloned()
                .collect();
            json!({"apiVersion": "v1", "kind": "List", "items": items})
        };
        serde_json::to_vec(&answer).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn answers_gets_and_lists_by_namespace() {
        let mut cluster = InMemoryCluster::new();
        cluster
            .add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}}))
            .add(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ml"}}))
            .add(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "web"}}));
        let ns = cluster
            .call("get_resource", br#"{"api_version": "v1", "kind": "Namespace", "name": "ml"}"#)
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&ns).unwrap()["metadata"]["name"], "ml");
        let missing = cluster
            .call("get_resource", br#"{"api_version": "v1", "kind": "Namespace", "name": "x"}"#)
            .unwrap_err();
        assert!(missing.contains("Cannot find v1/Namespace named 'x'"), "{missing}");
        let list = cluster
            .call(
                "list_resources_by_namespace",
                br#"{"api_version": "v1", "kind": "ResourceQuota", "namespace": "ml"}"#,
            )
            .unwrap();
        let list: Value = serde_json::from_slice(&list).unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        cluster.fail("ResourceQuota", "forbidden");
        assert_eq!(
            cluster
                .call(
                    "list_resources_by_namespace",
                    br#"{"api_version": "v1", "kind": "ResourceQuota", "namespace": "ml"}"#
                )
                .unwrap_err(),
            "forbidden"
        );
        assert_eq!(
            cluster.calls(),
            ["get Namespace ml", "get Namespace x", "list ResourceQuota ml", "list ResourceQuota ml"]
        );
    }
}
