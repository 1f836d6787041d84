//! `checkDeviceAccess`: the paths to a GPU that no GPU limit accounts for.
//!
//! - a privileged container sees every GPU of its node (and the NVIDIA
//!   runtime honours `NVIDIA_VISIBLE_DEVICES` in it unconditionally): a
//!   violation in a pod that asks for a GPU or aims at GPU nodes;
//! - a hostPath volume of a GPU device node (`/dev/nvidia*`, `/dev/dri/*`,
//!   `/dev/kfd`, `/dev/accel/*`), in any pod, or of a directory holding them
//!   (`/`, `/dev`, `/dev/dri`, `/dev/accel`) in a GPU pod (storage and
//!   monitoring DaemonSets mount `/dev` on ordinary nodes);
//! - a volume mounted at or under `/var/run/nvidia-container-devices` (the
//!   NVIDIA runtime's volume-mounts device-list strategy), in any pod;
//! - a pod annotation `cdi.k8s.io/*` or `nvidia.cdi.k8s.io/*` naming a GPU
//!   CDI device (`nvidia.com/gpu=all`), in any pod;
//! - `envFrom` in a GPU pod's container without a GPU may bring in
//!   `NVIDIA_VISIBLE_DEVICES`, which cannot be known at admission: a warning.

use gpu_policy_core::pod::CDI_ANNOTATION_PREFIXES;
use gpu_policy_core::{Violation, Workload};

use crate::rules::VISIBLE_DEVICES;

/// The device-list directory of the NVIDIA runtime's volume-mounts strategy
/// (`/var/run` is `/run` in most images, so both spellings count).
const DEVICE_LIST_DIRS: [&str; 2] = [
    "/var/run/nvidia-container-devices",
    "/run/nvidia-container-devices",
];

/// CDI device kinds of GPUs (`<vendor>/<class>` before the `=`).
const GPU_CDI_KINDS: [&str; 3] = ["nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu"];

const FIX_ASK: &str = "ask for the GPU with resources.limits[\"nvidia.com/gpu\"] (or a DRA claim): the device plugin mounts the devices it allocates";
const FIX_INFRA: &str = "GPU infrastructure (device plugin, GPU Operator, DCGM exporter) is exempted with the ClusterAdmissionPolicy's namespaceSelector";

/// What the checks need to know about the pod.
pub struct Pod<'w, 'f> {
    /// The workload.
    pub workload: &'w Workload,
    /// Whether it asks for a GPU or aims at GPU nodes.
    pub gpu_pod: bool,
    /// Per container, in [`Workload::containers`] order: whether it has a
    /// GPU (limit, request or GPU claim).
    pub has_gpu: &'f [bool],
}

/// Every device-access violation of the pod, and its warnings.
pub fn check(pod: &Pod<'_, '_>, out: &mut Vec<Violation>, warnings: &mut Vec<String>) {
    let workload = pod.workload;
    for (index, c) in workload.containers().enumerate() {
        let name = c.container.name.as_str();
        if pod.gpu_pod && c.container.security_context.privileged {
            out.push(
                Violation::new(
                    c.field_path("securityContext.privileged"),
                    "is true in a pod that asks for a GPU or aims at GPU nodes: a privileged container sees every GPU of its node, not only the ones allocated to it",
                )
                .subject(name)
                .fix(format!(
                    "remove privileged (add only the capabilities the container needs); {FIX_INFRA}"
                )),
            );
        }
        for (j, mount) in c.container.volume_mounts.iter().enumerate() {
            // Most mounts (the service account token's) are nowhere near.
            if !mount.mount_path.contains("nvidia-container-devices") {
                continue;
            }
            let path = normalise(&mount.mount_path);
            if DEVICE_LIST_DIRS
                .iter()
                .any(|dir| is_at_or_under(&path, dir))
            {
                out.push(
                    Violation::new(
                        c.field_path(&format!("volumeMounts[{j}].mountPath")),
                        format!(
                            "mounts a volume at {:?}: the NVIDIA container runtime takes the GPUs to expose from the mounts under /var/run/nvidia-container-devices, so this asks for GPUs no limit accounts for",
                            mount.mount_path
                        ),
                    )
                    .subject(name)
                    .fix(format!("remove the mount and {FIX_ASK}")),
                );
            }
        }
        if pod.gpu_pod
            && c.container.env_from > 0
            && !pod.has_gpu.get(index).copied().unwrap_or(false)
            && !c.container.env.iter().any(|e| e.name == VISIBLE_DEVICES)
        {
            warnings.push(format!(
                "{} {name:?}: its envFrom may set {VISIBLE_DEVICES}, which cannot be checked at admission, in a container without a GPU in a GPU pod",
                c.path()
            ));
        }
    }
    let spec_path = workload.spec_path();
    for (i, volume) in workload.spec.volumes.iter().enumerate() {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        // Only a path naming `dev`, or made of `/`, `.` and `..`, can be
        // (or normalise to) a GPU device node or a directory holding them.
        let raw = host_path.path.as_str();
        if !raw.contains("dev") && !raw.contains("..") && !raw.chars().all(|c| c == '/' || c == '.')
        {
            continue;
        }
        let path = normalise(raw);
        let written = if path == host_path.path {
            format!("{path:?}")
        } else {
            format!("{:?} ({path})", host_path.path)
        };
        let reason = if is_gpu_device_node(&path) {
            format!(
                "mounts the GPU device node {written} from the node: the pod can use that GPU without a GPU limit, beside the device plugin's accounting"
            )
        } else if pod.gpu_pod && matches!(path.as_str(), "/" | "/dev" | "/dev/dri" | "/dev/accel") {
            format!(
                "mounts {written} from the node, which holds its GPU device nodes, in a pod that asks for a GPU or aims at GPU nodes: the pod can open every GPU of the node"
            )
        } else {
            continue;
        };
        out.push(
            Violation::new(format!("{spec_path}.volumes[{i}].hostPath.path"), reason)
                .subject(volume.name.as_str())
                .fix(format!(
                    "remove the hostPath volume and {FIX_ASK}; {FIX_INFRA}"
                )),
        );
    }
    for (key, value) in &workload.pod_metadata.annotations {
        if !CDI_ANNOTATION_PREFIXES.iter().any(|p| key.starts_with(p)) {
            continue;
        }
        let gpus: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|device| {
                let kind = device.split_once('=').map_or(*device, |(kind, _)| kind);
                GPU_CDI_KINDS.contains(&kind)
            })
            .collect();
        if gpus.is_empty() {
            continue;
        }
        out.push(
            Violation::new(
                format!("{}.annotations[\"{key}\"]", workload.kind.pod_metadata_path()),
                format!(
                    "injects the CDI device{} {} into the pod: the container runtime adds the GPU without a GPU limit",
                    if gpus.len() == 1 { "" } else { "s" },
                    gpus.join(", ")
                ),
            )
            .fix(format!("remove the annotation and {FIX_ASK}")),
        );
    }
}

/// The path with `//`, `/./`, `..` and a trailing `/` resolved (`..` stops
/// at the root), always absolute.
pub fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn is_at_or_under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A device node of a GPU: NVIDIA's (`/dev/nvidia0`, `/dev/nvidiactl`,
/// `/dev/nvidia-uvm`, `/dev/nvidia-caps/...`), DRM render and card nodes
/// (`/dev/dri/*`, AMD and Intel), AMD's compute interface `/dev/kfd`, and
/// the accel subsystem (`/dev/accel/*`).
fn is_gpu_device_node(path: &str) -> bool {
    path.starts_with("/dev/nvidia")
        || path.starts_with("/dev/dri/")
        || path == "/dev/kfd"
        || path.starts_with("/dev/accel/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_before_they_are_judged() {
        for (path, want) in [
            ("/dev/nvidia0", "/dev/nvidia0"),
            ("/dev//nvidia0/", "/dev/nvidia0"),
            ("/dev/./dri/../nvidiactl", "/dev/nvidiactl"),
            ("/../../dev", "/dev"),
            ("dev/kfd", "/dev/kfd"),
            ("", "/"),
            ("/", "/"),
        ] {
            assert_eq!(normalise(path), want, "{path}");
        }
        assert!(is_gpu_device_node(&normalise("/dev/dri//renderD128")));
        assert!(is_gpu_device_node("/dev/nvidia-caps/nvidia-cap1"));
        assert!(!is_gpu_device_node("/dev/dri"));
        assert!(!is_gpu_device_node("/dev/kfd2"));
        assert!(!is_gpu_device_node("/dev/fuse"));
        assert!(is_at_or_under(
            "/var/run/nvidia-container-devices/all",
            DEVICE_LIST_DIRS[0]
        ));
        assert!(is_at_or_under(
            "/var/run/nvidia-container-devices",
            DEVICE_LIST_DIRS[0]
        ));
        assert!(!is_at_or_under(
            "/var/run/nvidia-container-devices-old",
            DEVICE_LIST_DIRS[0]
        ));
    }
}
