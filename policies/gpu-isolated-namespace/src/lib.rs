//! gpu-isolated-namespace: the policy's registration. The rules live in
//! `rules.rs` (workloads in `rules/workload.rs`, NetworkPolicy changes in
//! `rules/network_policy.rs`, default-deny shapes in `default_deny.rs`), the
//! cluster reads in `cluster.rs`, the settings in `settings.rs`.

pub mod cluster;
pub mod default_deny;
mod rules;
pub mod settings;

use gpu_policy_core::{AdmissionRequest, KubernetesHost, Outcome, Policy};

/// GPU workloads run only in labelled, network-fenced GPU namespaces.
pub struct GpuIsolatedNamespace;

impl Policy for GpuIsolatedNamespace {
    type Settings = settings::Settings;
    type Compiled = settings::Compiled;
    const CONTEXT_AWARE: bool = true;

    fn compile(settings: Self::Settings) -> Result<Self::Compiled, String> {
        settings.compile()
    }

    fn judges(request: &AdmissionRequest) -> bool {
        rules::judges(request)
    }

    fn evaluate(
        request: &AdmissionRequest,
        settings: &Self::Compiled,
        cluster: &dyn KubernetesHost,
    ) -> Outcome {
        rules::evaluate(request, settings, &cluster::Cluster::new(cluster))
    }
}

gpu_policy_core::register_policy!(GpuIsolatedNamespace);
