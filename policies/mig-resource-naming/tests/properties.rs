//! Property tests, the suite every policy runs
//! (`policy_testkit::policy_properties!`): no admission request makes the
//! policy panic, the answer is deterministic, and any settings get a clear
//! answer (probed with a MIG pod). 256 cases per property;
//! `PROPTEST_CASES=N` for a longer run.

use mig_resource_naming::POLICY;
use policy_testkit::Properties;
use serde_json::{Value, json};

const PROPERTIES: Properties =
    Properties::new(POLICY, env!("CARGO_MANIFEST_DIR"), plausible).probe(mig_pod);

policy_testkit::policy_properties!(PROPERTIES);

fn mig_pod() -> Value {
    policy_testkit::build::pod_request(json!({"containers": [
        {"name": "c", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}}]}))
}

fn plausible(key: &str) -> Value {
    match key {
        "strategy" => json!(["mixed", "single", "any", "Mixed"]),
        "gpuModels" => json!([["A100-40GB"], ["H100-80GB", "A30-24GB"], ["B300"], []]),
        "extraProfiles" => json!([["1g.10gb"], ["9g.1tb+me"], ["1g"], [""]]),
        "maxMigDevicesPerContainer" => json!([0, 1, 7, -1, 4294967296u64, 1.5]),
        "allowShared" => json!([true, false, "yes"]),
        _ => Value::Null,
    }
}
