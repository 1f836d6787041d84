//! NetworkPolicy UPDATE and DELETE: a GPU namespace keeps its default-deny.

use gpu_policy_core::{AdmissionRequest, Outcome, Violation};

use super::{create_default_deny, gpu_namespace_type, lookup_violation};
use crate::cluster::{Cluster, NetworkPolicy};
use crate::settings::Settings;

/// NetworkPolicy UPDATE/DELETE: keep a GPU namespace's default-deny.
pub(super) fn change(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &Cluster,
) -> Outcome {
    match guard_default_deny(request, settings, cluster) {
        Ok(()) => Outcome::Accept,
        Err(violation) => Outcome::Reject(vec![violation]),
    }
}

/// The one violation of a change that would open a GPU namespace, or of a
/// lookup it needed that failed.
fn guard_default_deny(
    request: &AdmissionRequest,
    settings: &Settings,
    cluster: &Cluster,
) -> Result<(), Violation> {
    let deleting = match request.operation.as_str() {
        "DELETE" => true,
        "UPDATE" => false,
        _ => return Ok(()),
    };
    if !settings.protect_default_deny {
        return Ok(());
    }
    let old = read_policy("oldObject", request.old_object_json())?;
    let new = read_policy("object", request.object_json().filter(|_| !deleting))?;
    // Cheap exits, before any lookup: the old policy was no default-deny, or
    // the new one still is.
    if old.as_ref().is_some_and(|p| !p.is_default_deny())
        || new.as_ref().is_some_and(NetworkPolicy::is_default_deny)
    {
        return Ok(());
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
    let namespace = cluster.get_namespace(ns).map_err(|e| {
        lookup_violation(
            format!(
                "cannot read Namespace {ns:?} to tell whether NetworkPolicy {name:?} guards a GPU namespace"
            ),
            "v1/Namespace",
            &e,
        )
    })?;
    // The namespace controller deletes the NetworkPolicies of a namespace
    // being deleted; refusing that would keep the namespace Terminating.
    if namespace.is_terminating() {
        return Ok(());
    }
    let Some(ns_type) = gpu_namespace_type(&namespace, settings) else {
        return Ok(());
    };
    let policies = cluster.list_network_policies(ns).map_err(|e| {
        lookup_violation(
            format!(
                "cannot list the NetworkPolicies of GPU namespace {ns:?} to check that a default-deny remains"
            ),
            "networking.k8s.io/v1/NetworkPolicy",
            &e,
        )
    })?;
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
        return Ok(());
    }
    let other_name = if name == "default-deny-all" {
        "default-deny"
    } else {
        "default-deny-all"
    };
    let guard = format!("the only default-deny of GPU namespace {ns:?} ({label}={ns_type})");
    Err(if deleting {
        Violation::new(
            "metadata.name",
            format!(
                "NetworkPolicy {name:?} is {guard}; deleting it would leave the GPU workloads there open to all traffic"
            ),
        )
        .fix(format!("first {}", create_default_deny(ns, other_name)))
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
        .fix("keep podSelector: {} and policyTypes: [Ingress, Egress] with no allow-all rule")
    })
}

/// The NetworkPolicy at `field` of the request, when there is one.
fn read_policy(field: &str, json: Option<&str>) -> Result<Option<NetworkPolicy>, Violation> {
    let Some(json) = json else {
        return Ok(None);
    };
    let parsed = if json.trim_start().starts_with('{') {
        serde_json::from_str(json).map_err(|e| e.to_string())
    } else {
        Err("not a JSON object".to_owned())
    };
    parsed.map(Some).map_err(|e| {
        Violation::new(field, format!("cannot be read as a NetworkPolicy: {e}"))
            .fix("send a valid NetworkPolicy")
    })
}
