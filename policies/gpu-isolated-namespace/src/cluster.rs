//! What the policy reads from the cluster, behind [`ClusterReader`] so the
//! rules can be tested with a fake, and the host-capability implementation
//! used in wasm.
//!
//! The objects are lean models of the fields the rules read; everything else
//! (managedFields, status, ...) is skipped. Lists are read as `{"items": [...]}`
//! whatever their `apiVersion`/`kind` say (`v1/List` or
//! `networking.k8s.io/v1/NetworkPolicyList`): the SDK's typed
//! `k8s_openapi::List<T>` rejects a `kind: List` envelope, which kwctl
//! sessions and hand-written replays both use.

use std::collections::BTreeMap;

use gpu_policy_core::pod::ObjectMeta;
use kubewarden_policy_sdk::error::Error as SdkError;
use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListResourcesByNamespaceRequest, get_resource,
};
use kubewarden_policy_sdk::wapc_guest;
use serde::de::{Deserializer, IgnoredAny};
use serde::{Deserialize, de::DeserializeOwned};

/// A failed lookup, with the host's error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupError(pub String);

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The cluster reads the policy makes.
pub trait ClusterReader {
    /// `v1/Namespace` `name`.
    fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError>;
    /// Every `networking.k8s.io/v1/NetworkPolicy` in `namespace`.
    fn list_network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, LookupError>;
    /// Every `v1/ResourceQuota` in `namespace`.
    fn list_resource_quotas(&self, namespace: &str) -> Result<Vec<ResourceQuota>, LookupError>;
}

/// Deserializes `null` (or, with `#[serde(default)]`, a missing field) as the default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A Namespace: only its metadata.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// `metadata` (name, labels).
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
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

/// The Kubewarden host capabilities (`kubernetes/get_resource`,
/// `kubernetes/list_resources_by_namespace`).
#[derive(Debug, Default, Clone, Copy)]
pub struct HostCluster;

impl HostCluster {
    fn list<T: DeserializeOwned>(
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
        let message = serde_json::to_vec(&request).map_err(|e| LookupError(e.to_string()))?;
        let raw = wapc_guest::host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_by_namespace",
            &message,
        )
        .map_err(|e| host_error(&*e))?;
        parse_items(&raw)
    }
}

/// The host's own error text (waPC prefixes it with `Host error: `).
fn host_error(e: &(dyn std::error::Error + Send + Sync)) -> LookupError {
    let text = e.to_string();
    LookupError(
        text.strip_prefix("Host error: ")
            .unwrap_or(&text)
            .to_owned(),
    )
}

/// Reads `{"items": [...]}`, whatever the envelope's apiVersion and kind.
pub fn parse_items<T: DeserializeOwned>(raw: &[u8]) -> Result<Vec<T>, LookupError> {
    serde_json::from_slice::<Items<T>>(raw)
        .map(|list| list.items)
        .map_err(|e| LookupError(format!("unreadable answer from the host: {e}")))
}

impl ClusterReader for HostCluster {
    fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError> {
        get_resource::<Namespace>(&GetResourceRequest {
            api_version: "v1".to_owned(),
            kind: "Namespace".to_owned(),
            name: name.to_owned(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        })
        .map_err(|e| match e {
            SdkError::HostCall { source, .. } => host_error(&*source),
            other => LookupError(format!("unreadable answer from the host: {other}")),
        })
    }

    fn list_network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, LookupError> {
        Self::list("networking.k8s.io/v1", "NetworkPolicy", namespace)
    }

    fn list_resource_quotas(&self, namespace: &str) -> Result<Vec<ResourceQuota>, LookupError> {
        Self::list("v1", "ResourceQuota", namespace)
    }
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
        let err = parse_items::<NetworkPolicy>(b"not json").unwrap_err();
        assert!(err.0.contains("unreadable answer"), "{err}");
        let err =
            parse_items::<NetworkPolicy>(br#"{"items":[{"spec":{"policyTypes":"Ingress"}}]}"#)
                .unwrap_err();
        assert!(err.0.contains("unreadable answer"), "{err}");
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
