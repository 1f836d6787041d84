//! Settings of gpu-toleration-required.

use gpu_policy_core::GpuCatalogue;
use gpu_policy_core::Taint;
use gpu_policy_core::catalogue::ResourcePattern;
use serde::Deserialize;

/// The taints used when `taints` is not set: one per vendor, the taint each
/// vendor's documentation (and the NVIDIA GPU operator) puts on GPU nodes.
/// `(resourcePattern, key, effect)`.
pub const DEFAULT_TAINTS: [(&str, &str, &str); 3] = [
    ("nvidia.com/*", "nvidia.com/gpu", "NoSchedule"),
    ("amd.com/gpu", "amd.com/gpu", "NoSchedule"),
    ("gpu.intel.com/*", "gpu.intel.com/i915", "NoSchedule"),
];

/// What the policy does with a GPU pod that misses its toleration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Reject it, naming the toleration to add.
    #[default]
    Validate,
    /// Add the missing toleration(s) and accept.
    Mutate,
}

/// One configured GPU taint: pods requesting a GPU resource that matches
/// `resourcePattern` must tolerate `key[=value]:effect`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaintRule {
    /// GPU resource name or `*` pattern (`nvidia.com/*`, `amd.com/gpu`).
    pub resource_pattern: String,
    /// The taint key on the GPU nodes.
    pub key: String,
    /// The taint value; absent: any value of the key is tolerated.
    #[serde(default)]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

impl TaintRule {
    /// The taint this rule stands for.
    pub fn taint(&self) -> Taint {
        Taint {
            key: self.key.clone(),
            value: self.value.clone(),
            effect: self.effect.clone(),
        }
    }
}

/// The policy's settings; every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// GPU taints per resource pattern; `None` (absent or `null`): the
    /// vendor defaults ([`DEFAULT_TAINTS`]).
    pub taints: Option<Vec<TaintRule>>,
    /// Reject pods that request no GPU but tolerate a GPU taint.
    pub reject_non_gpu_tolerations: bool,
    /// `validate` (reject) or `mutate` (add the missing tolerations).
    pub mode: Mode,
    /// Extra GPU resource names or patterns, beyond the built-in catalogue.
    pub gpu_resources: Option<Vec<String>>,
    /// Extra DRA device class names or patterns that are GPUs, beyond the
    /// built-in ones.
    pub gpu_device_classes: Option<Vec<String>>,
    /// The API server runs the ExtendedResourceToleration admission plugin
    /// (AKS, GKE): a workload template's missing `{key: <extended resource
    /// it requests>, operator: Exists, effect: NoSchedule}` is added to its
    /// pods, so it is a warning, not a violation.
    pub extended_resource_toleration: bool,
    /// A Job Kueue holds (`spec.suspend: true`, label
    /// `kueue.x-k8s.io/queue-name`) gets its flavor's tolerations when Kueue
    /// admits it: its missing tolerations are a warning until then.
    pub defer_kueue_suspended_jobs: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            taints: None,
            reject_non_gpu_tolerations: true,
            mode: Mode::Validate,
            gpu_resources: None,
            gpu_device_classes: None,
            extended_resource_toleration: false,
            defer_kueue_suspended_jobs: true,
        }
    }
}

/// Settings turned into what the rules use: the catalogue and the checked
/// patterns with their taints.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `rejectNonGpuTolerations`.
    pub reject_non_gpu_tolerations: bool,
    /// `mode`.
    pub mode: Mode,
    /// The GPU resource catalogue (defaults + `gpuResources`).
    pub catalogue: GpuCatalogue,
    /// `(resourcePattern, taint)`, in settings order.
    pub rules: Vec<(ResourcePattern, Taint)>,
    /// `extendedResourceToleration`.
    pub extended_resource_toleration: bool,
    /// `deferKueueSuspendedJobs`.
    pub defer_kueue_suspended_jobs: bool,
}

impl Settings {
    /// The taint rules in force.
    pub fn taint_rules(&self) -> Vec<TaintRule> {
        match &self.taints {
            Some(rules) => rules.clone(),
            None => DEFAULT_TAINTS
                .iter()
                .map(|(pattern, key, effect)| TaintRule {
                    resource_pattern: (*pattern).to_owned(),
                    key: (*key).to_owned(),
                    value: None,
                    effect: (*effect).to_owned(),
                })
                .collect(),
        }
    }

    /// Checks the settings and builds what the rules use. Errors name the key.
    pub fn compile(&self) -> Result<Compiled, String> {
        let catalogue = GpuCatalogue::with_extra(self.gpu_resources.as_deref().unwrap_or(&[]))?
            .with_device_classes(self.gpu_device_classes.as_deref().unwrap_or(&[]))?;
        let rules = self.taint_rules();
        if rules.is_empty() {
            return Err(
                "taints: must list at least one taint (leave the key out to use the vendor defaults)"
                    .to_owned(),
            );
        }
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            compiled.push(check_rule(i, rule, &catalogue)?);
        }
        Ok(Compiled {
            reject_non_gpu_tolerations: self.reject_non_gpu_tolerations,
            mode: self.mode,
            catalogue,
            rules: compiled,
            extended_resource_toleration: self.extended_resource_toleration,
            defer_kueue_suspended_jobs: self.defer_kueue_suspended_jobs,
        })
    }
}

fn check_rule(
    i: usize,
    rule: &TaintRule,
    catalogue: &GpuCatalogue,
) -> Result<(ResourcePattern, Taint), String> {
    if rule.resource_pattern.trim().is_empty() {
        return Err(format!("taints[{i}].resourcePattern: must not be empty"));
    }
    let pattern = ResourcePattern::new(&rule.resource_pattern)
        .map_err(|e| format!("taints[{i}].resourcePattern: {e}"))?;
    if !pattern_can_match_a_gpu(&pattern, catalogue) {
        let known: Vec<&str> = catalogue.patterns().iter().map(|p| p.as_str()).collect();
        return Err(format!(
            "taints[{i}].resourcePattern: {:?} matches no GPU resource (the GPU resources are {}); add renamed GPU resources to gpuResources",
            rule.resource_pattern,
            known.join(", ")
        ));
    }
    if rule.key.trim().is_empty() {
        return Err(format!("taints[{i}].key: must not be empty"));
    }
    if let Some(bad) = rule.key.chars().find(|c| !is_name_char(*c) && *c != '/') {
        return Err(format!(
            "taints[{i}].key: {:?}: character {bad:?} cannot appear in a taint key",
            rule.key
        ));
    }
    if let Some(value) = &rule.value
        && let Some(bad) = value.chars().find(|c| !is_name_char(*c))
    {
        return Err(format!(
            "taints[{i}].value: {value:?}: character {bad:?} cannot appear in a taint value"
        ));
    }
    let taint = rule.taint();
    taint.check().map_err(|e| format!("taints[{i}]: {e}"))?;
    Ok((pattern, taint))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// Whether a taint's resource pattern can ever apply: the rules only look at
/// resources the catalogue classifies as GPUs, so a literal name must be one,
/// and a `*` pattern must share its domain with a catalogue entry (this
/// catches typos such as `nvida.com/*`).
fn pattern_can_match_a_gpu(pattern: &ResourcePattern, catalogue: &GpuCatalogue) -> bool {
    let text = pattern.as_str();
    if !text.contains('*') {
        return catalogue.classify(text).is_some();
    }
    let domain = text.split_once('/').map(|(d, _)| d);
    catalogue
        .patterns()
        .iter()
        .any(|p| p.as_str().split_once('/').map(|(d, _)| d) == domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::POLICY;

    #[test]
    fn defaults_are_one_taint_per_vendor() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert!(s.reject_non_gpu_tolerations);
        assert_eq!(s.mode, Mode::Validate);
        let c = s.compile().unwrap();
        let rules: Vec<(&str, String)> = c
            .rules
            .iter()
            .map(|(p, t)| (p.as_str(), t.to_string()))
            .collect();
        assert_eq!(
            rules,
            [
                ("nvidia.com/*", "nvidia.com/gpu:NoSchedule".to_owned()),
                ("amd.com/gpu", "amd.com/gpu:NoSchedule".to_owned()),
                (
                    "gpu.intel.com/*",
                    "gpu.intel.com/i915:NoSchedule".to_owned()
                ),
            ]
        );
        // null means "the defaults" too
        let s: Settings =
            serde_json::from_str(r#"{"taints": null, "gpuResources": null}"#).unwrap();
        assert_eq!(s.compile().unwrap().rules.len(), 3);
    }

    #[test]
    fn valid_settings_are_accepted() {
        for json in [
            "{}",
            "",
            "null",
            r#"{"mode": "mutate", "rejectNonGpuTolerations": false}"#,
            r#"{"mode": "validate"}"#,
            r#"{"extendedResourceToleration": true, "deferKueueSuspendedJobs": false}"#,
            r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}]}"#,
            r#"{"taints": [{"resourcePattern": "nvidia.com/a100", "key": "sku", "effect": "NoExecute"}], "gpuResources": ["nvidia.com/a100"]}"#,
            r#"{"taints": [{"resourcePattern": "example.com/*", "key": "example.com/accel", "effect": "PreferNoSchedule"}], "gpuResources": ["example.com/accel-*"]}"#,
            r#"{"taints": [{"resourcePattern": "nvidia.com/gpu", "key": "nvidia.com/gpu", "value": "", "effect": "NoSchedule"}]}"#,
        ] {
            assert_eq!(POLICY.settings_error(json), None, "{json}");
        }
    }

    #[test]
    fn invalid_settings_name_the_key() {
        let table = [
            (
                r#"{"mode": "enforce"}"#,
                "mode: unknown variant `enforce`, expected `validate` or `mutate`",
            ),
            (r#"{"mode": "Mutate"}"#, "expected `validate` or `mutate`"),
            (r#"{"mode": null}"#, "mode"),
            (
                r#"{"rejectNonGpuTolerations": "yes"}"#,
                "rejectNonGpuTolerations: invalid type",
            ),
            (r#"{"taint": []}"#, "unknown field `taint`"),
            (
                r#"{"extendedResourceToleration": "on"}"#,
                "extendedResourceToleration: invalid type",
            ),
            (r#"{"taints": []}"#, "taints: must list at least one taint"),
            (r#"{"taints": {}}"#, "taints: invalid type: map"),
            (
                r#"{"taints": [{"key": "sku", "effect": "NoSchedule"}]}"#,
                "missing field `resourcePattern`",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "effect": "NoSchedule"}]}"#,
                "missing field `key`",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku"}]}"#,
                "missing field `effect`",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "effect": "NoSchedule", "operator": "Exists"}]}"#,
                "unknown field `operator`",
            ),
            (
                r#"{"taints": [{"resourcePattern": "", "key": "sku", "effect": "NoSchedule"}]}"#,
                "taints[0].resourcePattern: must not be empty",
            ),
            (
                r#"{"taints": [{"resourcePattern": "*", "key": "sku", "effect": "NoSchedule"}]}"#,
                "taints[0].resourcePattern: \"*\" is not an extended resource name",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvida.com/*", "key": "sku", "effect": "NoSchedule"}]}"#,
                "taints[0].resourcePattern: \"nvida.com/*\" matches no GPU resource",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/a100", "key": "sku", "effect": "NoSchedule"}]}"#,
                "add renamed GPU resources to gpuResources",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "", "effect": "NoSchedule"}]}"#,
                "taints[0].key: must not be empty",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku gpu", "effect": "NoSchedule"}]}"#,
                "taints[0].key: \"sku gpu\": character ' '",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "a=b", "effect": "NoSchedule"}]}"#,
                "taints[0].value: \"a=b\": character '='",
            ),
            (
                r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "effect": "NoSchedul"}]}"#,
                "taints[0]: taint sku: effect \"NoSchedul\" is not one of NoSchedule, PreferNoSchedule, NoExecute",
            ),
            (
                r#"{"taints": [{"resourcePattern": "amd.com/gpu", "key": "amd.com/gpu", "effect": "NoSchedule"}, {"resourcePattern": "nvidia.com/*", "key": "x", "effect": ""}]}"#,
                "taints[1]: taint x: effect",
            ),
            (
                r#"{"gpuResources": ["gpu"]}"#,
                "gpuResources[0]: \"gpu\" is not an extended resource name",
            ),
            (
                r#"{"gpuResources": "nvidia.com/a100"}"#,
                "gpuResources: invalid type: string",
            ),
        ];
        for (json, needle) in table {
            let m = POLICY
                .settings_error(json)
                .unwrap_or_else(|| panic!("accepted: {json}"));
            assert!(m.contains(needle), "{json}: {m}");
        }
    }

    #[test]
    fn custom_taint_keeps_its_value() {
        let s: Settings = serde_json::from_str(
            r#"{"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}]}"#,
        )
        .unwrap();
        let c = s.compile().unwrap();
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].1, Taint::with_value("sku", "gpu", "NoSchedule"));
    }
}
