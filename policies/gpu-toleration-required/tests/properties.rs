//! Property tests, the suite every policy runs
//! (`policy_testkit::policy_properties!`): no admission request makes the
//! policy panic, the answer is deterministic, any settings get a clear
//! answer, and mutate mode's output passes validate mode and is a fixed
//! point. 256 cases per property; `PROPTEST_CASES=N` for a longer run.

use gpu_toleration_required::POLICY;
use policy_testkit::Properties;
use serde_json::{Value, json};

const PROPERTIES: Properties = Properties::new(POLICY, env!("CARGO_MANIFEST_DIR"), plausible)
    .modes("mode", "mutate", "validate");

policy_testkit::policy_properties!(PROPERTIES, mutating);

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
