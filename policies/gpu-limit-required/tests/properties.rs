//! Property tests (issue 11): no admission request makes the policy panic,
//! the answer is deterministic, and any settings get a clear answer.
//! 256 cases per property; `PROPTEST_CASES=N` for a longer run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use gpu_limit_required::settings::Settings;
use gpu_policy_core::entry;
use policy_testkit::{admission_request, config, fixtures, settings_value};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

fn answer(request: &Value, settings: &Value) -> Value {
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let bytes = entry::validate::<Settings, _>(&payload, gpu_limit_required::evaluate).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn settings_files() -> Vec<Value> {
    fixtures::settings_files(env!("CARGO_MANIFEST_DIR"), &["valid-settings", "settings"])
}

const KEYS: &[&str] = &[
    "gpuResources",
    "gpuNodeSelectorLabels",
    "gpuTaints",
    "maxGpusPerContainer",
    "maxGpusPerPod",
    "checkVisibleDevicesEnv",
    "unknownKey",
];

fn plausible(key: &str) -> Vec<Value> {
    match key {
        "gpuResources" => vec![
            json!(["nvidia.com/a100"]),
            json!(["*"]),
            json!([""]),
            json!(null),
        ],
        "gpuNodeSelectorLabels" => vec![
            json!(["example.com/gpu"]),
            json!(["*"]),
            json!(["a/b/c"]),
            json!([""]),
        ],
        "gpuTaints" => vec![
            json!([{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]),
            json!([{"key": "", "effect": "NoSchedule"}]),
            json!([{"key": "k", "effect": "Sometimes"}]),
            json!([]),
        ],
        "maxGpusPerContainer" | "maxGpusPerPod" => {
            vec![
                json!(0),
                json!(1),
                json!(8),
                json!(-1),
                json!(4294967296u64),
                json!(1.5),
            ]
        }
        "checkVisibleDevicesEnv" => vec![json!(true), json!(false), json!(null), json!("no")],
        _ => vec![],
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_request_gets_a_deterministic_answer(
        request in admission_request(),
        settings in select(settings_files()),
    ) {
        let first = answer(&request, &settings);
        prop_assert_eq!(&first, &answer(&request, &settings));
        if first["accepted"] == json!(false) {
            prop_assert!(!first["message"].as_str().unwrap_or_default().is_empty());
        }
        prop_assert!(first["mutated_object"].is_null());
    }

    #[test]
    fn any_settings_get_a_clear_answer(settings in settings_value(KEYS, plausible)) {
        let checked = entry::check_settings::<Settings>(&serde_json::to_vec(&settings).unwrap());
        prop_assert_eq!(checked.valid, checked.message.is_none());
        let request = policy_testkit::build::pod_request(json!({"containers": [
            {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}));
        let response = answer(&request, &settings);
        if !checked.valid {
            prop_assert_eq!(&response["code"], &json!(400));
        }
    }
}
