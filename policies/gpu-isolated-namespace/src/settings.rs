//! Settings of gpu-isolated-namespace.

use gpu_policy_core::GpuCatalogue;
use gpu_policy_core::catalogue::WithCatalogue;
use gpu_policy_core::labels::{check_label_key, check_label_value};
use serde::Deserialize;

/// The default namespace and pod label key.
pub const DEFAULT_LABEL: &str = "gpu-workload-type";

/// The policy's settings; every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// The namespace label that says which kind of GPU workload a namespace holds.
    pub namespace_label: String,
    /// The pod (template) label that says which kind of GPU workload a pod is.
    pub pod_label: String,
    /// The allowed values of both labels.
    pub workload_types: Vec<String>,
    /// The namespace must hold a default-deny NetworkPolicy (Ingress and Egress).
    pub require_default_deny_network_policy: bool,
    /// The namespace must hold a ResourceQuota with `requests.<gpu resource>`.
    pub require_gpu_quota: bool,
    /// Reject NetworkPolicy UPDATE/DELETE that would leave a GPU namespace
    /// without its default-deny.
    pub protect_default_deny: bool,
    /// Extra GPU resource names or `*` patterns, added to the defaults.
    pub gpu_resources: Vec<String>,
    /// Extra DRA device class names or `*` patterns that are GPUs, added to
    /// the defaults.
    pub gpu_device_classes: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            namespace_label: DEFAULT_LABEL.to_owned(),
            pod_label: DEFAULT_LABEL.to_owned(),
            workload_types: ["training", "inference", "batch"]
                .map(str::to_owned)
                .to_vec(),
            require_default_deny_network_policy: true,
            require_gpu_quota: false,
            protect_default_deny: true,
            gpu_resources: Vec::new(),
            gpu_device_classes: Vec::new(),
        }
    }
}

impl Settings {
    /// The GPU catalogue: the defaults plus `gpuResources` and
    /// `gpuDeviceClasses`.
    pub fn catalogue(&self) -> Result<GpuCatalogue, String> {
        GpuCatalogue::with_extra(&self.gpu_resources)?.with_device_classes(&self.gpu_device_classes)
    }

    /// Whether `value` is one of the configured workload types.
    pub fn is_workload_type(&self, value: &str) -> bool {
        self.workload_types.iter().any(|t| t == value)
    }

    /// The workload types as `training, inference, batch`.
    pub fn workload_types_list(&self) -> String {
        self.workload_types.join(", ")
    }
}

/// The settings ready for the rules: with their [`Settings::catalogue`].
pub type Compiled = WithCatalogue<Settings>;

impl Settings {
    /// Checks every key and builds the GPU catalogue.
    pub fn compile(self) -> Result<Compiled, String> {
        self.check()?;
        Ok(Compiled {
            catalogue: self.catalogue()?,
            settings: self,
        })
    }

    fn check(&self) -> Result<(), String> {
        check_label_key(&self.namespace_label).map_err(|e| format!("namespaceLabel: {e}"))?;
        check_label_key(&self.pod_label).map_err(|e| format!("podLabel: {e}"))?;
        if self.workload_types.is_empty() {
            return Err(
                "workloadTypes: must list at least one workload type, e.g. [training, inference, batch]"
                    .to_owned(),
            );
        }
        for (i, value) in self.workload_types.iter().enumerate() {
            check_label_value(value).map_err(|e| format!("workloadTypes[{i}]: {e}"))?;
            if self.workload_types.iter().take(i).any(|v| v == value) {
                return Err(format!("workloadTypes[{i}]: {value:?} is listed twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::POLICY;

    #[test]
    fn defaults() {
        let s = Settings::default();
        assert_eq!(s.namespace_label, "gpu-workload-type");
        assert_eq!(s.pod_label, "gpu-workload-type");
        assert_eq!(s.workload_types, ["training", "inference", "batch"]);
        assert!(s.require_default_deny_network_policy);
        assert!(!s.require_gpu_quota);
        assert!(s.protect_default_deny);
    }

    #[test]
    fn accepts_all_keys() {
        assert_eq!(
            POLICY.settings_error(
                r#"{"namespaceLabel": "gpu.example.com/workload", "podLabel": "app.kubernetes.io/component",
                    "workloadTypes": ["training", "llm-serving", "Batch_1.x"],
                    "requireDefaultDenyNetworkPolicy": false, "requireGpuQuota": true,
                    "protectDefaultDeny": false, "gpuResources": ["nvidia.com/a100", "example.com/gpu-*"]}"#
            ),
            None
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_key() {
        for (json, needle) in [
            (
                r#"{"namespaceLabel": ""}"#,
                "namespaceLabel: not a valid label key",
            ),
            (
                r#"{"namespaceLabel": "Bad/x"}"#,
                "namespaceLabel: not a valid label key: prefix",
            ),
            (r#"{"namespaceLabel": "a/b/c"}"#, "namespaceLabel"),
            (r#"{"podLabel": "-x"}"#, "podLabel: not a valid label key"),
            (r#"{"podLabel": "has space"}"#, "podLabel"),
            (
                r#"{"workloadTypes": []}"#,
                "workloadTypes: must list at least one",
            ),
            (
                r#"{"workloadTypes": ["training", "training"]}"#,
                "workloadTypes[1]: \"training\" is listed twice",
            ),
            (
                r#"{"workloadTypes": ["ok", "no/slash"]}"#,
                "workloadTypes[1]: not a valid label value",
            ),
            (r#"{"workloadTypes": [""]}"#, "workloadTypes[0]"),
            (r#"{"workloadTypes": ["-lead"]}"#, "workloadTypes[0]"),
            (r#"{"gpuResources": ["gpu"]}"#, "gpuResources[0]"),
            (
                r#"{"requireGpuQuota": "yes"}"#,
                "requireGpuQuota: invalid type",
            ),
            (r#"{"workloadType": ["x"]}"#, "unknown field `workloadType`"),
        ] {
            let m = POLICY.settings_error(json).unwrap_or_default();
            assert!(m.contains(needle), "{json}: {m}");
        }
        let long = "a".repeat(64);
        let m = POLICY
            .settings_error(&format!(r#"{{"workloadTypes": ["{long}"]}}"#))
            .unwrap();
        assert!(m.contains("longer than 63"), "{m}");
        let long_prefix = format!("{}/x", "a".repeat(254));
        let m = POLICY
            .settings_error(&format!(r#"{{"podLabel": "{long_prefix}"}}"#))
            .unwrap();
        assert!(m.contains("253"), "{m}");
    }
}
