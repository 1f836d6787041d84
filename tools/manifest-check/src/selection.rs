//! Which objects a policy sees: admission `rules` and the `namespaceSelector`
//! / `objectSelector` label selectors, with the API server's semantics.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<Requirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values for `In` / `NotIn`.
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Checks operators and values, as the API server validates a selector.
    pub fn validate(&self) -> Result<(), String> {
        for r in &self.match_expressions {
            let problem = match r.operator.as_str() {
                "In" | "NotIn" if r.values.is_empty() => {
                    format!("operator {} needs values", r.operator)
                }
                "Exists" | "DoesNotExist" if !r.values.is_empty() => {
                    format!("operator {} takes no values", r.operator)
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => continue,
                other => format!("unknown operator {other:?} (In, NotIn, Exists, DoesNotExist)"),
            };
            return Err(format!("matchExpressions key {:?}: {problem}", r.key));
        }
        Ok(())
    }

    /// Whether `labels` satisfy every term (an empty selector matches all).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self
                .match_expressions
                .iter()
                .all(|r| r.matches(labels.get(&r.key).map(String::as_str)))
    }
}

impl Requirement {
    /// Whether a value (`None`: no such label) satisfies the requirement.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let listed = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator.as_str() {
            "In" => value.is_some_and(listed),
            "NotIn" => !value.is_some_and(listed),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    }
}

/// Labels of a JSON object's `metadata.labels` (non-string values skipped).
pub fn labels_of(object: &serde_json::Value) -> BTreeMap<String, String> {
    object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(serde_json::Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::NAME_LABEL;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// A selector of just the one match expression.
    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: vec![Requirement {
                key: key.into(),
                operator: operator.into(),
                values: strings(values),
            }],
            ..LabelSelector::default()
        }
    }

    #[test]
    fn selectors() {
        let labels = BTreeMap::from([(NAME_LABEL.to_owned(), "kube-system".to_owned())]);
        let not_system = expression(NAME_LABEL, "NotIn", &["kube-system", "kubewarden"]);
        assert!(not_system.validate().is_ok());
        assert!(!not_system.matches(&labels));
        assert!(not_system.matches(&BTreeMap::new()));
        assert!(LabelSelector::default().matches(&labels));
        let exists = expression("team", "Exists", &[]);
        assert!(!exists.matches(&labels));
        let bad = expression("a", "Equals", &[]);
        assert!(bad.validate().unwrap_err().contains("unknown operator"));
    }
}
