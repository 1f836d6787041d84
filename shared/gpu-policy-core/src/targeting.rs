//! Does a pod aim at GPU nodes? Through its node selector, its required node
//! affinity, its runtime class, or a toleration of a GPU taint.

use crate::catalogue::glob_match;
use crate::toleration::Taint;
use crate::workload::Workload;

/// Node labels that mark GPU nodes, set by the NVIDIA GPU operator / GPU
/// feature discovery, AKS, AMD's labeller and node-feature-discovery.
pub const DEFAULT_GPU_NODE_LABELS: [&str; 8] = [
    "nvidia.com/gpu.present",
    "nvidia.com/gpu.product",
    "nvidia.com/gpu.count",
    "nvidia.com/mig.strategy",
    "kubernetes.azure.com/accelerator",
    "accelerator",
    "amd.com/gpu.*",
    "feature.node.kubernetes.io/pci-10de.present",
];

/// Runtime classes that hand a container the GPU runtime (NVIDIA GPU
/// operator's defaults).
pub const DEFAULT_GPU_RUNTIME_CLASSES: [&str; 3] = ["nvidia", "nvidia-cdi", "nvidia-legacy"];

/// The GPU taints whose toleration counts as aiming at GPU nodes: the vendors'
/// device-plugin taints and AKS's `sku=gpu`.
pub fn default_gpu_taints() -> Vec<Taint> {
    vec![
        Taint::new("nvidia.com/gpu", "NoSchedule"),
        Taint::new("amd.com/gpu", "NoSchedule"),
        Taint::new("gpu.intel.com/i915", "NoSchedule"),
        Taint::with_value("sku", "gpu", "NoSchedule"),
    ]
}

/// What marks a GPU node in this cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTargeting {
    /// Node label keys (or `*` patterns).
    pub labels: Vec<String>,
    /// Runtime class names.
    pub runtime_classes: Vec<String>,
    /// GPU taints.
    pub taints: Vec<Taint>,
}

impl Default for NodeTargeting {
    fn default() -> Self {
        NodeTargeting {
            labels: DEFAULT_GPU_NODE_LABELS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            runtime_classes: DEFAULT_GPU_RUNTIME_CLASSES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            taints: default_gpu_taints(),
        }
    }
}

/// One way a pod aims at GPU nodes, with the field that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuTarget {
    /// JSON path of the field.
    pub path: String,
    /// What it does, e.g. `selects nodes labelled nvidia.com/gpu.present`.
    pub reason: String,
}

impl NodeTargeting {
    fn is_gpu_label(&self, key: &str) -> bool {
        self.labels.iter().any(|pattern| glob_match(pattern, key))
    }

    /// Every way the workload aims at GPU nodes (empty: it does not).
    pub fn gpu_targets(&self, workload: &Workload) -> Vec<GpuTarget> {
        let spec_path = workload.spec_path();
        let spec = &workload.spec;
        let mut out = Vec::new();

        for (key, value) in &spec.node_selector {
            if self.is_gpu_label(key) {
                out.push(GpuTarget {
                    path: format!("{spec_path}.nodeSelector[\"{key}\"]"),
                    reason: format!("selects GPU nodes ({key}={value})"),
                });
            }
        }

        for (path, expr) in workload.required_node_expressions() {
            // NotIn / DoesNotExist steer away from GPU nodes.
            if self.is_gpu_label(&expr.key)
                && matches!(expr.operator.as_str(), "In" | "Exists" | "Gt" | "Lt")
            {
                out.push(GpuTarget {
                    path: path.to_string(),
                    reason: format!("requires GPU nodes ({} {})", expr.key, expr.operator),
                });
            }
        }

        if self.runtime_classes.contains(&spec.runtime_class_name) {
            out.push(GpuTarget {
                path: format!("{spec_path}.runtimeClassName"),
                reason: format!("uses the GPU runtime class {:?}", spec.runtime_class_name),
            });
        }

        for (i, toleration) in spec.tolerations.iter().enumerate() {
            if let Some(taint) = self
                .taints
                .iter()
                .find(|t| t.tolerated_by(toleration).is_some())
            {
                out.push(GpuTarget {
                    path: format!("{spec_path}.tolerations[{i}]"),
                    reason: format!("tolerates the GPU taint {taint}"),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadKind;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn targets(spec: &str) -> Vec<String> {
        let w = Workload::from_json(
            WorkloadKind::Job,
            &format!(r#"{{"spec": {{"template": {{"spec": {spec}}}}}}}"#),
        )
        .unwrap();
        NodeTargeting::default()
            .gpu_targets(&w)
            .into_iter()
            .map(|t| t.path)
            .collect()
    }

    #[test]
    fn node_selector_on_gpu_labels() {
        assert_eq!(
            targets(r#"{"nodeSelector": {"nvidia.com/gpu.present": "true", "zone": "a"}}"#),
            [r#"spec.template.spec.nodeSelector["nvidia.com/gpu.present"]"#]
        );
        assert_eq!(
            targets(r#"{"nodeSelector": {"amd.com/gpu.family": "AI"}}"#).len(),
            1
        );
        assert_eq!(
            targets(r#"{"nodeSelector": {"kubernetes.azure.com/accelerator": "nvidia"}}"#).len(),
            1
        );
        assert!(targets(r#"{"nodeSelector": {"disktype": "ssd"}}"#).is_empty());
    }

    #[test]
    fn required_affinity_in_and_exists_but_not_notin() {
        let spec = |op: &str| {
            format!(
                r#"{{"affinity": {{"nodeAffinity": {{"requiredDuringSchedulingIgnoredDuringExecution": {{"nodeSelectorTerms": [
                    {{"matchExpressions": [{{"key": "zone", "operator": "In", "values": ["a"]}}]}},
                    {{"matchExpressions": [{{"key": "nvidia.com/gpu.product", "operator": "{op}", "values": ["NVIDIA-A100-SXM4-80GB"]}}]}}]}}}}}}}}"#
            )
        };
        for op in ["In", "Exists", "Gt", "Lt"] {
            assert_eq!(
                targets(&spec(op)),
                [
                    "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0]"
                ],
                "{op}"
            );
        }
        for op in ["NotIn", "DoesNotExist"] {
            assert!(targets(&spec(op)).is_empty(), "{op}");
        }
    }

    #[test]
    fn preferred_affinity_does_not_count() {
        assert!(targets(
            r#"{"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1,
                "preference": {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "Exists"}]}}]}}}"#
        )
        .is_empty());
    }

    #[test]
    fn runtime_class_and_tolerations() {
        assert_eq!(
            targets(r#"{"runtimeClassName": "nvidia"}"#),
            ["spec.template.spec.runtimeClassName"]
        );
        assert!(targets(r#"{"runtimeClassName": "gvisor"}"#).is_empty());
        assert_eq!(
            targets(
                r#"{"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}, {"key": "sku", "value": "gpu", "effect": "NoSchedule"}]}"#
            ),
            ["spec.template.spec.tolerations[1]"]
        );
        assert!(
            targets(r#"{"tolerations": [{"key": "sku", "value": "cpu", "effect": "NoSchedule"}]}"#)
                .is_empty()
        );
        assert_eq!(
            targets(r#"{"tolerations": [{"operator": "Exists"}]}"#).len(),
            1
        );
    }
}
