//! gpu-toleration-required: `validate` on AdmissionRequests built from fuzz
//! bytes, in validate and mutate mode, with mutate mode's invariants:
//! - a mutated object passes validate mode and mutating it again changes
//!   nothing (idempotent);
//! - without a mutation, both modes give the same decision (mutation only
//!   adds missing tolerations; it never fixes the non-GPU rule).
#![no_main]
use gpu_policies_fuzz::{
    FakeCluster, Policy, RequestM, SettingsM, payload, settings_keys, validate_checked,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|input: (RequestM, Option<SettingsM>)| {
    let (request, settings) = input;
    let cluster = FakeCluster::default();
    let policy = Policy::TolerationRequired;
    let request: Value = request.request();
    let settings = settings.map_or(json!({}), |s| s.value(settings_keys(policy)));
    validate_checked(policy, &payload(&request, &settings), &cluster);

    // The mode invariants, on settings that only differ in mode.
    let mut mutate = match &settings {
        Value::Object(m) => m.clone(),
        _ => return,
    };
    mutate.insert("mode".into(), json!("mutate"));
    let mut validate = mutate.clone();
    validate.insert("mode".into(), json!("validate"));
    let (mutate, validate) = (Value::Object(mutate), Value::Object(validate));
    let by_mutate = validate_checked(policy, &payload(&request, &mutate), &cluster);
    let by_validate = validate_checked(policy, &payload(&request, &validate), &cluster);
    match by_mutate.get("mutated_object").filter(|m| !m.is_null()) {
        None => assert_eq!(
            by_mutate["accepted"], by_validate["accepted"],
            "no mutation, yet the modes disagree: {by_mutate} / {by_validate}"
        ),
        Some(mutated) => {
            assert_eq!(by_mutate["accepted"], json!(true));
            let mut again = request.clone();
            again["object"] = mutated.clone();
            let revalidated = validate_checked(policy, &payload(&again, &validate), &cluster);
            assert_eq!(
                revalidated["accepted"],
                json!(true),
                "the mutated object fails validation: {revalidated}"
            );
            let remutated = validate_checked(policy, &payload(&again, &mutate), &cluster);
            assert!(
                remutated.get("mutated_object").is_none_or(Value::is_null),
                "mutating twice changed the object again: {remutated}"
            );
            assert_eq!(remutated["accepted"], json!(true));
        }
    }
});
