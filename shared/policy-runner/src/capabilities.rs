//! Host capabilities: the Kubernetes lookups a context-aware policy makes,
//! and where their answers come from (a kwctl replay session, or any other
//! [`HostCapabilities`] implementation a tool provides).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::metadata::ContextAwareResource;

/// A Kubernetes lookup made by a policy through the `kubewarden` binding,
/// namespace `kubernetes`.
///
/// Variant and field names are those of policy-evaluator's
/// `CallbackRequestType`, so that serde_yaml reads and writes them exactly as
/// kwctl records them (`!KubernetesGetResource` with snake_case fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KubernetesRequest {
    /// `kubernetes/get_resource`: one object by name.
    KubernetesGetResource {
        /// apiVersion of the resource.
        api_version: String,
        /// Kind of the resource.
        kind: String,
        /// Object name.
        name: String,
        /// Namespace, `None` for cluster-scoped resources.
        #[serde(default)]
        namespace: Option<String>,
        /// Whether the policy asked to bypass the host's cache.
        #[serde(default)]
        disable_cache: bool,
        /// Field masks (recent SDKs); absent means `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_masks: Option<BTreeSet<String>>,
    },
    /// `kubernetes/list_resources_by_namespace`.
    KubernetesListResourceNamespace {
        /// apiVersion of the resource.
        api_version: String,
        /// Kind of the resource.
        kind: String,
        /// Namespace to list.
        namespace: String,
        /// Label selector, if any.
        #[serde(default)]
        label_selector: Option<String>,
        /// Field selector, if any.
        #[serde(default)]
        field_selector: Option<String>,
        /// Field masks (recent SDKs); absent means `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_masks: Option<BTreeSet<String>>,
    },
    /// `kubernetes/list_resources_all`.
    KubernetesListResourceAll {
        /// apiVersion of the resource.
        api_version: String,
        /// Kind of the resource.
        kind: String,
        /// Label selector, if any.
        #[serde(default)]
        label_selector: Option<String>,
        /// Field selector, if any.
        #[serde(default)]
        field_selector: Option<String>,
        /// Field masks (recent SDKs); absent means `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_masks: Option<BTreeSet<String>>,
    },
}

// The JSON payloads the Kubewarden Rust SDK (0.17) sends; unknown fields are
// tolerated so newer SDKs keep working.
#[derive(Deserialize)]
struct GetResourcePayload {
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    disable_cache: bool,
    #[serde(default)]
    field_masks: Option<BTreeSet<String>>,
}

#[derive(Deserialize)]
struct ListNamespacePayload {
    api_version: String,
    kind: String,
    namespace: String,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
    #[serde(default)]
    field_masks: Option<BTreeSet<String>>,
}

#[derive(Deserialize)]
struct ListAllPayload {
    api_version: String,
    kind: String,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
    #[serde(default)]
    field_masks: Option<BTreeSet<String>>,
}

impl KubernetesRequest {
    /// Decodes the payload of a `kubewarden`/`kubernetes`/`operation` host
    /// call. `Ok(None)` means the operation is not one of the three lookups.
    pub fn from_host_call(operation: &str, payload: &[u8]) -> Result<Option<Self>> {
        let request = match operation {
            "get_resource" => {
                let p: GetResourcePayload = serde_json::from_slice(payload)
                    .context("invalid kubernetes/get_resource payload")?;
                Self::KubernetesGetResource {
                    api_version: p.api_version,
                    kind: p.kind,
                    name: p.name,
                    namespace: p.namespace,
                    disable_cache: p.disable_cache,
                    field_masks: p.field_masks,
                }
            }
            "list_resources_by_namespace" => {
                let p: ListNamespacePayload = serde_json::from_slice(payload)
                    .context("invalid kubernetes/list_resources_by_namespace payload")?;
                Self::KubernetesListResourceNamespace {
                    api_version: p.api_version,
                    kind: p.kind,
                    namespace: p.namespace,
                    label_selector: p.label_selector,
                    field_selector: p.field_selector,
                    field_masks: p.field_masks,
                }
            }
            "list_resources_all" => {
                let p: ListAllPayload = serde_json::from_slice(payload)
                    .context("invalid kubernetes/list_resources_all payload")?;
                Self::KubernetesListResourceAll {
                    api_version: p.api_version,
                    kind: p.kind,
                    label_selector: p.label_selector,
                    field_selector: p.field_selector,
                    field_masks: p.field_masks,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(request))
    }

    /// The resource type the request reads, for the contextAwareResources check.
    pub fn resource(&self) -> ContextAwareResource {
        match self {
            Self::KubernetesGetResource {
                api_version, kind, ..
            }
            | Self::KubernetesListResourceNamespace {
                api_version, kind, ..
            }
            | Self::KubernetesListResourceAll {
                api_version, kind, ..
            } => ContextAwareResource::new(api_version.clone(), kind.clone()),
        }
    }

    /// The request as kwctl writes it in a session file (YAML with a tag).
    pub fn to_session_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("<unserializable request: {e}>"))
    }
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

fn masks(value: &Option<BTreeSet<String>>) -> String {
    value
        .as_ref()
        .map_or_else(|| "null".to_owned(), |m| format!("{m:?}"))
}

impl fmt::Display for KubernetesRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KubernetesGetResource {
                api_version,
                kind,
                name,
                namespace,
                disable_cache,
                field_masks,
            } => write!(
                f,
                "!KubernetesGetResource {{api_version: {api_version}, kind: {kind}, name: {name}, namespace: {}, disable_cache: {disable_cache}, field_masks: {}}}",
                opt(namespace),
                masks(field_masks)
            ),
            Self::KubernetesListResourceNamespace {
                api_version,
                kind,
                namespace,
                label_selector,
                field_selector,
                field_masks,
            } => write!(
                f,
                "!KubernetesListResourceNamespace {{api_version: {api_version}, kind: {kind}, namespace: {namespace}, label_selector: {}, field_selector: {}, field_masks: {}}}",
                opt(label_selector),
                opt(field_selector),
                masks(field_masks)
            ),
            Self::KubernetesListResourceAll {
                api_version,
                kind,
                label_selector,
                field_selector,
                field_masks,
            } => write!(
                f,
                "!KubernetesListResourceAll {{api_version: {api_version}, kind: {kind}, label_selector: {}, field_selector: {}, field_masks: {}}}",
                opt(label_selector),
                opt(field_selector),
                masks(field_masks)
            ),
        }
    }
}

/// Why a [`HostCapabilities`] implementation produced no object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// The answerer has no answer for this request (e.g. a replay session
    /// without a matching exchange). Always a test-data problem: the case
    /// harness fails any case where this happens.
    #[error("{0}")]
    Unanswered(String),
    /// The answer is an error, as the cluster would give (e.g. NotFound);
    /// a replay session's `response: {type: Error}`.
    #[error("{0}")]
    Failed(String),
}

/// Answers a policy's Kubernetes lookups. The runner checks
/// `contextAwareResources` before asking, so implementations only answer.
pub trait HostCapabilities: Send + Sync {
    /// The JSON bytes to return to the guest, or why there are none.
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError>;
}

/// No cluster at all: every lookup is unanswered.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCluster;

impl HostCapabilities for NoCluster {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        Err(CapabilityError::Unanswered(format!(
            "no replay session given, cannot answer {request}"
        )))
    }
}

/// A recorded response, as kwctl writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RecordedResponse {
    /// The host returned this payload (a JSON document, as a string).
    Success {
        /// The JSON text handed to the guest.
        payload: String,
    },
    /// The host returned an error with this message.
    Error {
        /// The error message handed to the guest.
        message: String,
    },
}

/// One request/response pair of a replay session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// What the policy asked.
    pub request: KubernetesRequest,
    /// What the host answered.
    pub response: RecordedResponse,
}

// On disk, kwctl stores `request` as a *string* holding a tagged YAML
// document (`request: |\n  !KubernetesGetResource ...`). A hand-written file
// may also put the tagged mapping inline; both are accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    #[serde(rename = "type")]
    entry_type: String,
    request: serde_yaml::Value,
    response: RecordedResponse,
}

/// A kwctl `--replay-host-capabilities-interactions` session file.
///
/// Matching differs from kwctl on one point: kwctl replays exchanges strictly
/// in order, this looks a request up anywhere in the session (and allows it to
/// be answered many times), so that one compiled policy can evaluate many
/// objects against the same session. Every request field is compared,
/// `disable_cache` included, exactly as kwctl's equality does; so a session
/// written for this runner, in call order, also works with `kwctl run`.
#[derive(Debug, Clone, Default)]
pub struct ReplaySession {
    /// Where the session was read from, for messages.
    pub source: Option<PathBuf>,
    /// The exchanges, in file order.
    pub exchanges: Vec<Exchange>,
}

impl ReplaySession {
    /// Parses a session document; `source` only serves error messages.
    pub fn parse(yaml: &str, source: Option<&Path>) -> Result<Self> {
        let label = source.map_or_else(
            || "<inline session>".to_owned(),
            |p| p.display().to_string(),
        );
        let raw: Option<Vec<RawExchange>> = serde_yaml::from_str(yaml)
            .with_context(|| format!("invalid replay session {label}"))?;
        let mut exchanges = Vec::new();
        for (index, entry) in raw.unwrap_or_default().into_iter().enumerate() {
            if entry.entry_type != "Exchange" {
                bail!(
                    "replay session {label}, entry {index}: unknown type {:?} (expected Exchange)",
                    entry.entry_type
                );
            }
            let request: KubernetesRequest = match entry.request {
                serde_yaml::Value::String(text) => serde_yaml::from_str(&text),
                other => serde_yaml::from_value(other),
            }
            .with_context(|| {
                format!(
                    "replay session {label}, entry {index}: request is not a Kubernetes lookup \
                     (!KubernetesGetResource, !KubernetesListResourceNamespace or \
                     !KubernetesListResourceAll)"
                )
            })?;
            exchanges.push(Exchange {
                request,
                response: entry.response,
            });
        }
        Ok(Self {
            source: source.map(Path::to_path_buf),
            exchanges,
        })
    }

    /// Reads a session file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read replay session {}", path.display()))?;
        Self::parse(&text, Some(path))
    }
}

impl HostCapabilities for ReplaySession {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        match self.exchanges.iter().find(|e| &e.request == request) {
            Some(Exchange {
                response: RecordedResponse::Success { payload },
                ..
            }) => Ok(payload.clone().into_bytes()),
            Some(Exchange {
                response: RecordedResponse::Error { message },
                ..
            }) => Err(CapabilityError::Failed(message.clone())),
            None => {
                let recorded: Vec<String> = self
                    .exchanges
                    .iter()
                    .map(|e| e.request.to_string())
                    .collect();
                Err(CapabilityError::Unanswered(format!(
                    "replay session {} has no exchange for request {request}; recorded requests: [{}]",
                    self.source.as_ref().map_or_else(
                        || "<inline session>".to_owned(),
                        |p| p.display().to_string()
                    ),
                    recorded.join(", ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Exactly the shape `kwctl run --record-host-capabilities-interactions`
    // writes: the request is a string holding a tagged document.
    const KWCTL_SESSION: &str = r#"---
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: team-a
    namespace: null
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}'
- type: Exchange
  request: |
    !KubernetesListResourceNamespace
    api_version: networking.k8s.io/v1
    kind: NetworkPolicy
    namespace: team-a
    label_selector: null
    field_selector: null
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"List","items":[]}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: Namespace
    name: ghost
    namespace: null
    disable_cache: false
  response:
    type: Error
    message: namespaces "ghost" not found
"#;

    fn get_ns(name: &str) -> KubernetesRequest {
        KubernetesRequest::KubernetesGetResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: name.into(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        }
    }

    #[test]
    fn parses_kwctl_recorded_session() {
        let session = ReplaySession::parse(KWCTL_SESSION, None).unwrap();
        assert_eq!(session.exchanges.len(), 3);
        assert_eq!(session.exchanges[0].request, get_ns("team-a"));
        assert_eq!(
            session.exchanges[1].request,
            KubernetesRequest::KubernetesListResourceNamespace {
                api_version: "networking.k8s.io/v1".into(),
                kind: "NetworkPolicy".into(),
                namespace: "team-a".into(),
                label_selector: None,
                field_selector: None,
                field_masks: None,
            }
        );
    }

    #[test]
    fn parses_inline_tagged_requests() {
        let yaml = r#"
- type: Exchange
  request: !KubernetesListResourceAll
    api_version: v1
    kind: Namespace
    label_selector: gpu=true
  response:
    type: Success
    payload: '{"items":[]}'
"#;
        let session = ReplaySession::parse(yaml, None).unwrap();
        assert_eq!(
            session.exchanges[0].request,
            KubernetesRequest::KubernetesListResourceAll {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                label_selector: Some("gpu=true".into()),
                field_selector: None,
                field_masks: None,
            }
        );
    }

    #[test]
    fn answers_matching_requests_and_replays_errors() {
        let session = ReplaySession::parse(KWCTL_SESSION, None).unwrap();
        let payload = session.kubernetes(&get_ns("team-a")).unwrap();
        assert!(String::from_utf8(payload).unwrap().contains("\"team-a\""));
        // Lookups are not consumed: the same request is answered again.
        assert!(session.kubernetes(&get_ns("team-a")).is_ok());
        assert_eq!(
            session.kubernetes(&get_ns("ghost")),
            Err(CapabilityError::Failed(
                "namespaces \"ghost\" not found".into()
            ))
        );
    }

    #[test]
    fn missing_request_is_unanswered_and_named() {
        let session = ReplaySession::parse(KWCTL_SESSION, Some(Path::new("s.yml"))).unwrap();
        let Err(CapabilityError::Unanswered(msg)) = session.kubernetes(&get_ns("team-b")) else {
            panic!("expected Unanswered");
        };
        assert!(msg.contains("s.yml"), "{msg}");
        assert!(msg.contains("name: team-b"), "{msg}");
        assert!(msg.contains("kind: Namespace"), "{msg}");
    }

    #[test]
    fn disable_cache_is_compared_like_kwctl() {
        let session = ReplaySession::parse(KWCTL_SESSION, None).unwrap();
        let mut request = get_ns("team-a");
        if let KubernetesRequest::KubernetesGetResource { disable_cache, .. } = &mut request {
            *disable_cache = true;
        }
        assert!(matches!(
            session.kubernetes(&request),
            Err(CapabilityError::Unanswered(_))
        ));
    }

    #[test]
    fn decodes_sdk_payloads() {
        // Byte-for-byte what kubewarden-policy-sdk 0.17 serializes.
        let payload = br#"{"api_version":"v1","kind":"Namespace","name":"team-a","namespace":null,"disable_cache":false,"field_masks":null}"#;
        let request = KubernetesRequest::from_host_call("get_resource", payload)
            .unwrap()
            .unwrap();
        assert_eq!(request, get_ns("team-a"));
        assert!(
            KubernetesRequest::from_host_call("can_i", b"{}")
                .unwrap()
                .is_none()
        );
        assert!(KubernetesRequest::from_host_call("get_resource", b"{").is_err());
    }

    #[test]
    fn written_yaml_reads_back() {
        let request = get_ns("team-a");
        let text = request.to_session_yaml();
        assert!(text.starts_with("!KubernetesGetResource"), "{text}");
        let back: KubernetesRequest = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn malformed_sessions_are_errors() {
        assert!(
            ReplaySession::parse(
                "- type: Exchange\n  request: 3\n  response: {type: Success, payload: ''}\n",
                None
            )
            .is_err()
        );
        assert!(
            ReplaySession::parse(
                "- type: Other\n  request: ''\n  response: {type: Success, payload: ''}\n",
                None
            )
            .is_err()
        );
        let err = ReplaySession::from_file(Path::new("/nonexistent/s.yml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/s.yml"));
    }
}
