//! A waPC host that runs Kubewarden policy `.wasm` modules the way
//! policy-server and kwctl do (wasmtime, WASI enabled, kwctl's payloads),
//! for the wasm integration tests and for tools (benchmarks, offline checks).
//!
//! - [`runner`]: compile once ([`CompiledPolicy`]), instantiate
//!   ([`PolicyRunner`]), call `validate_settings`, `validate`,
//!   `protocol_version`.
//! - [`capabilities`]: Kubernetes lookups answered by a kwctl replay session
//!   or any [`HostCapabilities`] implementation; refused outside the policy's
//!   `contextAwareResources`.
//! - [`cases`]: the wasm run of every policy's `test_data/` (run_workspace,
//!   run_policy).
//!
//! The formats (cases.yaml, replay sessions, metadata.yml's
//! `contextAwareResources`), the responses and the case run itself are
//! policy-cases', which the native runs share; the names are re-exported
//! here. Native only: never built for wasm.

pub mod capabilities;
pub mod cases;
pub mod runner;

pub use policy_cases::metadata;

pub use capabilities::{
    CapabilityError, Exchange, HostCapabilities, KubernetesRequest, NoCluster, RecordedResponse,
    ReplaySession,
};
pub use metadata::{ContextAwareResource, load_context_aware_resources};
pub use policy_cases::host_call::{HostCall, HostCallOutcome};
pub use policy_cases::response::{
    SettingsResponse, ValidationResponse, admission_request, validate_payload,
};
pub use runner::{CompiledPolicy, LoadTimings, PolicyOptions, PolicyRunner};
