//! gpu-toleration-required: the policy's registration. The rules live in
//! `rules.rs`, the JSON mutation in `mutation.rs`, the settings in
//! `settings.rs`.

mod mutation;
mod rules;
pub mod settings;

use gpu_policy_core::{AdmissionRequest, KubernetesHost, Outcome, Policy};

/// GPU pods tolerate their vendor's GPU taint; other pods tolerate none.
pub struct GpuTolerationRequired;

impl Policy for GpuTolerationRequired {
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

gpu_policy_core::register_policy!(GpuTolerationRequired);
