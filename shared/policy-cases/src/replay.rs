//! The Kubernetes lookups a context-aware policy makes through the
//! `kubewarden`/`kubernetes` host capability, and kwctl's replay sessions
//! that answer them (`kwctl run --replay-host-capabilities-interactions`).
//! A policy may read only the types its `metadata.yml` lists under
//! `contextAwareResources` ([`ContextAwareResource`]). The wasm host
//! (policy-runner) and the native [`crate::InMemoryCluster`] answer a call
//! through [`kubernetes_call`], recording a [`HostCall`].

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::metadata::ContextAwareResource;

/// A Kubernetes lookup made by a policy through the `kubewarden` binding,
/// namespace `kubernetes`: `get_resource`, `list_resources_by_namespace`,
/// `list_resources_all`.
///
/// Variant and field names are those of policy-evaluator's
/// `CallbackRequestType`, so that serde_yaml reads and writes them exactly as
/// kwctl records them (`!KubernetesGetResource` with snake_case fields);
/// `namespace: None` is a cluster-scoped resource, absent `field_masks`
/// (recent SDKs only) are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KubernetesRequest {
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        #[serde(default)]
        disable_cache: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesListResourceNamespace {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesListResourceAll {
        api_version: String,
        kind: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
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
        let (Self::KubernetesGetResource {
            api_version, kind, ..
        }
        | Self::KubernetesListResourceNamespace {
            api_version, kind, ..
        }
        | Self::KubernetesListResourceAll {
            api_version, kind, ..
        }) = self;
        ContextAwareResource::new(api_version.clone(), kind.clone())
    }
}

/// `!KubernetesGetResource {api_version: v1, kind: Namespace, ...}`: every
/// field in kwctl's order, absent ones as `null`.
impl fmt::Display for KubernetesRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = serde_yaml::to_value(self).unwrap_or_default();
        let serde_yaml::Value::Tagged(tagged) = value else {
            return write!(f, "{value:?}");
        };
        let mut fields: Vec<String> = tagged
            .value
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(key, value)| format!("{}: {}", plain(key), plain(value)))
            .collect();
        if !fields.iter().any(|field| field.starts_with("field_masks:")) {
            fields.push("field_masks: null".to_owned());
        }
        write!(f, "{} {{{}}}", tagged.tag, fields.join(", "))
    }
}

fn plain(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(|i| format!("{:?}", plain(i))).collect();
            format!("{{{}}}", items.join(", "))
        }
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

/// What became of one host call made by the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCallOutcome {
    /// Answered with an object.
    Answered,
    /// Answered with an error the cluster would give (replayed `type: Error`).
    Failed(String),
    /// Refused: the resource is not in `contextAwareResources`.
    Denied(String),
    /// Nobody could answer (missing from the replay session): a fixture bug.
    Unanswered(String),
    /// A binding/namespace/operation this host does not offer, or a payload
    /// it could not decode.
    Unsupported(String),
}

/// One host call made by the guest: its waPC binding, namespace and
/// operation (`kubewarden`/`kubernetes`/`get_resource`), the decoded lookup
/// when it was one, and what the host did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    pub request: Option<KubernetesRequest>,
    pub outcome: HostCallOutcome,
}

impl fmt::Display for HostCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.binding, self.namespace, self.operation)?;
        if let Some(request) = &self.request {
            write!(f, " {request}")?;
        }
        match &self.outcome {
            HostCallOutcome::Answered => write!(f, " -> answered"),
            HostCallOutcome::Failed(m) => write!(f, " -> error response: {m}"),
            HostCallOutcome::Denied(m) => write!(f, " -> denied: {m}"),
            HostCallOutcome::Unanswered(m) => write!(f, " -> UNANSWERED: {m}"),
            HostCallOutcome::Unsupported(m) => write!(f, " -> unsupported: {m}"),
        }
    }
}

/// Answers the `kubewarden`/`kubernetes`/`operation` call with `payload`
/// the way policy-server does: decodes the SDK's lookup request, refuses a
/// resource type outside `allowed` (`None`: every type is allowed), and asks
/// `answer` otherwise. Returns the call's record and what the guest gets
/// (the JSON answer, or the host's error text).
pub fn kubernetes_call(
    operation: &str,
    payload: &[u8],
    allowed: Option<&[ContextAwareResource]>,
    answer: impl FnOnce(&KubernetesRequest) -> Result<Vec<u8>, CapabilityError>,
) -> (HostCall, Result<Vec<u8>, String>) {
    type Outcome = fn(String) -> HostCallOutcome;
    let request = KubernetesRequest::from_host_call(operation, payload);
    let answered: Result<Vec<u8>, (Outcome, String)> = match &request {
        Err(e) => Err((HostCallOutcome::Unsupported, format!("{e:#}"))),
        Ok(None) => Err((
            HostCallOutcome::Unsupported,
            format!(
                "host capability kubernetes/{operation} is not provided by the test host \
                 (get_resource, list_resources_by_namespace and list_resources_all are)"
            ),
        )),
        Ok(Some(request)) => match request.resource() {
            // policy-server's wording, plus where the allow-list comes from.
            resource if allowed.is_some_and(|allowed| !allowed.contains(&resource)) => Err((
                HostCallOutcome::Denied,
                format!(
                    "Policy has not been granted access to Kubernetes {resource} resources \
                     (not listed in contextAwareResources of its metadata.yml)"
                ),
            )),
            _ => answer(request).map_err(|e| match e {
                CapabilityError::Failed(m) => (HostCallOutcome::Failed as Outcome, m),
                CapabilityError::Unanswered(m) => (HostCallOutcome::Unanswered as Outcome, m),
            }),
        },
    };
    let (outcome, result) = match answered {
        Ok(bytes) => (HostCallOutcome::Answered, Ok(bytes)),
        Err((outcome, message)) => (outcome(message.clone()), Err(message)),
    };
    let call = HostCall {
        binding: gpu_policy_core::host::BINDING.to_owned(),
        namespace: gpu_policy_core::host::NAMESPACE.to_owned(),
        operation: operation.to_owned(),
        request: request.ok().flatten(),
        outcome,
    };
    (call, result)
}

/// Why a lookup produced no object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// Nobody has an answer (a replay session without a matching exchange):
    /// always a test-data problem, which fails the case.
    #[error("{0}")]
    Unanswered(String),
    /// An error the cluster would give (a session's `type: Error`).
    #[error("{0}")]
    Failed(String),
}

/// A recorded response, as kwctl writes it: the JSON text handed to the
/// guest, or the host's error message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RecordedResponse {
    Success { payload: String },
    Error { message: String },
}

/// One request/response pair of a replay session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub request: KubernetesRequest,
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
    /// In file order.
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
            Some(Exchange { response, .. }) => match response {
                RecordedResponse::Success { payload } => Ok(payload.clone().into_bytes()),
                RecordedResponse::Error { message } => {
                    Err(CapabilityError::Failed(message.clone()))
                }
            },
            None => {
                let recorded: Vec<String> = self
                    .exchanges
                    .iter()
                    .map(|e| e.request.to_string())
                    .collect();
                Err(CapabilityError::Unanswered(format!(
                    "replay session {} has no exchange for request {request}; recorded requests: [{}]",
                    label(self.source.as_deref()),
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
}

fn label(source: Option<&Path>) -> String {
    source.map_or_else(
        || "<inline session>".to_owned(),
        |p| p.display().to_string(),
    )
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
pub(crate) mod tests {
    use super::*;

    // Exactly the shape `kwctl run --record-host-capabilities-interactions`
    // writes: the request is a string holding a tagged document.
    pub(crate) const KWCTL_SESSION: &str = r#"---
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
        let asked = [get_ns("team-a"), get_ns("ghost"), get_ns("team-a")];
        let unused = session.unused(&asked);
        assert_eq!(unused.len(), 1);
        assert!(matches!(
            unused[0].request,
            KubernetesRequest::KubernetesListResourceNamespace { .. }
        ));
        assert_eq!(session.unused(&[]).len(), 3);
        // A hand-written session may put the tagged request inline.
        let yaml = r#"
- type: Exchange
  request: !KubernetesListResourceAll
    api_version: v1
    kind: Namespace
    label_selector: gpu=true
    field_masks: [metadata.name, metadata.labels]
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
                field_masks: Some(["metadata.name".into(), "metadata.labels".into()].into()),
            }
        );
        assert_eq!(
            session.exchanges[0].request.to_string(),
            "!KubernetesListResourceAll {api_version: v1, kind: Namespace, label_selector: gpu=true, \
             field_selector: null, field_masks: {\"metadata.labels\", \"metadata.name\"}}"
        );
    }

    #[test]
    fn answers_what_was_recorded() {
        let session = ReplaySession::parse(KWCTL_SESSION, Some(Path::new("s.yml"))).unwrap();
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
        // A missing request is unanswered, and named.
        let Err(CapabilityError::Unanswered(msg)) = session.answer(&get_ns("team-b")) else {
            panic!("expected Unanswered");
        };
        for part in ["s.yml", "name: team-b", "kind: Namespace"] {
            assert!(msg.contains(part), "{msg}");
        }
        // disable_cache is compared, like kwctl does.
        let mut request = get_ns("team-a");
        if let KubernetesRequest::KubernetesGetResource { disable_cache, .. } = &mut request {
            *disable_cache = true;
        }
        assert!(matches!(
            session.answer(&request),
            Err(CapabilityError::Unanswered(_))
        ));
        assert_eq!(
            request.to_string(),
            "!KubernetesGetResource {api_version: v1, kind: Namespace, name: team-a, \
             namespace: null, disable_cache: true, field_masks: null}"
        );
    }

    #[test]
    fn decodes_sdk_payloads() {
        // Byte-for-byte what kubewarden-policy-sdk 0.17 serializes.
        let payload = br#"{"api_version":"v1","kind":"Namespace","name":"team-a","namespace":null,"disable_cache":false,"field_masks":null}"#;
        let request = KubernetesRequest::from_host_call("get_resource", payload)
            .unwrap()
            .unwrap();
        assert_eq!(request, get_ns("team-a"));
        assert_eq!(
            KubernetesRequest::from_host_call("can_i", b"{}").ok(),
            Some(None)
        );
        for (operation, payload) in [
            ("get_resource", &b"{"[..]),
            ("list_resources_by_namespace", br#"{"kind": "Pod"}"#),
        ] {
            let err = KubernetesRequest::from_host_call(operation, payload).unwrap_err();
            let wanted = format!("invalid kubernetes/{operation} payload");
            assert!(format!("{err:#}").contains(&wanted), "{err:#}");
        }
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
    fn malformed_sessions_are_errors() {
        for yaml in [
            "- type: Exchange\n  request: 3\n  response: {type: Success, payload: ''}\n",
            "- type: Other\n  request: ''\n  response: {type: Success, payload: ''}\n",
        ] {
            assert!(ReplaySession::parse(yaml, None).is_err(), "{yaml}");
        }
        let err = ReplaySession::from_file(Path::new("/nonexistent/s.yml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/s.yml"));
    }

    const SECRET: &[u8] = br#"{"api_version":"v1","kind":"Secret","name":"s","namespace":"ns","disable_cache":false}"#;

    #[test]
    fn host_calls_are_refused_answered_and_recorded() {
        let allowed = [ContextAwareResource::new("v1", "Namespace")];
        let (call, result) = kubernetes_call("get_resource", SECRET, Some(&allowed), |_| {
            unreachable!("a refused lookup is not asked")
        });
        let err = result.unwrap_err();
        assert!(err.contains("Kubernetes v1/Secret resources"), "{err}");
        assert!(matches!(call.outcome, HostCallOutcome::Denied(_)));
        assert!(
            call.to_string()
                .starts_with("kubewarden/kubernetes/get_resource !KubernetesGetResource")
        );
        let (call, result) = kubernetes_call("get_resource", SECRET, None, |_| Ok(b"{}".to_vec()));
        assert_eq!(result.unwrap(), b"{}");
        assert_eq!(call.outcome, HostCallOutcome::Answered);
        let (call, _) = kubernetes_call("get_resource", SECRET, None, |_| {
            Err(CapabilityError::Unanswered("nobody".into()))
        });
        assert!(
            call.to_string().ends_with("-> UNANSWERED: nobody"),
            "{call}"
        );
        let (call, result) = kubernetes_call("can_i", b"{}", None, |_| Ok(Vec::new()));
        assert!(result.is_err());
        assert!(matches!(call.outcome, HostCallOutcome::Unsupported(_)));
        let (call, _) = kubernetes_call("get_resource", b"{", None, |_| Ok(Vec::new()));
        assert!(call.request.is_none());
        assert!(matches!(call.outcome, HostCallOutcome::Unsupported(_)));
    }

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
        assert_eq!(
            parse_context_aware_resources(yaml).unwrap(),
            [
                ContextAwareResource::new("v1", "Namespace"),
                ContextAwareResource::new("networking.k8s.io/v1", "NetworkPolicy"),
            ]
        );
        // A missing key means no access.
        assert_eq!(parse_context_aware_resources("rules: []\n").unwrap(), []);
        let err = load_context_aware_resources(Path::new("/nonexistent/metadata.yml")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/metadata.yml"));
    }
}
