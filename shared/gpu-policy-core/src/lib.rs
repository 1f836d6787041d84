//! The validation pieces every GPU policy shares.
//!
//! Each policy crate is a thin layer over this crate: it reads its settings,
//! asks these modules the Kubernetes questions (which containers, which GPU
//! resources, how many, which taints are tolerated, does the pod aim at GPU
//! nodes) and returns [`violation::Violation`]s, which [`entry`] renders the
//! same way for every policy.
//!
//! Nothing here panics on request data: every reader tolerates missing fields
//! and `null`, and every malformed input becomes an error value.

pub mod catalogue;
pub mod entry;
pub mod pod;
pub mod quantity;
pub mod request;
pub mod targeting;
pub mod toleration;
pub mod violation;
pub mod workload;

#[doc(hidden)]
pub use kubewarden_policy_sdk as __sdk;

/// Registers a policy's waPC functions: `validate` (through
/// [`entry::validate`] with the given settings type and rule function),
/// `validate_settings` (through [`entry::validate_settings`]) and
/// `protocol_version`. Every policy's `lib.rs` calls it once:
///
/// ```ignore
/// gpu_policy_core::register_policy!(settings::Settings, rules::evaluate);
/// ```
#[macro_export]
macro_rules! register_policy {
    ($settings:ty, $evaluate:path) => {
        /// The `validate` waPC function.
        #[doc(hidden)]
        pub fn __wapc_validate(payload: &[u8]) -> $crate::__sdk::wapc_guest::CallResult {
            $crate::entry::validate::<$settings, _>(payload, $evaluate)
        }

        /// The `validate_settings` waPC function.
        #[doc(hidden)]
        pub fn __wapc_validate_settings(payload: &[u8]) -> $crate::__sdk::wapc_guest::CallResult {
            $crate::entry::validate_settings::<$settings>(payload)
        }

        /// Registers the policy's waPC functions; called once by the host.
        /// Only exported from the wasm build: natively several policies can
        /// then link into one binary (benchmarks) without clashing.
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn wapc_init() {
            use $crate::__sdk::wapc_guest::register_function;
            register_function("validate", __wapc_validate);
            register_function("validate_settings", __wapc_validate_settings);
            register_function("protocol_version", $crate::__sdk::protocol_version_guest);
        }
    };
}

pub use catalogue::{GpuCatalogue, GpuKind, GpuResource, Vendor};
pub use entry::Outcome;
pub use request::AdmissionRequest;
pub use targeting::NodeTargeting;
pub use toleration::Taint;
pub use violation::Violation;
pub use workload::{ContainerKind, ContainerRef, Workload, WorkloadKind};
