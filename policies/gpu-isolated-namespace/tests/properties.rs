//! Property tests, the suite every policy runs
//! (`policy_testkit::policy_properties!`): no admission request, whatever the
//! cluster holds, makes the policy panic; the answer is deterministic; any
//! settings get a clear answer. The cluster is a generated in-memory one
//! holding the types metadata.yml lists (namespaces, NetworkPolicies,
//! ResourceQuotas: plausible ones, arbitrary JSON, or lookup errors). 256
//! cases per property; `PROPTEST_CASES=N` for a longer run.

use gpu_isolated_namespace::POLICY;
use policy_testkit::Properties;
use serde_json::{Value, json};

const PROPERTIES: Properties =
    Properties::new(POLICY, env!("CARGO_MANIFEST_DIR"), plausible).objects(plausible_object);

policy_testkit::policy_properties!(PROPERTIES);

/// Objects the policy reads, most of them shaped like the ones it looks for.
fn plausible_object(kind: &str) -> Value {
    let labelled = |kind| json!({"metadata": {"labels": {"gpu-workload-type": kind}}});
    match kind {
        "Namespace" => ["training", "inference", "batch", "experiments", ""]
            .into_iter()
            .map(labelled)
            .chain([json!({"metadata": {"labels": {"gpu-workload-type": "training"}}, "status": {"phase": "Terminating"}})])
            .collect(),
        "NetworkPolicy" => json!([
            {"metadata": {"name": "default-deny-all"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
            {"metadata": {"name": "deny-ingress"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        ]),
        "ResourceQuota" => {
            json!([{"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}}])
        }
        _ => Value::Null,
    }
}

fn plausible(key: &str) -> Value {
    match key {
        "namespaceLabel" | "podLabel" => {
            json!([
                "gpu-workload-type",
                "example.com/gpu",
                "",
                "-bad",
                "a/b/c",
                "x".repeat(64)
            ])
        }
        "workloadTypes" => json!([["training"], [], ["a", "a"], ["no spaces"], "training"]),
        "requireDefaultDenyNetworkPolicy" | "requireGpuQuota" | "protectDefaultDeny" => {
            json!([true, false, null, 0])
        }
        "gpuResources" => json!([["nvidia.com/a100"], ["*"], [""], [1]]),
        _ => Value::Null,
    }
}
