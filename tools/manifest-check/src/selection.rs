//! Which objects a policy sees: admission `rules` and the `namespaceSelector`
//! / `objectSelector` label selectors, with the API server's semantics.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::admission::ResourceType;

/// One admission rule (`rules[]` of a policy or of metadata.yml).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    /// API groups (`""` core, `*` any).
    pub api_groups: Vec<String>,
    /// API versions (`*` any).
    pub api_versions: Vec<String>,
    /// Plural resources (`*` any; `x/y` names a subresource).
    pub resources: Vec<String>,
    /// Operations (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`, `*`).
    pub operations: Vec<String>,
}

fn any_matches(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item == "*" || item == value)
}

impl Rule {
    /// Whether a request for `resource_type` with `operation` (no
    /// subresource) is selected by this rule.
    pub fn matches(&self, resource_type: &ResourceType, operation: &str) -> bool {
        any_matches(&self.api_groups, &resource_type.group)
            && any_matches(&self.api_versions, &resource_type.version)
            && any_matches(&self.operations, operation)
            // `*` and `*/*` select main resources; `pods/*` does not.
            && self.resources.iter().any(|r| {
                r == "*" || r == "*/*" || r.as_str() == resource_type.resource.as_str()
            })
    }
}

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
    fn rules_with_wildcards() {
        let pod = ResourceType::of("v1", "Pod");
        let deploy = ResourceType::of("apps/v1", "Deployment");
        let rule = Rule {
            api_groups: strings(&[""]),
            api_versions: strings(&["v1"]),
            resources: strings(&["pods"]),
            operations: strings(&["CREATE", "UPDATE"]),
        };
        assert!(rule.matches(&pod, "CREATE"));
        assert!(!rule.matches(&pod, "DELETE"));
        assert!(!rule.matches(&deploy, "CREATE"));
        let all = Rule {
            api_groups: strings(&["*"]),
            api_versions: strings(&["*"]),
            resources: strings(&["*"]),
            operations: strings(&["*"]),
        };
        assert!(all.matches(&deploy, "CREATE"));
        let sub = Rule {
            resources: strings(&["pods/status"]),
            ..all
        };
        assert!(!sub.matches(&pod, "CREATE"));
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
