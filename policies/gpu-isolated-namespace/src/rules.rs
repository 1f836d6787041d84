//! The rules of gpu-isolated-namespace, split by what is admitted:
//! workloads (`workload.rs`), DRA claims (`claim.rs`) and NetworkPolicy
//! changes (`network_policy.rs`); the namespace rules the first two share
//! are in `namespace.rs`.
//!
//! - A GPU workload (a container asks for a GPU resource) runs only in a GPU
//!   namespace: one labelled `namespaceLabel` with a value in `workloadTypes`.
//! - Its pod template carries `podLabel` with the namespace's value.
//! - The namespace holds a default-deny NetworkPolicy
//!   (`requireDefaultDenyNetworkPolicy`) and a GPU ResourceQuota
//!   (`requireGpuQuota`).
//! - NetworkPolicy UPDATE/DELETE may not leave a GPU namespace without its
//!   default-deny (`protectDefaultDeny`).
//! - A ResourceClaim or ResourceClaimTemplate for a GPU device class is
//!   created only in a GPU namespace (`claim.rs`), under the same namespace
//!   rules (`namespace.rs`), and no GPU object runs in a namespace labelled
//!   `resource.kubernetes.io/admin-access: "true"`.
//!
//! Every lookup failure is a rejection naming what could not be read and why
//! (fail closed); non-GPU workloads are accepted without any lookup.

mod claim;
mod namespace;
mod network_policy;
mod workload;

use gpu_policy_core::{
    AdmissionRequest, Admitted, LookupError, Outcome, Violation, judges_workload_operation,
};

use crate::cluster::{Cluster, Namespace};
use crate::settings::{Compiled, Settings};

/// The path of namespace-level violations: the object's namespace.
const NAMESPACE_PATH: &str = "metadata.namespace";

/// The manifest in this repository that shows a GPU namespace with its
/// default-deny NetworkPolicy and GPU quota.
const EXAMPLE: &str = "examples/workloads/ml-training-namespace.yaml";

/// Whether the request is one the policy judges: workloads on CREATE and
/// UPDATE, NetworkPolicies also on DELETE.
pub fn judges(request: &AdmissionRequest) -> bool {
    judges_workload_operation(request)
        || (is_network_policy(request) && request.operation == "DELETE")
}

fn is_network_policy(request: &AdmissionRequest) -> bool {
    request.kind.group == "networking.k8s.io" && request.kind.kind == "NetworkPolicy"
}

/// Decides one judged admission request, reading the cluster through
/// `cluster`.
pub fn evaluate(request: &AdmissionRequest, compiled: &Compiled, cluster: &Cluster) -> Outcome {
    if is_network_policy(request) {
        return network_policy::change(request, &compiled.settings, cluster);
    }
    match Admitted::from_request(request) {
        Ok(None | Some(Admitted::DeviceClass(_))) => Outcome::Accept,
        Err(violation) => Outcome::Reject(vec![violation]),
        Ok(Some(Admitted::Workload(workload))) => {
            workload::check(request, &workload, compiled, cluster)
        }
        Ok(Some(Admitted::Claim(claim))) => claim::check(request, &claim, compiled, cluster),
    }
}

/// The namespace label's value when it is one of the workload types.
pub(crate) fn gpu_namespace_type<'n>(
    namespace: &'n Namespace,
    settings: &Settings,
) -> Option<&'n str> {
    namespace
        .metadata
        .labels
        .get(&settings.namespace_label)
        .map(String::as_str)
        .filter(|v| settings.is_workload_type(v))
}

/// The violation of a failed lookup: what was being read and what for
/// (`attempt`), why it failed, and how to get past it.
fn lookup_violation(attempt: String, resource: &str, error: &LookupError) -> Violation {
    Violation::new(NAMESPACE_PATH, format!("{attempt}: {error}")).fix(lookup_fix(resource, error))
}

/// How to get past a failed lookup, by why it failed.
fn lookup_fix(resource: &str, error: &LookupError) -> String {
    match error {
        LookupError::Forbidden => format!(
            "grant the policy {resource} in its contextAwareResources (and the policy server RBAC to read it)"
        ),
        LookupError::NotFound => format!("make sure the {resource} exists, then retry"),
        LookupError::Unreachable | LookupError::Unreadable => {
            "retry when the Kubernetes API answers".to_owned()
        }
    }
}

/// The fix that asks for a default-deny NetworkPolicy.
fn create_default_deny(ns: &str, name: &str) -> String {
    format!(
        "create NetworkPolicy {name:?} in namespace {ns:?} with podSelector: {{}} and policyTypes: [Ingress, Egress], like the default-deny-all of {EXAMPLE}"
    )
}

#[cfg(test)]
mod tests;
