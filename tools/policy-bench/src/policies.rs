//! The benchmarked policies, their requests, and their native entry points.

use std::path::{Path, PathBuf};

use gpu_policy_core::entry::validate;

use crate::replay_cluster::ReplayCluster;

/// One policy under benchmark.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Crate and module name, e.g. `gpu-limit-required`.
    pub name: &'static str,
    /// Whether it reads the cluster (needs a replay session).
    pub context_aware: bool,
}

/// The four policies, in README order.
pub const POLICIES: [Policy; 4] = [
    Policy {
        name: "gpu-limit-required",
        context_aware: false,
    },
    Policy {
        name: "gpu-toleration-required",
        context_aware: false,
    },
    Policy {
        name: "gpu-isolated-namespace",
        context_aware: true,
    },
    Policy {
        name: "mig-resource-naming",
        context_aware: false,
    },
];

/// One benchmark request (an AdmissionRequest file under `data/`).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Short label used in tables and on the command line.
    pub label: &'static str,
    /// File under `data/`.
    pub file: &'static str,
    /// Replay session under `data/sessions/` for the context-aware policy.
    pub session: &'static str,
    /// What it is, for the report.
    pub description: &'static str,
}

/// The requests: the shared 4 KB GPU pod first (the budgets refer to it).
pub const REQUESTS: [Request; 3] = [
    Request {
        label: "gpu-pod",
        file: "gpu-pod-request.json",
        session: "train.yml",
        description: "Pod CREATE as the API server sends it: managedFields, an init container, 2 containers, 3 tolerations, 2 GPUs (4 KB)",
    },
    Request {
        label: "deployment-10c-20t",
        file: "deployment-10-containers-20-tolerations.json",
        session: "ml-inference.yml",
        description: "Deployment CREATE (Argo CD): 10 containers (4 GPU model servers, 6 sidecars), 20 tolerations, affinity, managedFields",
    },
    Request {
        label: "cronjob-mig",
        file: "cronjob-mig-batch.json",
        session: "ml-batch.yml",
        description: "CronJob CREATE: MIG 3g.40gb on an A100-80GB node selector, init container, managedFields",
    },
];

/// The workspace root (this crate lives in `tools/policy-bench`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// This crate's `data/` folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The native equivalent of the policy's wasm `validate` export on the same
/// payload bytes; returns the serialized ValidationResponse. `cluster`
/// answers the context-aware policy's lookups.
pub fn native_validate(
    policy: &str,
    payload: &[u8],
    cluster: Option<&ReplayCluster>,
) -> anyhow::Result<Vec<u8>> {
    let result = match policy {
        "gpu-limit-required" => validate::<gpu_limit_required::settings::Settings, _>(
            payload,
            gpu_limit_required::evaluate,
        ),
        "gpu-toleration-required" => validate::<gpu_toleration_required::settings::Settings, _>(
            payload,
            gpu_toleration_required::evaluate,
        ),
        "gpu-isolated-namespace" => {
            let Some(cluster) = cluster else {
                anyhow::bail!("gpu-isolated-namespace needs a replay session natively");
            };
            validate::<gpu_isolated_namespace::settings::Settings, _>(payload, |r, s| {
                gpu_isolated_namespace::evaluate_with(r, s, cluster)
            })
        }
        "mig-resource-naming" => validate::<mig_resource_naming::settings::Settings, _>(
            payload,
            mig_resource_naming::evaluate,
        ),
        other => anyhow::bail!("unknown policy {other}"),
    };
    result.map_err(|e| anyhow::anyhow!("{policy}: native validate failed: {e}"))
}
