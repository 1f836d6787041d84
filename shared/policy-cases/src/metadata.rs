//! The part of a policy's `metadata.yml` the host needs: `contextAwareResources`.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One Kubernetes resource type a policy may read through host capabilities,
/// as listed in `metadata.yml` under `contextAwareResources`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

// Only the field we need; the rest of metadata.yml (rules, annotations, ...)
// is kwctl's business.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataFile {
    #[serde(default)]
    context_aware_resources: Vec<ContextAwareResource>,
}

/// Parses the `contextAwareResources` list of a `metadata.yml` document.
/// A document without the key yields an empty list (no access), as in
/// policy-server.
pub fn parse_context_aware_resources(yaml: &str) -> Result<Vec<ContextAwareResource>> {
    let metadata: MetadataFile = serde_yaml::from_str(yaml)?;
    Ok(metadata.context_aware_resources)
}

/// Reads `contextAwareResources` from a policy's `metadata.yml` file.
pub fn load_context_aware_resources(path: &Path) -> Result<Vec<ContextAwareResource>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy metadata {}", path.display()))?;
    parse_context_aware_resources(&text).with_context(|| {
        format!(
            "cannot parse contextAwareResources in policy metadata {}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_context_aware_resources() {
        let yaml = r#"
rules: []
mutating: false
contextAware: true
contextAwareResources:
  - apiVersion: v1
    kind: Namespace
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
annotations:
  io.kubewarden.policy.title: x
"#;
        let resources = parse_context_aware_resources(yaml).unwrap();
        assert_eq!(
            resources,
            vec![
                ContextAwareResource::new("v1", "Namespace"),
                ContextAwareResource::new("networking.k8s.io/v1", "NetworkPolicy"),
            ]
        );
    }

    #[test]
    fn missing_key_means_no_access() {
        assert!(
            parse_context_aware_resources("rules: []\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_context_aware_resources(Path::new("/nonexistent/metadata.yml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/metadata.yml"));
    }
}
