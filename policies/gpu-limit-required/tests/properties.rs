//! Property tests, the suite every policy runs
//! (`policy_testkit::policy_properties!`): no admission request makes the
//! policy panic, the answer is deterministic, and any settings get a clear
//! answer. 256 cases per property; `PROPTEST_CASES=N` for a longer run.

use gpu_limit_required::POLICY;
use policy_testkit::Properties;
use serde_json::{Value, json};

const PROPERTIES: Properties = Properties::new(POLICY, env!("CARGO_MANIFEST_DIR"), plausible);

policy_testkit::policy_properties!(PROPERTIES);

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
