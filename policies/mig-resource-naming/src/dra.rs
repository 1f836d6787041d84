//! The MIG rules on Dynamic Resource Allocation: the profiles and products
//! the CEL selectors of a request select (a pod's claims, a ResourceClaim or
//! ResourceClaimTemplate admitted, a DeviceClass), and the extended resource
//! name a DeviceClass maps its devices to.
//!
//! The selectors of one request (or one `firstAvailable` sub-request) all
//! have to match, so they are read together: every profile compared with
//! must be one a configured GPU model offers, spelt as NVIDIA's DRA driver
//! spells it; a product compared with must offer at least one of them. CEL
//! the reader does not understand is accepted with a warning.

use gpu_policy_core::dra::{
    AdmittedClaim, ClaimDevices, DeviceAlternative, DeviceClass, PodClaims,
};
use gpu_policy_core::{GpuCatalogue, Vendor, Violation};

use crate::cel;
use crate::mig_catalogue::{self, MODELS};
use crate::naming::{self, MigName, Reading};
use crate::profile::{DOMAIN, Profile};
use crate::rules::{Checker, Findings, list};
use crate::settings::{Compiled, Settings};

/// The longest expression quoted whole in a warning.
const QUOTED_EXPRESSION_MAX: usize = 120;

/// Something a selector selects that no device has.
#[derive(Debug)]
struct Problem {
    /// The selector's expression, below the claim spec or the class.
    field: String,
    /// What it selects: `MIG profile "1g.5g"`.
    what: String,
    /// Why no device has it: `which no device has: ...`.
    why: String,
    fix: String,
}

/// What the selectors of one request, or of a DeviceClass, select.
#[derive(Debug, Default)]
struct Selected {
    /// The known profiles selected, first occurrence first.
    profiles: Vec<Profile>,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

/// Reads the selectors `(field, expression)` of one request (they all have
/// to match) into `out`.
fn check_selectors<'e>(
    checker: &Checker<'_>,
    selectors: impl IntoIterator<Item = (String, &'e str)>,
    out: &mut Selected,
) {
    let mut request_profiles: Vec<Profile> = Vec::new();
    let mut products: Vec<(String, String)> = Vec::new();
    for (field, expression) in selectors {
        let reading = cel::read(expression);
        for literal in &reading.profiles {
            match profile_problem(checker, literal) {
                Ok(profile) => {
                    if !request_profiles.contains(&profile) {
                        request_profiles.push(profile);
                    }
                }
                Err((why, fix)) => out.problems.push(Problem {
                    field: field.clone(),
                    what: format!("MIG profile {literal:?}"),
                    why,
                    fix,
                }),
            }
        }
        products.extend(reading.products.into_iter().map(|p| (field.clone(), p)));
        if !reading.unread.is_empty() {
            out.warnings.push(format!(
                "{field}: {} uses NVIDIA's {} attribute in a form this policy does not read (it reads ==, in [...] and has(), joined by && and ||), so what it selects was not checked",
                quoted(expression),
                reading.unread.join(" and ")
            ));
        }
    }
    if !request_profiles.is_empty() {
        for (field, product) in products {
            product_problem(checker, &field, &product, &request_profiles, out);
        }
    }
    for profile in request_profiles {
        if !out.profiles.contains(&profile) {
            out.profiles.push(profile);
        }
    }
}

/// The expression for a message, cut when long.
fn quoted(expression: &str) -> String {
    match expression.char_indices().nth(QUOTED_EXPRESSION_MAX) {
        None => format!("{expression:?}"),
        Some((cut, _)) => format!("{:?}", format!("{}...", &expression[..cut])),
    }
}

/// A `productName` compared with, against the profiles the same request
/// selects: known products must offer one of them; unknown ones are a
/// warning (new GPUs appear before the catalogue knows them).
fn product_problem(
    checker: &Checker<'_>,
    field: &str,
    product: &str,
    profiles: &[Profile],
    out: &mut Selected,
) {
    // The driver reports NVML's name ("NVIDIA A100-SXM4-40GB"); GPU feature
    // discovery's product label, which the catalogue lists, has '-' for ' '.
    let label = product.replace(' ', "-");
    let names = list(profiles.iter());
    let Some(model) = mig_catalogue::model_for_product(&label) else {
        out.warnings.push(format!(
            "{field}: selects productName {product:?}, a product the MIG catalogue does not know, so whether it offers {names} was not checked"
        ));
        return;
    };
    if profiles.iter().any(|p| checker.offers(model, p)) {
        return;
    }
    let elsewhere: Vec<&str> = MODELS
        .iter()
        .filter(|m| profiles.iter().any(|p| m.offers(p)))
        .map(|m| m.name)
        .collect();
    out.problems.push(Problem {
        field: field.to_owned(),
        what: format!("productName {product:?}"),
        why: format!(
            "whose model {} has no MIG profile {names}, so no device matches",
            model.name
        ),
        fix: format!(
            "select one of {}'s profiles ({}), or a product that offers {names} ({})",
            model.name,
            list(model.profiles.iter()),
            list(elsewhere.iter())
        ),
    });
}

/// A profile a CEL selector names: the profile when NVIDIA's DRA driver
/// offers it spelt so, else why not (`which no device has: ...`) and the fix.
fn profile_problem(checker: &Checker<'_>, literal: &str) -> Result<Profile, (String, String)> {
    let configured = checker.configured();
    let profile = match Profile::parse(literal) {
        Ok(p) => p,
        Err(e) => {
            // The parse error starts with the text itself: say it once.
            let quoted = format!("{literal:?}");
            let why = e
                .strip_prefix(&quoted)
                .map_or(e.as_str(), |rest| rest.trim_start_matches([':', ' ']));
            let fix = configured
                .iter()
                .min_by_key(|p| naming::edit_distance(&p.to_string(), literal))
                .map_or_else(
                    || "compare the profile attribute with a MIG profile, <n>g.<m>gb".to_owned(),
                    |p| format!("select '{p}' (the closest spelling)"),
                );
            return Err((format!("which no device has: {why}"), fix));
        }
    };
    let mut problems = Vec::new();
    let spelt = profile.to_string();
    if spelt != literal {
        problems.push(format!("NVIDIA's DRA driver spells it {spelt:?}"));
    }
    if !configured.contains(&profile) {
        problems.push(format!(
            "MIG profile {profile} exists on {}",
            checker.settings.scope()
        ));
    }
    if problems.is_empty() {
        return Ok(profile);
    }
    let suggested = checker
        .suggestion(&MigName {
            profile,
            shared: false,
        })
        .profile;
    let nearest = if suggested == profile {
        ""
    } else {
        " (the nearest known profile)"
    };
    Err((
        format!("which no device has: {}", problems.join(", ")),
        format!("select '{suggested}'{nearest}"),
    ))
}

/// The requests of NVIDIA GPU device classes: the ones whose selectors
/// compare NVIDIA's attributes.
fn nvidia_alternatives<'d>(
    devices: &'d ClaimDevices,
    catalogue: &'d GpuCatalogue,
) -> impl Iterator<Item = &'d DeviceAlternative> {
    devices.alternatives().filter(|a| {
        catalogue
            .classify_device_class(&a.class)
            .is_some_and(|gpu| gpu.vendor == Vendor::Nvidia)
    })
}

/// The selectors of a request with their paths below the claim spec.
fn selectors_of(alt: &DeviceAlternative) -> impl Iterator<Item = (String, &str)> {
    alt.selectors.iter().map(|(i, e)| {
        (
            format!("{}.selectors[{i}].cel.expression", alt.path),
            e.as_str(),
        )
    })
}

fn check_devices(devices: &ClaimDevices, compiled: &Compiled) -> Selected {
    let checker = Checker::new(&compiled.settings);
    let mut out = Selected::default();
    for alt in nvidia_alternatives(devices, &compiled.catalogue) {
        check_selectors(&checker, selectors_of(alt), &mut out);
    }
    out
}

/// What the pod's DRA claims select by MIG profile.
#[derive(Debug, Default)]
pub struct ClaimedProfiles {
    /// Known profiles, for the product check of the pod's node selection.
    pub profiles: Vec<Profile>,
    /// Reasons to reject.
    pub violations: Vec<Violation>,
    /// Admission warnings.
    pub warnings: Vec<String>,
}

/// The MIG profiles and products the CEL selectors of the pod's DRA claims
/// select: one no device has would keep the pod Pending (a violation on the
/// pod's claim, naming the claim object's field); the known profiles go to
/// the product check. A claim that cannot be read is a warning.
pub fn pod_claim_profiles(claims: &PodClaims<'_>, compiled: &Compiled) -> ClaimedProfiles {
    let mut out = ClaimedProfiles::default();
    for claim in &claims.claims {
        let devices = match &claim.devices {
            Ok(devices) => devices,
            Err(e) => {
                out.warnings.push(
                    claim.unresolved_warning(*e, "the MIG profiles it selects were not checked"),
                );
                continue;
            }
        };
        let object = claim.claim.source();
        let spec = claim.claim.object().map_or("spec", |o| o.spec_path());
        let selected = check_devices(devices, compiled);
        for profile in selected.profiles {
            if !out.profiles.contains(&profile) {
                out.profiles.push(profile);
            }
        }
        out.violations
            .extend(selected.problems.into_iter().map(|p| {
                let field = format!("{object} {spec}.{}", p.field);
                Violation::new(
                    claim.path.as_str(),
                    format!(
                        "{:?} ({object}) selects {} ({field}), {}",
                        claim.claim.name, p.what, p.why
                    ),
                )
                .fix(format!("{} in {field}", p.fix))
            }));
        out.warnings.extend(selected.warnings.into_iter().map(|w| {
            format!(
                "{} {:?} ({object}) {spec}.{w}",
                claim.path, claim.claim.name
            )
        }));
    }
    out
}

/// The rules for a ResourceClaim or ResourceClaimTemplate: what the
/// selectors of its NVIDIA GPU requests select exists.
pub fn check_claim(claim: &AdmittedClaim, compiled: &Compiled) -> Findings {
    let selected = check_devices(&claim.devices, compiled);
    Findings {
        violations: selected
            .problems
            .into_iter()
            .map(|p| {
                Violation::new(
                    claim.field(&p.field),
                    format!("selects {}, {}", p.what, p.why),
                )
                .fix(p.fix)
            })
            .collect(),
        warnings: selected
            .warnings
            .into_iter()
            .map(|w| format!("{}.{w}", claim.object().spec_path()))
            .collect(),
    }
}

/// The rules for a DeviceClass: what its selectors select exists, and an
/// `extendedResourceName` under `nvidia.com/` is a name NVIDIA GPUs are
/// asked for by (`nvidia.com/gpu`, `nvidia.com/mig-<profile>` of a
/// configured model) that agrees with the profile the class selects.
pub fn check_device_class(class: &DeviceClass, settings: &Settings) -> Findings {
    let checker = Checker::new(settings);
    let mut selected = Selected::default();
    check_selectors(
        &checker,
        class
            .selectors
            .iter()
            .map(|(i, e)| (DeviceClass::selector_path(*i), e.as_str())),
        &mut selected,
    );
    let mut violations: Vec<Violation> = selected
        .problems
        .into_iter()
        .map(|p| Violation::new(p.field, format!("selects {}, {}", p.what, p.why)).fix(p.fix))
        .collect();
    if let Some(name) = &class.extended_resource_name {
        violations.extend(extended_resource_violation(
            &checker,
            name,
            &selected.profiles,
        ));
    }
    Findings {
        violations,
        warnings: selected.warnings,
    }
}

/// The whole-GPU names a DeviceClass may map NVIDIA devices to: the device
/// plugin's, and its time-sliced rename.
const WHOLE_GPU: &str = "nvidia.com/gpu";
const SHARED_GPU: &str = "nvidia.com/gpu.shared";

fn extended_resource_violation(
    checker: &Checker<'_>,
    name: &str,
    selected: &[Profile],
) -> Option<Violation> {
    let path = DeviceClass::EXTENDED_RESOURCE_NAME_PATH;
    let (domain, _) = name.split_once('/')?;
    if !domain.eq_ignore_ascii_case(DOMAIN) {
        return None;
    }
    let reading = naming::read(name);
    let meant = match &reading {
        Reading::NotMig => {
            if name == WHOLE_GPU || (name == SHARED_GPU && checker.settings.allow_shared) {
                return None;
            }
            let example = checker
                .configured()
                .first()
                .map(|p| format!(", e.g. {}", p.resource_name(false)))
                .unwrap_or_default();
            return Some(
                Violation::new(
                    path,
                    format!(
                        "{name:?} is not a name NVIDIA GPUs are asked for by, so no pod asks for it"
                    ),
                )
                .fix(format!(
                    "use {WHOLE_GPU} for whole GPUs or nvidia.com/mig-<profile> for MIG slices{example}"
                )),
            );
        }
        Reading::Mig(m) => Some(*m),
        Reading::Malformed { meant, .. } => *meant,
    };
    if let Some(v) = checker.resource_name_violation(name, &reading, path, false) {
        return Some(v);
    }
    let m = meant?;
    if selected.is_empty() || selected.contains(&m.profile) {
        return None;
    }
    let chosen = list(selected.iter());
    Some(
        Violation::new(
            path,
            format!(
                "{name:?} names MIG profile {}, but the class's selectors select {chosen}: pods asking for {name} would get another slice",
                m.profile
            ),
        )
        .fix(format!(
            "name the class's resource {}, or select '{}' in its selectors",
            list(selected.iter().map(|p| p.resource_name(m.shared))),
            m.profile
        )),
    )
}
