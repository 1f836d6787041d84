//! Property tests (issue 11): no admission request makes the policy panic,
//! the answer is deterministic, any settings get a clear answer, and mutate
//! mode's output passes validate mode and is a fixed point. 256 cases per
//! property; `PROPTEST_CASES=N` for a longer run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use gpu_policy_core::entry;
use gpu_toleration_required::settings::Settings;
use policy_testkit::{admission_request, config, fixtures, settings_value};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

fn answer(request: &Value, settings: &Value) -> Value {
    let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
    let bytes =
        entry::validate::<Settings, _>(&payload, gpu_toleration_required::evaluate).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn settings_files() -> Vec<Value> {
    fixtures::settings_files(env!("CARGO_MANIFEST_DIR"), &["valid-settings", "settings"])
}

fn with_mode(settings: &Value, mode: &str) -> Value {
    let mut settings = settings.clone();
    settings["mode"] = json!(mode);
    settings
}

const KEYS: &[&str] = &[
    "taints",
    "rejectNonGpuTolerations",
    "mode",
    "gpuResources",
    "unknownKey",
];

fn plausible(key: &str) -> Vec<Value> {
    match key {
        "taints" => vec![
            json!([]),
            json!([{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}]),
            json!([{"resourcePattern": "cpu", "key": "k", "effect": "NoSchedule"}]),
            json!([{"resourcePattern": "nvidia.com/gpu", "key": "", "effect": "Sometimes"}]),
            json!([{"resourcePattern": "nvidia.com/gpu"}]),
            json!([{"resourcePattern": "nvidia.com/gpu", "key": "k", "effect": "NoSchedule", "extra": 1}]),
        ],
        "rejectNonGpuTolerations" => vec![json!(true), json!(false), json!(null), json!("false")],
        "mode" => vec![
            json!("validate"),
            json!("mutate"),
            json!("Mutate"),
            json!(""),
            json!(1),
        ],
        "gpuResources" => vec![
            json!(["nvidia.com/a100"]),
            json!(["*"]),
            json!([""]),
            json!(["a/b/c"]),
            json!(null),
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
    ) {
        let first = answer(&request, &settings);
        prop_assert_eq!(&first, &answer(&request, &settings));
        if first["accepted"] == json!(false) {
            prop_assert!(!first["message"].as_str().unwrap_or_default().is_empty());
        }
    }

    /// Mutate mode adds exactly what validate mode asks for: the mutated
    /// object passes validate mode and mutating it again changes nothing.
    /// Without a mutation both modes decide the same (mutation never fixes
    /// the non-GPU rule, and a GPU pod that already tolerates its taints
    /// needs nothing).
    #[test]
    fn mutation_satisfies_validation_and_is_idempotent(
        request in admission_request(),
        settings in select(settings_files()),
    ) {
        let mutate = with_mode(&settings, "mutate");
        let validate = with_mode(&settings, "validate");
        let by_mutate = answer(&request, &mutate);
        let by_validate = answer(&request, &validate);
        if by_mutate["mutated_object"].is_null() {
            prop_assert_eq!(&by_mutate["accepted"], &by_validate["accepted"]);
        } else {
            prop_assert_eq!(&by_mutate["accepted"], &json!(true));
            prop_assert_eq!(&by_validate["accepted"], &json!(false));
            let mut again = request.clone();
            again["object"] = by_mutate["mutated_object"].clone();
            let revalidated = answer(&again, &validate);
            prop_assert_eq!(&revalidated["accepted"], &json!(true), "{}", revalidated);
            let remutated = answer(&again, &mutate);
            prop_assert!(remutated["mutated_object"].is_null(), "{}", remutated);
            prop_assert_eq!(&remutated["accepted"], &json!(true));
        }
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
