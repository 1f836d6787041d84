//! mig-resource-naming: the policy's registration. The rules live in
//! `rules.rs`, the settings in `settings.rs`, the MIG catalogue in
//! `mig_catalogue.rs`, profile names in `profile.rs` and the lenient reading
//! of resource names in `naming.rs`.

pub mod mig_catalogue;
pub mod naming;
pub mod profile;
pub mod rules;
pub mod settings;

use gpu_policy_core::{AdmissionRequest, KubernetesHost, Outcome, Policy};

/// MIG resource names exist, fit the strategy and the selected GPU product.
pub struct MigResourceNaming;

impl Policy for MigResourceNaming {
    type Settings = settings::Settings;
    type Compiled = settings::Settings;

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

gpu_policy_core::register_policy!(MigResourceNaming);
