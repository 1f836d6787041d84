//! The rules of mig-resource-naming: resource names, strategy, mixing inside
//! a container, the node product a pod selects, and the MIG profiles its DRA
//! claims select by CEL (those, and the DRA objects themselves, in
//! `dra.rs`).

use std::cell::OnceCell;

use gpu_policy_core::dra::{PodClaims, claim_namespace};
use gpu_policy_core::pod::{Container, Quantity};
use gpu_policy_core::quantity::parse_device_count;
use gpu_policy_core::{
    AdmissionRequest, Admitted, GpuCatalogue, GpuKind, KubernetesHost, Outcome, Vendor, Violation,
    Workload,
};

use crate::dra;
use crate::mig_catalogue::{self, GpuModel, MODELS};
use crate::naming::{self, MigName, Reading};
use crate::profile::Profile;
use crate::settings::{Compiled, Settings, Strategy};

/// The node label GPU feature discovery sets to the GPU's product name.
pub const PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

/// Decides one admission request. The pod's DRA claims are read first (one
/// lookup each; a pod without claims makes none) for the MIG profiles their
/// CEL selectors name.
pub fn evaluate(
    request: &AdmissionRequest,
    compiled: &Compiled,
    cluster: &dyn KubernetesHost,
) -> Outcome {
    let found = match Admitted::from_request(request) {
        Ok(Some(Admitted::Workload(workload))) => {
            check_workload(request, &workload, compiled, cluster)
        }
        Ok(Some(Admitted::Claim(claim))) => dra::check_claim(&claim, compiled),
        Ok(Some(Admitted::DeviceClass(class))) => {
            dra::check_device_class(&class, &compiled.settings)
        }
        Ok(None) => return Outcome::Accept,
        Err(violation) => return Outcome::Reject(vec![violation]),
    };
    Outcome::from_findings(found.violations, found.warnings)
}

/// A workload: its names and node product, with the profiles its claims
/// select.
fn check_workload(
    request: &AdmissionRequest,
    workload: &Workload,
    compiled: &Compiled,
    cluster: &dyn KubernetesHost,
) -> Findings {
    let claims = PodClaims::resolve(cluster, claim_namespace(request, workload), workload);
    let claimed = dra::pod_claim_profiles(&claims, compiled);
    let mut findings = check_all(workload, &compiled.settings, &claimed.profiles);
    findings.violations.extend(claimed.violations);
    findings.warnings.extend(claimed.warnings);
    findings
}

/// Every violation in a workload's resource names and node product.
pub fn check(workload: &Workload, settings: &Settings) -> Vec<Violation> {
    check_all(workload, settings, &[]).violations
}

/// What a check found: violations, and what is worth telling but not
/// rejecting.
#[derive(Debug, Default)]
pub struct Findings {
    /// Reasons to reject.
    pub violations: Vec<Violation>,
    /// Admission warnings.
    pub warnings: Vec<String>,
}

/// [`check`], with the known MIG profiles the pod's DRA claims select
/// (`claimed`) for the product check, and warnings.
pub fn check_all(workload: &Workload, settings: &Settings, claimed: &[Profile]) -> Findings {
    let checker = Checker::new(settings);
    let mut violations = Vec::new();
    // Profiles the pod asks for (as meant), for the product check.
    let mut requested: Vec<Profile> = Vec::new();
    for c in workload.containers() {
        let mut migs: Vec<(String, u64)> = Vec::new();
        let mut whole: Option<&str> = None;
        for (name, quantity, field) in resource_entries(c.container) {
            let reading = naming::read(name);
            let meant = match &reading {
                Reading::NotMig => {
                    if checker.is_nvidia_whole_gpu(name) {
                        whole.get_or_insert(name);
                    }
                    continue;
                }
                Reading::Mig(m) => Some(*m),
                Reading::Malformed { meant, .. } => *meant,
            };
            let path = c.field_path(&format!("resources.{field}[\"{name}\"]"));
            if let Some(v) = checker.name_violation(name, &reading, &path) {
                violations.push(v.subject(c.container.name.as_str()));
            }
            if let Some(m) = meant {
                let suggested = checker.suggestion(&m);
                // Only known profiles go to the product check: an unknown one
                // is already a violation of its own.
                if suggested.profile == m.profile && !requested.contains(&m.profile) {
                    requested.push(m.profile);
                }
                let count = parse_device_count(&quantity.0).unwrap_or(0);
                migs.push((suggested.resource_name(), count));
            }
        }
        if settings.strategy == Strategy::Single || migs.is_empty() {
            continue;
        }
        let container_name = c.container.name.as_str();
        if let Some(gpu) = whole {
            violations.push(
                Violation::new(
                    c.path(),
                    format!(
                        "asks for whole GPUs ({gpu}) and MIG slices ({}) together; the device plugin hands a container one device type",
                        migs.first().map_or("", |(n, _)| n.as_str())
                    ),
                )
                .subject(container_name)
                .fix("ask for either whole GPUs or one MIG profile; put the other in its own container"),
            );
        }
        let mut distinct: Vec<&str> = migs.iter().map(|(n, _)| n.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            violations.push(
                Violation::new(
                    c.path(),
                    format!(
                        "asks for {} MIG profiles ({}); a CUDA process uses one MIG device",
                        distinct.len(),
                        distinct.join(", ")
                    ),
                )
                .subject(container_name)
                .fix(
                    "ask for one MIG profile per container (a bigger profile if one is too small)",
                ),
            );
        }
        let total: u64 = migs.iter().map(|(_, n)| *n).fold(0, u64::saturating_add);
        let max = u64::from(settings.max_mig_devices_per_container);
        if total > max {
            violations.push(
                Violation::new(
                    c.path(),
                    format!(
                        "asks for {total} MIG devices, more than maxMigDevicesPerContainer ({max}); a CUDA process sees only one MIG device"
                    ),
                )
                .subject(container_name)
                .fix(format!(
                    "ask for at most {max} (use a bigger profile, or one container per device)"
                )),
            );
        }
    }
    let mut warnings = Vec::new();
    checker.product_violations(
        workload,
        &requested,
        claimed,
        &mut violations,
        &mut warnings,
    );
    Findings {
        violations,
        warnings,
    }
}

/// A container's resource names with their quantity and field: every limit,
/// then requests without a limit (a name in both is judged once, at its
/// limit).
fn resource_entries(c: &Container) -> impl Iterator<Item = (&str, &Quantity, &'static str)> {
    let limits = &c.resources.limits;
    limits.iter().map(|(n, q)| (n.as_str(), q, "limits")).chain(
        c.resources
            .requests
            .iter()
            .filter(move |(n, _)| !limits.contains_key(*n))
            .map(|(n, q)| (n.as_str(), q, "requests")),
    )
}

/// The rules' view of the settings, with what they build only when a
/// request needs it.
pub(crate) struct Checker<'s> {
    pub(crate) settings: &'s Settings,
    configured: OnceCell<Vec<Profile>>,
    gpus: OnceCell<GpuCatalogue>,
}

impl<'s> Checker<'s> {
    pub(crate) fn new(settings: &'s Settings) -> Self {
        Checker {
            settings,
            configured: OnceCell::new(),
            gpus: OnceCell::new(),
        }
    }
}

impl Checker<'_> {
    pub(crate) fn configured(&self) -> &[Profile] {
        self.configured
            .get_or_init(|| self.settings.configured_profiles())
    }

    /// A device-plugin whole NVIDIA GPU (a DRA device class's implicit name
    /// is not handed out by the device plugin, so it does not clash with
    /// its MIG slices).
    fn is_nvidia_whole_gpu(&self, name: &str) -> bool {
        self.gpus
            .get_or_init(GpuCatalogue::default)
            .classify(name)
            .is_some_and(|r| {
                r.kind == GpuKind::Whole && r.vendor == Vendor::Nvidia && !r.device_class
            })
    }

    /// The name to suggest for what was meant: a configured profile (the
    /// nearest one when the meant profile is unknown), `.shared` dropped when
    /// shared resources are not allowed.
    pub(crate) fn suggestion(&self, meant: &MigName) -> MigName {
        let configured = self.configured();
        let profile = if configured.contains(&meant.profile) {
            meant.profile
        } else {
            nearest_profile(&meant.profile, configured).unwrap_or(meant.profile)
        };
        MigName {
            profile,
            shared: meant.shared && self.settings.allow_shared,
        }
    }

    /// The violation for one MIG-ish resource name, if it breaks a naming,
    /// catalogue, sharing or strategy rule.
    fn name_violation(&self, name: &str, reading: &Reading, path: &str) -> Option<Violation> {
        self.resource_name_violation(name, reading, path, true)
    }

    /// [`Checker::name_violation`]; `device_plugin: false` for a name a
    /// DeviceClass maps to its devices (DRA serves it, not the device
    /// plugin, so the strategy does not apply).
    pub(crate) fn resource_name_violation(
        &self,
        name: &str,
        reading: &Reading,
        path: &str,
        device_plugin: bool,
    ) -> Option<Violation> {
        let mut problems: Vec<String> = Vec::new();
        let meant = match reading {
            Reading::NotMig => return None,
            Reading::Mig(m) => Some(*m),
            Reading::Malformed { problems: p, meant } => {
                problems.extend(p.iter().cloned());
                *meant
            }
        };
        if let Some(m) = &meant {
            if !self.configured().contains(&m.profile) {
                problems.push(format!(
                    "MIG profile {} exists on {}",
                    m.profile,
                    self.settings.scope()
                ));
            }
            if m.shared && !self.settings.allow_shared {
                problems.push(
                    "it is a shared (time-sliced or MPS) MIG slice and allowShared is false"
                        .to_owned(),
                );
            }
        }
        if device_plugin && self.settings.strategy == Strategy::Single {
            let mut reason = format!(
                "{name:?}: the cluster's MIG strategy is single, which exposes every MIG slice as nvidia.com/gpu and never advertises nvidia.com/mig-* names"
            );
            if !problems.is_empty() {
                reason.push_str(&format!(" (besides, {})", problems.join(", ")));
            }
            let slice = meant.map_or_else(
                || "<product>-MIG-<profile>".to_owned(),
                |m| format!("<product>-MIG-{}", self.suggestion(&m).profile),
            );
            return Some(
                Violation::new(path, reason).fix(format!(
                    "ask for nvidia.com/gpu and select the slice with nodeSelector {PRODUCT_LABEL}: {slice}"
                )),
            );
        }
        if problems.is_empty() {
            return None;
        }
        let reason = format!(
            "{name:?} is not a MIG resource the NVIDIA device plugin advertises: {}",
            problems.join(", ")
        );
        let fix = match meant {
            Some(m) => {
                let s = self.suggestion(&m);
                let nearest = if s.profile == m.profile {
                    ""
                } else {
                    " (the nearest known profile)"
                };
                format!("use \"{}\"{nearest}", s.resource_name())
            }
            None => match nearest_by_spelling(name, self.configured()) {
                Some(p) => format!(
                    "use nvidia.com/mig-<n>g.<m>gb, e.g. \"{}\"",
                    p.resource_name(false)
                ),
                None => "use nvidia.com/mig-<n>g.<m>gb".to_owned(),
            },
        };
        Some(Violation::new(path, reason).fix(fix))
    }

    /// Checks each `nvidia.com/gpu.product` value the pod requires.
    fn product_violations(
        &self,
        workload: &Workload,
        requested: &[Profile],
        claimed: &[Profile],
        out: &mut Vec<Violation>,
        warnings: &mut Vec<String>,
    ) {
        let mut all = requested.to_vec();
        all.extend(claimed.iter().filter(|p| !requested.contains(p)));
        let profiles = Profiles {
            requested,
            all: &all,
        };
        let spec_path = workload.spec_path();
        let spec = &workload.spec;
        if let Some(value) = spec.node_selector.get(PRODUCT_LABEL) {
            let path = format!("{spec_path}.nodeSelector[\"{PRODUCT_LABEL}\"]");
            self.check_product(value, &path, &profiles, out, warnings);
        }
        for (path, expr) in workload.required_node_expressions() {
            if expr.key != PRODUCT_LABEL || expr.operator != "In" {
                continue;
            }
            for (v, value) in expr.values.iter().enumerate() {
                self.check_product(
                    value,
                    &format!("{path}.values[{v}]"),
                    &profiles,
                    out,
                    warnings,
                );
            }
        }
    }

    pub(crate) fn offers(&self, model: &GpuModel, profile: &Profile) -> bool {
        model.offers(profile) || self.settings.extra().any(|p| p == *profile)
    }

    fn check_product(
        &self,
        value: &str,
        path: &str,
        profiles: &Profiles<'_>,
        out: &mut Vec<Violation>,
        warnings: &mut Vec<String>,
    ) {
        let requested = profiles.requested;
        let product = split_product(value);
        // Unknown products are accepted, with a warning when the pod asks for
        // MIG: new GPUs appear before the catalogue knows them (README
        // "Unknown products").
        let Some(model) = mig_catalogue::model_for_product(product.base) else {
            if !profiles.all.is_empty() || product.mig_suffix.is_some() {
                warnings.push(format!(
                    "{path}: selects {PRODUCT_LABEL}={value}, a product the MIG catalogue does not know, so its MIG profiles were not checked"
                ));
            }
            return;
        };
        if let Some(suffix) = product.mig_suffix {
            match read_label_profile(suffix) {
                Some(p) if self.offers(model, &p) => {}
                _ => out.push(
                    Violation::new(
                        path,
                        format!(
                            "selects {PRODUCT_LABEL}={value}, but {} ({}) has no MIG profile {suffix:?}, so no node carries that label",
                            product.base, model.name
                        ),
                    )
                    .fix(format!(
                        "use one of {}",
                        list(model.profiles.iter().map(|p| format!("{}-MIG-{p}", product.base)))
                    )),
                ),
            }
            if self.settings.strategy != Strategy::Single && !requested.is_empty() {
                out.push(
                    Violation::new(
                        path,
                        format!(
                            "selects {PRODUCT_LABEL}={value}: nodes labelled -MIG-<profile> run the single MIG strategy and advertise slices only as nvidia.com/gpu, but the pod asks for nvidia.com/mig-* resources"
                        ),
                    )
                    .fix(format!(
                        "ask for nvidia.com/gpu, or select {PRODUCT_LABEL}={} (mixed-strategy nodes)",
                        product.base
                    )),
                );
            }
            return;
        }
        for profile in profiles.all {
            if self.offers(model, profile) {
                continue;
            }
            let elsewhere: Vec<&str> = MODELS
                .iter()
                .filter(|m| m.offers(profile))
                .filter_map(|m| m.products.first().copied())
                .collect();
            let other = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(
                    ", or select a product that offers it: {}",
                    list(elsewhere.iter())
                )
            };
            out.push(
                Violation::new(
                    path,
                    format!(
                        "selects {PRODUCT_LABEL}={value} ({}), which has no MIG profile {profile}; the pod would stay Pending",
                        model.name
                    ),
                )
                .fix(format!(
                    "ask for one of {}'s profiles ({}){other}",
                    model.name,
                    list(model.profiles.iter().map(|p| p.resource_name(false)))
                )),
            );
        }
    }
}

/// The MIG profiles a pod asks for: by resource name (`requested`), and
/// with its DRA claims too (`all`).
struct Profiles<'a> {
    requested: &'a [Profile],
    all: &'a [Profile],
}

/// A product label value taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductLabel<'a> {
    /// The product, without suffixes (`NVIDIA-A100-SXM4-40GB`).
    pub base: &'a str,
    /// The `-MIG-<profile>` suffix's profile (single strategy), as written.
    pub mig_suffix: Option<&'a str>,
    /// Whether `-SHARED` (time-slicing / MPS) ended the value.
    pub shared: bool,
}

/// Splits `NVIDIA-A100-SXM4-40GB-MIG-1g.5gb-SHARED` into its parts.
pub fn split_product(value: &str) -> ProductLabel<'_> {
    let (rest, shared) = match value.strip_suffix("-SHARED") {
        Some(rest) => (rest, true),
        None => (value, false),
    };
    match rest.rfind("-MIG-") {
        Some(at) => ProductLabel {
            base: rest.get(..at).unwrap_or(rest),
            mig_suffix: rest.get(at + 5..),
            shared,
        },
        None => ProductLabel {
            base: rest,
            mig_suffix: None,
            shared,
        },
    }
}

/// A `-MIG-<profile>` suffix as a profile: label values cannot hold `+`, so
/// both `1g.10gb+me` and `1g.10gb.me` spellings are read.
fn read_label_profile(suffix: &str) -> Option<Profile> {
    Profile::parse(suffix).ok()
}

/// The configured profile nearest to `target`: same attribute first, then
/// the closest slice count, then the closest memory size, then spelling;
/// ties go to catalogue order.
pub fn nearest_profile(target: &Profile, configured: &[Profile]) -> Option<Profile> {
    let target_name = target.to_string();
    configured
        .iter()
        .min_by_key(|p| {
            (
                p.attr != target.attr,
                p.compute.abs_diff(target.compute),
                p.memory_gb.abs_diff(target.memory_gb),
                naming::edit_distance(&p.to_string(), &target_name),
            )
        })
        .copied()
}

/// The configured profile whose resource name is spelt closest to `name`.
fn nearest_by_spelling(name: &str, configured: &[Profile]) -> Option<Profile> {
    let lower = name.to_ascii_lowercase();
    configured
        .iter()
        .min_by_key(|p| naming::edit_distance(&p.resource_name(false), &lower))
        .copied()
}

pub(crate) fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
