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

fn plausible(key: &str) -> Value {
    match key {
        "taints" => json!([
            [],
            [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}],
            [{"resourcePattern": "cpu", "key": "k", "effect": "NoSchedule"}],
            [{"resourcePattern": "nvidia.com/gpu", "key": "", "effect": "Sometimes"}],
            [{"resourcePattern": "nvidia.com/gpu"}],
            [{"resourcePattern": "nvidia.com/gpu", "key": "k", "effect": "NoSchedule", "extra": 1}],
        ]),
        "rejectNonGpuTolerations" => json!([true, false, null, "false"]),
        "mode" => json!(["validate", "mutate", "Mutate", "", 1]),
        "gpuResources" => json!([["nvidia.com/a100"], ["*"], [""], ["a/b/c"], null]),
        _ => Value::Null,
    }
}
