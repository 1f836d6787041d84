//! Settings of gpu-limit-required.
//!
//! Every key is optional; `settings: {}` gives the shared defaults (the GPU
//! resource catalogue, the GPU node labels and the vendors' GPU taints), no
//! GPU count caps, and the `NVIDIA_VISIBLE_DEVICES` check switched on.

use gpu_policy_core::catalogue::{WithCatalogue, check_pattern_characters};
use gpu_policy_core::labels::check_label_key;
use gpu_policy_core::pod::null_as_default;
use gpu_policy_core::targeting::default_gpu_taints;
use gpu_policy_core::{GpuCatalogue, NodeTargeting, Taint};
use serde::{Deserialize, Deserializer};

/// The policy's settings; every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Extra GPU resource names or `*` patterns, added to the shared
    /// catalogue's defaults.
    #[serde(deserialize_with = "null_as_default")]
    pub gpu_resources: Vec<String>,
    /// Extra DRA device class names or `*` patterns whose implicit resource
    /// (`deviceclass.resource.kubernetes.io/<class>`) is a GPU, added to the
    /// shared defaults.
    #[serde(deserialize_with = "null_as_default")]
    pub gpu_device_classes: Vec<String>,
    /// Extra node label keys (or `*` patterns) that mark GPU nodes, added to
    /// the shared defaults.
    #[serde(deserialize_with = "null_as_default")]
    pub gpu_node_selector_labels: Vec<String>,
    /// The GPU taints whose toleration means "aims at GPU nodes". `None`: the
    /// shared defaults; given: replaces them.
    pub gpu_taints: Option<Vec<Taint>>,
    /// Most GPU devices one container may ask for.
    pub max_gpus_per_container: Option<u32>,
    /// Most GPU devices one pod may ask for (Kubernetes effective request).
    pub max_gpus_per_pod: Option<u32>,
    /// Reject `NVIDIA_VISIBLE_DEVICES` in containers without a GPU limit.
    #[serde(deserialize_with = "null_as_true")]
    pub check_visible_devices_env: bool,
    /// Reject the paths to a GPU that no limit accounts for: privileged
    /// containers in GPU pods, hostPath GPU device nodes, the NVIDIA
    /// runtime's device-list mounts, CDI device annotations.
    #[serde(deserialize_with = "null_as_true")]
    pub check_device_access: bool,
    /// Accept DRA GPU requests with `adminAccess: true` (access to devices
    /// already allocated to other pods: monitoring and debugging tools).
    pub allow_admin_access: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gpu_resources: Vec::new(),
            gpu_device_classes: Vec::new(),
            gpu_node_selector_labels: Vec::new(),
            gpu_taints: None,
            max_gpus_per_container: None,
            max_gpus_per_pod: None,
            check_visible_devices_env: true,
            check_device_access: true,
            allow_admin_access: false,
        }
    }
}

/// `null` reads as the default, `true`.
fn null_as_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

impl Settings {
    /// The GPU resource catalogue: shared defaults plus `gpuResources` and
    /// `gpuDeviceClasses`.
    pub fn catalogue(&self) -> Result<GpuCatalogue, String> {
        GpuCatalogue::with_extra(&self.gpu_resources)?.with_device_classes(&self.gpu_device_classes)
    }

    /// What marks a GPU node: shared default labels plus
    /// `gpuNodeSelectorLabels`, the default runtime classes, and `gpuTaints`
    /// (or the default GPU taints).
    pub fn targeting(&self) -> NodeTargeting {
        let mut targeting = NodeTargeting::default();
        for label in &self.gpu_node_selector_labels {
            if !targeting.labels.contains(label) {
                targeting.labels.push(label.clone());
            }
        }
        targeting.taints = match &self.gpu_taints {
            // An empty value (what a settings form sends for "no value")
            // stands for any value, like an absent one.
            Some(taints) => taints
                .iter()
                .map(|t| Taint {
                    value: t.value.clone().filter(|v| !v.is_empty()),
                    ..t.clone()
                })
                .collect(),
            None => default_gpu_taints(),
        };
        targeting
    }
}

/// Checks one `gpuNodeSelectorLabels` entry: a Kubernetes label key
/// (`[prefix/]name`), where `*` may stand for any run of characters.
fn check_label_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("a label key must not be empty".to_owned());
    }
    if pattern.chars().all(|c| c == '*') {
        return Err(format!(
            "{pattern:?} would match every node label: name the GPU label, e.g. nvidia.com/gpu.present"
        ));
    }
    if pattern.matches('/').count() > 1 {
        return Err(format!(
            "{pattern:?}: a label key has at most one '/' (prefix/name)"
        ));
    }
    if pattern.starts_with('/') || pattern.ends_with('/') {
        return Err(format!(
            "{pattern:?}: the prefix and the name around '/' must not be empty"
        ));
    }
    check_pattern_characters(pattern, "a label key")?;
    if pattern.len() > 316 {
        return Err(format!("{pattern:?}: longer than a label key can be"));
    }
    // Without `*` it is a label key and must be a valid one.
    if !pattern.contains('*') {
        check_label_key(pattern).map_err(|e| format!("{pattern:?}: {e}"))?;
    }
    Ok(())
}

/// The settings ready for the rules: with their [`Settings::catalogue`].
pub type Compiled = WithCatalogue<Settings>;

impl Settings {
    /// Checks every key and builds what the rules use.
    pub fn compile(self) -> Result<Compiled, String> {
        // The catalogue is checked first, as its errors are the likeliest.
        let catalogue = self.catalogue()?;
        self.check()?;
        // The targeting is built only for pods without a GPU limit (it
        // cannot fail): most requests never need it.
        Ok(Compiled {
            catalogue,
            settings: self,
        })
    }

    fn check(&self) -> Result<(), String> {
        for (i, label) in self.gpu_node_selector_labels.iter().enumerate() {
            check_label_pattern(label).map_err(|e| format!("gpuNodeSelectorLabels[{i}]: {e}"))?;
        }
        if let Some(taints) = &self.gpu_taints {
            for (i, taint) in taints.iter().enumerate() {
                taint.check().map_err(|e| format!("gpuTaints[{i}]: {e}"))?;
            }
        }
        for (key, value) in [
            ("maxGpusPerContainer", self.max_gpus_per_container),
            ("maxGpusPerPod", self.max_gpus_per_pod),
        ] {
            if value == Some(0) {
                return Err(format!(
                    "{key} must be a positive whole number (at least 1), got 0; leave it out for no limit"
                ));
            }
        }
        if let (Some(container), Some(pod)) = (self.max_gpus_per_container, self.max_gpus_per_pod)
            && container > pod
        {
            return Err(format!(
                "maxGpusPerContainer ({container}) is larger than maxGpusPerPod ({pod}): a container is part of a pod"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::POLICY;
    use gpu_policy_core::catalogue::glob_match;

    fn matches_label(targeting: &NodeTargeting, label: &str) -> bool {
        targeting.labels.iter().any(|p| glob_match(p, label))
    }

    #[test]
    fn full_settings_are_valid() {
        assert_eq!(
            POLICY.settings_error(
                r#"{"gpuResources": ["nvidia.com/a100", "example.com/accel-*"],
                    "gpuNodeSelectorLabels": ["node.example.com/gpu", "cloud.example.com/accel-*"],
                    "gpuTaints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"},
                                  {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}],
                    "maxGpusPerContainer": 4, "maxGpusPerPod": 8,
                    "checkVisibleDevicesEnv": false, "checkDeviceAccess": false}"#
            ),
            None
        );
        assert_eq!(
            POLICY.settings_error(
                r#"{"gpuResources": null, "gpuTaints": null, "maxGpusPerPod": null, "checkVisibleDevicesEnv": null, "checkDeviceAccess": null}"#
            ),
            None
        );
        assert_eq!(POLICY.settings_error(r#"{"gpuTaints": []}"#), None);
    }

    #[test]
    fn defaults() {
        let s = Settings::default();
        assert!(s.check_visible_devices_env);
        assert_eq!(s.max_gpus_per_pod, None);
        let t = s.targeting();
        assert_eq!(t.taints, default_gpu_taints());
        assert!(matches_label(&t, "nvidia.com/gpu.present"));
        assert!(!matches_label(&t, "node.example.com/gpu"));
        let parsed: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, s);
    }

    #[test]
    fn extra_labels_add_and_taints_replace() {
        let s: Settings = serde_json::from_str(
            r#"{"gpuNodeSelectorLabels": ["node.example.com/gpu", "nvidia.com/gpu.present"],
                "gpuTaints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}"#,
        )
        .unwrap();
        let t = s.targeting();
        assert!(matches_label(&t, "node.example.com/gpu"));
        assert!(matches_label(&t, "nvidia.com/gpu.present"), "defaults stay");
        assert_eq!(
            t.labels
                .iter()
                .filter(|l| *l == "nvidia.com/gpu.present")
                .count(),
            1
        );
        assert_eq!(
            t.taints,
            vec![Taint::with_value("dedicated", "gpu", "NoSchedule")]
        );
        let s: Settings = serde_json::from_str(
            r#"{"gpuTaints": [{"key": "sku", "value": "", "effect": "NoSchedule"}]}"#,
        )
        .unwrap();
        assert_eq!(s.targeting().taints, vec![Taint::new("sku", "NoSchedule")]);
        let c = Settings {
            gpu_resources: vec!["nvidia.com/a100".into()],
            ..Settings::default()
        }
        .catalogue()
        .unwrap();
        assert!(c.classify("nvidia.com/a100").is_some());
        assert!(c.classify("nvidia.com/gpu").is_some());
    }

    #[test]
    fn each_bad_value_is_named() {
        let cases = [
            (
                r#"{"maxGpusPerPod": 0}"#,
                "maxGpusPerPod must be a positive whole number (at least 1), got 0; leave it out for no limit",
            ),
            (
                r#"{"maxGpusPerPod": -1}"#,
                "maxGpusPerPod: invalid value: integer `-1`, expected u32",
            ),
            (
                r#"{"maxGpusPerPod": "two"}"#,
                r#"maxGpusPerPod: invalid type: string "two", expected u32"#,
            ),
            (
                r#"{"maxGpusPerPod": 1.5}"#,
                "maxGpusPerPod: invalid type: floating point `1.5`, expected u32",
            ),
            (
                r#"{"maxGpusPerContainer": 0}"#,
                "maxGpusPerContainer must be a positive whole number (at least 1), got 0; leave it out for no limit",
            ),
            (
                r#"{"maxGpusPerContainer": -1}"#,
                "maxGpusPerContainer: invalid value: integer `-1`, expected u32",
            ),
            (
                r#"{"maxGpusPerContainer": "two"}"#,
                r#"maxGpusPerContainer: invalid type: string "two", expected u32"#,
            ),
            (
                r#"{"maxGpusPerContainer": 4, "maxGpusPerPod": 2}"#,
                "maxGpusPerContainer (4) is larger than maxGpusPerPod (2): a container is part of a pod",
            ),
            (
                r#"{"checkVisibleDevicesEnv": "yes"}"#,
                r#"checkVisibleDevicesEnv: invalid type: string "yes", expected a boolean"#,
            ),
            (
                r#"{"gpuResources": "nvidia.com/a100"}"#,
                r#"gpuResources: invalid type: string "nvidia.com/a100", expected a sequence"#,
            ),
            (
                r#"{"gpuResources": ["nvidia.com/a100", "*"]}"#,
                r#"gpuResources[1]: "*" is not an extended resource name: expected <domain>/<name>, e.g. nvidia.com/gpu"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": ["*"]}"#,
                r#"gpuNodeSelectorLabels[0]: "*" would match every node label: name the GPU label, e.g. nvidia.com/gpu.present"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": ["ok", "a/b/c"]}"#,
                r#"gpuNodeSelectorLabels[1]: "a/b/c": a label key has at most one '/' (prefix/name)"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": ["gpu type"]}"#,
                r#"gpuNodeSelectorLabels[0]: "gpu type": character ' ' cannot appear in a label key"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": ["-lead"]}"#,
                r#"gpuNodeSelectorLabels[0]: "-lead": not a valid label key: name part "-lead" must start and end with a letter or digit"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": ["Example.COM/gpu"]}"#,
                r#"gpuNodeSelectorLabels[0]: "Example.COM/gpu": not a valid label key: prefix "Example.COM" must be a DNS subdomain: lower-case letters, digits, '-' and '.'"#,
            ),
            (
                r#"{"gpuNodeSelectorLabels": [""]}"#,
                "gpuNodeSelectorLabels[0]: a label key must not be empty",
            ),
            (
                r#"{"gpuTaints": [{"key": "nvidia.com/gpu", "effect": "Sometimes"}]}"#,
                r#"gpuTaints[0]: taint nvidia.com/gpu: effect "Sometimes" is not one of NoSchedule, PreferNoSchedule, NoExecute"#,
            ),
            (
                r#"{"gpuTaints": [{"key": "a", "effect": "NoSchedule"}, {"key": " ", "effect": "NoSchedule"}]}"#,
                "gpuTaints[1]: taint key must not be empty",
            ),
            (
                r#"{"gpuTaints": [{"key": "nvidia.com/gpu"}]}"#,
                "gpuTaints[0]: missing field `effect`",
            ),
            (
                r#"{"gpuTaints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule", "operator": "Exists"}]}"#,
                "gpuTaints[0].operator: unknown field `operator`, expected one of `key`, `value`, `effect`",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                POLICY.settings_error(json).as_deref(),
                Some(expected),
                "{json}"
            );
        }
        let unknown = POLICY.settings_error(r#"{"maxGpuPerPod": 2}"#).unwrap();
        assert!(
            unknown.starts_with("maxGpuPerPod: unknown field `maxGpuPerPod`, expected one of"),
            "{unknown}"
        );
        assert!(unknown.contains("`maxGpusPerPod`"), "{unknown}");
    }

    #[test]
    fn the_example_spells_out_the_defaults() {
        // The example ClusterAdmissionPolicy lists the default targeting, so
        // that users see what they would change.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/cluster-admission-policy.yaml");
        let example: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let parsed: Settings = serde_json::from_value(example["spec"]["settings"].clone()).unwrap();
        assert_eq!(parsed.targeting(), Settings::default().targeting());
    }
}
