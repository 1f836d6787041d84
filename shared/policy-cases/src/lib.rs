//! The policies' data-driven tests, without wasmtime: the
//! `test_data/cases.yaml` format, the answers and their comparison
//! ([`cases`]), Kubernetes lookups and kwctl replay sessions ([`replay`]),
//! the one in-memory cluster of every native run ([`InMemoryCluster`]), and
//! the case run shared by the wasm host and the native entry points, with
//! the native run itself ([`suite`]: [`assert_native`]). policy-runner adds
//! the wasm host. Formats: this crate's README.md.

pub mod cases;
pub mod cluster;
pub mod metadata;
pub mod replay;
pub mod suite;

pub use cases::{
    Case, CaseFile, Expectation, OneOrMany, SettingsResponse, ValidationResponse,
    admission_request, compare, from_serialized, load_case_file, parse_case_file,
    read_json_or_yaml, validate_payload,
};
pub use cluster::InMemoryCluster;
pub use metadata::{ContextAwareResource, Rule};
pub use replay::{
    CapabilityError, Exchange, HostCall, HostCallOutcome, KubernetesRequest, RecordedResponse,
    ReplaySession, kubernetes_call, load_context_aware_resources, parse_context_aware_resources,
};
pub use suite::{
    CaseFailure, CaseInputs, Harness, Native, PolicyUnderTest, SuiteReport, assert_native,
    coverage_problems, discover, failure, lookup_problems, native_validate,
    native_validate_settings, run_case, run_cases, run_example_checks, run_native,
    run_settings_checks,
};
