//! gpu-isolated-namespace: waPC registration and dispatch. The rules live in
//! `rules.rs` (NetworkPolicy default-deny shapes in `default_deny.rs`), the
//! cluster reads in `cluster.rs`, the settings in `settings.rs`.

pub mod cluster;
pub mod default_deny;
mod rules;
pub mod settings;

pub use rules::{evaluate, evaluate_with};
use settings::Settings;

gpu_policy_core::register_policy!(Settings, evaluate);
