//! gpu-limit-required: the policy's registration. The rules live in
//! `rules.rs`, the settings in `settings.rs`.

mod rules;
pub mod settings;

use gpu_policy_core::{AdmissionRequest, KubernetesHost, Outcome, Policy};

/// Workloads aimed at GPU nodes set GPU limits, in whole devices.
pub struct GpuLimitRequired;

impl Policy for GpuLimitRequired {
    type Settings = settings::Settings;
    type Compiled = settings::Compiled;

    fn compile(settings: Self::Settings) -> Result<Self::Compiled, String> {
        settings.compile()
    }

    fn evaluate(
        request: &AdmissionRequest,
        settings: &Self::Compiled,
        _cluster: &dyn KubernetesHost,
    ) -> Outcome {
        rules::evaluate(request, settings)
    }
}

gpu_policy_core::register_policy!(GpuLimitRequired);
