//! The one in-memory cluster for every native run of a policy (unit tests,
//! property tests, the native case run, fuzzing, benchmarks): it answers the
//! Kubewarden host's `kubernetes` calls the way policy-server answers them
//! from the API server, either from objects held in memory or from a kwctl
//! replay session (the one a case gives), and records every call.

use std::sync::{Mutex, PoisonError};

use gpu_policy_core::KubernetesHost;
use serde_json::{Value, json};

use crate::metadata::ContextAwareResource;
use crate::replay::{CapabilityError, HostCall, KubernetesRequest, ReplaySession, kubernetes_call};

/// An object held by the cluster, filed under its type, namespace and name.
#[derive(Debug, Clone)]
struct Stored {
    api_version: String,
    kind: String,
    namespace: Option<String>,
    name: String,
    object: Value,
}

/// Objects by `apiVersion`, `kind`, namespace and name (or a replay
/// session), with failures to inject, an optional `contextAwareResources`
/// allow-list and a record of every call.
#[derive(Debug, Default)]
pub struct InMemoryCluster {
    objects: Vec<Stored>,
    failures: Vec<(String, String)>,
    replay: Option<ReplaySession>,
    allowed: Option<Vec<ContextAwareResource>>,
    calls: Mutex<Vec<HostCall>>,
}

/// A clone starts with the same record of calls, then keeps its own.
impl Clone for InMemoryCluster {
    fn clone(&self) -> Self {
        Self {
            objects: self.objects.clone(),
            failures: self.failures.clone(),
            replay: self.replay.clone(),
            allowed: self.allowed.clone(),
            calls: Mutex::new(self.host_calls()),
        }
    }
}

impl InMemoryCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cluster holding `objects` (each with `apiVersion`, `kind` and
    /// `metadata`).
    pub fn with_objects(objects: impl IntoIterator<Item = Value>) -> Self {
        let mut cluster = Self::default();
        for object in objects {
            cluster.add(object);
        }
        cluster
    }

    /// A cluster that answers exactly what `session` recorded, as the wasm
    /// host does: a lookup the session lacks is unanswered (a test-data
    /// problem the case run reports); objects added later are not read.
    pub fn from_replay(session: ReplaySession) -> Self {
        Self {
            replay: Some(session),
            ..Self::default()
        }
    }

    /// Adds an object, filed under its own `apiVersion`, `kind`,
    /// `metadata.namespace` and `metadata.name`.
    pub fn add(&mut self, object: Value) -> &mut Self {
        let text = |pointer| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (api_version, kind) = (text("/apiVersion"), text("/kind"));
        let (namespace, name) = (text("/metadata/namespace"), text("/metadata/name"));
        self.objects.push(Stored {
            api_version: api_version.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            namespace,
            name: name.unwrap_or_default(),
            object,
        });
        self
    }

    /// Adds `object` as it is (any JSON, even one that is no Kubernetes
    /// object), filed under the type, namespace (`None`: cluster-scoped) and
    /// name given: what a host answering with unreadable data looks like.
    pub fn add_as(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        object: Value,
    ) -> &mut Self {
        self.objects.push(Stored {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            object,
        });
        self
    }

    /// Every lookup of `kind` fails with the host error text `host_text`
    /// (what policy-server would say: `namespaces "x" is forbidden`, ...).
    pub fn fail(&mut self, kind: &str, host_text: &str) -> &mut Self {
        self.failures.push((kind.to_owned(), host_text.to_owned()));
        self
    }

    /// Refuses every resource type outside `resources` (a policy's
    /// `contextAwareResources`), with policy-server's wording. Without it,
    /// every type may be read.
    pub fn allow_only(&mut self, resources: Vec<ContextAwareResource>) -> &mut Self {
        self.allowed = Some(resources);
        self
    }

    /// The lookups made so far, as `get Namespace ml` / `list NetworkPolicy
    /// ml` (`list Namespace` for a list across namespaces).
    pub fn calls(&self) -> Vec<String> {
        self.host_calls()
            .iter()
            .filter_map(|call| call.request.as_ref())
            .map(|request| match request {
                KubernetesRequest::KubernetesGetResource { kind, name, .. } => {
                    format!("get {kind} {name}")
                }
                KubernetesRequest::KubernetesListResourceNamespace {
                    kind, namespace, ..
                } => format!("list {kind} {namespace}"),
                KubernetesRequest::KubernetesListResourceAll { kind, .. } => format!("list {kind}"),
            })
            .collect()
    }

    /// Every call made so far, with its decoded request and outcome.
    pub fn host_calls(&self) -> Vec<HostCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The object of that type, namespace (`None`: any) and name, if held.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        self.objects
            .iter()
            .find(|o| {
                o.api_version == api_version
                    && o.kind == kind
                    && o.name == name
                    && namespace.is_none_or(|ns| o.namespace.as_deref() == Some(ns))
            })
            .map(|o| &o.object)
    }

    /// The JSON the host returns for `request`, or why there is none (the
    /// `contextAwareResources` check is the caller's). Selectors are
    /// refused rather than ignored: no policy here sends one.
    pub fn answer(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        let resource = request.resource();
        if let Some((_, host_text)) = self.failures.iter().find(|(k, _)| *k == resource.kind) {
            return Err(CapabilityError::Failed(host_text.clone()));
        }
        if let Some(session) = &self.replay {
            return session.answer(request);
        }
        let of_type =
            |o: &&Stored| o.api_version == resource.api_version && o.kind == resource.kind;
        let answer = match request {
            KubernetesRequest::KubernetesGetResource {
                api_version,
                kind,
                name,
                namespace,
                ..
            } => self
                .get(api_version, kind, namespace.as_deref(), name)
                .cloned()
                // policy-server's words for a missing object.
                .ok_or_else(|| {
                    CapabilityError::Failed(format!(
                        "Cannot find {api_version}/{kind} named '{name}' in namespace '{namespace:?}'"
                    ))
                })?,
            KubernetesRequest::KubernetesListResourceNamespace {
                label_selector,
                field_selector,
                ..
            }
            | KubernetesRequest::KubernetesListResourceAll {
                label_selector,
                field_selector,
                ..
            } if label_selector.is_some() || field_selector.is_some() => {
                return Err(CapabilityError::Failed(
                    "label and field selectors are not supported by the in-memory cluster".into(),
                ));
            }
            KubernetesRequest::KubernetesListResourceNamespace { namespace, .. } => {
                list(&resource, self.objects.iter().filter(of_type).filter(|o| {
                    o.namespace.as_deref() == Some(namespace.as_str())
                }))
            }
            KubernetesRequest::KubernetesListResourceAll { .. } => {
                list(&resource, self.objects.iter().filter(of_type))
            }
        };
        serde_json::to_vec(&answer).map_err(|e| CapabilityError::Failed(e.to_string()))
    }
}

/// The envelope the API server returns: `<Kind>List` of the resource's
/// apiVersion.
fn list<'a>(resource: &ContextAwareResource, objects: impl Iterator<Item = &'a Stored>) -> Value {
    let items: Vec<&Value> = objects.map(|o| &o.object).collect();
    json!({"apiVersion": resource.api_version, "kind": format!("{}List", resource.kind),
           "metadata": {"resourceVersion": "0"}, "items": items})
}

impl KubernetesHost for InMemoryCluster {
    fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let (call, result) =
            kubernetes_call(operation, payload, self.allowed.as_deref(), |request| {
                self.answer(request)
            });
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::HostCallOutcome;

    const GET_ML: &[u8] = br#"{"api_version": "v1", "kind": "Namespace", "name": "ml"}"#;
    const LIST_ML_QUOTAS: &[u8] =
        br#"{"api_version": "v1", "kind": "ResourceQuota", "namespace": "ml"}"#;

    fn get_namespace(cluster: &InMemoryCluster, name: &str) -> Result<Vec<u8>, String> {
        let payload = json!({"api_version": "v1", "kind": "Namespace", "name": name});
        cluster.call("get_resource", payload.to_string().as_bytes())
    }

    fn items(cluster: &InMemoryCluster, operation: &str, payload: &[u8]) -> usize {
        let list: Value =
            serde_json::from_slice(&cluster.call(operation, payload).unwrap()).unwrap();
        list["items"].as_array().unwrap().len()
    }

    #[test]
    fn answers_gets_and_lists_by_namespace() {
        let mut cluster = InMemoryCluster::new();
        cluster
            .add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}}))
            .add(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ml"}}))
            .add(json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "web"}}));
        let ns = cluster.call("get_resource", GET_ML).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&ns).unwrap()["metadata"]["name"],
            "ml"
        );
        let missing = get_namespace(&cluster, "x").unwrap_err();
        assert_eq!(
            missing,
            "Cannot find v1/Namespace named 'x' in namespace 'None'"
        );
        assert_eq!(
            items(&cluster, "list_resources_by_namespace", LIST_ML_QUOTAS),
            1
        );
        assert_eq!(
            items(
                &cluster,
                "list_resources_all",
                br#"{"api_version": "v1", "kind": "ResourceQuota"}"#
            ),
            2
        );
        let selected =
            br#"{"api_version": "v1", "kind": "ResourceQuota", "label_selector": "a=b"}"#;
        let refused = cluster.call("list_resources_all", selected).unwrap_err();
        assert!(refused.contains("selectors are not supported"), "{refused}");
        cluster.fail("ResourceQuota", "forbidden");
        assert_eq!(
            cluster
                .call("list_resources_by_namespace", LIST_ML_QUOTAS)
                .unwrap_err(),
            "forbidden"
        );
        assert!(cluster.call("can_i", b"{}").is_err());
        assert_eq!(
            cluster.calls(),
            [
                "get Namespace ml",
                "get Namespace x",
                "list ResourceQuota ml",
                "list ResourceQuota",
                "list ResourceQuota",
                "list ResourceQuota ml"
            ]
        );
        assert_eq!(cluster.host_calls().len(), 7);
    }

    #[test]
    fn answers_from_a_replay_session() {
        let session = ReplaySession::parse(crate::replay::tests::KWCTL_SESSION, None).unwrap();
        let mut cluster = InMemoryCluster::from_replay(session);
        // Objects are not read: the session is the whole answer.
        cluster.add(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}));
        let answer = get_namespace(&cluster, "team-a").unwrap();
        assert_eq!(
            answer,
            br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}"#
        );
        let unanswered = get_namespace(&cluster, "web").unwrap_err();
        assert!(
            unanswered.contains("has no exchange for request"),
            "{unanswered}"
        );
        let calls = cluster.host_calls();
        assert_eq!(calls[0].outcome, HostCallOutcome::Answered);
        assert!(matches!(calls[1].outcome, HostCallOutcome::Unanswered(_)));
    }

    #[test]
    fn holds_unreadable_objects_and_refuses_what_is_not_allowed() {
        let mut cluster = InMemoryCluster::with_objects([
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}),
        ]);
        cluster.add_as("v1", "Namespace", None, "ml", json!([1, 2]));
        assert_eq!(cluster.call("get_resource", GET_ML).unwrap(), b"[1,2]");
        cluster.allow_only(vec![ContextAwareResource::new("v1", "Secret")]);
        let refused = cluster.call("get_resource", GET_ML).unwrap_err();
        assert!(
            refused.starts_with("Policy has not been granted access to Kubernetes v1/Namespace")
        );
        assert!(matches!(
            cluster.host_calls()[1].outcome,
            HostCallOutcome::Denied(_)
        ));
    }
}
