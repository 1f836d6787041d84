//! The rules of gpu-isolated-namespace.
//!
//! - A GPU workload (a container asks for a GPU resource) runs only in a GPU
//!   namespace: one labelled `namespaceLabel` with a value in `workloadTypes`.
//! - Its pod template carries `podLabel` with the namespace's value.
//! - The namespace holds a default-deny NetworkPolicy
//!   (`requireDefaultDenyNetworkPolicy`) and a GPU ResourceQuota
//!   (`requireGpuQuota`).
//! - NetworkPolicy UPDATE/DELETE may not leave a GPU namespace without its
//!   default-deny (`protectDefaultDeny`).
//!
//! Every lookup failure is a rejection naming what could not be read (fail
//! closed); non-GPU workloads are accepted without any lookup.

use std::collections::BTreeSet;

use gpu_policy_core::{AdmissionRequest, Outcome, Violation, Workload};

use crate::cluster::{ClusterReader, HostCluster, Namespace, NetworkPolicy};
use crate::default_deny::manifest;
use crate::settings::Settings;

/// The path of namespace-level violations: the object's namespace.
const NAMESPACE_PATH: &str = "metadata.namespace";

/// Decides one admission request, reading the cluster through the host.
pub fn evaluate(request: &AdmissionRequest, settings: &Settings) -> Outcome {
    evaluate_with(request, settings, &HostCluster)
}

/// Decides one admission request, reading the cluster through `cluster`.
pub fn evaluate_with<C: ClusterReader>(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &C,
) -> Outcome {
    if request.kind.group == "networking.k8s.io" && request.kind.kind == "NetworkPolicy" {
        return network_policy_change(request, settings, cluster);
    }
    match Workload::from_request(request) {
        Ok(None) => Outcome::Accept,
        Err(violation) => Outcome::Reject(vec![violation]),
        Ok(Some(workload)) => gpu_workload(request, &workload, settings, cluster),
    }
}

/// The namespace label's value when it is one of the workload types.
fn gpu_namespace_type<'n>(namespace: &'n Namespace, settings: &Settings) -> Option<&'n str> {
    namespace
        .metadata
        .labels
        .get(&settings.namespace_label)
        .map(String::as_str)
        .filter(|v| settings.is_workload_type(v))
}

fn gpu_workload<C: ClusterReader>(
    request: &AdmissionRequest,
    workload: &Workload,
    settings: &Settings,
    cluster: &C,
) -> Outcome {
    let catalogue = match settings.catalogue() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Reject(vec![Violation::new("settings.gpuResources", e)]);
        }
    };
    if !catalogue.workload_uses_gpu(workload) {
        return Outcome::Accept;
    }
    // The request's namespace is authoritative (a Pod created without
    // metadata.namespace gets it from the request).
    let ns = if request.namespace.is_empty() {
        workload.metadata.namespace.as_str()
    } else {
        request.namespace.as_str()
    };
    if ns.is_empty() {
        return Outcome::Reject(vec![
            Violation::new(
                NAMESPACE_PATH,
                "is not set and the request names no namespace, so the GPU namespace cannot be checked",
            )
            .fix("create the workload in a GPU namespace"),
        ]);
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
            return Outcome::Reject(vec![
                Violation::new(
                    NAMESPACE_PATH,
                    format!("cannot read Namespace {ns:?} to check its {label} label: {e}"),
                )
                .fix(format!(
                    "create it as a GPU namespace (kubectl create namespace {ns} && kubectl label namespace {ns} {label}={suggested}), or let the policy read v1/Namespace"
                )),
            ]);
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
        violations.push(Violation::new(NAMESPACE_PATH, reason).fix(format!(
            "kubectl label namespace {ns} {label}={suggested} --overwrite, or run the workload in a GPU namespace"
        )));
    }
    if let Some(v) = pod_label_violation(workload, settings, ns, ns_type, pod_value) {
        violations.push(v);
    }
    if settings.require_default_deny_network_policy {
        violations.extend(default_deny_violation(cluster, ns));
    }
    if settings.require_gpu_quota {
        let resources: BTreeSet<&str> = workload
            .containers()
            .flat_map(|c| catalogue.container_gpus(c.container))
            .map(|g| g.name)
            .collect();
        violations.extend(quota_violations(cluster, ns, &resources));
    }
    Outcome::from_violations(violations)
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

fn default_deny_violation<C: ClusterReader>(cluster: &C, ns: &str) -> Option<Violation> {
    let policies = match cluster.list_network_policies(ns) {
        Ok(p) => p,
        Err(e) => {
            return Some(
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "cannot list the NetworkPolicies of namespace {ns:?} to find its default-deny: {e}"
                    ),
                )
                .fix("let the policy read networking.k8s.io/v1/NetworkPolicy (contextAwareResources)"),
            );
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
    Some(Violation::new(NAMESPACE_PATH, reason).fix(format!(
        "kubectl apply -f- <<< '{}'",
        manifest(ns, "default-deny-all")
    )))
}

fn quota_violations<C: ClusterReader>(
    cluster: &C,
    ns: &str,
    resources: &BTreeSet<&str>,
) -> Vec<Violation> {
    let quotas = match cluster.list_resource_quotas(ns) {
        Ok(q) => q,
        Err(e) => {
            return vec![
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "cannot list the ResourceQuotas of namespace {ns:?} to find its GPU quota: {e}"
                    ),
                )
                .fix("let the policy read v1/ResourceQuota (contextAwareResources)"),
            ];
        }
    };
    resources
        .iter()
        .filter_map(|resource| {
            let key = format!("requests.{resource}");
            if quotas.iter().any(|q| q.spec.hard.contains_key(&key)) {
                return None;
            }
            Some(
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "namespace {ns:?} has no ResourceQuota with hard[\"{key}\"] for the {resource} this workload requests"
                    ),
                )
                .fix(format!(
                    "kubectl apply -f- <<< '{{apiVersion: v1, kind: ResourceQuota, metadata: {{name: gpu-quota, namespace: {ns}}}, spec: {{hard: {{{key}: \"4\"}}}}}}' (with your GPU budget)"
                )),
            )
        })
        .collect()
}

/// NetworkPolicy UPDATE/DELETE: keep a GPU namespace's default-deny.
fn network_policy_change<C: ClusterReader>(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &C,
) -> Outcome {
    let deleting = match request.operation.as_str() {
        "DELETE" => true,
        "UPDATE" => false,
        _ => return Outcome::Accept,
    };
    if !settings.protect_default_deny {
        return Outcome::Accept;
    }
    let old = match request.old_object_json().map(parse_network_policy) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            return Outcome::Reject(vec![
                Violation::new(
                    "oldObject",
                    format!("cannot be read as a NetworkPolicy: {e}"),
                )
                .fix("send a valid NetworkPolicy"),
            ]);
        }
    };
    let new = if deleting {
        None
    } else {
        match request.object_json().map(parse_network_policy) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                return Outcome::Reject(vec![
                    Violation::new("object", format!("cannot be read as a NetworkPolicy: {e}"))
                        .fix("send a valid NetworkPolicy"),
                ]);
            }
        }
    };
    // Cheap exits, before any lookup: the old policy was no default-deny, or
    // the new one still is.
    if old.as_ref().is_some_and(|p| !p.is_default_deny())
        || new.as_ref().is_some_and(NetworkPolicy::is_default_deny)
    {
        return Outcome::Accept;
    }
    let name = if request.name.is_empty() {
        old.as_ref().map_or("", |p| p.metadata.name.as_str())
    } else {
        request.name.as_str()
    };
    let ns = if request.namespace.is_empty() {
        old.as_ref().map_or("", |p| p.metadata.namespace.as_str())
    } else {
        request.namespace.as_str()
    };
    let label = &settings.namespace_label;
    let namespace = match cluster.get_namespace(ns) {
        Ok(n) => n,
        Err(e) => {
            return Outcome::Reject(vec![
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "cannot read Namespace {ns:?} to tell whether NetworkPolicy {name:?} guards a GPU namespace: {e}"
                    ),
                )
                .fix("let the policy read v1/Namespace, then retry"),
            ]);
        }
    };
    let Some(ns_type) = gpu_namespace_type(&namespace, settings) else {
        return Outcome::Accept;
    };
    let policies = match cluster.list_network_policies(ns) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::Reject(vec![
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "cannot list the NetworkPolicies of GPU namespace {ns:?} to check that a default-deny remains: {e}"
                    ),
                )
                .fix("let the policy read networking.k8s.io/v1/NetworkPolicy, then retry"),
            ]);
        }
    };
    // Without oldObject, the stored policy of that name tells what it was.
    let was_default_deny = match &old {
        Some(_) => true,
        None => policies
            .iter()
            .any(|p| p.metadata.name == name && p.is_default_deny()),
    };
    let another_remains = policies
        .iter()
        .any(|p| p.metadata.name != name && p.is_default_deny());
    if !was_default_deny || another_remains {
        return Outcome::Accept;
    }
    let other_name = if name == "default-deny-all" {
        "default-deny"
    } else {
        "default-deny-all"
    };
    let guard = format!("the only default-deny of GPU namespace {ns:?} ({label}={ns_type})");
    let violation = if deleting {
        Violation::new(
            "metadata.name",
            format!(
                "NetworkPolicy {name:?} is {guard}; deleting it would leave the GPU workloads there open to all traffic"
            ),
        )
        .fix(format!(
            "apply another default-deny first: kubectl apply -f- <<< '{}'",
            manifest(ns, other_name)
        ))
    } else {
        let gaps = new
            .as_ref()
            .map(|p| p.default_deny_gaps().join(", "))
            .unwrap_or_else(|| "the new object is missing".to_owned());
        Violation::new(
            "spec",
            format!(
                "NetworkPolicy {name:?} is {guard}, and after this change it is not one ({gaps})"
            ),
        )
        .fix(format!(
            "keep podSelector: {{}} and policyTypes: [Ingress, Egress] with no allow-all rule, or apply another default-deny first: kubectl apply -f- <<< '{}'",
            manifest(ns, other_name)
        ))
    };
    Outcome::Reject(vec![violation])
}

fn parse_network_policy(json: &str) -> Result<NetworkPolicy, String> {
    if !json.trim_start().starts_with('{') {
        return Err("not a JSON object".to_owned());
    }
    serde_json::from_str(json).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
