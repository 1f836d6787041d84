//! What the policy reads from the cluster: [`Cluster`] makes the lookups
//! through any [`KubernetesHost`] (the waPC host in wasm, an in-memory
//! cluster natively) and reads the answers.
//!
//! The objects are lean models of the fields the rules read; everything else
//! (managedFields, status, ...) is skipped. Lists are read as `{"items": [...]}`
//! whatever their `apiVersion`/`kind` say (`v1/List` or
//! `networking.k8s.io/v1/NetworkPolicyList`): the SDK's typed
//! `k8s_openapi::List<T>` rejects a `kind: List` envelope, which kwctl
//! sessions and hand-written replays both use.

use std::collections::BTreeMap;

use gpu_policy_core::host::get_resource;
use gpu_policy_core::pod::{ObjectMeta, null_as_default};
use gpu_policy_core::{KubernetesHost, LookupError};
use kubewarden_policy_sdk::host_capabilities::kubernetes::ListResourcesByNamespaceRequest;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A Namespace: its metadata and phase.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// `metadata` (name, labels).
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// `status` (phase).
    #[serde(deserialize_with = "null_as_default")]
    pub status: NamespaceStatus,
}

/// `Namespace.status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NamespaceStatus {
    /// `Active`, or `Terminating` once the namespace is being deleted.
    #[serde(deserialize_with = "null_as_default")]
    pub phase: String,
}

impl Namespace {
    /// Whether the namespace is being deleted (its contents go with it).
    pub fn is_terminating(&self) -> bool {
        self.status.phase == "Terminating"
    }
}

/// A NetworkPolicy: what decides whether it is a default-deny.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkPolicy {
    /// `metadata` (name).
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: NetworkPolicySpec,
}

/// `NetworkPolicy.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkPolicySpec {
    /// `podSelector`; absent reads as `{}` (every pod), as the Go zero value.
    #[serde(deserialize_with = "null_as_default")]
    pub pod_selector: LabelSelector,
    /// `policyTypes`; empty when omitted (see [`NetworkPolicySpec::denies`]).
    #[serde(deserialize_with = "null_as_default")]
    pub policy_types: Vec<String>,
    /// `ingress` rules.
    #[serde(deserialize_with = "null_as_default")]
    pub ingress: Vec<PolicyRule>,
    /// `egress` rules.
    #[serde(deserialize_with = "null_as_default")]
    pub egress: Vec<PolicyRule>,
}

/// A label selector: only whether it is empty matters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// `matchLabels`.
    #[serde(deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions` (contents not read).
    #[serde(deserialize_with = "null_as_default")]
    pub match_expressions: Vec<IgnoredAny>,
}

impl LabelSelector {
    /// `{}`: selects every pod of the namespace.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

/// An ingress or egress rule: only whether it names peers and ports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyRule {
    /// `from` (ingress rules).
    #[serde(deserialize_with = "null_as_default")]
    pub from: Vec<IgnoredAny>,
    /// `to` (egress rules).
    #[serde(deserialize_with = "null_as_default")]
    pub to: Vec<IgnoredAny>,
    /// `ports`.
    #[serde(deserialize_with = "null_as_default")]
    pub ports: Vec<IgnoredAny>,
}

impl PolicyRule {
    /// A rule without peers and without ports allows all traffic in its
    /// direction (`ingress: [{}]`).
    pub fn allows_everything(&self) -> bool {
        self.from.is_empty() && self.to.is_empty() && self.ports.is_empty()
    }
}

/// A ResourceQuota: only `spec.hard`'s keys matter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResourceQuota {
    /// `metadata` (name).
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: ResourceQuotaSpec,
}

/// `ResourceQuota.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResourceQuotaSpec {
    /// `hard`: resource name to quantity (values not read).
    #[serde(deserialize_with = "null_as_default")]
    pub hard: BTreeMap<String, IgnoredAny>,
}

/// A list response: `items` only.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Items<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    items: Vec<T>,
}

/// The cluster reads the policy makes, through a host.
#[derive(Clone, Copy)]
pub struct Cluster<'h> {
    host: &'h dyn KubernetesHost,
}

impl<'h> Cluster<'h> {
    /// Reads through `host`.
    pub fn new(host: &'h dyn KubernetesHost) -> Self {
        Self { host }
    }

    /// The host, for the shared readers (DRA claims).
    pub fn host(&self) -> &'h dyn KubernetesHost {
        self.host
    }

    fn call<R: Serialize>(&self, operation: &str, request: &R) -> Result<Vec<u8>, LookupError> {
        let message = serde_json::to_vec(request).map_err(|_| LookupError::Unreadable)?;
        self.host
            .call(operation, &message)
            .map_err(|text| LookupError::from_host(&text))
    }

    fn list<T: DeserializeOwned>(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<Vec<T>, LookupError> {
        let request = ListResourcesByNamespaceRequest {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            label_selector: None,
            field_selector: None,
            field_masks: None,
        };
        parse_items(&self.call("list_resources_by_namespace", &request)?)
    }

    /// `v1/Namespace` `name`.
    pub fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError> {
        let raw = get_resource(self.host, "v1", "Namespace", name, None)?;
        serde_json::from_slice(&raw).map_err(|_| LookupError::Unreadable)
    }

    /// Every `networking.k8s.io/v1/NetworkPolicy` in `namespace`.
    pub fn list_network_policies(
        &self,
        namespace: &str,
    ) -> Result<Vec<NetworkPolicy>, LookupError> {
        self.list("networking.k8s.io/v1", "NetworkPolicy", namespace)
    }

    /// Every `v1/ResourceQuota` in `namespace`.
    pub fn list_resource_quotas(&self, namespace: &str) -> Result<Vec<ResourceQuota>, LookupError> {
        self.list("v1", "ResourceQuota", namespace)
    }
}

/// Reads `{"items": [...]}`, whatever the envelope's apiVersion and kind.
pub fn parse_items<T: DeserializeOwned>(raw: &[u8]) -> Result<Vec<T>, LookupError> {
    serde_json::from_slice::<Items<T>>(raw)
        .map(|list| list.items)
        .map_err(|_| LookupError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_whatever_the_envelope() {
        for raw in [
            r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"a"}}]}"#,
            r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicyList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"},"spec":{"podSelector":{}}}]}"#,
        ] {
            let items: Vec<NetworkPolicy> = parse_items(raw.as_bytes()).unwrap();
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].metadata.name, "a");
        }
        let empty: Vec<NetworkPolicy> = parse_items(br#"{"items":null}"#).unwrap();
        assert!(empty.is_empty());
        let empty: Vec<NetworkPolicy> = parse_items(br#"{"kind":"List"}"#).unwrap();
        assert!(empty.is_empty());
        assert_eq!(
            parse_items::<NetworkPolicy>(b"not json").unwrap_err(),
            LookupError::Unreadable
        );
        assert_eq!(
            parse_items::<NetworkPolicy>(br#"{"items":[{"spec":{"policyTypes":"Ingress"}}]}"#)
                .unwrap_err(),
            LookupError::Unreadable
        );
    }

    #[test]
    fn reads_real_objects_with_nulls_and_extra_fields() {
        let np: NetworkPolicy = serde_json::from_str(
            r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
               "metadata":{"name":"deny","namespace":"ml","managedFields":[{"manager":"kubectl"}],"labels":null},
               "spec":{"podSelector":{"matchLabels":null,"matchExpressions":null},"policyTypes":["Ingress","Egress"],
                       "ingress":null,"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8"}}],"ports":[{"port":53,"protocol":"UDP"}]}]}}"#,
        )
        .unwrap();
        assert!(np.spec.pod_selector.is_empty());
        assert_eq!(np.spec.egress.len(), 1);
        assert!(!np.spec.egress[0].allows_everything());
        let q: ResourceQuota = serde_json::from_str(
            r#"{"metadata":{"name":"gpu"},"spec":{"hard":{"requests.nvidia.com/gpu":"8","pods":10}},"status":{"used":{}}}"#,
        )
        .unwrap();
        assert!(q.spec.hard.contains_key("requests.nvidia.com/gpu"));
        let ns: Namespace = serde_json::from_str(
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml","labels":{"gpu-workload-type":"training"}},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}"#,
        )
        .unwrap();
        assert_eq!(ns.metadata.labels["gpu-workload-type"], "training");
    }
}
