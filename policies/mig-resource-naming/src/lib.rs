//! mig-resource-naming: waPC registration and dispatch. The rules live in
//! `rules.rs`, the settings in `settings.rs`, the MIG catalogue in
//! `mig_catalogue.rs`, profile names in `profile.rs` and the lenient reading
//! of resource names in `naming.rs`.

pub mod mig_catalogue;
pub mod naming;
pub mod profile;
pub mod rules;
pub mod settings;

pub use rules::evaluate;
use settings::Settings;

gpu_policy_core::register_policy!(Settings, evaluate);
