//! `gpu-policy-check`: checks Kubernetes manifests against this project's GPU
//! policies offline, through the same waPC host (policy-runner) the tests use.
//!
//! Flow: [`input`] loads objects -> [`admission`] wraps each in an
//! AdmissionRequest -> [`config`] says which policies run with which settings
//! and [`selection`] which objects each sees -> [`evaluate`] runs the `.wasm`
//! modules with [`cluster`] answering lookups from the input -> [`locate`]
//! puts each violation on its source line ([`position`]) -> [`report`]
//! renders the findings.

pub mod admission;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod evaluate;
pub mod expect;
pub mod expression;
pub mod input;
pub mod locate;
pub mod modules;
pub mod patch;
pub mod position;
pub mod progress;
pub mod report;
pub mod selection;

/// Exit codes (documented in `--help`).
pub mod exit {
    /// Every checked object was accepted (or only monitor-mode rejections).
    pub const OK: u8 = 0;
    /// At least one object was rejected by a policy in protect mode.
    pub const REJECTED: u8 = 1;
    /// Usage, input or setup error: nothing was (fully) checked.
    pub const ERROR: u8 = 2;
}
