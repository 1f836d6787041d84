//! gpu-limit-required: waPC registration and dispatch. The rules live in
//! `rules.rs`, the settings in `settings.rs`.

mod rules;
pub mod settings;

pub use rules::evaluate;
use settings::Settings;

gpu_policy_core::register_policy!(Settings, evaluate);
