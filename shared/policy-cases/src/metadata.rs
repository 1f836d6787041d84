//! What a policy's metadata.yml and the Kubewarden policy CRDs say of it:
//! the admission rules that select its requests and the resource types it
//! may read.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One admission rule (`rules[]` of metadata.yml and of the policy CRDs,
/// Kubernetes' `RuleWithOperations`). A list left out is empty. Field order
/// is kwctl's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Rule {
    /// API groups (`""` core, `*` any).
    pub api_groups: Vec<String>,
    /// API versions (`*` any).
    pub api_versions: Vec<String>,
    /// Plural resources (`*` any; `x/y` names a subresource).
    pub resources: Vec<String>,
    /// Operations (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`, `*`).
    pub operations: Vec<String>,
    /// `Cluster`, `Namespaced` or `*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Rule {
    /// Whether the rule selects a request with `operation` on the main
    /// resource `resource` (plural) of `group` and `version`, whose objects
    /// are `namespaced` or not: the API server's matching, `*` for any, and
    /// `*` or `*/*` for every main resource (`pods/*` selects none).
    pub fn selects(
        &self,
        group: &str,
        version: &str,
        resource: &str,
        namespaced: bool,
        operation: &str,
    ) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|i| i == "*" || i == value);
        let scope = match self.scope.as_deref() {
            Some("Cluster") => !namespaced,
            Some("Namespaced") => namespaced,
            _ => true,
        };
        any(&self.api_groups, group)
            && any(&self.api_versions, version)
            && any(&self.operations, operation)
            && (any(&self.resources, resource) || self.resources.iter().any(|r| r == "*/*"))
            && scope
    }
}

/// One Kubernetes resource type a policy may read through host capabilities,
/// as listed in `metadata.yml` under `contextAwareResources`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextAwareResource {
    /// `apiVersion` of the resource, e.g. `v1` or `networking.k8s.io/v1`.
    pub api_version: String,
    /// `kind` of the resource, e.g. `Namespace`.
    pub kind: String,
}

impl ContextAwareResource {
    /// Shorthand constructor.
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for ContextAwareResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &str, versions: &str, resources: &str, operations: &str) -> Rule {
        let list = |s: &str| s.split(',').map(str::to_owned).collect();
        Rule {
            api_groups: list(groups),
            api_versions: list(versions),
            resources: list(resources),
            operations: list(operations),
            scope: None,
        }
    }

    #[test]
    fn rules_select_as_the_api_server_does() {
        let pods = rule("", "v1", "pods", "CREATE,UPDATE");
        assert!(pods.selects("", "v1", "pods", true, "CREATE"));
        assert!(!pods.selects("", "v1", "pods", true, "DELETE"));
        assert!(!pods.selects("apps", "v1", "deployments", true, "CREATE"));
        let all = rule("*", "*", "*", "*");
        assert!(all.selects("apps", "v1", "deployments", true, "CREATE"));
        assert!(rule("*", "*", "*/*", "*").selects("", "v1", "pods", true, "CONNECT"));
        assert!(!rule("*", "*", "pods/status", "*").selects("", "v1", "pods", true, "CREATE"));
        let cluster = Rule {
            scope: Some("Cluster".to_owned()),
            ..all.clone()
        };
        assert!(cluster.selects("", "v1", "namespaces", false, "CREATE"));
        assert!(!cluster.selects("", "v1", "pods", true, "CREATE"));
        let namespaced = Rule {
            scope: Some("Namespaced".to_owned()),
            ..all
        };
        assert!(!namespaced.selects("", "v1", "namespaces", false, "CREATE"));
        assert!(namespaced.selects("", "v1", "pods", true, "CREATE"));
    }

    #[test]
    fn unknown_rule_fields_are_refused() {
        let typo = serde_yaml::from_str::<Rule>("{apiGroups: [''], operation: [CREATE]}");
        assert!(
            typo.unwrap_err()
                .to_string()
                .contains("unknown field `operation`")
        );
        let empty: Rule = serde_yaml::from_str("{}").unwrap();
        assert_eq!(empty, Rule::default());
    }
}
