//! The workload rules: a GPU workload runs in a labelled, fenced GPU
//! namespace, with the namespace's workload type on its pods.

use std::collections::BTreeSet;

use gpu_policy_core::dra::{ClaimVerdict, PodClaims, claim_namespace};
use gpu_policy_core::{
    AdmissionRequest, DEVICE_CLASS_RESOURCE_PREFIX, LookupError, Outcome, Violation, Workload,
};

use super::{EXAMPLE, NAMESPACE_PATH, create_default_deny, gpu_namespace_type, lookup_violation};
use crate::cluster::{Cluster, NetworkPolicy};
use crate::settings::{Compiled, Settings};

pub(super) fn check(
    request: &AdmissionRequest,
    workload: &Workload,
    compiled: &Compiled,
    cluster: &Cluster,
) -> Outcome {
    let Compiled {
        settings,
        catalogue,
    } = compiled;
    let uses_gpu = catalogue.workload_uses_gpu(workload);
    if !uses_gpu && workload.spec.resource_claims.is_empty() {
        return Outcome::Accept;
    }
    let ns = claim_namespace(request, workload);
    if ns.is_empty() {
        // Without a namespace the claims cannot be read either: fail closed.
        return Outcome::Reject(vec![
            Violation::new(
                NAMESPACE_PATH,
                "is not set and the request names no namespace, so the GPU namespace cannot be checked",
            )
            .fix("create the workload in a GPU namespace"),
        ]);
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
    let label = &settings.namespace_label;

    let namespace = match cluster.get_namespace(ns) {
        Ok(n) => n,
        Err(e) => {
            let attempt = format!("cannot read Namespace {ns:?} to check its {label} label");
            let mut violation = lookup_violation(attempt, "v1/Namespace", &e);
            if e == LookupError::NotFound {
                violation = violation.fix(format!(
                    "create namespace {ns:?} labelled {label}={suggested}"
                ));
            }
            return Outcome::Reject(vec![violation]);
        }
    };

    let mut violations = Vec::new();
    let ns_type = gpu_namespace_type(&namespace, settings);
    if ns_type.is_none() {
        let reason = match namespace.metadata.labels.get(label) {
            None => format!("namespace {ns:?} is not a GPU namespace: it has no label {label}"),
            Some(v) => format!(
                "namespace {ns:?} is not a GPU namespace: its label {label}={v} is not one of {}",
                settings.workload_types_list()
            ),
        };
        let overwrite = if namespace.metadata.labels.contains_key(label) {
            " --overwrite"
        } else {
            ""
        };
        violations.push(Violation::new(NAMESPACE_PATH, reason).fix(format!(
            "kubectl label namespace {ns} {label}={suggested}{overwrite}"
        )));
    }
    if let Some(v) = pod_label_violation(workload, settings, ns, ns_type, pod_value) {
        violations.push(v);
    }
    if settings.require_default_deny_network_policy {
        violations.extend(default_deny_violation(cluster, ns));
    }
    if settings.require_gpu_quota {
        let mut resources: BTreeSet<String> = workload
            .containers()
            .flat_map(|c| catalogue.container_gpus(c.container))
            .map(|g| g.name.to_owned())
            .collect();
        resources.extend(gpu_classes);
        violations.extend(quota_violations(cluster, ns, &resources));
    }
    Outcome::from_findings(violations, warnings)
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

fn default_deny_violation(cluster: &Cluster, ns: &str) -> Option<Violation> {
    let policies = match cluster.list_network_policies(ns) {
        Ok(p) => p,
        Err(e) => {
            return Some(lookup_violation(
                format!(
                    "cannot list the NetworkPolicies of namespace {ns:?} to find its default-deny"
                ),
                "networking.k8s.io/v1/NetworkPolicy",
                &e,
            ));
        }
    };
    if policies.iter().any(NetworkPolicy::is_default_deny) {
        return None;
    }
    // Near misses (an empty podSelector, but something else missing) say why.
    let near: Vec<String> = policies
        .iter()
        .filter(|p| p.spec.pod_selector.is_empty())
        .map(|p| {
            format!(
                "{:?} is not one: {}",
                p.metadata.name,
                p.default_deny_gaps().join(", ")
            )
        })
        .collect();
    let mut reason = format!(
        "namespace {ns:?} has no default-deny NetworkPolicy (podSelector: {{}}, policyTypes: [Ingress, Egress])"
    );
    if !near.is_empty() {
        reason.push_str(&format!(" ({})", near.join("; ")));
    }
    Some(Violation::new(NAMESPACE_PATH, reason).fix(create_default_deny(ns, "default-deny-all")))
}

fn quota_violations(cluster: &Cluster, ns: &str, resources: &BTreeSet<String>) -> Vec<Violation> {
    let quotas = match cluster.list_resource_quotas(ns) {
        Ok(q) => q,
        Err(e) => {
            return vec![lookup_violation(
                format!("cannot list the ResourceQuotas of namespace {ns:?} to find its GPU quota"),
                "v1/ResourceQuota",
                &e,
            )];
        }
    };
    resources
        .iter()
        .filter_map(|resource| {
            let key = format!("requests.{resource}");
            // A device class is also capped by the DRA quota on its devices.
            let dra_key = resource
                .strip_prefix(DEVICE_CLASS_RESOURCE_PREFIX)
                .map(|class| format!("{class}.deviceclass.resource.k8s.io/devices"));
            if quotas.iter().any(|q| {
                q.spec.hard.contains_key(&key)
                    || dra_key.as_ref().is_some_and(|k| q.spec.hard.contains_key(k))
            }) {
                return None;
            }
            let or_dra = dra_key
                .map(|k| format!(" or hard[\"{k}\"]"))
                .unwrap_or_default();
            Some(
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "namespace {ns:?} has no ResourceQuota with hard[\"{key}\"]{or_dra} for the {resource} this workload requests"
                    ),
                )
                .fix(format!(
                    "create a ResourceQuota in namespace {ns:?} with hard[\"{key}\"] set to the namespace's GPU budget, like {EXAMPLE}"
                )),
            )
        })
        .collect()
}
