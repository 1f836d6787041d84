//! The rules of mig-resource-naming: resource names, strategy, mixing inside
//! a container, and the node product a pod selects.

use std::cell::OnceCell;

use gpu_policy_core::pod::{Container, Quantity};
use gpu_policy_core::quantity::parse_device_count;
use gpu_policy_core::{
    AdmissionRequest, GpuCatalogue, GpuKind, Outcome, Vendor, Violation, Workload,
};

use crate::mig_catalogue::{self, GpuModel, MODELS};
use crate::naming::{self, MigName, Reading};
use crate::profile::Profile;
use crate::settings::{Settings, Strategy};

/// The node label GPU feature discovery sets to the GPU's product name.
pub const PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

/// Decides one admission request.
pub fn evaluate(request: &AdmissionRequest, settings: &Settings) -> Outcome {
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE") {
        return Outcome::Accept;
    }
    let workload = match Workload::from_request(request) {
        Ok(Some(w)) => w,
        Ok(None) => return Outcome::Accept,
        Err(v) => return Outcome::Reject(vec![v]),
    };
    Outcome::from_violations(check(&workload, settings))
}

/// Every violation in a workload.
pub fn check(workload: &Workload, settings: &Settings) -> Vec<Violation> {
    let checker = Checker {
        settings,
        configured: OnceCell::new(),
        gpus: OnceCell::new(),
    };
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
    checker.product_violations(workload, &requested, &mut violations);
    violations
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

struct Checker<'s> {
    settings: &'s Settings,
    configured: OnceCell<Vec<Profile>>,
    gpus: OnceCell<GpuCatalogue>,
}

impl Checker<'_> {
    fn configured(&self) -> &[Profile] {
        self.configured
            .get_or_init(|| self.settings.configured_profiles())
    }

    fn is_nvidia_whole_gpu(&self, name: &str) -> bool {
        self.gpus
            .get_or_init(GpuCatalogue::default)
            .classify(name)
            .is_some_and(|r| r.kind == GpuKind::Whole && r.vendor == Vendor::Nvidia)
    }

    /// The name to suggest for what was meant: a configured profile (the
    /// nearest one when the meant profile is unknown), `.shared` dropped when
    /// shared resources are not allowed.
    fn suggestion(&self, meant: &MigName) -> MigName {
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
        if self.settings.strategy == Strategy::Single {
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
        out: &mut Vec<Violation>,
    ) {
        let spec_path = workload.spec_path();
        let spec = &workload.spec;
        if let Some(value) = spec.node_selector.get(PRODUCT_LABEL) {
            let path = format!("{spec_path}.nodeSelector[\"{PRODUCT_LABEL}\"]");
            self.check_product(value, &path, requested, out);
        }
        let terms = &spec
            .affinity
            .node_affinity
            .required_during_scheduling_ignored_during_execution
            .node_selector_terms;
        for (t, term) in terms.iter().enumerate() {
            for (e, expr) in term.match_expressions.iter().enumerate() {
                if expr.key != PRODUCT_LABEL || expr.operator != "In" {
                    continue;
                }
                for (v, value) in expr.values.iter().enumerate() {
                    let path = format!(
                        "{spec_path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{t}].matchExpressions[{e}].values[{v}]"
                    );
                    self.check_product(value, &path, requested, out);
                }
            }
        }
    }

    fn offers(&self, model: &GpuModel, profile: &Profile) -> bool {
        model.offers(profile) || self.settings.extra().any(|p| p == *profile)
    }

    fn check_product(
        &self,
        value: &str,
        path: &str,
        requested: &[Profile],
        out: &mut Vec<Violation>,
    ) {
        let product = split_product(value);
        // Unknown products are accepted: new GPUs appear before the catalogue
        // knows them (README "Unknown products").
        let Some(model) = mig_catalogue::model_for_product(product.base) else {
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
        for profile in requested {
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

fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu_policy_core::WorkloadKind;
    use gpu_policy_core::violation::render;
    use serde_json::{Value, json};

    fn pod(spec: Value) -> Workload {
        Workload::from_json(
            WorkloadKind::Pod,
            &json!({"metadata": {"name": "p"}, "spec": spec}).to_string(),
        )
        .unwrap()
    }

    fn limits(resources: Value) -> Value {
        json!({"containers": [{"name": "trainer", "resources": {"limits": resources}}]})
    }

    fn run(spec: Value, settings: &Settings) -> Vec<Violation> {
        check(&pod(spec), settings)
    }

    fn message(spec: Value, settings: &Settings) -> String {
        render(&run(spec, settings))
    }

    fn mixed() -> Settings {
        Settings {
            strategy: Strategy::Mixed,
            ..Settings::default()
        }
    }

    #[test]
    fn good_names_pass() {
        for name in [
            "nvidia.com/mig-1g.10gb",
            "nvidia.com/mig-1g.10gb.me",
            "nvidia.com/mig-1g.24gb.me.all",
            "nvidia.com/mig-1g.24gb-me",
            "nvidia.com/mig-1g.24gb.gfx",
            "nvidia.com/mig-7g.141gb",
            "nvidia.com/mig-3g.40gb.shared",
            "nvidia.com/gpu",
            "nvidia.com/gpu.shared",
            "amd.com/gpu",
        ] {
            assert!(
                run(limits(json!({name: "1"})), &Settings::default()).is_empty(),
                "{name}"
            );
            assert!(
                run(limits(json!({name: "1"})), &mixed()).is_empty(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_catalogue_profile_passes_in_mixed() {
        for model in MODELS {
            for p in model.profiles {
                let spec = json!({
                    "containers": [{"name": "c", "resources": {"limits": {p.resource_name(false): "1"}}}],
                    "nodeSelector": {"nvidia.com/gpu.product": model.products.first().unwrap()}
                });
                assert!(run(spec, &mixed()).is_empty(), "{} {p}", model.name);
            }
        }
    }

    #[test]
    fn malformed_names_are_rejected_with_path_and_suggestion() {
        let table = [
            (
                "nvidia.com/MIG-1g.10gb",
                "upper-case",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/1g.10gb",
                "missing the \"mig-\" prefix",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/mig-1g.10gb+me",
                "'+'",
                "use \"nvidia.com/mig-1g.10gb.me\"",
            ),
            (
                "nvidia.com/mig-1g.10g",
                "end in \"gb\"",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/mig-1g10gb",
                "missing the '.' after 1g",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/mig-1g.10GB",
                "upper-case",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/mig-1g.10gb.foo",
                ".foo is not a MIG attribute",
                "use \"nvidia.com/mig-1g.10gb\"",
            ),
            (
                "nvidia.com/mig-1g.11gb",
                "MIG profile 1g.11gb exists on no GPU model in the MIG catalogue",
                "use \"nvidia.com/mig-1g.10gb\" (the nearest known profile)",
            ),
            (
                "nvidia.com/mig-3g.41gb",
                "MIG profile 3g.41gb exists on no GPU model",
                "use \"nvidia.com/mig-3g.40gb\" (the nearest known profile)",
            ),
            (
                "nvidia.com/mig-1g.11gb.me",
                "1g.11gb+me exists on no",
                "use \"nvidia.com/mig-1g.10gb.me\"",
            ),
            (
                "nvidia.com/mig-2g.10gb.gfx",
                "2g.10gb+gfx exists on no",
                "use \"nvidia.com/mig-2g.48gb.gfx\"",
            ),
            (
                "nvidia.com/mig-big",
                "<n>g.<m>gb",
                "use nvidia.com/mig-<n>g.<m>gb, e.g. \"",
            ),
            (
                "NVIDIA.com/Mig-1g.5gb",
                "upper-case",
                "use \"nvidia.com/mig-1g.5gb\"",
            ),
            (
                "nvidia.com/mig-1g.24gb-gfx",
                "-gfx does not exist",
                "use \"nvidia.com/mig-1g.24gb.gfx\"",
            ),
            (
                "nvidia.com/mig-1g.10gb.shared.me",
                ".shared must come last",
                "use \"nvidia.com/mig-1g.10gb.me.shared\"",
            ),
        ];
        for (name, reason, fix) in table {
            let vs = run(limits(json!({name: "1"})), &Settings::default());
            assert_eq!(vs.len(), 1, "{name}: {vs:?}");
            let v = &vs[0];
            assert_eq!(
                v.path,
                format!("spec.containers[0].resources.limits[\"{name}\"]")
            );
            assert_eq!(v.subject.as_deref(), Some("trainer"));
            assert!(v.reason.contains(reason), "{name}: {}", v.reason);
            assert!(
                v.fix.as_deref().unwrap().contains(fix),
                "{name}: {:?}",
                v.fix
            );
        }
    }

    #[test]
    fn gpu_models_narrow_the_profiles_and_extras_widen_them() {
        let s = Settings {
            gpu_models: vec!["A100-40GB".into()],
            ..mixed()
        };
        let m = message(limits(json!({"nvidia.com/mig-1g.20gb": "1"})), &s);
        assert!(
            m.contains("1g.20gb exists on none of gpuModels (A100-40GB)"),
            "{m}"
        );
        assert!(m.contains("use \"nvidia.com/mig-1g.10gb\""), "{m}");
        let s = Settings {
            extra_profiles: vec!["1g.11gb".into()],
            ..mixed()
        };
        assert!(run(limits(json!({"nvidia.com/mig-1g.11gb": "1"})), &s).is_empty());
    }

    #[test]
    fn shared_slices_follow_allow_shared() {
        let s = Settings {
            allow_shared: false,
            ..Settings::default()
        };
        let m = message(limits(json!({"nvidia.com/mig-1g.10gb.shared": "1"})), &s);
        assert!(m.contains("allowShared is false"), "{m}");
        assert!(m.contains("use \"nvidia.com/mig-1g.10gb\""), "{m}");
        // nvidia.com/gpu.shared is not a MIG resource: left to other policies.
        assert!(run(limits(json!({"nvidia.com/gpu.shared": "1"})), &s).is_empty());
    }

    #[test]
    fn single_strategy_rejects_mig_names() {
        let s = Settings {
            strategy: Strategy::Single,
            ..Settings::default()
        };
        let vs = run(limits(json!({"nvidia.com/mig-1g.10gb": "1"})), &s);
        assert_eq!(vs.len(), 1);
        assert!(vs[0].reason.contains("MIG strategy is single"), "{vs:?}");
        assert_eq!(
            vs[0].fix.as_deref(),
            Some(
                "ask for nvidia.com/gpu and select the slice with nodeSelector nvidia.com/gpu.product: <product>-MIG-1g.10gb"
            )
        );
        let m = message(limits(json!({"nvidia.com/mig-1g.10g": "1"})), &s);
        assert!(m.contains("besides") && m.contains("end in \"gb\""), "{m}");
        assert!(run(limits(json!({"nvidia.com/gpu": "1"})), &s).is_empty());
        // Mixing rules do not pile on in single mode.
        let vs = run(
            limits(json!({"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "2"})),
            &s,
        );
        assert_eq!(vs.len(), 1, "{vs:?}");
    }

    #[test]
    fn mixing_rules_per_container() {
        let whole = run(
            limits(json!({"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1"})),
            &mixed(),
        );
        assert_eq!(whole.len(), 1, "{whole:?}");
        assert_eq!(whole[0].path, "spec.containers[0]");
        assert!(
            whole[0]
                .reason
                .contains("whole GPUs (nvidia.com/gpu) and MIG slices")
        );

        let two = run(
            limits(json!({"nvidia.com/mig-1g.10gb": "1", "nvidia.com/mig-2g.20gb": "1"})),
            &mixed(),
        );
        let m = render(&two);
        assert!(
            m.contains("asks for 2 MIG profiles (nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.20gb)"),
            "{m}"
        );
        assert!(
            m.contains("asks for 2 MIG devices, more than maxMigDevicesPerContainer (1)"),
            "{m}"
        );

        let many = run(limits(json!({"nvidia.com/mig-1g.10gb": "3"})), &mixed());
        assert_eq!(many.len(), 1);
        assert!(many[0].fix.as_deref().unwrap().contains("at most 1"));
        let s = Settings {
            max_mig_devices_per_container: 3,
            ..mixed()
        };
        assert!(run(limits(json!({"nvidia.com/mig-1g.10gb": "3"})), &s).is_empty());

        // A request without a limit counts as well, and a misspelt second
        // profile counts as the profile it means.
        let spec = json!({"containers": [{"name": "c", "resources": {
            "requests": {"nvidia.com/mig-1g.10gb": "1"},
            "limits": {"nvidia.com/mig-2g.20gb+me": "1"}}}]});
        let m = message(spec, &mixed());
        assert!(
            m.contains("resources.requests[\"nvidia.com/mig-1g.10gb\"]")
                || m.contains("2 MIG profiles"),
            "{m}"
        );
        assert!(m.contains("2 MIG profiles"), "{m}");

        // Separate containers may each have their own device type.
        let spec = json!({"containers": [
            {"name": "a", "resources": {"limits": {"nvidia.com/gpu": "1"}}},
            {"name": "b", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}}]});
        assert!(run(spec, &mixed()).is_empty());
        // Bad quantities are someone else's rule.
        assert!(run(limits(json!({"nvidia.com/mig-1g.10gb": "500m"})), &mixed()).is_empty());
    }

    #[test]
    fn all_violations_are_reported_together() {
        let spec = json!({"initContainers": [{"name": "init", "resources": {"limits": {"nvidia.com/MIG-1g.10gb": "1"}}}],
            "containers": [{"name": "a", "resources": {"limits": {"nvidia.com/1g.10gb": "1", "nvidia.com/gpu": "1"}}}]});
        let m = message(spec, &mixed());
        assert!(m.starts_with("3 violations: "), "{m}");
        assert!(
            m.contains(
                "spec.initContainers[0].resources.limits[\"nvidia.com/MIG-1g.10gb\"] \"init\""
            ),
            "{m}"
        );
        assert!(
            m.contains("spec.containers[0].resources.limits[\"nvidia.com/1g.10gb\"] \"a\""),
            "{m}"
        );
        assert!(
            m.contains("spec.containers[0] \"a\": asks for whole GPUs"),
            "{m}"
        );
    }

    fn with_product(resource: &str, product: &str) -> Value {
        json!({"containers": [{"name": "c", "resources": {"limits": {resource: "1"}}}],
               "nodeSelector": {"nvidia.com/gpu.product": product}})
    }

    #[test]
    fn product_must_offer_the_profile() {
        let ok = [
            ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB"),
            ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-40GB"),
            ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB-SHARED"),
            ("nvidia.com/mig-1g.12gb", "NVIDIA-H100-NVL"),
            (
                "nvidia.com/mig-1g.24gb.me",
                "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition",
            ),
            ("nvidia.com/mig-1g.10gb", "NVIDIA-L40S"),
            ("nvidia.com/mig-1g.10gb", "Some-Future-GPU"),
        ];
        for (r, p) in ok {
            assert!(run(with_product(r, p), &mixed()).is_empty(), "{r} on {p}");
        }
        let vs = run(
            with_product("nvidia.com/mig-1g.20gb", "NVIDIA-A100-SXM4-40GB"),
            &mixed(),
        );
        assert_eq!(vs.len(), 1, "{vs:?}");
        assert_eq!(vs[0].path, "spec.nodeSelector[\"nvidia.com/gpu.product\"]");
        assert!(
            vs[0]
                .reason
                .contains("(A100-40GB), which has no MIG profile 1g.20gb"),
            "{}",
            vs[0].reason
        );
        let fix = vs[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("nvidia.com/mig-1g.5gb") && fix.contains("NVIDIA-A100-SXM4-80GB"),
            "{fix}"
        );
        // H100 NVL has no 1g.24gb+me (the shared facts file said it had).
        let vs = run(
            with_product("nvidia.com/mig-1g.24gb.me", "NVIDIA-H100-NVL"),
            &mixed(),
        );
        assert_eq!(vs.len(), 1, "{vs:?}");
    }

    #[test]
    fn product_in_required_affinity() {
        let spec = json!({"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/mig-3g.40gb": "1"}}}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In",
                   "values": ["NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-NVL"]}]},
                {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "NotIn", "values": ["NVIDIA-A30"]}]}]}}}});
        let vs = run(spec, &mixed());
        assert_eq!(vs.len(), 1, "{vs:?}");
        assert_eq!(
            vs[0].path,
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[1]"
        );
        assert!(vs[0].reason.contains("H100-NVL-94GB"));
    }

    #[test]
    fn product_mig_suffix_must_be_a_profile_of_the_model() {
        let s = Settings {
            strategy: Strategy::Single,
            ..Settings::default()
        };
        for ok in [
            "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb",
            "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb-SHARED",
            "NVIDIA-H100-NVL-MIG-1g.12gb",
            "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb.me",
            "NVIDIA-Unknown-MIG-9g.99gb",
        ] {
            assert!(
                run(with_product("nvidia.com/gpu", ok), &s).is_empty(),
                "{ok}"
            );
        }
        let vs = run(
            with_product("nvidia.com/gpu", "NVIDIA-A100-SXM4-40GB-MIG-1g.20gb"),
            &s,
        );
        assert_eq!(vs.len(), 1, "{vs:?}");
        assert!(
            vs[0].reason.contains("has no MIG profile \"1g.20gb\""),
            "{}",
            vs[0].reason
        );
        assert!(
            vs[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("NVIDIA-A100-SXM4-40GB-MIG-1g.10gb")
        );
        // A mig-* request on a single-strategy product, in mixed/any mode.
        let vs = run(
            with_product("nvidia.com/mig-1g.5gb", "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb"),
            &Settings::default(),
        );
        assert_eq!(vs.len(), 1, "{vs:?}");
        assert!(vs[0].reason.contains("single MIG strategy"));
    }

    #[test]
    fn split_product_labels() {
        let p = split_product("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb-SHARED");
        assert_eq!(
            p,
            ProductLabel {
                base: "NVIDIA-A100-SXM4-40GB",
                mig_suffix: Some("1g.5gb"),
                shared: true
            }
        );
        let p = split_product("NVIDIA-H100-NVL");
        assert_eq!(
            p,
            ProductLabel {
                base: "NVIDIA-H100-NVL",
                mig_suffix: None,
                shared: false
            }
        );
        let p = split_product("NVIDIA-H100-NVL-SHARED");
        assert_eq!(p.base, "NVIDIA-H100-NVL");
        assert!(p.shared);
        assert_eq!(split_product("-MIG-").mig_suffix, Some(""));
    }

    #[test]
    fn nearest_profile_prefers_attribute_then_slices_then_memory() {
        let all = Settings::default().configured_profiles();
        let near = |t: &str| {
            nearest_profile(&Profile::parse(t).unwrap(), &all)
                .unwrap()
                .to_string()
        };
        assert_eq!(near("1g.11gb"), "1g.10gb");
        assert_eq!(near("1g.11gb+me"), "1g.10gb+me");
        assert_eq!(near("7g.79gb"), "7g.80gb");
        assert_eq!(near("3g.19gb"), "3g.20gb");
        assert_eq!(near("9g.80gb"), "7g.80gb");
    }

    #[test]
    fn requests_outside_create_and_update_or_without_pods_are_accepted() {
        let pod = json!({"metadata": {"name": "p"}, "spec": limits(json!({"nvidia.com/MIG-1g.10gb": "1"}))});
        let req = |op: &str, kind: &str| {
            json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": kind}, "operation": op, "object": pod})
                .to_string()
        };
        let eval = |text: String| {
            let r: AdmissionRequest = serde_json::from_str(&text).unwrap();
            evaluate(&r, &Settings::default())
        };
        assert!(matches!(eval(req("CREATE", "Pod")), Outcome::Reject(_)));
        assert!(matches!(eval(req("UPDATE", "Pod")), Outcome::Reject(_)));
        assert_eq!(eval(req("DELETE", "Pod")), Outcome::Accept);
        assert_eq!(eval(req("CONNECT", "Pod")), Outcome::Accept);
        assert_eq!(eval(req("CREATE", "ConfigMap")), Outcome::Accept);
        let bad = json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE",
            "object": {"spec": {"containers": "nope"}}}).to_string();
        assert!(matches!(eval(bad), Outcome::Reject(_)));
    }
}

#[cfg(test)]
mod readme {
    use super::*;
    use gpu_policy_core::WorkloadKind;
    use gpu_policy_core::violation::render;

    /// Quoted in README.md "What it rejects"; keep the two in step.
    const README_EXAMPLE: &str = r#"3 violations: [1] spec.template.spec.containers[0].resources.limits["nvidia.com/mig-1g.11gb"] "triton": "nvidia.com/mig-1g.11gb" is not a MIG resource the NVIDIA device plugin advertises: MIG profile 1g.11gb exists on no GPU model in the MIG catalogue (fix: use "nvidia.com/mig-1g.10gb" (the nearest known profile)); [2] spec.template.spec.containers[1].resources.limits["nvidia.com/MIG-1g.10gb+me"] "encoder": "nvidia.com/MIG-1g.10gb+me" is not a MIG resource the NVIDIA device plugin advertises: it has upper-case letters (resource names are case-sensitive and the device plugin's are lower case), it uses '+' from the NVIDIA profile name, which the resource name writes as '.' (fix: use "nvidia.com/mig-1g.10gb.me"); [3] spec.template.spec.nodeSelector["nvidia.com/gpu.product"]: selects nvidia.com/gpu.product=NVIDIA-A100-SXM4-40GB (A100-40GB), which has no MIG profile 1g.10gb+me; the pod would stay Pending (fix: ask for one of A100-40GB's profiles (nvidia.com/mig-1g.5gb, nvidia.com/mig-1g.5gb.me, nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.10gb, nvidia.com/mig-3g.20gb, nvidia.com/mig-4g.20gb, nvidia.com/mig-7g.40gb), or select a product that offers it: NVIDIA-A100-SXM4-80GB, NVIDIA-H100-80GB-HBM3)"#;

    /// The example rejection quoted in the README.
    #[test]
    fn readme_example_message() {
        let w = Workload::from_json(
            WorkloadKind::Deployment,
            r#"{"metadata": {"name": "triton"}, "spec": {"template": {"spec": {
                "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
                "containers": [
                    {"name": "triton", "resources": {"limits": {"nvidia.com/mig-1g.11gb": "1"}}},
                    {"name": "encoder", "resources": {"limits": {"nvidia.com/MIG-1g.10gb+me": "1"}}}]}}}}"#,
        )
        .unwrap();
        let message = render(&check(&w, &Settings::default()));
        println!("{message}");
        assert_eq!(message, README_EXAMPLE);
    }
}
