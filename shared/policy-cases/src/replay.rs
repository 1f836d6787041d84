//! The Kubernetes lookups a context-aware policy makes through the
//! `kubewarden`/`kubernetes` host capability, and kwctl's replay sessions
//! that answer them (`kwctl run --replay-host-capabilities-interactions`).
//! Both the wasm host (policy-runner) and the native in-memory cluster
//! ([`crate::InMemoryCluster`]) answer from a [`ReplaySession`] through
//! [`ReplaySession::answer`].

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

impl KubernetesRequest {
    /// Decodes the payload of a `kubewarden`/`kubernetes`/`operation` host
    /// call. `Ok(None)` means the operation is not one of the three lookups.
    pub fn from_host_call(operation: &str, payload: &[u8]) -> Result<Option<Self>> {
        // The SDK's JSON payloads (0.17) carry the variant's fields under the
        // same names; unknown fields are tolerated so newer SDKs keep working.
        let variant = match operation {
            "get_resource" => "KubernetesGetResource",
            "list_resources_by_namespace" => "KubernetesListResourceNamespace",
            "list_resources_all" => "KubernetesListResourceAll",
            _ => return Ok(None),
        };
        let invalid = || format!("invalid kubernetes/{operation} payload");
        let fields: serde_json::Value = serde_json::from_slice(payload).with_context(invalid)?;
        let tagged =
            serde_json::Value::Object(serde_json::Map::from_iter([(variant.to_owned(), fields)]));
        serde_json::from_value(tagged)
            .map(Some)
            .with_context(invalid)
    }

    /// `kubernetes/get_resource` of the `v1` Namespace `name`, as the
    /// policies ask for it: cache allowed, no field masks.
    pub fn get_namespace(name: &str) -> Self {
        Self::KubernetesGetResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: name.into(),
            namespace: None,
            disable_cache: false,
            field_masks: None,
        }
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

/// Why a lookup produced no object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// Nobody has an answer for this request (e.g. a replay session
    /// without a matching exchange). Always a test-data problem: the case
    /// harness fails any case where this happens.
    #[error("{0}")]
    Unanswered(String),
    /// The answer is an error, as the cluster would give (e.g. NotFound);
    /// a replay session's `response: {type: Error}`.
    #[error("{0}")]
    Failed(String),
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
/// written for the case runs, in call order, also works with `kwctl run`.
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
        let label = label(source);
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

    /// The recorded answer to `request`: the payload of the first exchange
    /// whose request is equal to it (every field compared), its recorded
    /// error, or [`CapabilityError::Unanswered`] naming the request and
    /// every recorded one.
    pub fn answer(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
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
                    self.label(),
                    recorded.join(", ")
                )))
            }
        }
    }

    /// The exchanges whose request is none of `asked`: recorded answers no
    /// evaluation needed (a stale session, or a lookup the policy no longer
    /// makes).
    pub fn unused<'a>(
        &self,
        asked: impl IntoIterator<Item = &'a KubernetesRequest>,
    ) -> Vec<&Exchange> {
        let asked: Vec<&KubernetesRequest> = asked.into_iter().collect();
        self.exchanges
            .iter()
            .filter(|e| !asked.contains(&&e.request))
            .collect()
    }

    /// The session's file, or `<inline session>`, for messages.
    pub fn label(&self) -> String {
        label(self.source.as_deref())
    }
}

fn label(source: Option<&Path>) -> String {
    source.map_or_else(
        || "<inline session>".to_owned(),
        |p| p.display().to_string(),
    )
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
        KubernetesRequest::get_namespace(name)
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
        let payload = session.answer(&get_ns("team-a")).unwrap();
        assert!(String::from_utf8(payload).unwrap().contains("\"team-a\""));
        // Lookups are not consumed: the same request is answered again.
        assert!(session.answer(&get_ns("team-a")).is_ok());
        assert_eq!(
            session.answer(&get_ns("ghost")),
            Err(CapabilityError::Failed(
                "namespaces \"ghost\" not found".into()
            ))
        );
    }

    #[test]
    fn missing_request_is_unanswered_and_named() {
        let session = ReplaySession::parse(KWCTL_SESSION, Some(Path::new("s.yml"))).unwrap();
        let Err(CapabilityError::Unanswered(msg)) = session.answer(&get_ns("team-b")) else {
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
            session.answer(&request),
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
        let err =
            KubernetesRequest::from_host_call("list_resources_by_namespace", br#"{"kind": "Pod"}"#)
                .unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid kubernetes/list_resources_by_namespace payload")
        );
        // Defaults for what older SDKs leave out, unknown fields ignored.
        let listed = KubernetesRequest::from_host_call(
            "list_resources_all",
            br#"{"api_version": "v1", "kind": "Namespace", "future": 1}"#,
        )
        .unwrap();
        assert!(matches!(
            listed,
            Some(KubernetesRequest::KubernetesListResourceAll {
                label_selector: None,
                ..
            })
        ));
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
    fn unused_exchanges_are_listed() {
        let session = ReplaySession::parse(KWCTL_SESSION, None).unwrap();
        let asked = [get_ns("team-a"), get_ns("ghost"), get_ns("team-a")];
        let unused = session.unused(&asked);
        assert_eq!(unused.len(), 1);
        assert!(matches!(
            unused[0].request,
            KubernetesRequest::KubernetesListResourceNamespace { .. }
        ));
        assert_eq!(session.unused(&[]).len(), 3);
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
