//! Running the policies: each module compiled once and instantiated once per
//! configured member, then every selected object evaluated through it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use policy_runner::{CompiledPolicy, ModuleCache, PolicyOptions, PolicyRunner, ValidationResponse};
use serde::Serialize;
use serde_json::Value;

use crate::admission::{self, Admission};
use crate::cluster::{BUILTIN_NAMESPACES, InMemoryCluster, NAME_LABEL, namespace_labels};
use crate::config::{Body, Member, Mode, PolicyConfig, PolicySet, SkippedPolicy, Wasm};
use crate::input::InputObject;
use crate::locate::Located;
use crate::modules::ModuleSource;
use crate::patch;
use crate::selection::labels_of;

/// The outcome of one policy on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Verdict {
    /// Admitted unchanged.
    Accept,
    /// Admitted after a mutation.
    Mutate,
    /// Rejected by a policy in monitor mode: reported, does not fail the run.
    MonitorReject,
    Reject,
    /// The policy's rules select the object but a selector excludes it.
    Skip,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Self::Accept => "ACCEPT",
            Self::Mutate => "MUTATE",
            Self::MonitorReject => "MONITOR-REJECT",
            Self::Reject => "REJECT",
            Self::Skip => "SKIP",
        }
    }
}

/// One object × policy result.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Index into [`Outcome::objects`].
    #[serde(skip)]
    pub object: usize,
    pub policy: String,
    pub verdict: Verdict,
    /// Rejection message or skip reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For MUTATE: the RFC 6902 patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For a rejection: each violation on the line of its field
    /// ([`crate::locate`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Located>,
    /// What the verdict rests on that the input did not hold (a namespace
    /// judged without its manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Finding {
    fn new(
        object: usize,
        config: &PolicyConfig,
        verdict: Verdict,
        message: Option<String>,
    ) -> Self {
        Self {
            object,
            policy: config.name.clone(),
            verdict,
            message,
            patch: None,
            warnings: Vec::new(),
            violations: Vec::new(),
            note: None,
        }
    }
}

/// An input object as reported.
#[derive(Debug, Clone)]
pub struct CheckedObject {
    pub input: InputObject,
    /// Namespace the request was made in (`None`: cluster-scoped).
    pub namespace: Option<String>,
    /// Whether the kind was guessed (not in the built-in table).
    pub unknown_kind: bool,
}

impl CheckedObject {
    /// `namespace/name`, or `name` for cluster-scoped objects.
    pub fn name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.input.display_name()),
            None => self.input.display_name(),
        }
    }

    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
    pub fn label(&self) -> String {
        format!("{}/{}", self.input.kind(), self.name())
    }
}

/// Everything a report needs.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub objects: Vec<CheckedObject>,
    /// Results, grouped by object in input order, policies in config order.
    pub findings: Vec<Finding>,
    /// Objects no policy's rules select.
    pub not_checked: Vec<usize>,
    pub skipped_policies: Vec<SkippedPolicy>,
    /// Notes on the configuration and approximations.
    pub notes: Vec<String>,
    pub policies: Vec<String>,
    /// What each policy enforces, by name (its metadata's description),
    /// where known.
    pub descriptions: BTreeMap<String, String>,
}

impl Outcome {
    /// Whether a protect-mode policy rejected something.
    pub fn has_rejections(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Reject)
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.findings
            .iter()
            .filter(|f| f.verdict == verdict)
            .count()
    }
}

/// Whether a member of the policy may read Namespaces.
fn reads_namespaces(config: &PolicyConfig) -> bool {
    config.body.members().iter().any(|m| {
        m.context_aware_resources
            .iter()
            .any(|r| r.api_version == "v1" && r.kind == "Namespace")
    })
}

/// The note on a verdict about namespace `ns`, which the input does not
/// define: the offline cluster answered for it as a new cluster would (a
/// built-in namespace without labels, anything else absent), which is not
/// what the cluster the manifests go to holds.
fn missing_namespace_note(ns: &str) -> String {
    if BUILTIN_NAMESPACES.contains(&ns) {
        format!(
            "namespace {ns:?} is not in the input: it was checked as a new cluster has it, with no labels, NetworkPolicies or ResourceQuotas; a cluster would need it labelled and fenced as the message says (add its manifests to the input to check them too)"
        )
    } else {
        format!(
            "namespace {ns:?} is not in the input, so it was checked as absent; a cluster would need it created, labelled and fenced as the message says (add its manifests to the input to check them too)"
        )
    }
}

struct LoadedPolicy {
    config: PolicyConfig,
    /// One per member of `config.body`, in order; `None`: not run.
    runners: Vec<Option<PolicyRunner>>,
}

/// The configured policies, compiled and instantiated.
pub struct Engine {
    policies: Vec<LoadedPolicy>,
    cluster: Arc<InMemoryCluster>,
    skipped: Vec<SkippedPolicy>,
    notes: Vec<String>,
}

impl Engine {
    /// Compiles every module the configuration uses (each once, in
    /// parallel), instantiates one runner per member answering lookups from
    /// `cluster`, and checks every member's settings.
    /// Modules come from `modules` (built in, or a folder) and are compiled
    /// through `cache` (or loaded from it).
    pub fn load(
        set: PolicySet,
        modules: &ModuleSource,
        cache: &ModuleCache,
        cluster: Arc<InMemoryCluster>,
    ) -> Result<Self> {
        let needed: BTreeSet<Wasm> = set
            .policies
            .iter()
            .flat_map(|p| p.body.members())
            .filter_map(|m| m.wasm.clone())
            .collect();
        let missing: Vec<String> = needed
            .iter()
            .filter_map(|w| modules.path(w))
            .filter(|path| !path.is_file())
            .map(|path| path.display().to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "policy module(s) not found: {}; run `make build` in the workspace root to build them, or leave --wasm-dir and POLICY_WASM_DIR unset to use the ones built into gpu-policy-check",
                missing.join(", ")
            );
        }
        let compiled = compile_all(&needed, modules, cache)?;

        let mut policies = Vec::new();
        let mut errors = Vec::new();
        for config in set.policies {
            let mut runners = Vec::new();
            for member in config.body.members() {
                let runner = match member.wasm.as_ref().and_then(|w| compiled.get(w)) {
                    None => None,
                    Some(module) => {
                        let options = PolicyOptions::default()
                            .host_capabilities(cluster.clone())
                            .context_aware_resources(member.context_aware_resources.clone());
                        let runner = module.instantiate(options)?;
                        match runner.validate_settings(&member.settings) {
                            Ok(r) if r.valid => {}
                            Ok(r) => errors.push(format!(
                                "{} ({}): settings rejected by {}: {}",
                                display_member(&config, member),
                                config.origin,
                                member.module,
                                r.message.unwrap_or_default()
                            )),
                            Err(e) => errors.push(format!(
                                "{} ({}): {e:#}",
                                display_member(&config, member),
                                config.origin
                            )),
                        }
                        Some(runner)
                    }
                };
                runners.push(runner);
            }
            policies.push(LoadedPolicy { config, runners });
        }
        if !errors.is_empty() {
            bail!(
                "invalid policy settings (policy-server would not start with them):\n  {}",
                errors.join("\n  ")
            );
        }
        Ok(Self {
            policies,
            cluster,
            skipped: set.skipped,
            notes: set.notes,
        })
    }

    /// Evaluates every object; `progress` is told after each one.
    pub fn run(self, inputs: Vec<InputObject>, mut progress: impl FnMut(usize)) -> Outcome {
        let mut outcome = Outcome {
            skipped_policies: self.skipped.clone(),
            notes: self.notes.clone(),
            policies: self
                .policies
                .iter()
                .map(|p| p.config.name.clone())
                .collect(),
            descriptions: self
                .policies
                .iter()
                .filter_map(|p| Some((p.config.name.clone(), p.config.description.clone()?)))
                .collect(),
            ..Outcome::default()
        };
        let namespaces_in_input: BTreeSet<String> = inputs
            .iter()
            .filter(|o| o.api_version() == "v1" && o.kind() == "Namespace")
            .filter_map(|o| o.meta("name").map(str::to_owned))
            .collect();
        for (index, input) in inputs.into_iter().enumerate() {
            let admission = admission::build(&input, index);
            let before = outcome.findings.len();
            // A namespace the input lacks was judged as the offline cluster
            // made it up: say so on what a namespace-reading policy found.
            let missing_namespace = admission
                .namespace
                .as_ref()
                .filter(|ns| !namespaces_in_input.contains(*ns));
            for policy in &self.policies {
                if let Some(mut finding) = self.evaluate(policy, &input, &admission, index) {
                    if let Some(ns) = missing_namespace
                        && reads_namespaces(&policy.config)
                        && (matches!(finding.verdict, Verdict::Reject | Verdict::MonitorReject)
                            || !finding.warnings.is_empty())
                    {
                        finding.note = Some(missing_namespace_note(ns));
                    }
                    outcome.findings.push(finding);
                }
            }
            if outcome.findings.len() == before {
                outcome.not_checked.push(index);
            }
            outcome.objects.push(CheckedObject {
                namespace: admission.namespace,
                unknown_kind: !admission.resource_type.known,
                input,
            });
            progress(index + 1);
        }
        outcome
    }

    fn evaluate(
        &self,
        policy: &LoadedPolicy,
        input: &InputObject,
        admission: &Admission,
        index: usize,
    ) -> Option<Finding> {
        let config = &policy.config;
        if !config
            .rules
            .iter()
            .any(|r| admission.resource_type.selected_by(r, "CREATE"))
        {
            return None;
        }
        if let Some(only) = &config.only_namespace
            && admission.namespace.as_ref() != Some(only)
        {
            return None;
        }
        let finding = |verdict, message| Finding::new(index, config, verdict, message);
        if let Some(why) = self.excluded(config, input, admission) {
            return Some(finding(Verdict::Skip, Some(why)));
        }
        let request = &admission.request;
        Some(match &config.body {
            Body::Single(member) => {
                let runner = policy.runners.first()?.as_ref()?;
                let response = run(runner, request, &member.settings);
                let object = request.get("object").unwrap_or(&Value::Null);
                single_finding(config, index, object, response)
            }
            Body::Group {
                expression,
                expression_text,
                message,
                ..
            } => {
                let mut verdicts = BTreeMap::new();
                let mut rejections = Vec::new();
                let mut warnings = Vec::new();
                for (member, runner) in config.body.members().iter().zip(&policy.runners) {
                    let Some(runner) = runner else {
                        continue;
                    };
                    let response = run(runner, request, &member.settings);
                    warnings.extend(response.warnings.clone().unwrap_or_default());
                    if !response.accepted {
                        rejections.push(format!(
                            "{}: {}",
                            member.name,
                            response.message.unwrap_or_default()
                        ));
                    }
                    verdicts.insert(member.name.clone(), response.accepted);
                }
                let accepted = expression
                    .as_ref()
                    .map_or_else(|| verdicts.values().all(|v| *v), |e| e.eval(&verdicts));
                let mut f = if accepted {
                    finding(Verdict::Accept, None)
                } else {
                    let head = message
                        .clone()
                        .unwrap_or_else(|| "the group's expression is not satisfied".to_owned());
                    let how = if expression.is_some() {
                        format!("expression: {expression_text}")
                    } else {
                        "expression approximated as: every member must accept".to_owned()
                    };
                    finding(
                        reject_verdict(config.mode),
                        Some(format!("{head} ({how}); {}", rejections.join("; "))),
                    )
                };
                f.warnings = warnings;
                f
            }
        })
    }

    /// Why `namespaceSelector` / `objectSelector` exclude the object, if
    /// they do (API server semantics: a Namespace is matched on its own
    /// labels, other cluster-scoped objects are never excluded by it).
    fn excluded(
        &self,
        config: &PolicyConfig,
        input: &InputObject,
        admission: &Admission,
    ) -> Option<String> {
        if let Some(selector) = &config.namespace_selector {
            let labels = match &admission.namespace {
                Some(ns) => Some((ns.clone(), namespace_labels(&self.cluster, ns))),
                None if admission.resource_type.kind == "Namespace"
                    && admission.resource_type.group.is_empty() =>
                {
                    let mut labels = labels_of(&input.object);
                    let name = input.display_name();
                    labels.insert(NAME_LABEL.to_owned(), name.clone());
                    Some((name, labels))
                }
                None => None,
            };
            if let Some((ns, labels)) = labels
                && !selector.matches(&labels)
            {
                return Some(format!(
                    "namespace {ns} is excluded by the namespaceSelector"
                ));
            }
        }
        if let Some(selector) = &config.object_selector
            && !selector.matches(&labels_of(&input.object))
        {
            return Some("the object's labels do not match the objectSelector".to_owned());
        }
        None
    }
}

fn display_member(config: &PolicyConfig, member: &Member) -> String {
    if matches!(config.body, Body::Group { .. }) {
        format!("{} member {}", config.name, member.name)
    } else {
        config.name.clone()
    }
}

fn reject_verdict(mode: Mode) -> Verdict {
    match mode {
        Mode::Protect => Verdict::Reject,
        Mode::Monitor => Verdict::MonitorReject,
    }
}

/// Calls `validate`; a guest error becomes a rejection, as policy-server
/// answers when a policy fails (failurePolicy Fail).
fn run(runner: &PolicyRunner, request: &Value, settings: &Value) -> ValidationResponse {
    runner
        .validate(request, settings)
        .unwrap_or_else(|e| ValidationResponse {
            accepted: false,
            message: Some(format!("policy error: {e:#}")),
            code: Some(500),
            ..ValidationResponse::default()
        })
}

fn single_finding(
    config: &PolicyConfig,
    index: usize,
    object: &Value,
    response: ValidationResponse,
) -> Finding {
    let mut finding = Finding::new(index, config, Verdict::Accept, None);
    finding.warnings = response.warnings.unwrap_or_default();
    if !response.accepted {
        finding.verdict = reject_verdict(config.mode);
        finding.message = Some(
            response
                .message
                .unwrap_or_else(|| "rejected (the policy gave no message)".to_owned()),
        );
        return finding;
    }
    let Some(mutated) = response.mutated_object else {
        return finding;
    };
    let ops = patch::diff(object, &mutated);
    if ops.is_empty() {
        return finding;
    }
    finding.patch = Some(ops);
    match (config.mode, config.mutating) {
        (Mode::Monitor, _) => {
            finding.message = Some("monitor mode: the mutation below is not applied".to_owned());
        }
        (Mode::Protect, true) => finding.verdict = Verdict::Mutate,
        (Mode::Protect, false) => {
            // policy-server's answer to a mutation from a non-mutating policy.
            finding.verdict = Verdict::Reject;
            finding.message = Some(
                "The policy attempted to mutate the request, but it is currently configured to not allow mutations (set mutating: true)"
                    .to_owned(),
            );
        }
    }
    finding
}

fn compile_all(
    needed: &BTreeSet<Wasm>,
    modules: &ModuleSource,
    cache: &ModuleCache,
) -> Result<BTreeMap<Wasm, CompiledPolicy>> {
    // Compiling is the slow part of a cold start (cranelift): one thread per
    // module. From the cache each takes milliseconds.
    std::thread::scope(|scope| {
        let handles: Vec<_> = needed
            .iter()
            .map(|wasm| (wasm, scope.spawn(move || modules.load(wasm, cache))))
            .collect();
        let mut compiled = BTreeMap::new();
        for (wasm, handle) in handles {
            let module = handle
                .join()
                .map_err(|_| anyhow!("compiling {} crashed", modules.label(wasm)))??;
            compiled.insert(wasm.clone(), module);
        }
        Ok(compiled)
    })
}
