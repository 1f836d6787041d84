//! The benchmarked requests, and the policies' native entry points (the
//! policies themselves are the registry's: `policy_registry::POLICIES`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use gpu_policy_core::{KubernetesHost, PolicyInfo};

/// One benchmark request (an AdmissionRequest file under `data/`).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Short label used in tables and on the command line.
    pub label: &'static str,
    pub file: &'static str,
    /// Replay session under `data/sessions/` for the context-aware policy.
    pub session: &'static str,
    pub description: &'static str,
}

/// The requests: the shared 4 KB GPU pod first (the warm budgets refer to it).
pub const REQUESTS: [Request; 7] = [
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
    Request {
        label: "dra-gpu-pod",
        file: "dra-implicit-gpu-pod.json",
        session: "train.yml",
        description: "The gpu-pod request with its GPUs asked for by DRA: deviceclass.resource.kubernetes.io/gpu.nvidia.com instead of nvidia.com/gpu",
    },
    Request {
        label: "dra-claim-pod",
        file: "dra-claim-pod.json",
        session: "train-dra.yml",
        description: "Pod CREATE of NVIDIA's DRA MIG demo: 2 containers, each one request of a ResourceClaimTemplate read through the host (a 1g.5gb and a 3g.20gb slice chosen by CEL)",
    },
    Request {
        label: "dra-claim-template",
        file: "dra-claim-template-mig.json",
        session: "train.yml",
        description: "ResourceClaimTemplate CREATE (server-side apply): NVIDIA's MIG demo, 2 requests of mig.nvidia.com with CEL profile selectors, a constraint",
    },
    Request {
        label: "dra-deviceclass",
        file: "dra-deviceclass-mig.json",
        session: "train.yml",
        description: "DeviceClass CREATE: NVIDIA's MIG 1g.12gb class, a CEL selector on driver, type and profile, extendedResourceName nvidia.com/mig-1g.12gb",
    },
];

/// The workspace root (this crate lives in `tools/policy-bench`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The native equivalent of the policy's wasm `validate` export on the same
/// payload bytes: the serialized ValidationResponse, as the export returns
/// it. `cluster` answers the lookups of a context-aware policy.
pub fn native_validate(
    policy: &PolicyInfo,
    payload: &[u8],
    cluster: &dyn KubernetesHost,
) -> anyhow::Result<Vec<u8>> {
    serde_json::to_vec(&(policy.validate)(payload, cluster))
        .with_context(|| format!("{}: the native answer cannot be serialized", policy.name))
}
