//! Taints and toleration matching, with the exact Kubernetes semantics
//! (`k8s.io/api/core/v1` `Toleration.ToleratesTaint`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pod::Toleration;

/// Taint effects Kubernetes knows.
pub const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// A node taint, or a configured GPU taint. `value: None` (configuration only)
/// stands for "whatever value the nodes use".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    /// The taint key.
    pub key: String,
    /// The taint value; `None` matches any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

impl Taint {
    /// A taint with any value.
    pub fn new(key: &str, effect: &str) -> Self {
        Taint {
            key: key.to_owned(),
            value: None,
            effect: effect.to_owned(),
        }
    }

    /// A taint with an exact value.
    pub fn with_value(key: &str, value: &str, effect: &str) -> Self {
        Taint {
            key: key.to_owned(),
            value: Some(value.to_owned()),
            effect: effect.to_owned(),
        }
    }

    /// Checks a configured taint: a non-empty key, a known effect.
    pub fn check(&self) -> Result<(), String> {
        if self.key.trim().is_empty() {
            return Err("taint key must not be empty".to_owned());
        }
        if !TAINT_EFFECTS.contains(&self.effect.as_str()) {
            return Err(format!(
                "taint {}: effect {:?} is not one of {}",
                self.key,
                self.effect,
                TAINT_EFFECTS.join(", ")
            ));
        }
        Ok(())
    }

    /// Whether a node taint `key=value:effect` is this taint (any value
    /// when this one has none).
    pub fn is(&self, key: &str, value: &str, effect: &str) -> bool {
        self.key == key && self.effect == effect && self.value.as_ref().is_none_or(|v| v == value)
    }

    /// Whether the toleration tolerates this taint, and why. With a value set
    /// this is exactly Kubernetes' rule; without one, any toleration of the
    /// key (Exists, or Equal with any value) counts.
    pub fn tolerated_by(&self, toleration: &Toleration) -> Option<MatchReason> {
        if !toleration.effect.is_empty() && toleration.effect != self.effect {
            return None;
        }
        if !toleration.key.is_empty() && toleration.key != self.key {
            return None;
        }
        let operator_matches = match toleration.operator.as_str() {
            "Exists" => true,
            "" | "Equal" => match &self.value {
                Some(value) => &toleration.value == value,
                None => true,
            },
            // Unknown operators (and Gt/Lt, which compare numbers and only
            // exist behind a feature gate) tolerate nothing here.
            _ => false,
        };
        if !operator_matches {
            return None;
        }
        Some(if toleration.key.is_empty() {
            MatchReason::EmptyKey
        } else if toleration.effect.is_empty() {
            MatchReason::EmptyEffect
        } else {
            MatchReason::Exact
        })
    }

    /// The toleration that tolerates this taint and nothing wider: `Exists`
    /// when the value is open, `Equal` with the value otherwise.
    pub fn toleration(&self) -> Toleration {
        match &self.value {
            Some(value) => Toleration {
                key: self.key.clone(),
                operator: "Equal".to_owned(),
                value: value.clone(),
                effect: self.effect.clone(),
                toleration_seconds: None,
            },
            None => Toleration {
                key: self.key.clone(),
                operator: "Exists".to_owned(),
                value: String::new(),
                effect: self.effect.clone(),
                toleration_seconds: None,
            },
        }
    }
}

impl fmt::Display for Taint {
    /// `key[=value]:Effect`, as `kubectl taint` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}:{}", self.key, v, self.effect),
            None => write!(f, "{}:{}", self.key, self.effect),
        }
    }
}

/// Why a toleration matches a taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchReason {
    /// Key, effect and value (or Exists) match.
    Exact,
    /// `operator: Exists` with an empty key tolerates every taint.
    EmptyKey,
    /// The key matches and an empty effect matches every effect.
    EmptyEffect,
}

impl fmt::Display for MatchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchReason::Exact => "its key and effect match",
            MatchReason::EmptyKey => "an empty key tolerates every taint",
            MatchReason::EmptyEffect => "its key matches and an empty effect matches every effect",
        })
    }
}

/// A toleration written as one line of flow-style YAML, ready to paste:
/// `{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}`.
pub fn toleration_yaml(t: &Toleration) -> String {
    let mut parts = Vec::new();
    if !t.key.is_empty() {
        parts.push(format!("key: {}", yaml_scalar(&t.key)));
    }
    if !t.operator.is_empty() {
        parts.push(format!("operator: {}", t.operator));
    }
    if !t.value.is_empty() {
        parts.push(format!("value: {}", yaml_scalar(&t.value)));
    }
    if !t.effect.is_empty() {
        parts.push(format!("effect: {}", t.effect));
    }
    if let Some(seconds) = t.toleration_seconds {
        parts.push(format!("tolerationSeconds: {seconds}"));
    }
    format!("{{{}}}", parts.join(", "))
}

/// Quotes a YAML scalar only when it would not read back as the same string.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_owned()
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tol(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: key.into(),
            operator: operator.into(),
            value: value.into(),
            effect: effect.into(),
            toleration_seconds: None,
        }
    }

    /// Every operator/key/value/effect combination against a taint with a
    /// value (exact Kubernetes semantics).
    #[test]
    fn a_node_taint_is_a_configured_taint_by_key_effect_and_value() {
        let any = Taint::new("nvidia.com/gpu", "NoSchedule");
        assert!(any.is("nvidia.com/gpu", "present", "NoSchedule"));
        assert!(any.is("nvidia.com/gpu", "", "NoSchedule"));
        assert!(!any.is("nvidia.com/gpu", "present", "NoExecute"));
        assert!(!any.is("sku", "gpu", "NoSchedule"));
        let sku = Taint::with_value("sku", "gpu", "NoSchedule");
        assert!(sku.is("sku", "gpu", "NoSchedule"));
        assert!(!sku.is("sku", "cpu", "NoSchedule"));
    }

    #[test]
    fn kubernetes_matching_table() {
        use MatchReason::*;
        // key, operator, value, effect -> matches?
        let check = |taint: &Taint, rows: &[(&str, &str, &str, &str, Option<MatchReason>)]| {
            for (key, op, value, effect, expected) in rows {
                let t = tol(key, op, value, effect);
                assert_eq!(taint.tolerated_by(&t), *expected, "{taint:?} {t:?}");
            }
        };
        let valued = Taint::with_value("nvidia.com/gpu", "present", "NoSchedule");
        check(
            &valued,
            &[
                ("nvidia.com/gpu", "Exists", "", "NoSchedule", Some(Exact)),
                ("nvidia.com/gpu", "Exists", "", "", Some(EmptyEffect)),
                ("nvidia.com/gpu", "Exists", "", "NoExecute", None),
                ("nvidia.com/gpu", "Exists", "", "PreferNoSchedule", None),
                (
                    "nvidia.com/gpu",
                    "Exists",
                    "ignored",
                    "NoSchedule",
                    Some(Exact),
                ),
                (
                    "nvidia.com/gpu",
                    "Equal",
                    "present",
                    "NoSchedule",
                    Some(Exact),
                ),
                ("nvidia.com/gpu", "Equal", "present", "", Some(EmptyEffect)),
                ("nvidia.com/gpu", "Equal", "absent", "NoSchedule", None),
                ("nvidia.com/gpu", "Equal", "", "NoSchedule", None),
                ("nvidia.com/gpu", "", "present", "NoSchedule", Some(Exact)),
                ("nvidia.com/gpu", "", "other", "NoSchedule", None),
                ("", "Exists", "", "", Some(EmptyKey)),
                ("", "Exists", "", "NoSchedule", Some(EmptyKey)),
                ("", "Exists", "", "NoExecute", None),
                // Empty key with Equal is invalid in the API but the matcher
                // compares the value, as Kubernetes does.
                ("", "Equal", "present", "NoSchedule", Some(EmptyKey)),
                ("", "Equal", "other", "NoSchedule", None),
                ("amd.com/gpu", "Exists", "", "NoSchedule", None),
                ("nvidia.com/GPU", "Exists", "", "NoSchedule", None),
                ("nvidia.com/gpu", "exists", "", "NoSchedule", None),
                ("nvidia.com/gpu", "Gt", "1", "NoSchedule", None),
                ("nvidia.com/gpu", "In", "present", "NoSchedule", None),
                ("", "Bogus", "", "", None),
            ],
        );
        // A taint without a value is tolerated by any value of its key.
        check(
            &Taint::new("sku", "NoSchedule"),
            &[
                ("sku", "Equal", "gpu", "NoSchedule", Some(Exact)),
                ("sku", "", "anything", "NoSchedule", Some(Exact)),
                ("sku", "Exists", "", "", Some(EmptyEffect)),
                ("sku", "Equal", "gpu", "NoExecute", None),
                ("sku", "Lt", "1", "NoSchedule", None),
                ("other", "Exists", "", "NoSchedule", None),
            ],
        );
    }

    #[test]
    fn suggested_toleration_tolerates_its_taint_and_reads_as_yaml() {
        for taint in [
            Taint::new("nvidia.com/gpu", "NoSchedule"),
            Taint::with_value("sku", "gpu", "NoSchedule"),
        ] {
            assert_eq!(
                taint.tolerated_by(&taint.toleration()),
                Some(MatchReason::Exact)
            );
        }
        assert_eq!(
            toleration_yaml(&Taint::new("nvidia.com/gpu", "NoSchedule").toleration()),
            "{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}"
        );
        assert_eq!(
            toleration_yaml(&Taint::with_value("sku", "gpu", "NoSchedule").toleration()),
            "{key: sku, operator: Equal, value: gpu, effect: NoSchedule}"
        );
        assert_eq!(
            toleration_yaml(&tol("a", "Equal", "true", "")),
            r#"{key: a, operator: Equal, value: "true"}"#
        );
        assert_eq!(
            toleration_yaml(&tol("", "Exists", "", "")),
            "{operator: Exists}"
        );
    }

    #[test]
    fn taint_display_and_check() {
        assert_eq!(
            Taint::new("nvidia.com/gpu", "NoSchedule").to_string(),
            "nvidia.com/gpu:NoSchedule"
        );
        assert_eq!(
            Taint::with_value("sku", "gpu", "NoSchedule").to_string(),
            "sku=gpu:NoSchedule"
        );
        assert!(Taint::new("k", "NoSchedule").check().is_ok());
        assert!(
            Taint::new("", "NoSchedule")
                .check()
                .unwrap_err()
                .contains("key")
        );
        assert!(
            Taint::new("k", "Sometimes")
                .check()
                .unwrap_err()
                .contains("Sometimes")
        );
    }

    #[test]
    fn configured_taints_reject_unknown_fields() {
        let err = serde_json::from_str::<Taint>(
            r#"{"key": "a", "effect": "NoSchedule", "operator": "Exists"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("operator"));
    }
}
