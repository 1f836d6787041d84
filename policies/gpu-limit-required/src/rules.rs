//! The rules of gpu-limit-required.
//!
//! 1. A pod that aims at GPU nodes (GPU node selector, required node affinity
//!    on a GPU label, a GPU runtime class, a toleration of a GPU taint) must
//!    have at least one container with a GPU limit.
//! 2. A GPU in `requests` needs the same count in `limits`.
//! 3. GPU quantities are positive whole numbers.
//! 4. `NVIDIA_VISIBLE_DEVICES` (other than empty, `void`, `none`) only in a
//!    container with a GPU limit; ephemeral containers can never have one.
//! 5. `maxGpusPerContainer` / `maxGpusPerPod`, when set.
//!
//! A DRA claim of a GPU device class (read from its ResourceClaim or
//! ResourceClaimTemplate) is a GPU limit of the containers that use it. The
//! ResourceClaims and ResourceClaimTemplates themselves are judged too (see
//! [`check_claim`]).

use gpu_policy_core::catalogue::ContainerGpu;
use gpu_policy_core::dra::{AdmittedClaim, ClaimVerdict, DeviceCount, PodClaims, claim_namespace};
use gpu_policy_core::pod::EnvVar;
use gpu_policy_core::quantity::{QuantityError, parse_device_count};
use gpu_policy_core::targeting::GpuTarget;
use gpu_policy_core::{
    AdmissionRequest, Admitted, ContainerKind, ContainerRef, KubernetesHost, Outcome, Violation,
    Workload,
};

use crate::device_access;
use crate::settings::Compiled;

/// The variable the NVIDIA container runtime reads to pick the GPUs it
/// mounts into a container.
pub const VISIBLE_DEVICES: &str = "NVIDIA_VISIBLE_DEVICES";

/// Decides one admission request. The pod's DRA claims are read first (one
/// lookup each; a pod without claims makes none).
pub fn evaluate(
    request: &AdmissionRequest,
    compiled: &Compiled,
    cluster: &dyn KubernetesHost,
) -> Outcome {
    match Admitted::from_request(request) {
        Ok(Some(Admitted::Workload(workload))) => {
            check_workload(request, &workload, compiled, cluster)
        }
        Ok(Some(Admitted::Claim(claim))) => Outcome::from_violations(check_claim(&claim, compiled)),
        Ok(Some(Admitted::DeviceClass(_)) | None) => Outcome::Accept,
        Err(violation) => Outcome::Reject(vec![violation]),
    }
}

/// A workload: its limits against its GPU use, then device access.
fn check_workload(
    request: &AdmissionRequest,
    workload: &Workload,
    compiled: &Compiled,
    cluster: &dyn KubernetesHost,
) -> Outcome {
    let claims = PodClaims::resolve(cluster, claim_namespace(request, workload), workload);
    let mut warnings: Vec<String> = claims
        .unresolved()
        .map(|(claim, e)| claim.unresolved_warning(e, "a container using it counts as asking for a device, so GPU targeting without a GPU limit is accepted, and its devices are not counted against the caps"))
        .collect();
    let checked = check(workload, &claims, compiled);
    let mut violations = checked.violations;
    if compiled.settings.check_device_access {
        let pod = device_access::Pod {
            workload,
            gpu_pod: checked.gpu_pod,
            has_gpu: &checked.has_gpu,
        };
        device_access::check(&pod, &mut violations, &mut warnings);
    }
    Outcome::from_findings(violations, warnings)
}

/// What [`check`] found.
#[derive(Debug)]
pub struct Checked {
    /// The violations, in pod order.
    pub violations: Vec<Violation>,
    /// Whether the pod asks for a GPU (a GPU resource, a claim of a GPU
    /// class or of an unknown one) or aims at GPU nodes.
    pub gpu_pod: bool,
    /// Per container, in [`Workload::containers`] order: whether it asks for
    /// a GPU (a zero quantity asks for nothing).
    pub has_gpu: Vec<bool>,
}

/// Every violation of the workload, in pod order: per container (quantities,
/// requests without limits, `NVIDIA_VISIBLE_DEVICES`, the per-container cap),
/// then the pod total, then the GPU targeting of a pod without a GPU limit.
/// A container's DRA claim of a GPU class is its GPU limit, with the claim's
/// device count; one whose object could not be read is a device request of
/// unknown class (it may be the GPU the pod aims at).
pub fn check(workload: &Workload, claims: &PodClaims<'_>, compiled: &Compiled) -> Checked {
    let Compiled {
        settings,
        catalogue,
    } = compiled;
    let mut out = Vec::new();
    let mut any_gpu_limit = false;
    let mut has_gpu = Vec::new();
    for container in workload.containers() {
        if container.kind == ContainerKind::Ephemeral {
            has_gpu.push(false);
            // Ephemeral containers cannot set resources (the API server
            // refuses them), so no limit is demanded; but the runtime still
            // honours NVIDIA_VISIBLE_DEVICES in them.
            if settings.check_visible_devices_env {
                check_visible_devices(&container, &mut out);
            }
            continue;
        }
        let gpus = catalogue.container_gpus(container.container);
        let mut claimed: Vec<(String, DeviceCount)> = Vec::new();
        let mut unresolved_claim = false;
        for used in workload.claim_uses(container) {
            match claims.use_verdict(catalogue, &used) {
                ClaimVerdict::Gpu(demand) => claimed.push((
                    format!("{} {:?}", used.claim_path(), used.claim.name),
                    demand.devices,
                )),
                ClaimVerdict::Unresolved(_) => unresolved_claim = true,
                ClaimVerdict::NotGpu => {}
            }
        }
        let has_gpu_limit = gpus.iter().any(|gpu| gpu.limit.is_some()) || !claimed.is_empty();
        any_gpu_limit |= has_gpu_limit || unresolved_claim;
        has_gpu.push(
            !claimed.is_empty()
                || unresolved_claim
                || gpus
                    .iter()
                    .any(|gpu| gpu.count() != Err(QuantityError::Zero)),
        );
        for gpu in &gpus {
            check_quantities(&container, gpu, &mut out);
        }
        if settings.check_visible_devices_env && !has_gpu_limit && !unresolved_claim {
            check_visible_devices(&container, &mut out);
        }
        if let Some(max) = settings.max_gpus_per_container {
            let mut counts: Vec<(String, DeviceCount)> = gpus
                .iter()
                .filter_map(|gpu| {
                    gpu.count()
                        .ok()
                        .map(|n| (gpu.name.to_owned(), DeviceCount::Exactly(n)))
                })
                .collect();
            counts.extend(claimed);
            if let Some(over) = over_cap(&counts, max, "maxGpusPerContainer") {
                out.push(
                    Violation::new(container.path(), over)
                    .subject(container.container.name.as_str())
                    .fix(format!(
                        "ask for at most {max} per container, or split the work across containers or pods"
                    )),
                );
            }
        }
    }

    if let Some(max) = settings.max_gpus_per_pod {
        let mut counts: Vec<(String, DeviceCount)> = catalogue
            .effective_pod_gpus(workload)
            .into_iter()
            .map(|(name, n)| (name, DeviceCount::Exactly(n)))
            .collect();
        // A claim's devices are allocated to the pod once, whichever
        // containers use them.
        counts.extend(claims.verdicts(catalogue).filter_map(|(claim, v)| match v {
            ClaimVerdict::Gpu(d) => {
                Some((format!("{} {:?}", claim.path, claim.claim.name), d.devices))
            }
            _ => None,
        }));
        if let Some(over) = over_cap(&counts, max, "maxGpusPerPod") {
            out.push(
                Violation::new(workload.spec_path(), format!("the pod {over}"))
                .fix(format!(
                    "ask for at most {max} in total (a pod needs the larger of its biggest init container and the sum of its containers and sidecars), or split the work across pods"
                )),
            );
        }
    }

    // A claim no container uses is still allocated to the pod.
    let mut gpu_pod = has_gpu.contains(&true)
        || claims
            .verdicts(catalogue)
            .any(|(_, v)| !matches!(v, ClaimVerdict::NotGpu));
    if !any_gpu_limit {
        let targets = settings.targeting().gpu_targets(workload);
        gpu_pod |= !targets.is_empty();
        for target in targets {
            let resource = suggested_resource(&target);
            out.push(
                Violation::new(
                    target.path,
                    format!("{} but no container sets a GPU limit", target.reason),
                )
                .fix(format!(
                    "add a GPU limit such as resources.limits[\"{resource}\"]: \"1\" to the container that uses the GPU, or remove this GPU targeting"
                )),
            );
        }
    }
    Checked {
        violations: out,
        gpu_pod,
        has_gpu,
    }
}

/// The rules for a ResourceClaim or ResourceClaimTemplate, on its requests
/// of GPU device classes (other classes are not looked at):
///
/// - `adminAccess: true` unless `allowAdminAccess` (it reaches devices
///   already allocated to other pods);
/// - with `maxGpusPerContainer`, each way a request can be met asks for at
///   most that many devices (a container may use just that request), and
///   `allocationMode: All`, which no cap bounds, is refused;
/// - with `maxGpusPerPod`, the whole claim (every pod using it is allocated
///   all its requests) asks for at most that many.
pub fn check_claim(claim: &AdmittedClaim, compiled: &Compiled) -> Vec<Violation> {
    let Compiled {
        settings,
        catalogue,
    } = compiled;
    let mut out = Vec::new();
    for alt in claim.devices.alternatives().filter(|a| a.is_gpu(catalogue)) {
        let class = &alt.class;
        if alt.admin_access && !settings.allow_admin_access {
            out.push(
                Violation::new(
                    claim.field(&format!("{}.adminAccess", alt.path)),
                    format!(
                        "asks for admin access to GPU devices (device class {class}): it would reach GPUs already allocated to other pods"
                    ),
                )
                .fix("remove adminAccess (it is meant for monitoring and debugging tools), or set allowAdminAccess: true in the policy settings"),
            );
        }
        let Some(max) = settings.max_gpus_per_container else {
            continue;
        };
        match alt.count {
            DeviceCount::All => out.push(
                Violation::new(
                    claim.field(&format!("{}.allocationMode", alt.path)),
                    format!(
                        "asks for every {class} device of a node (allocationMode: All), which maxGpusPerContainer {max} cannot bound"
                    ),
                )
                .fix(format!(
                    "set allocationMode: ExactCount with a count of at most {max}"
                )),
            ),
            DeviceCount::Exactly(n) if n > u64::from(max) => out.push(
                Violation::new(
                    claim.field(&format!("{}.count", alt.path)),
                    format!(
                        "asks for {n} {class} devices, more than maxGpusPerContainer {max}"
                    ),
                )
                .fix(format!(
                    "set count to at most {max}, or split the work across claims and pods"
                )),
            ),
            DeviceCount::Exactly(_) => {}
        }
    }
    if let Some(max) = settings.max_gpus_per_pod
        && let Some(demand) = claim.gpu_demand(catalogue)
        && demand.devices.exceeds(u64::from(max))
    {
        out.push(
            Violation::new(
                claim.field("devices.requests"),
                format!(
                    "ask for {} ({}), more than maxGpusPerPod {max}: every pod using the claim is allocated all of its requests",
                    devices(demand.devices),
                    demand.describe_classes()
                ),
            )
            .fix(format!(
                "ask for at most {max} GPU devices in total across the requests, or split the work across claims and pods"
            )),
        );
    }
    out
}

/// Rules 2 and 3 for one GPU resource of one container.
fn check_quantities(
    container: &ContainerRef<'_>,
    gpu: &ContainerGpu<'_>,
    out: &mut Vec<Violation>,
) {
    let name = container.container.name.as_str();
    let limit = gpu.limit.map(|q| (q, parse_device_count(&q.0)));
    let request = gpu.request.map(|q| (q, parse_device_count(&q.0)));

    if let Some((quantity, Err(e))) = &limit {
        out.push(bad_quantity(
            gpu.limit_path(container),
            name,
            &quantity.0,
            e,
        ));
    }
    if let Some((quantity, Err(e))) = &request {
        out.push(bad_quantity(
            gpu.request_path(container),
            name,
            &quantity.0,
            e,
        ));
    }
    match (&request, &limit) {
        (Some((quantity, parsed)), None) => {
            let fix = match parsed {
                Ok(count) => format!("set resources.limits[\"{}\"]: \"{count}\"", gpu.name),
                Err(_) => format!(
                    "set resources.limits[\"{}\"] to the number of devices the container needs and the request to the same value",
                    gpu.name
                ),
            };
            out.push(
                Violation::new(
                    container.path(),
                    format!("requests {}: {} but sets no limit", gpu.name, quantity.0),
                )
                .subject(name)
                .fix(fix),
            );
        }
        (Some((request_q, Ok(requested))), Some((limit_q, Ok(limited))))
            if requested != limited =>
        {
            out.push(
                Violation::new(
                    container.path(),
                    format!(
                        "requests {}: {} but limits it to {} (GPUs cannot be overcommitted: requests must equal limits)",
                        gpu.name, request_q.0, limit_q.0
                    ),
                )
                .subject(name)
                .fix(format!(
                    "give resources.requests[\"{}\"] the limit's value, or remove the request (it defaults to the limit)",
                    gpu.name
                )),
            );
        }
        _ => {}
    }
}

fn bad_quantity(path: String, container: &str, text: &str, error: &QuantityError) -> Violation {
    let fix = match error {
        QuantityError::Zero => {
            "set a positive whole number of devices, or remove the resource if the container needs no GPU"
        }
        _ => "set a positive whole number of devices, e.g. \"1\"",
    };
    Violation::new(path, format!("GPU quantity {text:?} {error}"))
        .subject(container)
        .fix(fix)
}

/// Rule 4 for one container (which has no GPU limit, or is ephemeral).
/// When a variable is listed twice the last entry wins, as in Kubernetes.
fn check_visible_devices(container: &ContainerRef<'_>, out: &mut Vec<Violation>) {
    let Some((index, env)) = container
        .container
        .env
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.name == VISIBLE_DEVICES)
    else {
        return;
    };
    let Some(setting) = exposed_devices(env) else {
        return;
    };
    let (reason, fix) = if container.kind == ContainerKind::Ephemeral {
        (
            format!(
                "sets {VISIBLE_DEVICES}{setting} in an ephemeral container, which cannot have a GPU limit: the NVIDIA runtime would expose GPUs the device plugin did not assign"
            ),
            format!("remove {VISIBLE_DEVICES} (or set it to \"void\")"),
        )
    } else {
        (
            format!(
                "sets {VISIBLE_DEVICES}{setting} without a GPU limit: the NVIDIA runtime would expose GPUs the device plugin did not assign"
            ),
            format!(
                "remove {VISIBLE_DEVICES} (or set it to \"void\"), or request a GPU with resources.limits[\"nvidia.com/gpu\"]"
            ),
        )
    };
    out.push(
        Violation::new(container.field_path(&format!("env[{index}]")), reason)
            .subject(container.container.name.as_str())
            .fix(fix),
    );
}

/// How the variable exposes GPUs (`="all"`, ` from valueFrom`), or `None`
/// when it exposes none. The NVIDIA container toolkit splits the value on
/// commas and ignores blanks: an empty list, or one naming `void`, means no
/// GPU at all; `none` means no GPU (driver libraries only).
fn exposed_devices(env: &EnvVar) -> Option<String> {
    if env.value_from {
        return Some(" from valueFrom (its value cannot be checked at admission)".to_owned());
    }
    let value = env.value.as_deref().unwrap_or("");
    let mut devices = value.split(',').map(str::trim).filter(|d| !d.is_empty());
    let mut any = false;
    let mut only_none = true;
    for device in devices.by_ref() {
        if device == "void" {
            return None;
        }
        any = true;
        only_none &= device == "none";
    }
    (any && !only_none).then(|| format!("={value:?}"))
}

/// The GPU resource to suggest for a targeting field.
fn suggested_resource(target: &GpuTarget) -> &'static str {
    if target.reason.contains("amd.com") {
        "amd.com/gpu"
    } else if target.reason.contains("intel.com") {
        "gpu.intel.com/i915"
    } else {
        "nvidia.com/gpu"
    }
}

/// "asks for 3 GPU devices (nvidia.com/gpu: 3), more than `key` `max`" when
/// the counts add up to more than the cap.
fn over_cap(counts: &[(String, DeviceCount)], max: u32, key: &str) -> Option<String> {
    let total = counts
        .iter()
        .fold(DeviceCount::Exactly(0), |total, (_, n)| total.plus(*n));
    total.exceeds(u64::from(max)).then(|| {
        format!(
            "asks for {} ({}), more than {key} {max}",
            devices(total),
            breakdown(counts)
        )
    })
}

/// "3 GPU devices", or every device of the node.
fn devices(total: DeviceCount) -> String {
    match total {
        DeviceCount::Exactly(n) => format!("{n} GPU devices"),
        DeviceCount::All => {
            "every GPU of its node (a DRA request with allocationMode: All)".to_owned()
        }
    }
}

fn breakdown(counts: &[(String, DeviceCount)]) -> String {
    counts
        .iter()
        .map(|(name, n)| match n {
            DeviceCount::Exactly(n) => format!("{name}: {n}"),
            DeviceCount::All => format!("{name}: all"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
