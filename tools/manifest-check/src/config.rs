//! Which policies run, with which settings and on which objects: by default
//! every project policy with `settings: {}` and its metadata.yml
//! rules; with `--policies`, the ClusterAdmissionPolicy(Group) manifests a
//! team would `kubectl apply`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use policy_registry::names as project_policies;
use policy_runner::ContextAwareResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::expression::Expr;
use crate::input::{self, InputObject};
use crate::selection::LabelSelector;
use policy_cases::Rule;

/// `spec.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rejections reject (the default).
    Protect,
    /// Rejections are only reported (policy-server logs them, admits).
    Monitor,
}

/// Where a member's `.wasm` comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Wasm {
    /// One of the project's policies: `<wasm-dir>/<name>.wasm`.
    Project(String),
    /// A `file://` module reference (as kwctl and policy-server accept).
    File(PathBuf),
}

impl Wasm {
    pub fn path(&self, wasm_dir: &Path) -> PathBuf {
        match self {
            Self::Project(name) => wasm_dir.join(format!("{name}.wasm")),
            Self::File(path) => path.clone(),
        }
    }
}

/// One waPC module run with one set of settings.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's name (group) or the policy's name.
    pub name: String,
    /// The module to run, or `None` for a module this tool cannot run
    /// (a registry reference that is not a project policy).
    pub wasm: Option<Wasm>,
    /// The module reference as written.
    pub module: String,
    pub settings: Value,
    pub context_aware_resources: Vec<ContextAwareResource>,
}

/// A single policy or a group of members with an expression.
#[derive(Debug, Clone)]
pub enum Body {
    /// A ClusterAdmissionPolicy (or a default policy).
    Single(Member),
    /// A ClusterAdmissionPolicyGroup.
    Group {
        /// Members, in name order (foreign ones are not evaluated).
        members: Vec<Member>,
        /// The parsed expression; `None` = approximated as "all accept".
        expression: Option<Expr>,
        /// The expression as written.
        expression_text: String,
        /// `spec.message`, shown on rejection.
        message: Option<String>,
    },
}

impl Body {
    /// The members that run: the one of a single policy, or the group's.
    pub fn members(&self) -> &[Member] {
        match self {
            Self::Single(m) => std::slice::from_ref(m),
            Self::Group { members, .. } => members,
        }
    }
}

/// One policy as configured for the run.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Policy (or group) name as shown in reports.
    pub name: String,
    /// Where it was configured (metadata.yml or `file#doc`).
    pub origin: String,
    pub rules: Vec<Rule>,
    pub namespace_selector: Option<LabelSelector>,
    pub object_selector: Option<LabelSelector>,
    pub mode: Mode,
    pub mutating: bool,
    /// For a namespaced AdmissionPolicy(Group): the only namespace it sees.
    pub only_namespace: Option<String>,
    pub body: Body,
    /// What it enforces (SARIF's rule text): a project policy's
    /// metadata.yml description, or which members a group combines how.
    pub description: Option<String>,
}

/// A policy from `--policies` that cannot be run offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedPolicy {
    pub name: String,
    pub origin: String,
    pub reason: String,
}

/// The run's policy configuration.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub policies: Vec<PolicyConfig>,
    pub skipped: Vec<SkippedPolicy>,
    /// Things the user should know about how the configuration was read.
    pub notes: Vec<String>,
}

/// Every project policy, `settings: {}`, rules and contextAwareResources
/// from its `policies/<name>/metadata.yml` as built into the binary (the
/// one of the build that produced the embedded modules; no workspace needed).
pub fn defaults() -> Result<PolicySet> {
    let mut set = PolicySet::default();
    for policy in project_policies() {
        let path = format!("policies/{policy}/metadata.yml (built in)");
        let text = crate::modules::embedded(policy)
            .map(|p| p.metadata_yml)
            .with_context(|| format!("{path} is missing: rebuild gpu-policy-check"))?;
        // metadata.yml's rules, mutating and contextAwareResources read as a
        // policy's spec would be.
        let mut metadata: PolicySpec =
            serde_yaml::from_str(text).with_context(|| format!("cannot read rules from {path}"))?;
        set.policies.push(PolicyConfig {
            name: policy.to_owned(),
            origin: path,
            rules: metadata.rules.unwrap_or_default(),
            namespace_selector: None,
            object_selector: None,
            mode: Mode::Protect,
            mutating: metadata.mutating,
            only_namespace: None,
            body: Body::Single(Member {
                name: policy.to_owned(),
                wasm: Some(Wasm::Project(policy.to_owned())),
                module: format!("{policy} (local build)"),
                settings: Value::Object(serde_json::Map::new()),
                context_aware_resources: metadata.context_aware_resources,
            }),
            description: metadata.annotations.remove(DESCRIPTION),
        });
    }
    Ok(set)
}

/// The module a reference resolves to: a project policy (built locally) or
/// a `file://` path; `None` for anything else.
pub fn resolve_module(module: &str) -> Option<Wasm> {
    if let Some(policy) = project_policy(module) {
        return Some(Wasm::Project(policy.to_owned()));
    }
    module
        .strip_prefix("file://")
        .map(|path| Wasm::File(PathBuf::from(path)))
}

/// The project policy a module reference names, by its last path segment
/// without tag, digest or `.wasm`:
/// `registry://ghcr.io/gpu-policies/gpu-limit-required:v0.1.0`.
pub fn project_policy(module: &str) -> Option<&'static str> {
    let last = module.rsplit('/').next().unwrap_or(module);
    let last = last.split('@').next().unwrap_or(last);
    let last = last.split(':').next().unwrap_or(last);
    let last = last.strip_suffix(".wasm").unwrap_or(last);
    project_policies().find(|p| *p == last)
}

/// The metadata.yml annotation that says what a policy enforces.
const DESCRIPTION: &str = "io.kubewarden.policy.description";

/// What project policy `policy` enforces: its built-in metadata.yml's
/// description.
fn project_description(policy: &str) -> Option<String> {
    let text = crate::modules::embedded(policy)?.metadata_yml;
    let mut metadata: PolicySpec = serde_yaml::from_str(text).ok()?;
    metadata.annotations.remove(DESCRIPTION)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PolicySpec {
    module: Option<String>,
    settings: Option<Value>,
    rules: Option<Vec<Rule>>,
    mutating: bool,
    mode: Option<String>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
    context_aware_resources: Vec<ContextAwareResource>,
    match_conditions: Option<Vec<Value>>,
    // ClusterAdmissionPolicyGroup
    policies: Option<BTreeMap<String, GroupMemberSpec>>,
    expression: Option<String>,
    message: Option<String>,
    // metadata.yml (a policy's own, not a spec's)
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GroupMemberSpec {
    module: String,
    settings: Option<Value>,
    context_aware_resources: Vec<ContextAwareResource>,
}

const POLICY_KINDS: [&str; 4] = [
    "ClusterAdmissionPolicy",
    "AdmissionPolicy",
    "ClusterAdmissionPolicyGroup",
    "AdmissionPolicyGroup",
];

/// Reads ClusterAdmissionPolicy / ClusterAdmissionPolicyGroup (and their
/// namespaced AdmissionPolicy variants) from a file or folder. Other
/// objects there (a kustomization, ...) are ignored with a note.
pub fn from_manifests(path: &Path) -> Result<PolicySet> {
    let inputs = input::load(&[PathBuf::from(path)]);
    let mut set = PolicySet::default();
    let mut errors: Vec<String> = inputs.errors.iter().map(ToString::to_string).collect();
    for object in &inputs.objects {
        let kind = object.kind();
        let is_kubewarden = object.api_version().starts_with("policies.kubewarden.io/");
        if !is_kubewarden || !POLICY_KINDS.contains(&kind) {
            set.notes.push(format!(
                "{}: {kind} {} is not a Kubewarden policy; ignored",
                object.source,
                object.display_name()
            ));
            continue;
        }
        if let Err(e) = add_policy(object, &mut set) {
            errors.push(format!("{}: {e:#}", object.source));
        }
    }
    if !errors.is_empty() {
        bail!("invalid policy manifests:\n  {}", errors.join("\n  "));
    }
    if set.policies.is_empty() && set.skipped.is_empty() {
        bail!(
            "{}: no ClusterAdmissionPolicy or ClusterAdmissionPolicyGroup found",
            path.display()
        );
    }
    Ok(set)
}

fn settings_or_empty(settings: Option<Value>) -> Value {
    match settings {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(v) => v,
    }
}

fn add_policy(object: &InputObject, set: &mut PolicySet) -> Result<()> {
    let kind = object.kind();
    let name = object.display_name();
    let origin = object.source.to_string();
    let spec: PolicySpec = match object.object.get("spec") {
        None | Some(Value::Null) => bail!("{kind} {name} has no spec"),
        Some(spec) => serde_json::from_value(spec.clone())
            .with_context(|| format!("{kind} {name}: unreadable spec"))?,
    };
    let mode = match spec.mode.as_deref() {
        None | Some("protect") => Mode::Protect,
        Some("monitor") => Mode::Monitor,
        Some(other) => bail!("{kind} {name}: unknown mode {other:?} (protect or monitor)"),
    };
    for selector in [&spec.namespace_selector, &spec.object_selector]
        .into_iter()
        .flatten()
    {
        selector
            .validate()
            .map_err(|e| anyhow::anyhow!("{kind} {name}: {e}"))?;
    }
    if spec.rules.is_none() {
        set.notes.push(format!(
            "{origin}: {kind} {name} has no rules, so it selects no object"
        ));
    }
    if spec
        .match_conditions
        .as_ref()
        .is_some_and(|m| !m.is_empty())
    {
        set.notes.push(format!(
            "{origin}: {kind} {name}: matchConditions (CEL) are not evaluated offline; every object its rules select is checked"
        ));
    }
    let only_namespace = kind
        .starts_with("AdmissionPolicy")
        .then(|| object.meta("namespace").unwrap_or("default").to_owned());

    let mut description = None;
    let body = if kind.ends_with("Group") {
        let Some(members_spec) = spec.policies else {
            bail!("{kind} {name} has no spec.policies");
        };
        if members_spec.is_empty() {
            bail!("{kind} {name}: spec.policies is empty");
        }
        let members: Vec<Member> = members_spec
            .into_iter()
            .map(|(member, m)| Member {
                name: member,
                wasm: resolve_module(&m.module),
                module: m.module,
                settings: settings_or_empty(m.settings),
                context_aware_resources: m.context_aware_resources,
            })
            .collect();
        let foreign: Vec<String> = members
            .iter()
            .filter(|m| m.wasm.is_none())
            .map(|m| format!("{} ({})", m.name, m.module))
            .collect();
        if !foreign.is_empty() {
            set.notes.push(format!(
                "{origin}: group {name}: members {} are not project policies (nor file:// modules); they are not run and count as accepting",
                foreign.join(", ")
            ));
        }
        if members.iter().all(|m| m.wasm.is_none()) {
            set.skipped.push(SkippedPolicy {
                name,
                origin,
                reason: "no member is one of this project's policies or a file:// module"
                    .to_owned(),
            });
            return Ok(());
        }
        let expression_text = spec.expression.unwrap_or_default();
        let expression = match Expr::parse(&expression_text) {
            Ok(expr) => {
                let mut called = Vec::new();
                expr.members(&mut called);
                if let Some(unknown) = called
                    .iter()
                    .find(|c| !members.iter().any(|m| &m.name == *c))
                {
                    bail!(
                        "{kind} {name}: expression calls {unknown}() but spec.policies has no member {unknown}"
                    );
                }
                Some(expr)
            }
            Err(why) => {
                set.notes.push(format!(
                    "{origin}: group {name}: expression {expression_text:?} is outside the supported subset ({why}); approximated as \"every member must accept\""
                ));
                None
            }
        };
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        description = Some(format!(
            "Policy group of {} combined as `{expression_text}`.",
            names.join(", ")
        ));
        Body::Group {
            members,
            expression,
            expression_text,
            message: spec.message,
        }
    } else {
        let Some(module) = spec.module else {
            bail!("{kind} {name} has no spec.module");
        };
        let Some(wasm) = resolve_module(&module) else {
            set.skipped.push(SkippedPolicy {
                name,
                origin,
                reason: format!(
                    "module {module} is not one of this project's policies ({}) nor a file:// module",
                    project_policies().collect::<Vec<_>>().join(", ")
                ),
            });
            return Ok(());
        };
        if let Wasm::Project(policy) = &wasm {
            description = project_description(policy);
        }
        Body::Single(Member {
            name: name.clone(),
            wasm: Some(wasm),
            module,
            settings: settings_or_empty(spec.settings),
            context_aware_resources: spec.context_aware_resources,
        })
    };
    set.policies.push(PolicyConfig {
        name,
        origin,
        rules: spec.rules.unwrap_or_default(),
        namespace_selector: spec.namespace_selector,
        object_selector: spec.object_selector,
        mode,
        mutating: spec.mutating,
        only_namespace,
        body,
        description,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_references() {
        for policy in project_policies() {
            for module in [
                format!("registry://ghcr.io/gpu-policies/{policy}:v0.1.0"),
                format!("ghcr.io/x/{policy}@sha256:abc"),
                format!("file:///tmp/{policy}.wasm"),
            ] {
                assert_eq!(project_policy(&module), Some(policy), "{module}");
            }
        }
        assert_eq!(
            project_policy("registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0"),
            None
        );
        assert_eq!(
            resolve_module("file:///tmp/x.wasm"),
            Some(Wasm::File("/tmp/x.wasm".into()))
        );
        assert_eq!(resolve_module("https://example.com/x.wasm"), None);
    }
}
