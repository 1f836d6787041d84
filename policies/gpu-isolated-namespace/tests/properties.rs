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
fn plausible_object(kind: &str) -> Vec<Value> {
    let deny_all = json!({"metadata": {"name": "default-deny-all"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}});
    match kind {
        "Namespace" => ["training", "inference", "batch", "experiments", ""]
            .iter()
            .map(|kind| json!({"metadata": {"labels": {"gpu-workload-type": kind}}}))
            .chain([json!({"metadata": {"labels": {"gpu-workload-type": "training"}}, "status": {"phase": "Terminating"}})])
            .collect(),
        "NetworkPolicy" => vec![
            deny_all,
            json!({"metadata": {"name": "deny-ingress"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ],
        "ResourceQuota" => vec![
            json!({"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}}),
        ],
        _ => vec![],
    }
}

fn plausible(key: &str) -> Vec<Value> {
    match key {
        "namespaceLabel" | "podLabel" => vec![
            json!("gpu-workload-type"),
            json!("example.com/gpu"),
            json!(""),
            json!("-bad"),
            json!("a/b/c"),
            json!("x".repeat(64)),
        ],
        "workloadTypes" => vec![
            json!(["training"]),
            json!([]),
            json!(["a", "a"]),
            json!(["no spaces"]),
            json!("training"),
        ],
        "requireDefaultDenyNetworkPolicy" | "requireGpuQuota" | "protectDefaultDeny" => {
            vec![json!(true), json!(false), json!(null), json!(0)]
        }
        "gpuResources" => vec![
            json!(["nvidia.com/a100"]),
            json!(["*"]),
            json!([""]),
            json!([1]),
        ],
        _ => vec![],
    }
}
