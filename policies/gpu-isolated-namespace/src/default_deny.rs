//! What counts as a namespace's default-deny NetworkPolicy.
//!
//! A NetworkPolicy is the default-deny when
//! - its `podSelector` is empty (`{}`: it selects every pod of the namespace),
//! - its policy types include both `Ingress` and `Egress`, and
//! - in neither direction does it carry an allow-all rule (a rule with no
//!   peers and no ports, `ingress: [{}]`, which admits all traffic).
//!
//! Rules that name peers or ports are explicit openings and are allowed: the
//! namespace still denies by default everything they do not open.
//!
//! `policyTypes` omitted is read the way the API server defaults it: `Ingress`,
//! plus `Egress` when the policy has egress rules. So a policy with neither
//! `policyTypes` nor egress rules only isolates ingress and is not a
//! default-deny.

use crate::cluster::{NetworkPolicy, PolicyRule};

/// One traffic direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

impl NetworkPolicy {
    /// The policy types in force, with the API server's defaulting when
    /// `policyTypes` is omitted.
    fn has_type(&self, direction: Direction) -> bool {
        if self.spec.policy_types.is_empty() {
            match direction {
                Direction::Ingress => true,
                Direction::Egress => !self.spec.egress.is_empty(),
            }
        } else {
            self.spec.policy_types.iter().any(|t| t == direction.name())
        }
    }

    fn rules(&self, direction: Direction) -> &[PolicyRule] {
        match direction {
            Direction::Ingress => &self.spec.ingress,
            Direction::Egress => &self.spec.egress,
        }
    }

    /// Why this policy is not a default-deny; empty when it is one.
    pub fn default_deny_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        if !self.spec.pod_selector.is_empty() {
            gaps.push("its podSelector is not empty".to_owned());
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            if !self.has_type(direction) {
                gaps.push(if self.spec.policy_types.is_empty() {
                    format!(
                        "policyTypes is omitted, which Kubernetes reads as no {}",
                        direction.name()
                    )
                } else {
                    format!("policyTypes lacks {}", direction.name())
                });
            } else if let Some(i) = self
                .rules(direction)
                .iter()
                .position(PolicyRule::allows_everything)
            {
                gaps.push(format!(
                    "{}[{i}] allows all {} traffic",
                    direction.field(),
                    direction.field()
                ));
            }
        }
        gaps
    }

    /// Whether this policy is a default-deny.
    pub fn is_default_deny(&self) -> bool {
        self.default_deny_gaps().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn np(spec: &str) -> NetworkPolicy {
        serde_json::from_str(&format!(r#"{{"metadata":{{"name":"p"}},"spec":{spec}}}"#)).unwrap()
    }

    #[test]
    fn the_canonical_default_deny() {
        assert!(np(r#"{"podSelector":{},"policyTypes":["Ingress","Egress"]}"#).is_default_deny());
        assert!(np(r#"{"podSelector":{},"policyTypes":["Egress","Ingress"]}"#).is_default_deny());
        assert!(
            np(r#"{"podSelector":{"matchLabels":{}},"policyTypes":["Ingress","Egress"],"ingress":[],"egress":null}"#)
                .is_default_deny()
        );
        // A missing podSelector is the Go zero value: every pod.
        assert!(np(r#"{"policyTypes":["Ingress","Egress"]}"#).is_default_deny());
    }

    #[test]
    fn explicit_openings_keep_it_a_default_deny() {
        assert!(
            np(r#"{"podSelector":{},"policyTypes":["Ingress","Egress"],
                   "egress":[{"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}}}],"ports":[{"port":53,"protocol":"UDP"}]}]}"#)
            .is_default_deny()
        );
        assert!(
            np(r#"{"podSelector":{},"policyTypes":["Ingress","Egress"],"ingress":[{"ports":[{"port":8080}]}]}"#)
                .is_default_deny()
        );
    }

    #[test]
    fn one_direction_only_is_not() {
        let ingress = np(r#"{"podSelector":{},"policyTypes":["Ingress"]}"#);
        assert_eq!(ingress.default_deny_gaps(), ["policyTypes lacks Egress"]);
        let egress = np(r#"{"podSelector":{},"policyTypes":["Egress"]}"#);
        assert_eq!(egress.default_deny_gaps(), ["policyTypes lacks Ingress"]);
    }

    #[test]
    fn a_pod_selector_is_not() {
        let p =
            np(r#"{"podSelector":{"matchLabels":{"app":"x"}},"policyTypes":["Ingress","Egress"]}"#);
        assert_eq!(p.default_deny_gaps(), ["its podSelector is not empty"]);
        let p = np(
            r#"{"podSelector":{"matchExpressions":[{"key":"a","operator":"Exists"}]},"policyTypes":["Ingress","Egress"]}"#,
        );
        assert!(!p.is_default_deny());
    }

    #[test]
    fn omitted_policy_types_follow_kubernetes_defaulting() {
        let p = np(r#"{"podSelector":{}}"#);
        assert_eq!(
            p.default_deny_gaps(),
            ["policyTypes is omitted, which Kubernetes reads as no Egress"]
        );
        // Egress rules make Kubernetes add Egress: both directions isolated,
        // the egress rule an explicit opening.
        let p = np(r#"{"podSelector":{},"egress":[{"to":[{"podSelector":{}}]}]}"#);
        assert!(p.is_default_deny());
        let p = np(r#"{"podSelector":{},"egress":[{}]}"#);
        assert_eq!(
            p.default_deny_gaps(),
            ["egress[0] allows all egress traffic"]
        );
    }

    #[test]
    fn an_allow_all_rule_is_not() {
        let p = np(r#"{"podSelector":{},"policyTypes":["Ingress","Egress"],"ingress":[{}]}"#);
        assert_eq!(
            p.default_deny_gaps(),
            ["ingress[0] allows all ingress traffic"]
        );
        let p = np(
            r#"{"podSelector":{},"policyTypes":["Ingress","Egress"],"egress":[{"to":[{"podSelector":{}}]},{"to":[],"ports":[]}]}"#,
        );
        assert_eq!(
            p.default_deny_gaps(),
            ["egress[1] allows all egress traffic"]
        );
        let p = np(
            r#"{"podSelector":{"matchLabels":{"a":"b"}},"policyTypes":["Ingress"],"ingress":[{}]}"#,
        );
        assert_eq!(p.default_deny_gaps().len(), 3);
    }
}
