//! The DRA claim rules: a ResourceClaim or ResourceClaimTemplate for a GPU
//! device class is created only in a GPU namespace, under the same
//! namespace rules as a GPU workload. Claims for other classes are accepted
//! without any lookup.

use std::collections::BTreeSet;

use gpu_policy_core::dra::AdmittedClaim;
use gpu_policy_core::{AdmissionRequest, DEVICE_CLASS_RESOURCE_PREFIX, Outcome};

use super::namespace::{GpuObject, namespace_unset};
use crate::cluster::Cluster;
use crate::settings::Compiled;

pub(super) fn check(
    request: &AdmissionRequest,
    claim: &AdmittedClaim,
    compiled: &Compiled,
    cluster: &Cluster,
) -> Outcome {
    let (settings, catalogue) = (&compiled.settings, &compiled.catalogue);
    let Some(demand) = claim.gpu_demand(catalogue) else {
        return Outcome::Accept;
    };
    let ns = claim.namespace(request);
    if ns.is_empty() {
        return namespace_unset("claim");
    }
    let resources: BTreeSet<String> = if settings.require_gpu_quota {
        demand
            .classes
            .iter()
            .map(|class| format!("{DEVICE_CLASS_RESOURCE_PREFIX}{class}"))
            .collect()
    } else {
        BTreeSet::new()
    };
    let gpu_object = GpuObject {
        namespace: ns,
        what: "claim",
        suggested: settings
            .workload_types
            .first()
            .map_or("training", String::as_str),
        quota_resources: &resources,
    };
    match gpu_object.check_namespace(compiled, cluster, |_| None) {
        Ok(violations) => Outcome::from_violations(violations),
        Err(violation) => Outcome::Reject(vec![violation]),
    }
}
