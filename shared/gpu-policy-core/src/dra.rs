//! Dynamic Resource Allocation claims: which device classes a pod's claim
//! asks for, read from its ResourceClaim or ResourceClaimTemplate
//! (`resource.k8s.io/v1`) through the host, and whether that makes it a GPU
//! claim.

use serde::Deserialize;

use crate::catalogue::GpuCatalogue;
use crate::host::{KubernetesHost, LookupError};
use crate::pod::{PodResourceClaim, null_as_default};
use crate::workload::ClaimUse;

/// The API version of the DRA objects.
pub const DRA_API_VERSION: &str = "resource.k8s.io/v1";

/// A claim spec: `spec` of a ResourceClaim, `spec.spec` of a template.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ClaimSpec {
    #[serde(deserialize_with = "null_as_default")]
    devices: Devices,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Devices {
    #[serde(deserialize_with = "null_as_default")]
    requests: Vec<DeviceRequest>,
}

/// `devices.requests[]`: `exactly` one class, or the prioritized list
/// `firstAvailable` of sub-requests (any of them may be allocated).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DeviceRequest {
    #[serde(deserialize_with = "null_as_default")]
    name: String,
    #[serde(deserialize_with = "null_as_default")]
    exactly: ExactRequest,
    #[serde(deserialize_with = "null_as_default")]
    first_available: Vec<ExactRequest>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExactRequest {
    #[serde(deserialize_with = "null_as_default")]
    device_class_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceClaim {
    #[serde(deserialize_with = "null_as_default")]
    spec: ClaimSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceClaimTemplate {
    #[serde(deserialize_with = "null_as_default")]
    spec: ResourceClaim,
}

/// The device classes of a claim, per request name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimClasses(Vec<(String, String)>);

impl ClaimClasses {
    fn read(spec: ClaimSpec) -> Self {
        let mut out = Vec::new();
        for request in spec.devices.requests {
            for exact in std::iter::once(request.exactly).chain(request.first_available) {
                if !exact.device_class_name.is_empty() {
                    out.push((request.name.clone(), exact.device_class_name));
                }
            }
        }
        ClaimClasses(out)
    }

    /// The classes of request `request` (every request when empty).
    pub fn of_request<'a>(&'a self, request: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(name, _)| request.is_empty() || name == request)
            .map(|(_, class)| class.as_str())
    }
}

/// Reads the device classes of `claim` in `namespace`: its
/// ResourceClaimTemplate's or its ResourceClaim's. A claim naming neither
/// asks for nothing.
pub fn read_claim_classes(
    host: &dyn KubernetesHost,
    namespace: &str,
    claim: &PodResourceClaim,
) -> Result<ClaimClasses, LookupError> {
    let (kind, name) = if !claim.resource_claim_template_name.is_empty() {
        ("ResourceClaimTemplate", &claim.resource_claim_template_name)
    } else if !claim.resource_claim_name.is_empty() {
        ("ResourceClaim", &claim.resource_claim_name)
    } else {
        return Ok(ClaimClasses::default());
    };
    // The SDK's GetResourceRequest, written out: its type needs the SDK's
    // cluster-context feature (k8s-openapi), which only this lookup would use.
    let request = serde_json::json!({
        "api_version": DRA_API_VERSION,
        "kind": kind,
        "name": name,
        "namespace": namespace,
        "disable_cache": false,
    });
    let payload = serde_json::to_vec(&request).map_err(|_| LookupError::Unreadable)?;
    let raw = host
        .call("get_resource", &payload)
        .map_err(|text| LookupError::from_host(&text))?;
    let spec = if kind == "ResourceClaim" {
        serde_json::from_slice::<ResourceClaim>(&raw).map(|c| c.spec)
    } else {
        serde_json::from_slice::<ResourceClaimTemplate>(&raw).map(|t| t.spec.spec)
    };
    spec.map(ClaimClasses::read)
        .map_err(|_| LookupError::Unreadable)
}

/// What a container's claim turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// It asks for a GPU device class (the first one named).
    Gpu(String),
    /// It asks for no GPU device class.
    NotGpu,
    /// Its object could not be read (why).
    Unresolved(LookupError),
}

/// Resolves each claim use of a pod (one lookup per pod claim): GPU, not a
/// GPU, or unresolved.
pub fn resolve_claim_uses<'w>(
    host: &dyn KubernetesHost,
    namespace: &str,
    catalogue: &GpuCatalogue,
    uses: &[ClaimUse<'w>],
) -> Vec<(ClaimUse<'w>, ClaimVerdict)> {
    let mut read: Vec<(usize, Result<ClaimClasses, LookupError>)> = Vec::new();
    uses.iter()
        .map(|used| {
            let classes = match read.iter().find(|(i, _)| *i == used.claim_index) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = read_claim_classes(host, namespace, used.claim);
                    read.push((used.claim_index, r.clone()));
                    r
                }
            };
            let request = used
                .container
                .container
                .resources
                .claims
                .get(used.index)
                .map_or("", |c| c.request.as_str());
            let verdict = match classes {
                Err(e) => ClaimVerdict::Unresolved(e),
                Ok(classes) => classes
                    .of_request(request)
                    .find(|class| catalogue.classify_device_class(class).is_some())
                    .map_or(ClaimVerdict::NotGpu, |class| {
                        ClaimVerdict::Gpu(class.to_owned())
                    }),
            };
            (*used, verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Workload, WorkloadKind};

    /// Answers `get_resource` for two objects, fails the rest.
    struct Host;

    impl KubernetesHost for Host {
        fn call(&self, _operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
            let request: serde_json::Value = serde_json::from_slice(payload).unwrap();
            assert_eq!(request["api_version"], DRA_API_VERSION);
            assert_eq!(request["namespace"], "ml");
            match (request["kind"].as_str(), request["name"].as_str()) {
                (Some("ResourceClaimTemplate"), Some("single-gpu")) => Ok(br#"{"spec": {"spec": {"devices": {"requests": [
                    {"name": "nic", "exactly": {"deviceClassName": "rdma.example.com"}},
                    {"name": "gpu", "firstAvailable": [{"name": "big", "deviceClassName": "mig.nvidia.com"}, {"name": "whole", "deviceClassName": "gpu.nvidia.com"}]}]}}}}"#.to_vec()),
                (Some("ResourceClaim"), Some("nic-only")) => Ok(br#"{"spec": {"devices": {"requests": [{"name": "nic", "exactly": {"deviceClassName": "rdma.example.com", "count": 2}}]}}}"#.to_vec()),
                (Some("ResourceClaim"), Some("junk")) => Ok(br#"{"spec": {"devices": {"requests": "all"}}}"#.to_vec()),
                _ => Err("Cannot find resource.k8s.io/v1/ResourceClaim".to_owned()),
            }
        }
    }

    #[test]
    fn claims_resolve_per_request_and_fail_with_a_reason() {
        let pod = r#"{"spec": {"resourceClaims": [
                {"name": "t", "resourceClaimTemplateName": "single-gpu"}, {"name": "c", "resourceClaimName": "nic-only"},
                {"name": "g", "resourceClaimName": "ghost"}, {"name": "j", "resourceClaimName": "junk"}, {"name": "none"}],
            "containers": [{"name": "a", "resources": {"claims": [{"name": "t"}, {"name": "t", "request": "nic"}, {"name": "t", "request": "gpu"},
                {"name": "c"}, {"name": "g"}, {"name": "j"}, {"name": "none"}]}}]}}"#;
        let w = Workload::from_json(WorkloadKind::Pod, pod).unwrap();
        let verdicts: Vec<ClaimVerdict> =
            resolve_claim_uses(&Host, "ml", &GpuCatalogue::default(), &w.all_claim_uses())
                .into_iter()
                .map(|(_, v)| v)
                .collect();
        assert_eq!(
            verdicts,
            [
                ClaimVerdict::Gpu("mig.nvidia.com".into()),
                ClaimVerdict::NotGpu,
                ClaimVerdict::Gpu("mig.nvidia.com".into()),
                ClaimVerdict::NotGpu,
                ClaimVerdict::Unresolved(LookupError::NotFound),
                ClaimVerdict::Unresolved(LookupError::Unreadable),
                ClaimVerdict::NotGpu,
            ]
        );
    }
}
