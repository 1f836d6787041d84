//! Property tests, the suite every policy runs
//! (`policy_testkit::policy_properties!`): no admission request makes the
//! policy panic, the answer is deterministic, and any settings get a clear
//! answer. 256 cases per property; `PROPTEST_CASES=N` for a longer run.

use gpu_limit_required::POLICY;
use policy_testkit::Properties;
use serde_json::{Value, json};

const PROPERTIES: Properties = Properties::new(POLICY, env!("CARGO_MANIFEST_DIR"), plausible);

policy_testkit::policy_properties!(PROPERTIES);

fn plausible(key: &str) -> Value {
    match key {
        "gpuResources" => json!([["nvidia.com/a100"], ["*"], [""], null]),
        "gpuNodeSelectorLabels" => json!([["example.com/gpu"], ["*"], ["a/b/c"], [""]]),
        "gpuTaints" => json!([
            [{"key": "sku", "value": "gpu", "effect": "NoSchedule"}],
            [{"key": "", "effect": "NoSchedule"}],
            [{"key": "k", "effect": "Sometimes"}],
            [],
        ]),
        "maxGpusPerContainer" | "maxGpusPerPod" => json!([0, 1, 8, -1, 4294967296u64, 1.5]),
        "checkVisibleDevicesEnv" => json!([true, false, null, "no"]),
        _ => Value::Null,
    }
}
