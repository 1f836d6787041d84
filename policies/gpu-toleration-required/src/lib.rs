//! gpu-toleration-required: waPC registration and dispatch. The rules live in
//! `rules.rs`, the JSON mutation in `mutation.rs`, the settings in
//! `settings.rs`.

mod mutation;
mod rules;
pub mod settings;

pub use rules::evaluate;
use settings::Settings;

gpu_policy_core::register_policy!(Settings, evaluate);
