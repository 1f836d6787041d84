//! The namespace rules every GPU object (a workload, a DRA claim) must meet
//! where it is created: a labelled GPU namespace, no DRA admin access there,
//! a default-deny NetworkPolicy and, when required, a GPU quota.

use std::collections::BTreeSet;

use gpu_policy_core::{DEVICE_CLASS_RESOURCE_PREFIX, LookupError, Outcome, Violation};

use super::{EXAMPLE, NAMESPACE_PATH, create_default_deny, gpu_namespace_type, lookup_violation};
use crate::cluster::{Cluster, NetworkPolicy};
use crate::settings::Compiled;

/// The namespace label that lets ResourceClaims in the namespace ask for
/// `adminAccess`: access to devices already allocated to other pods.
pub const ADMIN_ACCESS_LABEL: &str = "resource.kubernetes.io/admin-access";

/// The answer for a GPU object whose namespace neither the request nor the
/// object names: nothing can be looked up, so it fails closed.
pub(super) fn namespace_unset(what: &str) -> Outcome {
    Outcome::Reject(vec![
        Violation::new(
            NAMESPACE_PATH,
            format!(
                "is not set and the request names no namespace, so the GPU namespace of this {what} cannot be checked"
            ),
        )
        .fix(format!("create the {what} in a GPU namespace")),
    ])
}

/// A GPU object about to be created in a namespace.
pub(super) struct GpuObject<'a> {
    /// Its namespace (not empty).
    pub namespace: &'a str,
    /// What it is, for messages: `workload`, `claim`.
    pub what: &'a str,
    /// The workload type to suggest in fixes.
    pub suggested: &'a str,
    /// The GPU resources a quota must cap (`requireGpuQuota`; empty when
    /// it is off).
    pub quota_resources: &'a BTreeSet<String>,
}

impl GpuObject<'_> {
    /// Every namespace violation, in order: the namespace label, what
    /// `object_rules` finds given the namespace's workload type, the DRA
    /// admin-access label, the default-deny, the quota. `Err` when the
    /// Namespace cannot be read (fail closed).
    pub(super) fn check_namespace(
        &self,
        compiled: &Compiled,
        cluster: &Cluster,
        object_rules: impl FnOnce(Option<&str>) -> Option<Violation>,
    ) -> Result<Vec<Violation>, Violation> {
        let settings = &compiled.settings;
        let (ns, suggested) = (self.namespace, self.suggested);
        let label = &settings.namespace_label;
        let namespace = cluster.get_namespace(ns).map_err(|e| {
            let attempt = format!("cannot read Namespace {ns:?} to check its {label} label");
            let violation = lookup_violation(attempt, "v1/Namespace", &e);
            if e == LookupError::NotFound {
                violation.fix(format!(
                    "create namespace {ns:?} labelled {label}={suggested}"
                ))
            } else {
                violation
            }
        })?;

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
        violations.extend(object_rules(ns_type));
        if namespace
            .metadata
            .labels
            .get(ADMIN_ACCESS_LABEL)
            .is_some_and(|v| v == "true")
        {
            violations.push(
                Violation::new(
                    NAMESPACE_PATH,
                    format!(
                        "namespace {ns:?} is labelled {ADMIN_ACCESS_LABEL}=true, which lets any ResourceClaim there ask for admin access to GPUs other tenants are using; a GPU {} must not run there",
                        self.what
                    ),
                )
                .fix(format!(
                    "kubectl label namespace {ns} {ADMIN_ACCESS_LABEL}- (keep admin access to a monitoring namespace without GPU workloads)"
                )),
            );
        }
        if settings.require_default_deny_network_policy {
            violations.extend(default_deny_violation(cluster, ns));
        }
        if settings.require_gpu_quota {
            violations.extend(self.quota_violations(cluster));
        }
        Ok(violations)
    }

    fn quota_violations(&self, cluster: &Cluster) -> Vec<Violation> {
        let ns = self.namespace;
        let quotas = match cluster.list_resource_quotas(ns) {
            Ok(q) => q,
            Err(e) => {
                return vec![lookup_violation(
                    format!(
                        "cannot list the ResourceQuotas of namespace {ns:?} to find its GPU quota"
                    ),
                    "v1/ResourceQuota",
                    &e,
                )];
            }
        };
        self.quota_resources
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
                            "namespace {ns:?} has no ResourceQuota with hard[\"{key}\"]{or_dra} for the {resource} this {} requests",
                            self.what
                        ),
                    )
                    .fix(format!(
                        "create a ResourceQuota in namespace {ns:?} with hard[\"{key}\"] set to the namespace's GPU budget, like {EXAMPLE}"
                    )),
                )
            })
            .collect()
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
