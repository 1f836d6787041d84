//! proptest generators of Kubernetes AdmissionRequests for the policies'
//! property tests, and the property suite every policy runs
//! ([`properties`], [`policy_properties!`]). Dev-only: never compiled into a
//! policy `.wasm`.
//!
//! Everything is built as `serde_json::Value`, the form the policies receive,
//! so a generator can also produce what no typed Kubernetes struct could hold
//! (bare-number quantities, `null` collections, wrong types).

pub mod build;
pub mod properties;
pub mod strategies;

pub use properties::Properties;
pub use strategies::admission_request;

use proptest::test_runner::Config;

/// The proptest configuration of the property suites: 256 cases (enough to
/// cover the generators' branches, small enough for `make test`: well under
/// a minute for all policies natively), or `PROPTEST_CASES` when set (e.g.
/// `PROPTEST_CASES=20000` for a long run).
pub fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 256;
    }
    config
}

#[doc(hidden)]
pub use proptest as __proptest;

/// Defines a policy's property tests (see [`properties`]) from a
/// [`Properties`] expression; add `mutating` for a policy with a mutate
/// mode ([`Properties::modes`]):
///
/// ```ignore
/// const PROPERTIES: Properties =
///     Properties::new(gpu_limit_required::POLICY, env!("CARGO_MANIFEST_DIR"), plausible);
/// policy_testkit::policy_properties!(PROPERTIES);
/// ```
#[macro_export]
macro_rules! policy_properties {
    ($properties:expr) => {
        $crate::policy_properties!(@suite $properties, {});
    };
    ($properties:expr, mutating) => {
        $crate::policy_properties!(@suite $properties, {
            /// Mutate mode's output passes validate mode and is a fixed point.
            #[test]
            fn mutation_satisfies_validation_and_is_idempotent(
                request in $crate::admission_request(),
                settings in $crate::__proptest::sample::select(($properties).settings_files()),
            ) {
                ($properties).check_mutation(&request, &settings)?;
            }
        });
    };
    (@suite $properties:expr, { $($extra:tt)* }) => {
        $crate::__proptest::proptest! {
            #![proptest_config($crate::config())]

            /// No request makes the policy panic, the answer is
            /// deterministic, a rejection has a message.
            #[test]
            fn any_request_gets_a_deterministic_answer(
                request in $crate::admission_request(),
                settings in $crate::__proptest::sample::select(($properties).settings_files()),
                cluster in ($properties).cluster(),
            ) {
                ($properties).check_any_request(&request, &settings, &cluster)?;
            }

            /// Any settings get a clear answer, and `validate` refuses
            /// invalid ones with code 400.
            #[test]
            fn any_settings_get_a_clear_answer(
                settings in ($properties).any_settings(),
                cluster in ($properties).cluster(),
            ) {
                ($properties).check_any_settings(&settings, &cluster)?;
            }

            $($extra)*
        }
    };
}
