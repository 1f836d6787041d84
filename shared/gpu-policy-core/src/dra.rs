//! Dynamic Resource Allocation claims: what a pod's claims ask for, read
//! from their ResourceClaim or ResourceClaimTemplate (`resource.k8s.io/v1`)
//! through the host, and which of that is a GPU.
//!
//! A pod is allocated every request of every claim in `spec.resourceClaims`;
//! a container sees the requests its `resources.claims` entry names (all of
//! them when it names none). A request is met `exactly` or by one of its
//! `firstAvailable` alternatives, so its GPU count is the largest of its GPU
//! alternatives, and `allocationMode: All` is every matching device of the
//! node.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::catalogue::GpuCatalogue;
use crate::host::{KubernetesHost, LookupError, get_resource};
use crate::pod::{ClaimObject, ObjectMeta, PodResourceClaim, null_as_default};
use crate::request::AdmissionRequest;
use crate::workload::{ClaimUse, Workload, read_mapping};

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
    requests: Vec<RequestSpec>,
}

/// `devices.requests[]`: `exactly` one class, or the prioritized list
/// `firstAvailable` of sub-requests (any of them may be allocated).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RequestSpec {
    #[serde(deserialize_with = "null_as_default")]
    name: String,
    exactly: Option<ExactSpec>,
    #[serde(deserialize_with = "null_as_default")]
    first_available: Vec<ExactSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExactSpec {
    #[serde(deserialize_with = "null_as_default")]
    name: String,
    #[serde(deserialize_with = "null_as_default")]
    device_class_name: String,
    #[serde(deserialize_with = "null_as_default")]
    allocation_mode: String,
    count: Option<u64>,
    #[serde(deserialize_with = "null_as_default")]
    selectors: Vec<SelectorSpec>,
    #[serde(deserialize_with = "null_as_default")]
    admin_access: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SelectorSpec {
    cel: Option<CelSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct CelSpec {
    #[serde(deserialize_with = "null_as_default")]
    expression: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceClaimObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: ClaimSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceClaimTemplateObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: ResourceClaimObject,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeviceClassObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: DeviceClassSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DeviceClassSpec {
    #[serde(deserialize_with = "null_as_default")]
    selectors: Vec<SelectorSpec>,
    extended_resource_name: Option<String>,
}

/// How many devices a request may be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceCount {
    /// `allocationMode: ExactCount` (the default) with its `count` (default 1).
    Exactly(u64),
    /// `allocationMode: All`: every matching device of the node.
    All,
}

impl DeviceCount {
    /// Both counts together.
    pub fn plus(self, other: DeviceCount) -> DeviceCount {
        match (self, other) {
            (DeviceCount::Exactly(a), DeviceCount::Exactly(b)) => {
                DeviceCount::Exactly(a.saturating_add(b))
            }
            _ => DeviceCount::All,
        }
    }

    /// Whether it is more than `max` devices (`All` is more than any cap).
    pub fn exceeds(self, max: u64) -> bool {
        match self {
            DeviceCount::Exactly(n) => n > max,
            DeviceCount::All => true,
        }
    }
}

impl fmt::Display for DeviceCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceCount::Exactly(n) => write!(f, "{n}"),
            DeviceCount::All => {
                f.write_str("every matching device of the node (allocationMode: All)")
            }
        }
    }
}

/// One way a device request can be met: its `exactly`, or one of its
/// `firstAvailable` sub-requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAlternative {
    /// The sub-request's name (`firstAvailable[].name`); empty for `exactly`.
    pub name: String,
    /// `deviceClassName`.
    pub class: String,
    /// What `allocationMode` and `count` ask for.
    pub count: DeviceCount,
    /// The CEL expressions of `selectors[].cel`, with their index in
    /// `selectors`.
    pub selectors: Vec<(usize, String)>,
    /// `adminAccess: true`: access to devices already allocated to others.
    pub admin_access: bool,
    /// Its path under the claim spec: `devices.requests[0].exactly`,
    /// `devices.requests[1].firstAvailable[0]`.
    pub path: String,
}

impl DeviceAlternative {
    /// Whether its device class is a GPU class.
    pub fn is_gpu(&self, catalogue: &GpuCatalogue) -> bool {
        catalogue.classify_device_class(&self.class).is_some()
    }
}

/// One entry of `devices.requests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    /// `name`: what a container's `resources.claims[].request` names.
    pub name: String,
    /// `exactly` alone, or the `firstAvailable` list.
    pub alternatives: Vec<DeviceAlternative>,
}

/// What a claim asks for: its device requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimDevices {
    /// `devices.requests`, in order.
    pub requests: Vec<DeviceRequest>,
}

/// The GPUs some requests of a claim ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuDemand {
    /// The GPU device classes named, first occurrence first.
    pub classes: Vec<String>,
    /// How many GPUs they may be allocated.
    pub devices: DeviceCount,
}

impl GpuDemand {
    /// `device class gpu.nvidia.com`, `device classes gpu.nvidia.com, mig.nvidia.com`.
    pub fn describe_classes(&self) -> String {
        match self.classes.as_slice() {
            [class] => format!("device class {class}"),
            classes => format!("device classes {}", classes.join(", ")),
        }
    }
}

impl ClaimDevices {
    fn from_spec(spec: ClaimSpec) -> Self {
        let requests = spec
            .devices
            .requests
            .into_iter()
            .enumerate()
            .map(|(i, request)| {
                let exact = request
                    .exactly
                    .map(|e| (format!("devices.requests[{i}].exactly"), e));
                let listed = request
                    .first_available
                    .into_iter()
                    .enumerate()
                    .map(|(j, e)| (format!("devices.requests[{i}].firstAvailable[{j}]"), e));
                let alternatives = exact
                    .into_iter()
                    .chain(listed)
                    .map(|(path, e)| DeviceAlternative {
                        name: e.name,
                        class: e.device_class_name,
                        count: if e.allocation_mode == "All" {
                            DeviceCount::All
                        } else {
                            DeviceCount::Exactly(e.count.unwrap_or(1))
                        },
                        selectors: cel_expressions(e.selectors),
                        admin_access: e.admin_access,
                        path,
                    })
                    .collect();
                DeviceRequest {
                    name: request.name,
                    alternatives,
                }
            })
            .collect();
        ClaimDevices { requests }
    }

    /// Reads the spec of a ResourceClaim (`spec`) from its JSON.
    pub fn from_claim_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        from_json::<ResourceClaimObject>(json).map(|c| Self::from_spec(c.spec))
    }

    /// Every alternative of every request, in order.
    pub fn alternatives(&self) -> impl Iterator<Item = &DeviceAlternative> {
        self.requests.iter().flat_map(|r| &r.alternatives)
    }

    /// Reads the claim spec of a ResourceClaimTemplate (`spec.spec`) from
    /// its JSON.
    pub fn from_template_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        from_json::<ResourceClaimTemplateObject>(json).map(|t| Self::from_spec(t.spec.spec))
    }

    /// The alternatives a container's `resources.claims[].request` makes
    /// available, per request: every request (`""`), one request (`gpu`),
    /// or one sub-request of it (`gpu/big`).
    pub fn selected<'a>(
        &'a self,
        reference: &'a str,
    ) -> impl Iterator<Item = Vec<&'a DeviceAlternative>> + 'a {
        let (request, sub) = match reference.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (reference, None),
        };
        self.requests
            .iter()
            .filter(move |r| request.is_empty() || r.name == request)
            .map(move |r| {
                r.alternatives
                    .iter()
                    .filter(|a| sub.is_none_or(|s| a.name == s))
                    .collect()
            })
    }

    /// The GPUs the requests `reference` selects ask for (see
    /// [`ClaimDevices::selected`]), `None` when they name no GPU class.
    pub fn gpu_demand(&self, catalogue: &GpuCatalogue, reference: &str) -> Option<GpuDemand> {
        let mut classes: Vec<String> = Vec::new();
        let mut devices = DeviceCount::Exactly(0);
        for alternatives in self.selected(reference) {
            let gpus = alternatives
                .into_iter()
                .filter(|a| catalogue.classify_device_class(&a.class).is_some());
            let mut most: Option<DeviceCount> = None;
            for a in gpus {
                if !classes.contains(&a.class) {
                    classes.push(a.class.clone());
                }
                most = Some(most.map_or(a.count, |m| m.max(a.count)));
            }
            if let Some(most) = most {
                devices = devices.plus(most);
            }
        }
        (!classes.is_empty()).then_some(GpuDemand { classes, devices })
    }
}

/// Reads a claim object the host sent with the same JSON reader as an
/// admitted claim (a `str` reader): each reader type would compile the
/// claim structs' deserializers once more into the wasm module.
fn from_json<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    let text = std::str::from_utf8(json).map_err(serde::de::Error::custom)?;
    serde_json::from_str(text)
}

/// `selectors[].cel.expression`, with each selector's index (selectors
/// without CEL are left out).
fn cel_expressions(selectors: Vec<SelectorSpec>) -> Vec<(usize, String)> {
    selectors
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| s.cel.map(|c| (i, c.expression)))
        .collect()
}

/// The DRA objects the policies judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraKind {
    /// `ResourceClaim`: a claim spec in `spec`.
    ResourceClaim,
    /// `ResourceClaimTemplate`: a claim spec in `spec.spec`.
    ResourceClaimTemplate,
    /// `DeviceClass` (cluster-scoped).
    DeviceClass,
}

impl DraKind {
    /// Every kind.
    pub const ALL: [DraKind; 3] = [
        DraKind::ResourceClaim,
        DraKind::ResourceClaimTemplate,
        DraKind::DeviceClass,
    ];

    /// The API group.
    pub const GROUP: &'static str = "resource.k8s.io";

    /// The API version the policies' rules select.
    pub const VERSION: &'static str = "v1";

    /// The kind for a request's group, version and kind: the GA version
    /// (`v1`) and `v1beta2`, which has the same schema (`v1beta1` does not).
    pub fn from_group_version_kind(group: &str, version: &str, kind: &str) -> Option<Self> {
        if group != Self::GROUP || !matches!(version, "v1" | "v1beta2") {
            return None;
        }
        DraKind::ALL.into_iter().find(|k| k.name() == kind)
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            DraKind::ResourceClaim => "ResourceClaim",
            DraKind::ResourceClaimTemplate => "ResourceClaimTemplate",
            DraKind::DeviceClass => "DeviceClass",
        }
    }

    /// The plural resource name, as in an AdmissionRequest's `resource`.
    pub fn resource(self) -> &'static str {
        match self {
            DraKind::ResourceClaim => "resourceclaims",
            DraKind::ResourceClaimTemplate => "resourceclaimtemplates",
            DraKind::DeviceClass => "deviceclasses",
        }
    }

    /// Whether its objects live in a namespace.
    pub fn namespaced(self) -> bool {
        self != DraKind::DeviceClass
    }
}

/// A ResourceClaim or ResourceClaimTemplate being admitted.
#[derive(Debug, Clone)]
pub struct AdmittedClaim {
    /// A template (`spec.spec`) or a claim (`spec`).
    pub template: bool,
    /// Its metadata.
    pub metadata: ObjectMeta,
    /// What its claim spec asks for.
    pub devices: ClaimDevices,
}

impl AdmittedClaim {
    /// Reads a ResourceClaimTemplate (`template`) or ResourceClaim, which
    /// must be a JSON mapping.
    pub(crate) fn read<'de, D: Deserializer<'de>>(template: bool, d: D) -> Result<Self, D::Error> {
        Ok(if template {
            let t: ResourceClaimTemplateObject = read_mapping(d)?;
            AdmittedClaim {
                template: true,
                metadata: t.metadata,
                devices: ClaimDevices::from_spec(t.spec.spec),
            }
        } else {
            let c: ResourceClaimObject = read_mapping(d)?;
            AdmittedClaim {
                template: false,
                metadata: c.metadata,
                devices: ClaimDevices::from_spec(c.spec),
            }
        })
    }

    /// The object, as a pod's claim would name it.
    pub fn object(&self) -> ClaimObject<'_> {
        if self.template {
            ClaimObject::Template(&self.metadata.name)
        } else {
            ClaimObject::Claim(&self.metadata.name)
        }
    }

    /// The path of a field below the claim spec: `spec.spec.devices.requests[0].exactly`.
    pub fn field(&self, below_spec: &str) -> String {
        format!("{}.{below_spec}", self.object().spec_path())
    }

    /// The namespace it is created in (see [`claim_namespace`]).
    pub fn namespace<'a>(&'a self, request: &'a AdmissionRequest) -> &'a str {
        request_namespace(request, &self.metadata)
    }

    /// The GPUs the whole claim asks for (what each pod using it is
    /// allocated), `None` when it names no GPU class.
    pub fn gpu_demand(&self, catalogue: &GpuCatalogue) -> Option<GpuDemand> {
        self.devices.gpu_demand(catalogue, "")
    }
}

/// A DeviceClass being admitted: its CEL selectors and the extended resource
/// name pods may ask for its devices by.
#[derive(Debug, Clone, Default)]
pub struct DeviceClass {
    /// Its metadata.
    pub metadata: ObjectMeta,
    /// `spec.selectors[].cel.expression`, with each selector's index.
    pub selectors: Vec<(usize, String)>,
    /// `spec.extendedResourceName`.
    pub extended_resource_name: Option<String>,
}

impl DeviceClass {
    /// The path of the extended resource name.
    pub const EXTENDED_RESOURCE_NAME_PATH: &'static str = "spec.extendedResourceName";

    /// Reads a DeviceClass, which must be a JSON mapping.
    pub(crate) fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let class: DeviceClassObject = read_mapping(d)?;
        Ok(DeviceClass {
            metadata: class.metadata,
            selectors: cel_expressions(class.spec.selectors),
            extended_resource_name: class.spec.extended_resource_name,
        })
    }

    /// The path of a selector's expression: `spec.selectors[0].cel.expression`.
    pub fn selector_path(index: usize) -> String {
        format!("spec.selectors[{index}].cel.expression")
    }
}

/// The namespace a workload's claims live in: the request's (authoritative:
/// a Pod created without `metadata.namespace` gets it from the request),
/// else the object's.
pub fn claim_namespace<'a>(request: &'a AdmissionRequest, workload: &'a Workload) -> &'a str {
    request_namespace(request, &workload.metadata)
}

/// The namespace an object is created in: the request's, else its own
/// `metadata.namespace`.
fn request_namespace<'a>(request: &'a AdmissionRequest, metadata: &'a ObjectMeta) -> &'a str {
    if request.namespace.is_empty() {
        metadata.namespace.as_str()
    } else {
        request.namespace.as_str()
    }
}

/// Reads what `claim` in `namespace` asks for: its ResourceClaimTemplate's
/// or its ResourceClaim's spec. A claim naming neither asks for nothing.
pub fn read_claim_devices(
    host: &dyn KubernetesHost,
    namespace: &str,
    claim: &PodResourceClaim,
) -> Result<ClaimDevices, LookupError> {
    let Some(object) = claim.object() else {
        return Ok(ClaimDevices::default());
    };
    if namespace.is_empty() {
        return Err(LookupError::NotFound);
    }
    let raw = get_resource(
        host,
        DRA_API_VERSION,
        object.kind(),
        object.name(),
        Some(namespace),
    )?;
    match object {
        ClaimObject::Claim(_) => ClaimDevices::from_claim_json(&raw),
        ClaimObject::Template(_) => ClaimDevices::from_template_json(&raw),
    }
    .map_err(|_| LookupError::Unreadable)
}

/// What a claim, or a container's use of it, turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// It asks for GPUs.
    Gpu(GpuDemand),
    /// It asks for no GPU device class.
    NotGpu,
    /// Its object could not be read (why).
    Unresolved(LookupError),
}

/// One entry of the pod's `spec.resourceClaims`, read.
#[derive(Debug, Clone)]
pub struct ResolvedClaim<'w> {
    /// Its index in `spec.resourceClaims`.
    pub index: usize,
    /// The entry.
    pub claim: &'w PodResourceClaim,
    /// Its path, e.g. `spec.template.spec.resourceClaims[0]`.
    pub path: String,
    /// What its object asks for, or why it could not be read.
    pub devices: Result<ClaimDevices, LookupError>,
}

impl ResolvedClaim<'_> {
    /// The verdict on the requests `reference` selects (`""`: all).
    pub fn verdict(&self, catalogue: &GpuCatalogue, reference: &str) -> ClaimVerdict {
        match &self.devices {
            Err(e) => ClaimVerdict::Unresolved(*e),
            Ok(devices) => devices
                .gpu_demand(catalogue, reference)
                .map_or(ClaimVerdict::NotGpu, ClaimVerdict::Gpu),
        }
    }

    /// The claim for messages: `spec.resourceClaims[0] "gpu" (ResourceClaimTemplate
    /// single-gpu)`, with its GPU device classes once known: `(ResourceClaimTemplate
    /// single-gpu, device class gpu.nvidia.com)`.
    pub fn describe(&self, demand: Option<&GpuDemand>) -> String {
        let classes = match demand.filter(|d| !d.classes.is_empty()) {
            None => String::new(),
            Some(d) => format!(", {}", d.describe_classes()),
        };
        format!(
            "{} {:?} ({}{classes})",
            self.path,
            self.claim.name,
            self.claim.source()
        )
    }

    /// The admission warning for a claim whose object could not be read:
    /// why, and what the policy `judged` instead.
    pub fn unresolved_warning(&self, error: LookupError, judged: &str) -> String {
        format!(
            "{}: its device class could not be read ({error}); {judged}",
            self.describe(None)
        )
    }
}

/// Every claim of a pod, read once each.
#[derive(Debug, Clone, Default)]
pub struct PodClaims<'w> {
    /// In `spec.resourceClaims` order.
    pub claims: Vec<ResolvedClaim<'w>>,
}

impl<'w> PodClaims<'w> {
    /// Reads every claim of the pod in `namespace` (one lookup per entry of
    /// `spec.resourceClaims`, none for a pod without claims).
    pub fn resolve(host: &dyn KubernetesHost, namespace: &str, workload: &'w Workload) -> Self {
        let spec_path = workload.spec_path();
        let claims = workload
            .spec
            .resource_claims
            .iter()
            .enumerate()
            .map(|(index, claim)| ResolvedClaim {
                index,
                claim,
                path: format!("{spec_path}.resourceClaims[{index}]"),
                devices: read_claim_devices(host, namespace, claim),
            })
            .collect();
        PodClaims { claims }
    }

    /// The claim a container's use names.
    pub fn of_use(&self, used: &ClaimUse<'_>) -> Option<&ResolvedClaim<'w>> {
        self.claims.iter().find(|c| c.index == used.claim_index)
    }

    /// The verdict on one container's use of a claim: the requests it names.
    pub fn use_verdict(&self, catalogue: &GpuCatalogue, used: &ClaimUse<'_>) -> ClaimVerdict {
        let reference = used
            .container
            .container
            .resources
            .claims
            .get(used.index)
            .map_or("", |c| c.request.as_str());
        self.of_use(used)
            .map_or(ClaimVerdict::NotGpu, |c| c.verdict(catalogue, reference))
    }

    /// Each claim with the verdict on all its requests (what the pod is
    /// allocated).
    pub fn verdicts<'a>(
        &'a self,
        catalogue: &'a GpuCatalogue,
    ) -> impl Iterator<Item = (&'a ResolvedClaim<'w>, ClaimVerdict)> + 'a {
        self.claims.iter().map(|c| (c, c.verdict(catalogue, "")))
    }

    /// The claims that could not be read, with why.
    pub fn unresolved(&self) -> impl Iterator<Item = (&ResolvedClaim<'w>, LookupError)> {
        self.claims
            .iter()
            .filter_map(|c| c.devices.as_ref().err().map(|e| (c, *e)))
    }

    /// The GPUs the whole pod is allocated through its claims (`None`: no
    /// GPU claim).
    pub fn pod_gpu_devices(&self, catalogue: &GpuCatalogue) -> Option<DeviceCount> {
        self.verdicts(catalogue)
            .filter_map(|(_, v)| match v {
                ClaimVerdict::Gpu(d) => Some(d.devices),
                _ => None,
            })
            .reduce(DeviceCount::plus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadKind;

    const TEMPLATE: &str = r#"{"spec": {"spec": {"devices": {"requests": [
        {"name": "nic", "exactly": {"deviceClassName": "rdma.example.com"}},
        {"name": "gpu", "firstAvailable": [
            {"name": "big", "deviceClassName": "gpu.nvidia.com", "count": 4},
            {"name": "slice", "deviceClassName": "mig.nvidia.com",
             "selectors": [{"cel": {"expression": "device.attributes['gpu.nvidia.com'].profile == '1g.5gb'"}}]}]},
        {"name": "rest", "exactly": {"deviceClassName": "gpu.nvidia.com", "allocationMode": "All"}}]}}}}"#;

    /// Answers `get_resource` for a few objects, fails the rest.
    struct Host;

    impl KubernetesHost for Host {
        fn call(&self, _operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
            let request: serde_json::Value = serde_json::from_slice(payload).unwrap();
            assert_eq!(request["api_version"], DRA_API_VERSION);
            assert_eq!(request["namespace"], "ml");
            match (request["kind"].as_str(), request["name"].as_str()) {
                (Some("ResourceClaimTemplate"), Some("mixed")) => Ok(TEMPLATE.as_bytes().to_vec()),
                (Some("ResourceClaim"), Some("nic-only")) => Ok(br#"{"spec": {"devices": {"requests": [{"name": "nic", "exactly": {"deviceClassName": "rdma.example.com", "count": 2}}]}}}"#.to_vec()),
                (Some("ResourceClaim"), Some("two-gpus")) => Ok(br#"{"spec": {"devices": {"requests": [{"name": "g", "exactly": {"deviceClassName": "gpu.amd.com", "count": 2}}]}}}"#.to_vec()),
                (Some("ResourceClaim"), Some("junk")) => Ok(br#"{"spec": {"devices": {"requests": "all"}}}"#.to_vec()),
                _ => Err("Cannot find resource.k8s.io/v1/ResourceClaim".to_owned()),
            }
        }
    }

    #[test]
    fn a_claim_spec_reads_exactly_first_available_counts_and_selectors() {
        let devices = ClaimDevices::from_template_json(TEMPLATE.as_bytes()).unwrap();
        let gpu = &devices.requests[1];
        assert_eq!(gpu.name, "gpu");
        assert_eq!(
            gpu.alternatives[0],
            DeviceAlternative {
                name: "big".into(),
                class: "gpu.nvidia.com".into(),
                count: DeviceCount::Exactly(4),
                selectors: vec![],
                admin_access: false,
                path: "devices.requests[1].firstAvailable[0]".into(),
            }
        );
        assert_eq!(gpu.alternatives[1].count, DeviceCount::Exactly(1));
        assert_eq!(gpu.alternatives[1].selectors.len(), 1);
        assert_eq!(devices.requests[2].alternatives[0].count, DeviceCount::All);
        assert_eq!(
            devices.requests[0].alternatives[0].path,
            "devices.requests[0].exactly"
        );
        // null everywhere reads as empty, never as an error
        let empty = ClaimDevices::from_claim_json(
            br#"{"spec": {"devices": {"requests": [{"name": null, "exactly": null, "firstAvailable": null}]}}}"#,
        )
        .unwrap();
        assert!(empty.requests[0].alternatives.is_empty());
        assert!(
            ClaimDevices::from_claim_json(
                br#"{"spec": {"devices": {"requests": [{"exactly": {"count": -1}}]}}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn gpu_demand_takes_the_largest_alternative_and_sums_requests() {
        let devices = ClaimDevices::from_template_json(TEMPLATE.as_bytes()).unwrap();
        let catalogue = GpuCatalogue::default();
        let demand = |reference| devices.gpu_demand(&catalogue, reference);
        assert_eq!(demand("nic"), None);
        assert_eq!(
            demand("gpu"),
            Some(GpuDemand {
                classes: vec!["gpu.nvidia.com".into(), "mig.nvidia.com".into()],
                devices: DeviceCount::Exactly(4),
            })
        );
        assert_eq!(
            demand("gpu/slice").unwrap().devices,
            DeviceCount::Exactly(1)
        );
        assert_eq!(demand("gpu/slice").unwrap().classes, ["mig.nvidia.com"]);
        assert_eq!(demand("gpu/ghost"), None);
        assert_eq!(demand("ghost"), None);
        assert_eq!(demand("").unwrap().devices, DeviceCount::All);
        assert!(DeviceCount::All.exceeds(u64::MAX));
        assert!(!DeviceCount::Exactly(2).exceeds(2));
        assert_eq!(
            DeviceCount::Exactly(u64::MAX).plus(DeviceCount::Exactly(1)),
            DeviceCount::Exactly(u64::MAX)
        );
    }

    #[test]
    fn pod_claims_are_read_once_each_and_fail_with_a_reason() {
        let pod = r#"{"spec": {"resourceClaims": [
                {"name": "t", "resourceClaimTemplateName": "mixed"}, {"name": "c", "resourceClaimName": "nic-only"},
                {"name": "g", "resourceClaimName": "ghost"}, {"name": "j", "resourceClaimName": "junk"}, {"name": "none"},
                {"name": "unused", "resourceClaimName": "two-gpus"}],
            "containers": [{"name": "a", "resources": {"claims": [{"name": "t"}, {"name": "t", "request": "nic"}, {"name": "t", "request": "gpu/slice"},
                {"name": "c"}, {"name": "g"}, {"name": "j"}, {"name": "none"}]}}]}}"#;
        let w = Workload::from_json(WorkloadKind::Pod, pod).unwrap();
        let catalogue = GpuCatalogue::default();
        let claims = PodClaims::resolve(&Host, "ml", &w);
        assert_eq!(claims.claims.len(), 6);
        let verdicts: Vec<ClaimVerdict> = w
            .all_claim_uses()
            .iter()
            .map(|u| claims.use_verdict(&catalogue, u))
            .collect();
        let gpu = |classes: &[&str], devices| {
            ClaimVerdict::Gpu(GpuDemand {
                classes: classes.iter().map(|c| c.to_string()).collect(),
                devices,
            })
        };
        assert_eq!(
            verdicts,
            [
                gpu(&["gpu.nvidia.com", "mig.nvidia.com"], DeviceCount::All),
                ClaimVerdict::NotGpu,
                gpu(&["mig.nvidia.com"], DeviceCount::Exactly(1)),
                ClaimVerdict::NotGpu,
                ClaimVerdict::Unresolved(LookupError::NotFound),
                ClaimVerdict::Unresolved(LookupError::Unreadable),
                ClaimVerdict::NotGpu,
            ]
        );
        // the claim no container uses is still allocated to the pod
        let (unused, verdict) = claims.verdicts(&catalogue).nth(5).unwrap();
        assert_eq!(verdict, gpu(&["gpu.amd.com"], DeviceCount::Exactly(2)));
        assert_eq!(
            unused.describe(Some(&GpuDemand {
                classes: vec!["gpu.amd.com".into()],
                devices: DeviceCount::Exactly(2)
            })),
            r#"spec.resourceClaims[5] "unused" (ResourceClaim two-gpus, device class gpu.amd.com)"#
        );
        assert_eq!(claims.pod_gpu_devices(&catalogue), Some(DeviceCount::All));
        let unresolved: Vec<String> = claims
            .unresolved()
            .map(|(c, e)| c.unresolved_warning(e, "treated as a GPU claim"))
            .collect();
        assert_eq!(
            unresolved,
            [
                r#"spec.resourceClaims[2] "g" (ResourceClaim ghost): its device class could not be read (it does not exist); treated as a GPU claim"#,
                r#"spec.resourceClaims[3] "j" (ResourceClaim junk): its device class could not be read (the host's answer could not be read); treated as a GPU claim"#,
            ]
        );
        // no namespace: nothing can be read, and nothing is asked of the host
        let nowhere = PodClaims::resolve(&crate::host::NoCluster, "", &w);
        assert_eq!(nowhere.unresolved().count(), 5);
        assert!(
            nowhere
                .unresolved()
                .all(|(_, e)| e == LookupError::NotFound)
        );
        // a pod without claims reads nothing
        let plain = Workload::from_json(
            WorkloadKind::Pod,
            r#"{"spec": {"containers": [{"name": "a"}]}}"#,
        )
        .unwrap();
        let none = PodClaims::resolve(&Host, "ml", &plain);
        assert!(none.claims.is_empty());
        assert_eq!(none.pod_gpu_devices(&catalogue), None);
    }
}
