//! The validation pieces every GPU policy shares.
//!
//! Each policy crate is a thin layer over this crate: it reads its settings,
//! asks these modules the Kubernetes questions (which containers, which GPU
//! resources, how many, which taints are tolerated, does the pod aim at GPU
//! nodes) and returns [`violation::Violation`]s, which [`entry`] renders the
//! same way for every policy.
//!
//! Nothing here panics on request data: every reader tolerates missing fields
//! and `null`, and every malformed input becomes an error value.

pub mod catalogue;
pub mod entry;
pub mod pod;
pub mod quantity;
pub mod request;
pub mod targeting;
pub mod toleration;
pub mod violation;
pub mod workload;

pub use catalogue::{GpuCatalogue, GpuKind, GpuResource, Vendor};
pub use entry::Outcome;
pub use request::AdmissionRequest;
pub use targeting::NodeTargeting;
pub use toleration::Taint;
pub use violation::Violation;
pub use workload::{ContainerKind, ContainerRef, Workload, WorkloadKind};
