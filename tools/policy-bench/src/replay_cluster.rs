//! gpu-isolated-namespace's cluster reads, answered natively from the same
//! kwctl replay session the wasm run uses.
//!
//! Natively there is no waPC host to call, so this does, in-process, every
//! step of a lookup except crossing the wasm boundary: serialize the SDK's
//! lookup request (guest), decode it and find the recorded answer (host, the
//! same `ReplaySession` code the waPC host runs), and deserialize the answer
//! into the policy's lean types (guest). The native number is therefore
//! "policy work + lookup encode/decode + replay lookup", the wasm number is
//! the same plus the waPC host round trips.

use gpu_isolated_namespace::cluster::{
    ClusterReader, LookupError, Namespace, NetworkPolicy, ResourceQuota, parse_items,
};
use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListResourcesByNamespaceRequest,
};
use policy_runner::{HostCapabilities, KubernetesRequest, ReplaySession};
use serde_json::to_vec;

/// A [`ClusterReader`] backed by a replay session.
#[derive(Debug, Clone)]
pub struct ReplayCluster {
    session: ReplaySession,
}

impl ReplayCluster {
    /// Answers from `session`.
    pub fn new(session: ReplaySession) -> Self {
        Self { session }
    }

    fn ask(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, LookupError> {
        let request = KubernetesRequest::from_host_call(operation, payload)
            .map_err(|e| LookupError(format!("{e:#}")))?
            .ok_or_else(|| LookupError(format!("unsupported operation {operation}")))?;
        self.session
            .kubernetes(&request)
            .map_err(|e| LookupError(e.to_string()))
    }

    fn list(&self, api_version: &str, kind: &str, namespace: &str) -> Result<Vec<u8>, LookupError> {
        let request = ListResourcesByNamespaceRequest {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            label_selector: None,
            field_selector: None,
            field_masks: None,
        };
        let payload = to_vec(&request).map_err(|e| LookupError(e.to_string()))?;
        self.ask("list_resources_by_namespace", &payload)
    }
}

impl ClusterReader for ReplayCluster {
    fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError> {
        let request = GetResourceRequest {
            api_version: "v1".to_owned(),
            kind: "Namespace".to_owned(),
            name: name.to_owned(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        };
        let payload = to_vec(&request).map_err(|e| LookupError(e.to_string()))?;
        let answer = self.ask("get_resource", &payload)?;
        serde_json::from_slice(&answer)
            .map_err(|e| LookupError(format!("unreadable answer from the host: {e}")))
    }

    fn list_network_policies(&self, namespace: &str) -> Result<Vec<NetworkPolicy>, LookupError> {
        parse_items(&self.list("networking.k8s.io/v1", "NetworkPolicy", namespace)?)
    }

    fn list_resource_quotas(&self, namespace: &str) -> Result<Vec<ResourceQuota>, LookupError> {
        parse_items(&self.list("v1", "ResourceQuota", namespace)?)
    }
}
