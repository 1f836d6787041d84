//! One host call made by a policy, and the part of answering a
//! `kubernetes` capability call that every test host shares (the wasm host
//! of policy-runner and the native [`crate::InMemoryCluster`]): decoding the
//! SDK's payload, refusing resources outside `contextAwareResources` with
//! policy-server's wording, and recording what happened.

use std::fmt;

use crate::metadata::ContextAwareResource;
use crate::replay::{CapabilityError, KubernetesRequest};

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

/// One host call made by the guest during the last waPC call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCall {
    /// waPC binding, e.g. `kubewarden`.
    pub binding: String,
    /// waPC namespace, e.g. `kubernetes`.
    pub namespace: String,
    /// waPC operation, e.g. `get_resource`.
    pub operation: String,
    /// The decoded Kubernetes lookup, when it was one.
    pub request: Option<KubernetesRequest>,
    /// What the host did.
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
    let (request, outcome, result) = match KubernetesRequest::from_host_call(operation, payload) {
        Ok(Some(request)) => lookup(request, allowed, answer),
        Ok(None) => {
            let message = format!(
                "host capability kubernetes/{operation} is not provided by the test host \
                 (get_resource, list_resources_by_namespace and list_resources_all are)"
            );
            (
                None,
                HostCallOutcome::Unsupported(message.clone()),
                Err(message),
            )
        }
        Err(e) => {
            let message = format!("{e:#}");
            (
                None,
                HostCallOutcome::Unsupported(message.clone()),
                Err(message),
            )
        }
    };
    let call = HostCall {
        binding: gpu_policy_core::host::BINDING.to_owned(),
        namespace: gpu_policy_core::host::NAMESPACE.to_owned(),
        operation: operation.to_owned(),
        request,
        outcome,
    };
    (call, result)
}

type Answered = (
    Option<KubernetesRequest>,
    HostCallOutcome,
    Result<Vec<u8>, String>,
);

fn lookup(
    request: KubernetesRequest,
    allowed: Option<&[ContextAwareResource]>,
    answer: impl FnOnce(&KubernetesRequest) -> Result<Vec<u8>, CapabilityError>,
) -> Answered {
    let resource = request.resource();
    if allowed.is_some_and(|allowed| !allowed.contains(&resource)) {
        // policy-server's wording, plus where the allow-list comes from.
        let message = format!(
            "Policy has not been granted access to Kubernetes {resource} resources \
             (not listed in contextAwareResources of its metadata.yml)"
        );
        return (
            Some(request),
            HostCallOutcome::Denied(message.clone()),
            Err(message),
        );
    }
    match answer(&request) {
        Ok(bytes) => (Some(request), HostCallOutcome::Answered, Ok(bytes)),
        Err(CapabilityError::Failed(m)) => {
            (Some(request), HostCallOutcome::Failed(m.clone()), Err(m))
        }
        Err(CapabilityError::Unanswered(m)) => (
            Some(request),
            HostCallOutcome::Unanswered(m.clone()),
            Err(m),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = br#"{"api_version":"v1","kind":"Secret","name":"s","namespace":"ns","disable_cache":false}"#;

    #[test]
    fn refuses_resources_outside_the_allow_list() {
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
    }

    #[test]
    fn answers_and_records_every_outcome() {
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
}
