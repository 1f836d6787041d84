//! Property tests (issue 11): no admission request, whatever the cluster
//! holds, makes the policy panic; the answer is deterministic; any settings
//! get a clear answer. The cluster is a generated in-memory reader (host
//! calls exist only in wasm). 256 cases per property; `PROPTEST_CASES=N` for
//! a longer run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use gpu_isolated_namespace::cluster::{
    ClusterReader, LookupError, Namespace, NetworkPolicy, ResourceQuota,
};
use gpu_isolated_namespace::settings::Settings;
use gpu_policy_core::entry;
use policy_testkit::{admission_request, cluster_object, config, fixtures, settings_value};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// A cluster of JSON objects; an unreadable one is a lookup error, as an
/// unreadable host answer is.
#[derive(Debug, Clone)]
struct Cluster {
    namespace_labels: Option<BTreeMap<String, String>>,
    network_policies: Option<Vec<Value>>,
    quotas: Option<Vec<Value>>,
}

fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, LookupError> {
    serde_json::from_value(v.clone()).map_err(|e| LookupError(e.to_string()))
}

fn read_all<T: serde::de::DeserializeOwned>(
    list: &Option<Vec<Value>>,
) -> Result<Vec<T>, LookupError> {
    match list {
        None => Err(LookupError("forbidden".into())),
        Some(items) => items.iter().map(read).collect(),
    }
}

impl ClusterReader for Cluster {
    fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError> {
        match &self.namespace_labels {
            None => Err(LookupError(format!("namespaces \"{name}\" not found"))),
            Some(labels) => read(&json!({"metadata": {"name": name, "labels": labels}})),
        }
    }
    fn list_network_policies(&self, _: &str) -> Result<Vec<NetworkPolicy>, LookupError> {
        read_all(&self.network_policies)
    }
    fn list_resource_quotas(&self, _: &str) -> Result<Vec<ResourceQuota>, LookupError> {
        read_all(&self.quotas)
    }
}

fn cluster() -> impl Strategy<Value = Cluster> {
    let label_value = prop_oneof![
        4 => select(&["training", "inference", "batch", "experiments"][..]).prop_map(str::to_owned),
        1 => ".{0,6}",
    ];
    let label_key = prop_oneof![3 => Just("gpu-workload-type".to_owned()), 1 => ".{0,6}"];
    let quota = prop_oneof![
        3 => Just(json!({"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}})),
        1 => cluster_object(),
    ];
    (
        option::weighted(0.9, btree_map(label_key, label_value, 0..3)),
        option::weighted(0.9, vec(cluster_object(), 0..3)),
        option::weighted(0.9, vec(quota, 0..2)),
    )
        .prop_map(|(namespace_labels, network_policies, quotas)| Cluster {
            namespace_labels,
            network_policies,
            quotas,
        })
}

fn answer(request: &Value, settings: &Value, cluster: &Cluster) -> Value {
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let bytes = entry::validate::<Settings, _>(&payload, |r, s| {
        gpu_isolated_namespace::evaluate_with(r, s, cluster)
    })
    .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn settings_files() -> Vec<Value> {
    fixtures::settings_files(env!("CARGO_MANIFEST_DIR"), &["valid-settings", "settings"])
}

const KEYS: &[&str] = &[
    "namespaceLabel",
    "podLabel",
    "workloadTypes",
    "requireDefaultDenyNetworkPolicy",
    "requireGpuQuota",
    "protectDefaultDeny",
    "gpuResources",
    "unknownKey",
];

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

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_request_gets_a_deterministic_answer(
        request in admission_request(),
        settings in select(settings_files()),
        cluster in cluster(),
    ) {
        let first = answer(&request, &settings, &cluster);
        prop_assert_eq!(&first, &answer(&request, &settings, &cluster));
        if first["accepted"] == json!(false) {
            prop_assert!(!first["message"].as_str().unwrap_or_default().is_empty());
        }
        prop_assert!(first["mutated_object"].is_null());
    }

    #[test]
    fn any_settings_get_a_clear_answer(
        settings in settings_value(KEYS, plausible),
        cluster in cluster(),
    ) {
        let checked = entry::check_settings::<Settings>(&serde_json::to_vec(&settings).unwrap());
        prop_assert_eq!(checked.valid, checked.message.is_none());
        let request = policy_testkit::build::pod_request(json!({"containers": [
            {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}));
        let response = answer(&request, &settings, &cluster);
        if !checked.valid {
            prop_assert_eq!(&response["code"], &json!(400));
        }
    }
}
