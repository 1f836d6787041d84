//! The workload rules: a GPU workload runs in a labelled, fenced GPU
//! namespace, with the namespace's workload type on its pods.

use std::collections::BTreeSet;

use gpu_policy_core::dra::{ClaimVerdict, PodClaims, claim_namespace};
use gpu_policy_core::{
    AdmissionRequest, DEVICE_CLASS_RESOURCE_PREFIX, Outcome, Violation, Workload,
};

use super::namespace::{GpuObject, namespace_unset};
use crate::cluster::Cluster;
use crate::settings::{Compiled, Settings};

pub(super) fn check(
    request: &AdmissionRequest,
    workload: &Workload,
    compiled: &Compiled,
    cluster: &Cluster,
) -> Outcome {
    let (settings, catalogue) = (&compiled.settings, &compiled.catalogue);
    let uses_gpu = catalogue.workload_uses_gpu(workload);
    if !uses_gpu && workload.spec.resource_claims.is_empty() {
        return Outcome::Accept;
    }
    let ns = claim_namespace(request, workload);
    if ns.is_empty() {
        // Without a namespace the claims cannot be read either.
        return namespace_unset("workload");
    }
    // DRA claims are GPUs when their device class is one (a claim no
    // container uses is still allocated to the pod); a claim whose object
    // cannot be read is treated as one (fail closed), with a warning.
    let claims = PodClaims::resolve(cluster.host(), ns, workload);
    let mut gpu_classes: BTreeSet<String> = BTreeSet::new();
    let mut warnings = Vec::new();
    for (claim, verdict) in claims.verdicts(catalogue) {
        match verdict {
            ClaimVerdict::Gpu(demand) => gpu_classes.extend(
                demand
                    .classes
                    .iter()
                    .map(|class| format!("{DEVICE_CLASS_RESOURCE_PREFIX}{class}")),
            ),
            ClaimVerdict::NotGpu => {}
            ClaimVerdict::Unresolved(e) => {
                warnings.push(claim.unresolved_warning(e, "it is treated as a GPU claim"));
            }
        }
    }
    if !uses_gpu && gpu_classes.is_empty() && warnings.is_empty() {
        return Outcome::Accept;
    }

    let pod_value = workload
        .pod_metadata
        .labels
        .get(&settings.pod_label)
        .map(String::as_str);
    // The workload type to suggest in fixes: the pod's own, when valid.
    let suggested = pod_value
        .filter(|v| settings.is_workload_type(v))
        .or_else(|| settings.workload_types.first().map(String::as_str))
        .unwrap_or("training");
    let mut resources: BTreeSet<String> = BTreeSet::new();
    if settings.require_gpu_quota {
        resources.extend(
            workload
                .containers()
                .flat_map(|c| catalogue.container_gpus(c.container))
                .map(|g| g.name.to_owned()),
        );
        resources.extend(gpu_classes);
    }
    let gpu_object = GpuObject {
        namespace: ns,
        what: "workload",
        suggested,
        quota_resources: &resources,
    };
    match gpu_object.check_namespace(compiled, cluster, |ns_type| {
        pod_label_violation(workload, settings, ns, ns_type, pod_value)
    }) {
        Ok(violations) => Outcome::from_findings(violations, warnings),
        Err(violation) => Outcome::Reject(vec![violation]),
    }
}

fn pod_label_violation(
    workload: &Workload,
    settings: &Settings,
    ns: &str,
    ns_type: Option<&str>,
    pod_value: Option<&str>,
) -> Option<Violation> {
    let key = &settings.pod_label;
    let path = format!("{}.labels", workload.kind.pod_metadata_path());
    let set_to = |value: &str| format!("set {path}[\"{key}\"]: \"{value}\"");
    match (pod_value, ns_type) {
        (None, Some(t)) => Some(
            Violation::new(&path, format!("has no label {key}"))
                .fix(format!("{} (the type of namespace {ns:?})", set_to(t))),
        ),
        (None, None) => Some(
            Violation::new(&path, format!("has no label {key}")).fix(format!(
                "{} or another of {}",
                set_to(
                    settings
                        .workload_types
                        .first()
                        .map_or("training", String::as_str)
                ),
                settings.workload_types_list()
            )),
        ),
        (Some(v), Some(t)) if v != t => {
            let label = &settings.namespace_label;
            let fix = if settings.is_workload_type(v) {
                format!(
                    "run {v} workloads in a namespace labelled {label}={v}, or {}",
                    set_to(t)
                )
            } else {
                set_to(t)
            };
            Some(
                Violation::new(
                    &path,
                    format!(
                        "{key}={v} does not match namespace {ns:?}, which is for {label}={t} workloads"
                    ),
                )
                .fix(fix),
            )
        }
        (Some(v), None) if !settings.is_workload_type(v) => Some(
            Violation::new(
                &path,
                format!("{key}={v} is not one of {}", settings.workload_types_list()),
            )
            .fix(set_to(
                settings
                    .workload_types
                    .first()
                    .map_or("training", String::as_str),
            )),
        ),
        _ => None,
    }
}
