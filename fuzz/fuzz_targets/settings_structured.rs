//! Every policy's `validate_settings` on settings objects built from its own
//! keys with plausible, wrong-typed and out-of-range values; settings that
//! validate must also evaluate a GPU pod without error.
#![no_main]
use gpu_policies_fuzz::{
    FakeCluster, POLICIES, SettingsM, payload, settings_keys, validate_checked, validate_settings,
};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|input: SettingsM| {
    let cluster = FakeCluster::standard();
    let request = policy_testkit::build::pod_request(json!({
        "containers": [{"name": "trainer", "resources": {"limits": {"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1"}}}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    }));
    for policy in POLICIES {
        let settings = input.value(settings_keys(policy));
        let bytes = serde_json::to_vec(&settings).unwrap_or_default();
        let answer = validate_settings(policy, &bytes);
        let response = validate_checked(policy, &payload(&request, &settings), &cluster);
        // validate must refuse exactly the settings validate_settings refuses.
        if answer["valid"] == json!(false) {
            assert_eq!(
                response["code"],
                json!(400),
                "{policy:?}: invalid settings accepted by validate"
            );
        }
    }
});
