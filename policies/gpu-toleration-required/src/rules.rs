//! The rules of gpu-toleration-required: GPU pods tolerate the GPU taint of
//! every vendor they request; pods without GPUs tolerate no GPU taint.

use std::borrow::Cow;

use gpu_policy_core::catalogue::is_extended_resource_name;
use gpu_policy_core::dra::{ClaimVerdict, PodClaims, claim_namespace};
use gpu_policy_core::host::get_resource;
use gpu_policy_core::pod::Toleration;
use gpu_policy_core::quantity::QuantityError;
use gpu_policy_core::toleration::toleration_yaml;
use gpu_policy_core::{
    AdmissionRequest, ContainerKind, ContainerRef, DEVICE_CLASS_RESOURCE_PREFIX, GpuCatalogue,
    KubernetesHost, LookupError, Outcome, Taint, Violation, Workload, WorkloadKind,
};

use crate::mutation;
use crate::settings::{Compiled, Mode};

/// Decides one admission request. The pod's DRA claims are read first (one
/// lookup each; a pod without claims makes none): a claim of a GPU device
/// class needs its vendor's toleration like a device-plugin GPU.
pub fn evaluate(
    request: &AdmissionRequest,
    compiled: &Compiled,
    cluster: &dyn KubernetesHost,
) -> Outcome {
    let workload = match Workload::from_request(request) {
        Ok(Some(w)) => w,
        Ok(None) => return Outcome::Accept,
        Err(violation) => return Outcome::Reject(vec![violation]),
    };
    let claims = PodClaims::resolve(cluster, claim_namespace(request, &workload), &workload);
    let requested = requested_gpus(&workload, &claims, &compiled.catalogue);
    // A claim that could not be read may be a GPU of any vendor: its pod is
    // not judged a pod without GPUs, and no toleration is added for it.
    let claim_warnings: Vec<String> = claims
        .unresolved()
        .map(|(claim, e)| {
            claim.unresolved_warning(
                e,
                "the pod is not judged a pod without GPUs and no toleration is added for the claim",
            )
        })
        .collect();
    if requested.is_empty() {
        if !claim_warnings.is_empty() {
            return Outcome::from_findings(Vec::new(), claim_warnings);
        }
        let mut violations = Vec::new();
        if compiled.reject_non_gpu_tolerations {
            violations = gpu_tolerations_without_gpu(&workload, compiled);
        }
        let mut warnings = Vec::new();
        match named_gpu_node(cluster, &workload, compiled) {
            NamedNode::None => {}
            NamedNode::Gpu(v) => violations.push(v),
            NamedNode::Unread(w) => warnings.push(w),
        }
        return Outcome::from_findings(violations, warnings);
    }
    let mut missing = missing_tolerations(&workload, compiled, &requested);
    // Tolerations the cluster's own mutators will add are warnings.
    let mut warnings = claim_warnings;
    missing.retain(|m| match supplied_by_cluster(&workload, compiled, m) {
        Some(why) => {
            warnings.push(format!(
                "{}.tolerations: requests {} and does not tolerate the GPU node taint {}; accepted because {why}",
                workload.spec_path(),
                m.resources(),
                m.taint
            ));
            false
        }
        None => true,
    });
    if missing.is_empty() {
        return Outcome::from_findings(Vec::new(), warnings);
    }
    let violations: Vec<Violation> = missing.iter().map(|m| m.violation(&workload)).collect();
    match compiled.mode {
        Mode::Validate => Outcome::Reject(violations),
        Mode::Mutate => {
            let tolerations: Vec<Toleration> =
                missing.iter().map(|m| m.taint.toleration()).collect();
            let edited = request
                .object_json()
                .ok_or_else(|| "the request carries no object".to_owned())
                .and_then(|json| mutation::add_tolerations(json, workload.kind, &tolerations));
            match edited {
                Ok(object) => Outcome::Mutate(object),
                Err(reason) => {
                    let mut violations = violations;
                    violations.push(
                        Violation::new(
                            workload.spec_path(),
                            format!("cannot add the tolerations: {reason}"),
                        )
                        .fix("add the tolerations named above by hand"),
                    );
                    Outcome::Reject(violations)
                }
            }
        }
    }
}

/// A GPU resource the pod asks for, with where it first asks for it.
#[derive(Debug)]
struct Requested<'w> {
    /// The resource name (a GPU device class's implicit name for a claim).
    name: Cow<'w, str>,
    /// The name taint rules also match: a GPU device class's implicit name
    /// stands for its vendor's device-plugin resource.
    vendor_name: Cow<'w, str>,
    /// Where it is asked for; spelt out only for a message.
    origin: Origin<'w>,
}

/// Where a GPU is asked for.
#[derive(Debug)]
enum Origin<'w> {
    /// A container: its path and name.
    Container(ContainerRef<'w>),
    /// A DRA claim, described (`spec.resourceClaims[0] "gpu" (...)`).
    Claim(String),
}

impl Requested<'_> {
    /// `nvidia.com/gpu in spec.containers[0] "ctr"`, or the claim.
    fn describe(&self) -> String {
        match &self.origin {
            Origin::Container(c) if c.container.name.is_empty() => {
                format!("{} in {}", self.name, c.path())
            }
            Origin::Container(c) => {
                format!("{} in {} {:?}", self.name, c.path(), c.container.name)
            }
            Origin::Claim(described) => described.clone(),
        }
    }
}

/// The GPU resources the pod asks for (limits or requests, any container
/// that gets resources: app, init and sidecar), first occurrence of each
/// name, then the GPU device classes of its DRA claims. A quantity of exactly
/// zero asks for nothing; an unreadable quantity counts as asking
/// (gpu-limit-required reports it).
fn requested_gpus<'w>(
    workload: &'w Workload,
    claims: &PodClaims<'_>,
    catalogue: &GpuCatalogue,
) -> Vec<Requested<'w>> {
    let mut out: Vec<Requested<'w>> = Vec::new();
    for c in workload.containers() {
        if c.kind == ContainerKind::Ephemeral {
            continue;
        }
        for gpu in catalogue.container_gpus(c.container) {
            if gpu.count() == Err(QuantityError::Zero) || out.iter().any(|r| r.name == gpu.name) {
                continue;
            }
            out.push(Requested {
                name: Cow::Borrowed(gpu.name),
                vendor_name: Cow::Borrowed(gpu.resource.vendor_name(gpu.name)),
                origin: Origin::Container(c),
            });
        }
    }
    for (claim, verdict) in claims.verdicts(catalogue) {
        let ClaimVerdict::Gpu(demand) = verdict else {
            continue;
        };
        for class in &demand.classes {
            let name = format!("{DEVICE_CLASS_RESOURCE_PREFIX}{class}");
            let Some(resource) = catalogue.classify(&name) else {
                continue;
            };
            if out.iter().any(|r| r.name == name) {
                continue;
            }
            out.push(Requested {
                vendor_name: Cow::Owned(resource.vendor_name(&name).to_owned()),
                origin: Origin::Claim(claim.describe(Some(&demand))),
                name: Cow::Owned(name),
            });
        }
    }
    out
}

/// A configured taint the pod must tolerate but does not.
struct Missing<'a, 'w> {
    taint: &'a Taint,
    because: Vec<&'a Requested<'w>>,
}

impl Missing<'_, '_> {
    /// The resources that need the toleration, for messages.
    fn resources(&self) -> String {
        let resources: Vec<String> = self.because.iter().map(|r| r.describe()).collect();
        resources.join(", ")
    }

    fn violation(&self, workload: &Workload) -> Violation {
        let path = format!("{}.tolerations", workload.spec_path());
        let mut reason = format!(
            "requests {} but does not tolerate the GPU node taint {}, so it stays Pending",
            self.resources(),
            self.taint
        );
        for (i, t) in workload.spec.tolerations.iter().enumerate() {
            if let Some(miss) = near_miss(self.taint, t) {
                reason.push_str(&format!("; {path}[{i}] names the key but {miss}"));
            }
        }
        Violation::new(path.clone(), reason).fix(format!(
            "add {} to {path}",
            toleration_yaml(&self.taint.toleration())
        ))
    }
}

/// Why a toleration of the taint's key does not tolerate it.
fn near_miss(taint: &Taint, t: &Toleration) -> Option<String> {
    if t.key.is_empty() || t.key != taint.key || taint.tolerated_by(t).is_some() {
        return None;
    }
    Some(if !t.effect.is_empty() && t.effect != taint.effect {
        format!("has effect {}, not {}", t.effect, taint.effect)
    } else if matches!(t.operator.as_str(), "" | "Equal") {
        format!(
            "has value {:?}, not {:?}",
            t.value,
            taint.value.as_deref().unwrap_or_default()
        )
    } else {
        format!(
            "has operator {:?}, which is neither Equal nor Exists",
            t.operator
        )
    })
}

/// The label Kueue reads a Job's queue from.
pub const KUEUE_QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";

/// Why the cluster itself will add the missing toleration, when it will:
/// - a Job Kueue holds (`spec.suspend: true` and a queue label, with
///   `deferKueueSuspendedJobs`) gets its ResourceFlavor's tolerations in the
///   update that unsuspends it, which is judged in full;
/// - with `extendedResourceToleration`, the API server's
///   ExtendedResourceToleration plugin adds `{key: <name>, operator: Exists,
///   effect: NoSchedule}` to every Pod for each extended resource its
///   containers request, so a workload template (not a Pod: a Pod reaching
///   this policy has been through the plugin already) is covered when the
///   taint is NoSchedule with the key of a resource it requests.
fn supplied_by_cluster(
    workload: &Workload,
    compiled: &Compiled,
    m: &Missing<'_, '_>,
) -> Option<String> {
    if compiled.defer_kueue_suspended_jobs
        && workload.kind == WorkloadKind::Job
        && workload.suspended
        && let Some(queue) = workload
            .metadata
            .labels
            .get(KUEUE_QUEUE_LABEL)
            .filter(|q| !q.is_empty())
    {
        return Some(format!(
            "Kueue holds the Job (spec.suspend: true, {KUEUE_QUEUE_LABEL}={queue}) and adds its ResourceFlavor's tolerations when it admits it; that update is checked in full (deferKueueSuspendedJobs)"
        ));
    }
    if compiled.extended_resource_toleration
        && workload.kind != WorkloadKind::Pod
        && m.taint.effect == "NoSchedule"
        && requests_extended_resource(workload, &m.taint.key)
    {
        return Some(format!(
            "extendedResourceToleration is set: the API server's ExtendedResourceToleration plugin adds {{key: {}, operator: Exists, effect: NoSchedule}} to its pods",
            m.taint.key
        ));
    }
    None
}

/// Whether a container (app, init or sidecar) requests or limits `name` and
/// it is an extended resource: what the ExtendedResourceToleration plugin
/// adds a toleration for.
fn requests_extended_resource(workload: &Workload, name: &str) -> bool {
    is_extended_resource_name(name)
        && workload
            .containers()
            .filter(|c| c.kind != ContainerKind::Ephemeral)
            .any(|c| {
                c.container.resources.limits.contains_key(name)
                    || c.container.resources.requests.contains_key(name)
            })
}

/// For each configured taint that applies to a requested resource and that
/// no toleration tolerates: what is missing and which resources need it.
/// Rules with the same taint are merged, so each toleration is asked once.
fn missing_tolerations<'a, 'w>(
    workload: &Workload,
    compiled: &'a Compiled,
    requested: &'a [Requested<'w>],
) -> Vec<Missing<'a, 'w>> {
    let mut out: Vec<Missing<'a, 'w>> = Vec::new();
    for (pattern, taint) in &compiled.rules {
        let mut because: Vec<&'a Requested<'w>> = requested
            .iter()
            .filter(|r| pattern.matches(&r.name) || pattern.matches(&r.vendor_name))
            .collect();
        if because.is_empty() {
            continue;
        }
        if workload
            .spec
            .tolerations
            .iter()
            .any(|t| taint.tolerated_by(t).is_some())
        {
            continue;
        }
        match out.iter_mut().find(|m| m.taint == taint) {
            Some(existing) => {
                because.retain(|r| !existing.because.iter().any(|e| e.name == r.name));
                existing.because.extend(because);
            }
            None => out.push(Missing { taint, because }),
        }
    }
    out
}

/// What the node a pod without GPUs names (`spec.nodeName`) says.
enum NamedNode {
    /// No node named, or one without a GPU taint the pod does not tolerate.
    None,
    /// It carries a configured GPU taint the pod does not tolerate.
    Gpu(Violation),
    /// It could not be read: the check was skipped (a warning says why).
    Unread(String),
}

/// A Node's taints (`spec.taints`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NodeObject {
    #[serde(deserialize_with = "gpu_policy_core::pod::null_as_default")]
    spec: NodeSpec,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NodeSpec {
    #[serde(deserialize_with = "gpu_policy_core::pod::null_as_default")]
    taints: Vec<NodeTaint>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NodeTaint {
    #[serde(deserialize_with = "gpu_policy_core::pod::null_as_default")]
    key: String,
    #[serde(deserialize_with = "gpu_policy_core::pod::null_as_default")]
    value: String,
    #[serde(deserialize_with = "gpu_policy_core::pod::null_as_default")]
    effect: String,
}

/// A pod that names its node skips the scheduler, so no taint keeps it off
/// a GPU node: a pod without GPUs naming a node that carries a configured
/// GPU taint it does not tolerate is judged as the scheduler would have.
fn named_gpu_node(
    cluster: &dyn KubernetesHost,
    workload: &Workload,
    compiled: &Compiled,
) -> NamedNode {
    let node = workload.spec.node_name.as_str();
    if node.is_empty() {
        return NamedNode::None;
    }
    let path = format!("{}.nodeName", workload.spec_path());
    let read = get_resource(cluster, "v1", "Node", node, None).and_then(|raw| {
        serde_json::from_slice::<NodeObject>(&raw).map_err(|_| LookupError::Unreadable)
    });
    let taints = match read {
        Ok(n) => n.spec.taints,
        Err(e) => {
            return NamedNode::Unread(format!(
                "{path}: cannot read Node {node:?} to check it for GPU taints ({e}), so the pod was not checked against them"
            ));
        }
    };
    let carried = compiled.rules.iter().map(|(_, t)| t).find(|t| {
        taints.iter().any(|n| t.is(&n.key, &n.value, &n.effect))
            && !workload
                .spec
                .tolerations
                .iter()
                .any(|tol| t.tolerated_by(tol).is_some())
    });
    match carried {
        None => NamedNode::None,
        Some(taint) => NamedNode::Gpu(
            Violation::new(
                path,
                format!(
                    "names node {node:?}, which carries the GPU taint {taint}, but the pod requests no GPU: a pod that names its node skips the scheduler, so the taint does not keep it off the GPU node"
                ),
            )
            .fix("remove nodeName and let the scheduler place the pod (a nodeSelector on kubernetes.io/hostname keeps it on a node of your choice), or request a GPU if the pod needs one"),
        ),
    }
}

/// Tolerations of a pod without GPUs that tolerate a configured GPU taint.
fn gpu_tolerations_without_gpu(workload: &Workload, compiled: &Compiled) -> Vec<Violation> {
    let spec_path = workload.spec_path();
    let mut out = Vec::new();
    for (i, toleration) in workload.spec.tolerations.iter().enumerate() {
        let mut taints: Vec<String> = Vec::new();
        let mut why = None;
        for (_, taint) in &compiled.rules {
            if let Some(reason) = taint.tolerated_by(toleration) {
                let name = taint.to_string();
                if !taints.contains(&name) {
                    taints.push(name);
                }
                why.get_or_insert(reason);
            }
        }
        let Some(why) = why else { continue };
        let noun = if taints.len() == 1 { "taint" } else { "taints" };
        out.push(
            Violation::new(
                format!("{spec_path}.tolerations[{i}]"),
                format!(
                    "{} tolerates the GPU {noun} {} ({why}) but the pod requests no GPU, so it can take up a GPU node",
                    toleration_yaml(toleration),
                    taints.join(", "),
                ),
            )
            .fix(
                "remove the toleration, or request a GPU if the pod needs one; GPU infrastructure (device plugin, DCGM exporter, node-feature-discovery) is exempted with the ClusterAdmissionPolicy's namespaceSelector or objectSelector",
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests;
