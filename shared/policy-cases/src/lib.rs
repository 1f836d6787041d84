//! The policies' data-driven tests, without wasmtime: the
//! `test_data/cases.yaml` format and its comparison ([`cases`]), kwctl
//! replay sessions ([`replay`]), the one in-memory cluster of every native
//! run ([`InMemoryCluster`]), the case run shared by the wasm host and the
//! native entry points ([`suite`]), and the native run itself ([`native`]:
//! [`assert_native`]). policy-runner adds the wasm host. Formats:
//! this crate's README.md.

pub mod cases;
pub mod cluster;
pub mod host_call;
pub mod metadata;
pub mod native;
pub mod replay;
pub mod response;
pub mod suite;

pub use cases::{
    Case, CaseFile, Expectation, OneOrMany, compare, load_case_file, parse_case_file,
    read_json_or_yaml,
};
pub use cluster::InMemoryCluster;
pub use host_call::{HostCall, HostCallOutcome, kubernetes_call};
pub use metadata::{
    ContextAwareResource, load_context_aware_resources, parse_context_aware_resources,
};
pub use native::{Native, assert_native, run_native};
pub use replay::{CapabilityError, Exchange, KubernetesRequest, RecordedResponse, ReplaySession};
pub use response::{
    SettingsResponse, ValidationResponse, admission_request, from_serialized, validate_payload,
};
pub use suite::{
    CaseFailure, CaseInputs, Harness, PolicyUnderTest, SuiteReport, coverage_problems, discover,
    failure, lookup_problems, run_case, run_cases, run_example_checks, run_settings_checks,
};
