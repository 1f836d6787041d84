//! Where the wasm host's answers to a policy's Kubernetes lookups come
//! from: a kwctl replay session, or any other [`HostCapabilities`]
//! implementation a tool provides. The lookup and session formats are
//! policy-cases' ([`policy_cases::replay`]), shared with the native runs.

pub use policy_cases::replay::{
    CapabilityError, Exchange, KubernetesRequest, RecordedResponse, ReplaySession,
};

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

/// A session answers what it recorded ([`ReplaySession::answer`]).
impl HostCapabilities for ReplaySession {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        self.answer(request)
    }
}
