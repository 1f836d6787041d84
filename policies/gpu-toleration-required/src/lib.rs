//! gpu-toleration-required: the policy's registration. The rules live in
//! `rules.rs`, the JSON mutation in `mutation.rs`, the settings in
//! `settings.rs`.

mod mutation;
mod rules;
pub mod settings;

gpu_policy_core::register_policy! {
    /// GPU pods tolerate their vendor's GPU taint; other pods tolerate none.
    pub struct GpuTolerationRequired {
        settings: settings::Settings,
        compiled: settings::Compiled,
        evaluate: rules::evaluate,
    }
}
