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
//! - [`cases`]: the `test_data/cases.yaml` format, discovery and reporting
//!   (format documented in this crate's README.md).
//!
//! Native only: never built for wasm.

pub mod capabilities;
pub mod cases;
pub mod metadata;
pub mod runner;

pub use capabilities::{
    CapabilityError, Exchange, HostCapabilities, KubernetesRequest, NoCluster, RecordedResponse,
    ReplaySession,
};
pub use metadata::{ContextAwareResource, load_context_aware_resources};
pub use runner::{
    CompiledPolicy, HostCall, HostCallOutcome, LoadTimings, PolicyOptions, PolicyRunner,
    SettingsResponse, ValidationResponse, admission_request,
};
