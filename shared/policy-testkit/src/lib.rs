//! proptest generators of Kubernetes AdmissionRequests for the policies'
//! property tests. Dev-only: never compiled into a policy `.wasm`.
//!
//! Everything is built as `serde_json::Value`, the form the policies receive,
//! so a generator can also produce what no typed Kubernetes struct could hold
//! (bare-number quantities, `null` collections, wrong types).

pub mod build;
pub mod cluster;
pub mod fixtures;
pub mod strategies;

pub use cluster::InMemoryCluster;
pub use strategies::{
    admission_request, any_json, cluster_object, pod_spec, settings_value, workload_kind,
};

use proptest::test_runner::Config;

/// The number of cases when `PROPTEST_CASES` is not set: enough to cover the
/// generators' branches, small enough for `make test` (well under a minute
/// for all policies natively).
pub const DEFAULT_CASES: u32 = 256;

/// The proptest configuration of the property suites: [`DEFAULT_CASES`]
/// cases, or `PROPTEST_CASES` when set (e.g. `PROPTEST_CASES=20000` for a
/// long run).
pub fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}
