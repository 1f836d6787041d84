//! The Kubewarden host's `kubernetes` capability, behind [`KubernetesHost`]
//! so that context-aware rules run the same way in wasm (through waPC) and
//! natively (tests, fuzzing, benchmarks: an in-memory cluster).
//!
//! A failed lookup becomes a [`LookupError`] that says in a few words why
//! it failed (the rule says what it tried to read); the host's own error
//! text, which carries a stack backtrace when the host runs with
//! `RUST_BACKTRACE` set, never reaches a user message.

use std::fmt;

/// The waPC binding and namespace of Kubewarden's Kubernetes capability.
pub const BINDING: &str = "kubewarden";
/// See [`BINDING`].
pub const NAMESPACE: &str = "kubernetes";

/// Answers a `kubernetes` capability call: `operation` (`get_resource`,
/// `list_resources_by_namespace`, ...) with its JSON payload, the JSON
/// answer back. `Err` carries the host's raw error text, for
/// [`LookupError::from_host`] to classify.
pub trait KubernetesHost {
    /// One call.
    fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String>;
}

/// The real host, over waPC.
#[derive(Debug, Default, Clone, Copy)]
pub struct WapcHost;

impl KubernetesHost for WapcHost {
    fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        kubewarden_policy_sdk::wapc_guest::host_call(BINDING, NAMESPACE, operation, payload)
            .map_err(|e| e.to_string())
    }
}

/// `get_resource`: the JSON of object `name` of `api_version` `kind`, in
/// `namespace` (`None`: a cluster-scoped kind), through the host's cache.
/// The request is the SDK's `GetResourceRequest`, written out: its type
/// needs the SDK's cluster-context feature (k8s-openapi).
pub fn get_resource(
    host: &dyn KubernetesHost,
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Vec<u8>, LookupError> {
    let request = serde_json::json!({
        "api_version": api_version,
        "kind": kind,
        "name": name,
        "namespace": namespace,
        "disable_cache": false,
    });
    let payload = serde_json::to_vec(&request).map_err(|_| LookupError::Unreadable)?;
    host.call("get_resource", &payload)
        .map_err(|text| LookupError::from_host(&text))
}

/// A host without a cluster: every lookup fails as unreachable. Natively,
/// the policies that make no lookup run with it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCluster;

impl KubernetesHost for NoCluster {
    fn call(&self, _operation: &str, _payload: &[u8]) -> Result<Vec<u8>, String> {
        Err("no cluster is connected".to_owned())
    }
}

/// Why a lookup failed, in words fit for a rejection message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    /// The object does not exist.
    NotFound,
    /// The policy may not read this kind (not granted, or RBAC).
    Forbidden,
    /// The host could not answer (no cluster, API server unreachable).
    Unreachable,
    /// The host answered with something that is not the expected object.
    Unreadable,
}

impl LookupError {
    /// Classifies the host's raw error text. The text itself is dropped: it
    /// can hold a multi-line backtrace, and names the host's internals.
    pub fn from_host(host_text: &str) -> Self {
        let text = host_text.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        if any(&["cannot find", "not found", "notfound", "no such"]) {
            LookupError::NotFound
        } else if any(&[
            "forbidden",
            "not allowed",
            "not authorized",
            "unauthorized",
            "contextawareresources",
            "not been granted",
            "permission",
        ]) {
            LookupError::Forbidden
        } else {
            LookupError::Unreachable
        }
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LookupError::NotFound => "it does not exist",
            LookupError::Forbidden => {
                "the policy may not read it (contextAwareResources of the policy, or RBAC)"
            }
            LookupError::Unreachable => "the Kubernetes API could not be reached",
            LookupError::Unreadable => "the host's answer could not be read",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn host_text_is_classified_and_never_repeated() {
        let backtrace = "Callback evaluation failure: Cannot find v1/Namespace named 'ghost' in namespace 'None'\n\nStack backtrace:\n   0: anyhow::error::<impl anyhow::Error>::msg\n   1: policy_evaluator::...";
        let e = LookupError::from_host(backtrace);
        assert_eq!(e, LookupError::NotFound);
        assert_eq!(e.to_string(), "it does not exist");
        for (host, expected) in [
            (
                "namespaces \"x\" is forbidden: User cannot get",
                LookupError::Forbidden,
            ),
            (
                "resource v1/Secret is not allowed by contextAwareResources",
                LookupError::Forbidden,
            ),
            // policy-server / kwctl for a kind outside contextAwareResources
            (
                "Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported.",
                LookupError::Forbidden,
            ),
            (
                "error trying to connect: tcp connect error",
                LookupError::Unreachable,
            ),
            ("", LookupError::Unreachable),
        ] {
            assert_eq!(LookupError::from_host(host), expected, "{host}");
        }
        let e = NoCluster.call("get_resource", b"{}").unwrap_err();
        assert_eq!(LookupError::from_host(&e), LookupError::Unreachable);
        for e in [
            LookupError::NotFound,
            LookupError::Forbidden,
            LookupError::Unreachable,
            LookupError::Unreadable,
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }
}
