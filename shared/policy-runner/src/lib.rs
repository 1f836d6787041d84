//! A waPC host that runs Kubewarden policy `.wasm` modules the way
//! policy-server and kwctl do (wasmtime, WASI enabled, kwctl's payloads),
//! for the wasm integration tests and for tools (benchmarks, offline checks).
//!
//! - [`runner`]: compile once ([`CompiledPolicy`]), instantiate
//!   ([`PolicyRunner`]); Kubernetes lookups answered by a kwctl replay
//!   session or any [`HostCapabilities`], refused outside the policy's
//!   `contextAwareResources`.
//! - [`cache`]: compiled modules kept on disk between runs
//!   ([`ModuleCache`], used by [`CompiledPolicy::from_bytes_cached`]).
//! - [`cases`]: the wasm run of every policy's `test_data/`.
//!
//! The formats, the responses and the case run are policy-cases' (shared
//! with the native runs); the names the host's users need are re-exported.

pub mod cache;
pub mod cases;
pub mod runner;

pub use cache::{CacheStatus, ModuleCache};
pub use policy_cases::{
    CapabilityError, ContextAwareResource, HostCall, HostCallOutcome, InMemoryCluster,
    KubernetesRequest, ReplaySession, SettingsResponse, ValidationResponse, admission_request,
};
pub use runner::{CompiledPolicy, HostCapabilities, LoadTimings, PolicyOptions, PolicyRunner};
