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

pub mod admitted;
pub mod catalogue;
pub mod dra;
pub mod entry;
pub mod host;
pub mod json_path;
pub mod labels;
pub mod pod;
pub mod policy;
pub mod quantity;
pub mod request;
pub mod settings;
pub mod targeting;
pub mod toleration;
pub mod violation;
pub mod workload;

#[doc(hidden)]
pub use kubewarden_policy_sdk as __sdk;

/// Registers a policy (a type implementing [`policy::Policy`]): the waPC
/// functions `validate`, `validate_settings` and `protocol_version` in the
/// wasm build, and natively `POLICY`, the [`policy::PolicyInfo`] the tools
/// and tests find the policy by. Every policy's `lib.rs` calls it once:
///
/// ```ignore
/// gpu_policy_core::register_policy!(GpuLimitRequired);
/// ```
///
/// A policy that judges workload operations only is declared and
/// registered in one go; its settings type has a `compile` method, and its
/// rules get the host for their lookups
/// (`fn(&AdmissionRequest, &Compiled, &dyn KubernetesHost)`): every such
/// policy reads a pod's DRA claims, so it is context-aware:
///
/// ```ignore
/// gpu_policy_core::register_policy! {
///     /// What it enforces.
///     pub struct GpuLimitRequired {
///         settings: settings::Settings,
///         compiled: settings::Compiled,
///         evaluate: rules::evaluate,
///     }
/// }
/// ```
#[macro_export]
macro_rules! register_policy {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            settings: $settings:ty,
            compiled: $compiled:ty,
            evaluate: $evaluate:path $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name;

        impl $crate::policy::Policy for $name {
            type Settings = $settings;
            type Compiled = $compiled;
            const CONTEXT_AWARE: bool = true;

            fn compile(settings: $settings) -> ::core::result::Result<$compiled, String> {
                settings.compile()
            }

            fn evaluate(
                request: &$crate::AdmissionRequest,
                settings: &$compiled,
                cluster: &dyn $crate::KubernetesHost,
            ) -> $crate::Outcome {
                $evaluate(request, settings, cluster)
            }
        }

        $crate::register_policy!($name);
    };
    ($policy:ty) => {
        /// The policy's name and native entry points.
        pub const POLICY: $crate::policy::PolicyInfo =
            $crate::policy::PolicyInfo::of::<$policy>(env!("CARGO_PKG_NAME"));

        /// Registers the policy's waPC functions; called once by the host.
        /// Only exported from the wasm build: natively several policies can
        /// then link into one binary (benchmarks) without clashing.
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn wapc_init() {
            use $crate::__sdk::wapc_guest::register_function;
            register_function("validate", $crate::entry::validate::<$policy>);
            register_function(
                "validate_settings",
                $crate::entry::validate_settings::<$policy>,
            );
            register_function("protocol_version", $crate::__sdk::protocol_version_guest);
        }
    };
}

pub use admitted::Admitted;
pub use catalogue::{
    DEFAULT_GPU_DEVICE_CLASSES, DEVICE_CLASS_RESOURCE_PREFIX, GpuCatalogue, GpuKind, GpuResource,
    Vendor,
};
pub use entry::Outcome;
pub use host::{KubernetesHost, LookupError};
pub use policy::{Policy, PolicyInfo, judges_workload_operation};
pub use request::AdmissionRequest;
pub use targeting::NodeTargeting;
pub use toleration::Taint;
pub use violation::Violation;
pub use workload::{ClaimUse, ContainerKind, ContainerRef, Workload, WorkloadKind};
