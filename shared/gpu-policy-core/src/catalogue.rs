//! Which extended resources are GPUs, and how many a container and a pod ask
//! for: device-plugin names (`nvidia.com/gpu`) and the names Kubernetes
//! gives every Dynamic Resource Allocation device class
//! (`deviceclass.resource.kubernetes.io/<class>`) when the class is a GPU
//! class.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::pod::{Container, Quantity};
use crate::quantity::{QuantityError, parse_device_count};
use crate::workload::{ContainerKind, ContainerRef, Workload};

/// The GPU resource names every policy knows without settings.
pub const DEFAULT_GPU_RESOURCES: [&str; 6] = [
    "nvidia.com/gpu",
    "nvidia.com/gpu.shared",
    "nvidia.com/mig-*",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "gpu.intel.com/xe",
];

/// The GPU device classes every policy knows without settings: those of
/// NVIDIA's DRA driver (whole GPUs, MIG slices, VFIO passthrough), AMD's
/// (ROCm k8s-gpu-dra-driver) and Intel's (intel-resource-drivers-for-kubernetes).
pub const DEFAULT_GPU_DEVICE_CLASSES: [&str; 5] = [
    "gpu.nvidia.com",
    "mig.nvidia.com",
    "vfio.gpu.nvidia.com",
    "gpu.amd.com",
    "gpu.intel.com",
];

/// The prefix of the extended resource name Kubernetes (1.36+) gives a
/// device class without `extendedResourceName`: requesting
/// `deviceclass.resource.kubernetes.io/<class>: n` asks for n devices of it.
pub const DEVICE_CLASS_RESOURCE_PREFIX: &str = "deviceclass.resource.kubernetes.io/";

/// What kind of GPU device a resource hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuKind {
    /// A whole GPU (`nvidia.com/gpu`, `amd.com/gpu`, a renamed resource).
    Whole,
    /// A MIG slice (`nvidia.com/mig-1g.10gb`, device class `mig.nvidia.com`).
    MigSlice,
    /// A whole GPU passed through to a VM (device class `vfio.gpu.nvidia.com`).
    Passthrough,
}

/// The GPU vendor, from the resource's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// `nvidia.com/...`.
    Nvidia,
    /// `amd.com/...`.
    Amd,
    /// `gpu.intel.com/...`.
    Intel,
    /// Any other domain (a custom device plugin).
    Other,
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vendor::Nvidia => "nvidia",
            Vendor::Amd => "amd",
            Vendor::Intel => "intel",
            Vendor::Other => "other",
        })
    }
}

/// The classification of a GPU resource name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuResource {
    /// Whole GPU or MIG slice.
    pub kind: GpuKind,
    /// Time-sliced or MPS-shared (`.shared` suffix).
    pub shared: bool,
    /// Vendor.
    pub vendor: Vendor,
    /// Asked for by a DRA device class's implicit name
    /// (`deviceclass.resource.kubernetes.io/<class>`), not a device plugin's.
    pub device_class: bool,
}

impl GpuResource {
    /// The name per-resource settings (a toleration rule's
    /// `resourcePattern`) also match for `name`: a GPU device class stands for
    /// its vendor's device-plugin resource (`nvidia.com/gpu`, `amd.com/gpu`,
    /// `gpu.intel.com/i915`), so DRA pods need the same taint toleration as
    /// device-plugin pods.
    pub fn vendor_name<'n>(&self, name: &'n str) -> &'n str {
        match (self.device_class, self.vendor) {
            (true, Vendor::Nvidia) => "nvidia.com/gpu",
            (true, Vendor::Amd) => "amd.com/gpu",
            (true, Vendor::Intel) => "gpu.intel.com/i915",
            _ => name,
        }
    }
}

/// Whether `name` is an extended resource as Kubernetes defines it
/// (`IsExtendedResourceName`): domain-prefixed, outside `kubernetes.io/`
/// (so not the DRA implicit `deviceclass.resource.kubernetes.io/<class>`),
/// and not a quota's `requests.*`.
pub fn is_extended_resource_name(name: &str) -> bool {
    name.contains('/') && !name.contains("kubernetes.io/") && !name.starts_with("requests.")
}

/// A resource name pattern: a name with any number of `*` wildcards. The
/// defaults are borrowed: settings are compiled on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePattern(Cow<'static, str>);

impl ResourcePattern {
    /// Checks and builds a pattern. A pattern must name a domain-prefixed
    /// extended resource (`vendor.example/name`), so that `*` cannot swallow
    /// `cpu` or `memory`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let Some((domain, name)) = pattern.split_once('/') else {
            return Err(format!(
                "{pattern:?} is not an extended resource name: expected <domain>/<name>, e.g. nvidia.com/gpu"
            ));
        };
        if domain.is_empty() || domain.contains('*') {
            return Err(format!(
                "{pattern:?}: the domain before '/' must be spelt out (no '*')"
            ));
        }
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "{pattern:?}: expected exactly one '/' followed by a name"
            ));
        }
        check_pattern_characters(pattern, "a resource name")?;
        Ok(ResourcePattern(Cow::Owned(pattern.to_owned())))
    }

    /// Whether `name` matches, `*` standing for any run of characters.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(&self.0, name)
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuses a character that no `[prefix/]name` key (resource name, label
/// key) can hold, `*` aside: the first such one is named.
pub fn check_pattern_characters(pattern: &str, what: &str) -> Result<(), String> {
    match pattern
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '*')))
    {
        Some(bad) => Err(format!(
            "{pattern:?}: character {bad:?} cannot appear in {what}"
        )),
        None => Ok(()),
    }
}

/// `*`-only glob matching, linear in the input for the usual patterns and
/// without recursion, so hostile names cannot blow the stack.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    pi = star + 1;
                    ti = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// A device class name pattern: a DNS subdomain, `*` standing for any run
/// of its characters.
fn check_device_class(pattern: &str) -> Result<(), String> {
    crate::labels::check_dns_subdomain(&pattern.replace('*', "x"))
        .map_err(|e| format!("{pattern:?} is not a device class name: it {e}"))
}

/// The set of resource names and DRA device classes that count as GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuCatalogue {
    patterns: Vec<ResourcePattern>,
    device_classes: Vec<Cow<'static, str>>,
}

impl Default for GpuCatalogue {
    fn default() -> Self {
        GpuCatalogue {
            patterns: DEFAULT_GPU_RESOURCES
                .iter()
                .map(|p| ResourcePattern(Cow::Borrowed(p)))
                .collect(),
            device_classes: DEFAULT_GPU_DEVICE_CLASSES.map(Cow::Borrowed).to_vec(),
        }
    }
}

impl GpuCatalogue {
    /// The defaults plus `extra` names or patterns (from a policy's
    /// `gpuResources` setting). Errors name the bad entry.
    pub fn with_extra(extra: &[String]) -> Result<Self, String> {
        let mut catalogue = GpuCatalogue::default();
        for (i, entry) in extra.iter().enumerate() {
            let pattern =
                ResourcePattern::new(entry).map_err(|e| format!("gpuResources[{i}]: {e}"))?;
            if !catalogue.patterns.contains(&pattern) {
                catalogue.patterns.push(pattern);
            }
        }
        Ok(catalogue)
    }

    /// The catalogue with `extra` device class names or patterns added (from
    /// a policy's `gpuDeviceClasses` setting). Errors name the bad entry.
    pub fn with_device_classes(mut self, extra: &[String]) -> Result<Self, String> {
        for (i, entry) in extra.iter().enumerate() {
            check_device_class(entry).map_err(|e| format!("gpuDeviceClasses[{i}]: {e}"))?;
            if !self.device_classes.iter().any(|c| c == entry) {
                self.device_classes.push(Cow::Owned(entry.clone()));
            }
        }
        Ok(self)
    }

    /// The patterns in force.
    pub fn patterns(&self) -> &[ResourcePattern] {
        &self.patterns
    }

    /// Classifies a DRA device class; `None` when it is not a GPU class.
    pub fn classify_device_class(&self, class: &str) -> Option<GpuResource> {
        if !self.device_classes.iter().any(|p| glob_match(p, class)) {
            return None;
        }
        let vendor = if class == "nvidia.com" || class.ends_with(".nvidia.com") {
            Vendor::Nvidia
        } else if class == "amd.com" || class.ends_with(".amd.com") {
            Vendor::Amd
        } else if class == "intel.com" || class.ends_with(".intel.com") {
            Vendor::Intel
        } else {
            Vendor::Other
        };
        let kind = match class {
            "mig.nvidia.com" => GpuKind::MigSlice,
            "vfio.gpu.nvidia.com" => GpuKind::Passthrough,
            _ => GpuKind::Whole,
        };
        Some(GpuResource {
            kind,
            shared: false,
            vendor,
            device_class: true,
        })
    }

    /// Classifies a resource name; `None` when it is not a GPU. A device
    /// class's implicit name (`deviceclass.resource.kubernetes.io/<class>`)
    /// is a GPU when its class is.
    pub fn classify(&self, name: &str) -> Option<GpuResource> {
        if let Some(class) = name.strip_prefix(DEVICE_CLASS_RESOURCE_PREFIX) {
            return self.classify_device_class(class);
        }
        if !self.patterns.iter().any(|p| p.matches(name)) {
            return None;
        }
        let vendor = match name.split_once('/').map(|(domain, _)| domain) {
            Some("nvidia.com") => Vendor::Nvidia,
            Some("amd.com") => Vendor::Amd,
            Some("gpu.intel.com") => Vendor::Intel,
            _ => Vendor::Other,
        };
        let kind = if name.starts_with("nvidia.com/mig-") {
            GpuKind::MigSlice
        } else {
            GpuKind::Whole
        };
        Some(GpuResource {
            kind,
            shared: name.ends_with(".shared"),
            vendor,
            device_class: false,
        })
    }

    /// Whether any container of the workload asks for a GPU, in limits or
    /// requests, whatever the quantity.
    pub fn workload_uses_gpu(&self, workload: &Workload) -> bool {
        workload
            .containers()
            .any(|c| !self.container_gpus(c.container).is_empty())
    }

    /// The GPU resources a container names, in limits or requests, sorted by
    /// name.
    pub fn container_gpus<'c>(&self, container: &'c Container) -> Vec<ContainerGpu<'c>> {
        let mut out: Vec<ContainerGpu<'c>> = Vec::new();
        for (name, quantity) in &container.resources.limits {
            if let Some(resource) = self.classify(name) {
                out.push(ContainerGpu {
                    name,
                    resource,
                    limit: Some(quantity),
                    request: container.resources.requests.get(name),
                });
            }
        }
        for (name, quantity) in &container.resources.requests {
            if container.resources.limits.contains_key(name) {
                continue;
            }
            if let Some(resource) = self.classify(name) {
                out.push(ContainerGpu {
                    name,
                    resource,
                    limit: None,
                    request: Some(quantity),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(b.name));
        out
    }

    /// The pod's effective GPU count per resource name, by the Kubernetes rule:
    /// the larger of (a) the biggest init container plus the sidecars started
    /// before it and (b) all app containers plus all sidecars. Quantities that
    /// are not whole counts contribute nothing (they are violations of their
    /// own).
    pub fn effective_pod_gpus(&self, workload: &Workload) -> BTreeMap<String, u64> {
        let mut sidecars: BTreeMap<String, u64> = BTreeMap::new();
        let mut init_peak: BTreeMap<String, u64> = BTreeMap::new();
        let mut app: BTreeMap<String, u64> = BTreeMap::new();
        for c in workload.containers() {
            for gpu in self.container_gpus(c.container) {
                let Ok(count) = gpu.count() else { continue };
                let name = gpu.name.to_owned();
                match c.kind {
                    ContainerKind::Init => {
                        let running =
                            count.saturating_add(sidecars.get(&name).copied().unwrap_or(0));
                        let peak = init_peak.entry(name).or_default();
                        *peak = (*peak).max(running);
                    }
                    ContainerKind::Sidecar => {
                        let total = sidecars.entry(name).or_default();
                        *total = total.saturating_add(count);
                    }
                    ContainerKind::App => {
                        let total = app.entry(name).or_default();
                        *total = total.saturating_add(count);
                    }
                    // Ephemeral containers get no resources.
                    ContainerKind::Ephemeral => {}
                }
            }
        }
        for (name, count) in sidecars {
            let total = app.entry(name).or_default();
            *total = total.saturating_add(count);
        }
        for (name, peak) in init_peak {
            let total = app.entry(name).or_default();
            *total = (*total).max(peak);
        }
        app.retain(|_, count| *count > 0);
        app
    }
}

/// A GPU resource named by one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerGpu<'c> {
    /// The resource name.
    pub name: &'c str,
    /// Its classification.
    pub resource: GpuResource,
    /// The limit, if set.
    pub limit: Option<&'c Quantity>,
    /// The request, if set.
    pub request: Option<&'c Quantity>,
}

impl ContainerGpu<'_> {
    /// The device count the container gets: the limit (Kubernetes defaults the
    /// request to it), else the request.
    pub fn count(&self) -> Result<u64, QuantityError> {
        match self.limit.or(self.request) {
            Some(q) => parse_device_count(&q.0),
            None => Err(QuantityError::Empty),
        }
    }

    /// JSON path below a container of this resource's limit.
    pub fn limit_path(&self, container: &ContainerRef<'_>) -> String {
        container.field_path(&format!("resources.limits[\"{}\"]", self.name))
    }

    /// JSON path below a container of this resource's request.
    pub fn request_path(&self, container: &ContainerRef<'_>) -> String {
        container.field_path(&format!("resources.requests[\"{}\"]", self.name))
    }
}

/// A policy's settings compiled with their GPU catalogue: what the rules
/// of a policy that only needs the catalogue work from.
#[derive(Debug, Clone)]
pub struct WithCatalogue<S> {
    /// The settings as given.
    pub settings: S,
    /// The GPU resource catalogue they define.
    pub catalogue: GpuCatalogue,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadKind;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn extended_resource_names_follow_kubernetes() {
        for name in ["nvidia.com/gpu", "amd.com/gpu", "example.com/fpga"] {
            assert!(is_extended_resource_name(name), "{name}");
        }
        for name in [
            "cpu",
            "memory",
            "hugepages-2Mi",
            "deviceclass.resource.kubernetes.io/gpu.nvidia.com",
            "kubernetes.io/batch-cpu",
            "requests.nvidia.com/gpu",
        ] {
            assert!(!is_extended_resource_name(name), "{name}");
        }
    }

    #[test]
    fn classifies_defaults() {
        use GpuKind::{MigSlice, Passthrough, Whole};
        use Vendor::{Amd, Intel, Nvidia};
        let c = GpuCatalogue::default();
        let check = |name: &str, expected| {
            let got = c.classify(name).map(|r| (r.kind, r.shared, r.vendor));
            assert_eq!(got, expected, "{name}");
        };
        for (name, expected) in [
            ("nvidia.com/gpu", Some((Whole, false, Nvidia))),
            ("nvidia.com/gpu.shared", Some((Whole, true, Nvidia))),
            ("nvidia.com/mig-1g.10gb", Some((MigSlice, false, Nvidia))),
            (
                "nvidia.com/mig-1g.10gb.shared",
                Some((MigSlice, true, Nvidia)),
            ),
            ("amd.com/gpu", Some((Whole, false, Amd))),
            ("gpu.intel.com/i915", Some((Whole, false, Intel))),
            ("gpu.intel.com/xe", Some((Whole, false, Intel))),
            ("nvidia.com/a100", None),
            ("gpu.intel.com/millicores", None),
            ("cpu", None),
            ("memory", None),
            ("NVIDIA.com/gpu", None),
        ] {
            check(name, expected);
        }
        // The implicit extended resources of DRA device classes.
        for (class, expected) in [
            ("gpu.nvidia.com", Some((Whole, false, Nvidia))),
            ("mig.nvidia.com", Some((MigSlice, false, Nvidia))),
            ("vfio.gpu.nvidia.com", Some((Passthrough, false, Nvidia))),
            ("gpu.amd.com", Some((Whole, false, Amd))),
            ("gpu.intel.com", Some((Whole, false, Intel))),
            ("nic.example.com", None),
            ("", None),
        ] {
            check(&format!("{DEVICE_CLASS_RESOURCE_PREFIX}{class}"), expected);
        }
    }

    #[test]
    fn extra_names_and_patterns_are_added() {
        let c = GpuCatalogue::with_extra(&["nvidia.com/a100".into(), "example.com/accel-*".into()])
            .unwrap();
        assert_eq!(
            c.classify("nvidia.com/a100").map(|r| r.kind),
            Some(GpuKind::Whole)
        );
        assert_eq!(
            c.classify("example.com/accel-x").map(|r| r.vendor),
            Some(Vendor::Other)
        );
        assert!(c.classify("example.com/other").is_none());
        assert!(c.classify("nvidia.com/gpu").is_some(), "defaults stay");
    }

    #[test]
    fn extra_device_classes_are_added_and_checked() {
        let c = GpuCatalogue::default()
            .with_device_classes(&["a100.example.com".into(), "*.gpu.example.org".into()])
            .unwrap();
        for (class, gpu) in [
            ("a100.example.com", true),
            ("h100.gpu.example.org", true),
            ("gpu.example.org", false),
            ("gpu.nvidia.com", true),
        ] {
            let name = format!("{DEVICE_CLASS_RESOURCE_PREFIX}{class}");
            assert_eq!(c.classify(&name).is_some(), gpu, "{name}");
            assert_eq!(c.classify_device_class(class).is_some(), gpu, "{class}");
        }
        for (bad, needle) in [
            ("", "1 to 253"),
            ("GPU.example.com", "DNS subdomain"),
            ("a/b", "DNS subdomain"),
            ("-gpu.example.com", "DNS subdomain"),
            ("gpu..example.com", "DNS subdomain"),
        ] {
            let err = GpuCatalogue::default()
                .with_device_classes(&["ok.io".into(), bad.into()])
                .unwrap_err();
            assert!(err.starts_with("gpuDeviceClasses[1]: "), "{err}");
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn device_class_names_stand_for_their_vendor_resource() {
        let c = GpuCatalogue::default()
            .with_device_classes(&["tpu.example.com".into()])
            .unwrap();
        for (name, expected) in [
            (
                "deviceclass.resource.kubernetes.io/mig.nvidia.com",
                "nvidia.com/gpu",
            ),
            (
                "deviceclass.resource.kubernetes.io/gpu.amd.com",
                "amd.com/gpu",
            ),
            (
                "deviceclass.resource.kubernetes.io/gpu.intel.com",
                "gpu.intel.com/i915",
            ),
            (
                "deviceclass.resource.kubernetes.io/tpu.example.com",
                "deviceclass.resource.kubernetes.io/tpu.example.com",
            ),
            ("nvidia.com/mig-1g.10gb", "nvidia.com/mig-1g.10gb"),
        ] {
            let vendor_name = c.classify(name).map_or(name, |r| r.vendor_name(name));
            assert_eq!(vendor_name, expected);
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        for (bad, needle) in [
            ("*", "not an extended resource"),
            ("gpu", "not an extended resource"),
            ("*/gpu", "domain"),
            ("nvidia.com/", "one '/'"),
            ("a/b/c", "one '/'"),
            ("nvidia.com/gp u", "character ' '"),
        ] {
            let err = GpuCatalogue::with_extra(&["ok.io/x".into(), bad.into()]).unwrap_err();
            assert!(err.starts_with("gpuResources[1]: "), "{err}");
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn glob_matching() {
        let table = [
            ("a*", "abc", true),
            ("a*", "a", true),
            ("*c", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abcd", false),
            ("a**b", "ab", true),
            ("*a*b*", "xxaxxbxx", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("", "", true),
            ("", "a", false),
            ("nvidia.com/mig-*", "nvidia.com/mig-1g.10gb", true),
            ("nvidia.com/mig-*", "nvidia.com/gpu", false),
        ];
        for (p, t, expected) in table {
            assert_eq!(glob_match(p, t), expected, "{p} ~ {t}");
        }
        // Many stars against a long non-matching text stays quick.
        let long = "a".repeat(5000);
        assert!(!glob_match("*a*a*a*a*b", &long));
    }

    fn workload(spec: &str) -> Workload {
        Workload::from_json(WorkloadKind::Pod, &format!(r#"{{"spec": {spec}}}"#)).unwrap()
    }

    fn gpu(n: &str) -> String {
        format!(r#"{{"limits": {{"nvidia.com/gpu": "{n}"}}}}"#)
    }

    #[test]
    fn effective_count_follows_the_kubernetes_rule() {
        let cases = [
            // app containers add up
            (
                format!(
                    r#"{{"containers": [{{"resources": {}}}, {{"resources": {}}}]}}"#,
                    gpu("1"),
                    gpu("2")
                ),
                Some(3),
            ),
            // a big init container dominates
            (
                format!(
                    r#"{{"initContainers": [{{"resources": {}}}], "containers": [{{"resources": {}}}]}}"#,
                    gpu("4"),
                    gpu("1")
                ),
                Some(4),
            ),
            // init containers take the max, not the sum
            (
                format!(
                    r#"{{"initContainers": [{{"resources": {}}}, {{"resources": {}}}], "containers": [{{"resources": {}}}]}}"#,
                    gpu("2"),
                    gpu("3"),
                    gpu("1")
                ),
                Some(3),
            ),
            // a sidecar runs beside the app containers
            (
                format!(
                    r#"{{"initContainers": [{{"restartPolicy": "Always", "resources": {}}}], "containers": [{{"resources": {}}}]}}"#,
                    gpu("1"),
                    gpu("2")
                ),
                Some(3),
            ),
            // a sidecar started before an init container counts with it
            (
                format!(
                    r#"{{"initContainers": [{{"restartPolicy": "Always", "resources": {}}}, {{"resources": {}}}], "containers": [{{"resources": {}}}]}}"#,
                    gpu("2"),
                    gpu("3"),
                    gpu("1")
                ),
                Some(5),
            ),
            // a sidecar started after an init container does not
            (
                format!(
                    r#"{{"initContainers": [{{"resources": {}}}, {{"restartPolicy": "Always", "resources": {}}}], "containers": [{{"resources": {}}}]}}"#,
                    gpu("3"),
                    gpu("2"),
                    gpu("0")
                ),
                Some(3),
            ),
            // requests alone count (the limit is checked elsewhere)
            (
                r#"{"containers": [{"resources": {"requests": {"nvidia.com/gpu": "2"}}}]}"#
                    .to_owned(),
                Some(2),
            ),
            // bad quantities count for nothing
            (
                format!(r#"{{"containers": [{{"resources": {}}}]}}"#, gpu("500m")),
                None,
            ),
            ("{}".to_owned(), None),
        ];
        let c = GpuCatalogue::default();
        for (spec, expected) in cases {
            let counts = c.effective_pod_gpus(&workload(&spec));
            assert_eq!(counts.get("nvidia.com/gpu").copied(), expected, "{spec}");
        }
    }

    #[test]
    fn effective_count_is_per_resource() {
        let w = workload(
            r#"{"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1", "cpu": "4"}}},
                {"resources": {"limits": {"nvidia.com/mig-1g.10gb": "2"}}}]}"#,
        );
        let counts = GpuCatalogue::default().effective_pod_gpus(&w);
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            vec![
                ("nvidia.com/gpu".to_owned(), 1),
                ("nvidia.com/mig-1g.10gb".to_owned(), 3)
            ]
        );
    }

    #[test]
    fn container_gpus_pairs_limits_and_requests_with_paths() {
        let w = Workload::from_json(
            WorkloadKind::Deployment,
            r#"{"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {
                "limits": {"nvidia.com/gpu": "1", "cpu": "1"}, "requests": {"nvidia.com/gpu": "1", "amd.com/gpu": "2"}}}]}}}}"#,
        )
        .unwrap();
        let c = GpuCatalogue::default();
        let container = w.containers().next().unwrap();
        let gpus = c.container_gpus(container.container);
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].name, "amd.com/gpu");
        assert!(gpus[0].limit.is_none());
        assert_eq!(gpus[0].count(), Ok(2));
        assert_eq!(
            gpus[0].request_path(&container),
            r#"spec.template.spec.containers[0].resources.requests["amd.com/gpu"]"#
        );
        assert_eq!(gpus[1].name, "nvidia.com/gpu");
        assert_eq!(
            gpus[1].limit_path(&container),
            r#"spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]"#
        );
        assert!(c.workload_uses_gpu(&w));
    }
}
