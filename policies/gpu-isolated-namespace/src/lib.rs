//! gpu-isolated-namespace: waPC registration and dispatch. The rules live in
//! `rules.rs` (NetworkPolicy default-deny shapes in `default_deny.rs`), the
//! cluster reads in `cluster.rs`, the settings in `settings.rs`.

use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::wapc_guest::{CallResult, register_function};

pub mod cluster;
pub mod default_deny;
mod rules;
pub mod settings;

pub use rules::{evaluate, evaluate_with};
use settings::Settings;

/// Registers the policy's waPC functions; called once by the host.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    gpu_policy_core::entry::validate::<Settings, _>(payload, evaluate)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    gpu_policy_core::entry::validate_settings::<Settings>(payload)
}
