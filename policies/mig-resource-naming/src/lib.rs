//! mig-resource-naming: the policy's registration. The rules live in
//! `rules.rs`, the settings in `settings.rs`, the MIG catalogue in
//! `mig_catalogue.rs`, profile names in `profile.rs`, the lenient reading
//! of resource names in `naming.rs`, the MIG profiles of DRA CEL selectors
//! in `cel.rs` and the rules on DRA claims and device classes in `dra.rs`.

pub mod cel;
pub mod dra;
pub mod mig_catalogue;
pub mod naming;
pub mod profile;
pub mod rules;
pub mod settings;

gpu_policy_core::register_policy! {
    /// MIG resource names exist, fit the strategy and the selected GPU product.
    pub struct MigResourceNaming {
        settings: settings::Settings,
        compiled: settings::Compiled,
        evaluate: rules::evaluate,
    }
}
