//! The packaging files agree with the code: the example's settings are valid,
//! its rules are metadata.yml's, and the versions match Cargo.toml.

use std::path::Path;

use gpu_limit_required::settings::Settings;
use gpu_policy_core::entry::check_settings;
use serde_yaml::Value;

#[test]
fn example_policy_matches_metadata() {
    let load = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let metadata = load("metadata.yml");
    let example = load("examples/cluster-admission-policy.yaml");
    assert_eq!(example["apiVersion"], "policies.kubewarden.io/v1");
    assert_eq!(example["kind"], "ClusterAdmissionPolicy");
    assert_eq!(example["metadata"]["name"], "gpu-limit-required");
    let spec = &example["spec"];
    assert_eq!(spec["rules"], metadata["rules"]);
    assert_eq!(spec["mutating"], metadata["mutating"]);
    assert_eq!(spec["backgroundAudit"], Value::Bool(true));
    assert_eq!(metadata["backgroundAudit"], Value::Bool(true));
    assert_eq!(spec["mode"], "protect");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        spec["module"].as_str().unwrap(),
        format!("registry://ghcr.io/gpu-policies/gpu-limit-required:v{version}")
    );
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"].as_str(),
        Some(version)
    );
    let settings = serde_json::to_vec(&spec["settings"]).unwrap();
    let r = check_settings::<Settings>(&settings);
    assert!(r.valid, "{:?}", r.message);
    // The spelt-out defaults are the defaults.
    let parsed: Settings = serde_json::from_slice(&settings).unwrap();
    assert_eq!(parsed.targeting(), Settings::default().targeting());
}
