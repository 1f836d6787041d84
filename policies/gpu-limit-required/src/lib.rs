//! gpu-limit-required: the policy's registration. The rules live in
//! `rules.rs` (the device-access paths in `device_access.rs`), the settings
//! in `settings.rs`.

mod device_access;
mod rules;
pub mod settings;

gpu_policy_core::register_policy! {
    /// Workloads aimed at GPU nodes set GPU limits, in whole devices.
    pub struct GpuLimitRequired {
        settings: settings::Settings,
        compiled: settings::Compiled,
        evaluate: rules::evaluate,
    }
}
