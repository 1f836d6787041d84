//! One source of truth for names, versions, rules and settings across the
//! packaging files. For every policy under policies/:
//!
//! - metadata.yml parses strictly (kwctl annotate's fields, no unknown ones,
//!   every io.kubewarden.policy.* / io.artifacthub.* annotation), its version
//!   is Cargo.toml's, its title the policy name, its ociUrl
//!   ghcr.io/gpu-policies/<policy>, and its rules are valid admission rules;
//! - every rule resource in metadata.yml is one the policy really evaluates:
//!   a case in test_data/cases.yaml sends a request for it;
//! - every examples/*.yaml is a ClusterAdmissionPolicy (the SDK's CRD type)
//!   whose module tag, rules, mutating and contextAwareResources are
//!   metadata.yml's (one documented exception: a validating example of a
//!   mutating policy, `mode: validate`, may set mutating: false),
//!   with backgroundAudit, mode and a namespaceSelector leaving out the
//!   system, Kubewarden and GPU-operator namespaces;
//! - questions-ui.yml has a question for every field of the Settings struct
//!   (its keys through the policy registry), and nothing else;
//! - artifacthub/ is exactly what tools/artifacthub-gen writes (`make
//!   artifacthub`), so versions, images and rules there follow metadata.yml;
//! - deploy/ holds one ClusterAdmissionPolicyGroup with every policy at its
//!   version, the union of their rules, validate-mode toleration, and
//!   `kubectl kustomize deploy/` renders it (skipped without kubectl);
//! - the overlays deploy/aks/ and deploy/gke/ patch that group into valid
//!   settings (kubectl, where installed, renders the same), and
//!   gpu-toleration-required under them rejects (AKS: sku=gpu) or accepts
//!   with a warning (GKE: ExtendedResourceToleration) a GPU Deployment
//!   without tolerations;
//! - where the built modules exist (target/policies, `make build`), every
//!   example's and the group's settings and every questions-ui default are
//!   accepted by the module's own validate_settings.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow};
use artifacthub_gen::{Policy, discover};
use k8s_openapi::api::admissionregistration::v1::RuleWithOperations;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kubewarden_policy_sdk::crd::policies::{ClusterAdmissionPolicy, ClusterAdmissionPolicyGroup};
use policy_runner::{PolicyOptions, PolicyRunner};
use serde::Deserialize;
use serde_json::Value;
use wasm_integration_tests::{wasm_dir, workspace_root};

/// Namespaces every example and the group must leave out.
const EXCLUDED_NAMESPACES: [&str; 10] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kubewarden",
    "gpu-operator",
    "nvidia-gpu-operator",
    "nvidia-device-plugin",
    "node-feature-discovery",
    "amd-gpu-operator",
    "intel-device-plugins",
];

const OCI_PREFIX: &str = "ghcr.io/gpu-policies/";

/// Collects every disagreement, then fails once listing them all.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }

    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    /// Adds `{what}: {problem}` for each check that is not ok.
    fn check_all(&mut self, what: &str, checks: impl IntoIterator<Item = (bool, String)>) {
        for (ok, problem) in checks {
            self.check(ok, || format!("{what}: {problem}"));
        }
    }

    /// `result`'s value; or `None`, its error added as `problem(error)`.
    fn ok<T, E>(&mut self, result: Result<T, E>, problem: impl FnOnce(E) -> String) -> Option<T> {
        result.map_err(|e| self.add(problem(e))).ok()
    }

    fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}: {} problem(s):\n  - {}",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }
}

fn policies() -> Result<Vec<Policy>> {
    let policies = discover(&workspace_root()).context("loading policies/*")?;
    if policies.is_empty() {
        return Err(anyhow!("no policies under policies/"));
    }
    Ok(policies)
}

fn rel(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// metadata.yml's rules as the CRDs' type.
fn metadata_rules(policy: &Policy) -> Result<Vec<RuleWithOperations>> {
    policy
        .metadata
        .rules
        .iter()
        .map(|r| Ok(serde_json::from_value(serde_json::to_value(r)?)?))
        .collect()
}

/// (apiGroup, apiVersion, resource, operation) tuples a rule list matches.
fn rule_tuples(rules: &[RuleWithOperations]) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules {
        for g in r.api_groups.iter().flatten() {
            for v in r.api_versions.iter().flatten() {
                for res in r.resources.iter().flatten() {
                    for op in r.operations.iter().flatten() {
                        out.insert((g.clone(), v.clone(), res.clone(), op.clone()));
                    }
                }
            }
        }
    }
    out
}

fn context_aware_pairs<T: serde::Serialize>(resources: &[T]) -> Vec<(String, String)> {
    resources
        .iter()
        .filter_map(|r| {
            let v = serde_json::to_value(r).ok()?;
            Some((
                v.get("apiVersion")?.as_str()?.to_owned(),
                v.get("kind")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The documents of a YAML file.
fn yaml_documents(path: &Path) -> Result<Vec<serde_yaml::Value>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", rel(path)))?;
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde_yaml::Value::deserialize(doc).map_err(anyhow::Error::from))
        .filter(|doc| !matches!(doc, Ok(serde_yaml::Value::Null)))
        .collect()
}

fn check_namespace_selector(p: &mut Problems, what: &str, selector: Option<&LabelSelector>) {
    let excluded: BTreeSet<String> = selector
        .and_then(|s| s.match_expressions.as_ref())
        .into_iter()
        .flatten()
        .filter(|e| e.key == "kubernetes.io/metadata.name" && e.operator == "NotIn")
        .flat_map(|e| e.values.clone().unwrap_or_default())
        .collect();
    let missing: Vec<&str> = EXCLUDED_NAMESPACES
        .iter()
        .copied()
        .filter(|ns| !excluded.contains(*ns))
        .collect();
    p.check(missing.is_empty(), || {
        format!("{what}: namespaceSelector does not leave out {missing:?}")
    });
}

/// The policy's built module, when `make build` has run.
fn runner(p: &mut Problems, policy: &str) -> Option<PolicyRunner> {
    let path = wasm_dir().join(format!("{policy}.wasm"));
    if !path.exists() {
        eprintln!(
            "note: {} is missing (run `make build`): settings not checked against {policy}'s validate_settings",
            rel(&path)
        );
        return None;
    }
    p.ok(
        PolicyRunner::from_file(&path, PolicyOptions::default()),
        |e| format!("{}: {e:#}", rel(&path)),
    )
}

fn check_settings(p: &mut Problems, runner: Option<&PolicyRunner>, what: &str, settings: &Value) {
    let Some(runner) = runner else { return };
    match runner.validate_settings(settings) {
        Ok(r) if r.valid => {}
        Ok(r) => p.add(format!(
            "{what}: settings {settings} rejected by validate_settings: {}",
            r.message.unwrap_or_default()
        )),
        Err(e) => p.add(format!("{what}: validate_settings failed: {e:#}")),
    }
}

// ---- metadata.yml and versions

#[test]
fn metadata_is_complete_and_versions_agree() {
    let mut p = Problems::default();
    for policy in policies().expect("policies") {
        let name = &policy.name;
        // Parsing (strict, every annotation) happened in discover(); the rest:
        if let Err(e) = policy.version() {
            p.add(format!("{e:#}"));
        }
        let m = &policy.metadata;
        p.check(
            m.annotation("io.kubewarden.policy.title").ok() == Some(name),
            || format!("{name}: io.kubewarden.policy.title is not {name}"),
        );
        let oci = format!("{OCI_PREFIX}{name}");
        p.check(
            m.annotation("io.kubewarden.policy.ociUrl").ok() == Some(&oci),
            || format!("{name}: io.kubewarden.policy.ociUrl is not {oci}"),
        );
        p.check(m.background_audit, || {
            format!(
                "{name}: backgroundAudit should be true (the policies evaluate stored objects too)"
            )
        });
        if let Err(e) = metadata_rules(&policy) {
            p.add(format!("{name}: rules are not admission rules: {e:#}"));
        }
        for rule in &m.rules {
            p.check(rule.api_versions.iter().all(|v| v != "*") && rule.api_groups.iter().all(|g| g != "*"), || {
                format!("{name}: rule {rule:?} uses a wildcard group or version; list what the code handles")
            });
        }
    }
    p.assert_none("metadata.yml");
}

// ---- rules are exercised by the wasm cases

/// (group, version, resource[/subresource], operation) of every request a
/// policy's cases.yaml sends.
fn case_requests(policy: &Policy) -> Result<BTreeSet<(String, String, String, String)>> {
    let data = policy.dir.join("test_data");
    let mut out = BTreeSet::new();
    for case in policy_cases::load_case_file(&data.join("cases.yaml"))?.cases {
        let json = policy_cases::read_json_or_yaml(&data.join(&case.request))?;
        let request = json.get("request").unwrap_or(&json);
        let field = |pointer: &str| -> String {
            let value = request.pointer(pointer).and_then(Value::as_str);
            value.unwrap_or_default().to_owned()
        };
        let (mut resource, sub) = (field("/resource/resource"), field("/subResource"));
        if !sub.is_empty() {
            resource = format!("{resource}/{sub}");
        }
        out.insert((
            field("/resource/group"),
            field("/resource/version"),
            resource,
            field("/operation"),
        ));
    }
    Ok(out)
}

#[test]
fn every_metadata_rule_is_exercised_by_a_case() {
    let mut p = Problems::default();
    for policy in policies().expect("policies") {
        let name = &policy.name;
        let Some(requests) = p.ok(case_requests(&policy), |e| format!("{name}: {e:#}")) else {
            continue;
        };
        let sent: BTreeSet<(&str, &str, &str)> = requests
            .iter()
            .map(|(g, v, r, _)| (g.as_str(), v.as_str(), r.as_str()))
            .collect();
        let mut untested_ops = Vec::new();
        for rule in &policy.metadata.rules {
            for g in &rule.api_groups {
                for v in &rule.api_versions {
                    for r in &rule.resources {
                        p.check(sent.contains(&(g.as_str(), v.as_str(), r.as_str())), || {
                            format!(
                                "{name}: metadata.yml rule resource {g:?}/{v}/{r} is not exercised by any case in test_data/cases.yaml \
                                 (add a case for it, or drop it from the rule if the policy does not evaluate it)"
                            )
                        });
                    }
                }
            }
            for op in &rule.operations {
                let covered = requests.iter().any(|(g, v, r, o)| {
                    o == op
                        && rule.api_groups.contains(g)
                        && rule.api_versions.contains(v)
                        && rule.resources.contains(r)
                });
                if !covered {
                    untested_ops.push(format!("{}:{op}", rule.resources.join(",")));
                }
            }
        }
        if !untested_ops.is_empty() {
            p.add(format!(
                "{name}: no case in test_data/cases.yaml sends these metadata.yml rule operations: {untested_ops:?} \
                 (add a case, or drop the operation from the rule if the policy does not evaluate it)"
            ));
        }
    }
    p.assert_none("metadata.yml rules vs cases.yaml");
}

// ---- examples/*.yaml

fn example_files(policy: &Policy) -> Vec<PathBuf> {
    let dir = policy.dir.join("examples");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn examples_match_metadata() {
    let mut p = Problems::default();
    for policy in policies().expect("policies") {
        let name = &policy.name;
        let files = example_files(&policy);
        p.check(!files.is_empty(), || format!("{name}: no examples/*.yaml"));
        let module = policy.module_uri().unwrap_or_else(|e| format!("<{e:#}>"));
        let rules = metadata_rules(&policy).ok();
        let m = &policy.metadata;
        let wasm = runner(&mut p, name);
        for file in files {
            let Some(docs) = p.ok(yaml_documents(&file), |e| format!("{}: {e:#}", rel(&file)))
            else {
                continue;
            };
            for (i, doc) in docs.into_iter().enumerate() {
                let what = format!("{}#{i}", rel(&file));
                let Some(cap) = p.ok(serde_yaml::from_value::<ClusterAdmissionPolicy>(doc), |e| {
                    format!("{what}: not a policies.kubewarden.io/v1 ClusterAdmissionPolicy: {e}")
                }) else {
                    continue;
                };
                p.check(
                    cap.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(name.as_str())),
                    || format!("{what}: metadata.name should start with {name}"),
                );
                let Some(spec) = cap.spec else {
                    p.add(format!("{what}: no spec"));
                    continue;
                };
                let settings = &spec.settings.0;
                let validate_mode =
                    settings.get("mode").and_then(Value::as_str) == Some("validate");
                // The one documented exception: a mutating policy run in
                // its validate mode need not be deployed as mutating.
                let documented_exception = m.mutating && !spec.mutating && validate_mode;
                let audit = spec
                    .background_audit
                    .as_ref()
                    .and_then(|b| serde_json::to_value(b).ok());
                p.check_all(&what, [
                    (
                        spec.module == module,
                        format!("module is {} but Cargo.toml/metadata.yml make it {module}", spec.module),
                    ),
                    (spec.rules == rules, "rules differ from metadata.yml's".into()),
                    (
                        spec.mutating == m.mutating || documented_exception,
                        format!(
                            "mutating is {} but metadata.yml says {} (only a mutating policy with settings mode: validate may set mutating: false)",
                            spec.mutating, m.mutating
                        ),
                    ),
                    (
                        context_aware_pairs(&spec.context_aware_resources)
                            == context_aware_pairs(&m.context_aware_resources),
                        "contextAwareResources differ from metadata.yml's".into(),
                    ),
                    (
                        audit == Some(Value::Bool(m.background_audit)),
                        format!("backgroundAudit should be spelt out as metadata.yml's ({})", m.background_audit),
                    ),
                    (spec.mode.is_some(), "mode (protect/monitor) should be spelt out".into()),
                ]);
                check_namespace_selector(&mut p, &what, spec.namespace_selector.as_ref());
                check_settings(&mut p, wasm.as_ref(), &what, settings);
            }
        }
    }
    p.assert_none("examples/*.yaml");
}

// ---- questions-ui.yml

#[test]
fn questions_ui_covers_every_setting() {
    let mut p = Problems::default();
    for policy in policies().expect("policies") {
        let name = &policy.name;
        let Some(text) = &policy.questions else {
            p.add(format!("{name}: no questions-ui.yml"));
            continue;
        };
        let Some(doc) = p.ok(serde_yaml::from_str::<Value>(text), |e| {
            format!("{name}/questions-ui.yml: {e}")
        }) else {
            continue;
        };
        let questions = doc
            .get("questions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        p.check(!questions.is_empty(), || {
            format!("{name}/questions-ui.yml: no `questions:` list")
        });
        let mut variables = BTreeSet::new();
        let wasm = runner(&mut p, name);
        for q in &questions {
            let var = q
                .get("variable")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            for key in ["label", "type", "group", "description"] {
                p.check(
                    q.get(key)
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty()),
                    || format!("{name}/questions-ui.yml: question {var:?} has no {key}"),
                );
            }
            p.check(q.get("default").is_some(), || {
                format!("{name}/questions-ui.yml: question {var:?} has no default")
            });
            // Each default alone is a valid setting (what the form sends
            // when the user changes nothing).
            if let Some(default) = q.get("default").filter(|d| !d.is_null()) {
                let mut one = serde_json::Map::new();
                one.insert(var.clone(), default.clone());
                check_settings(
                    &mut p,
                    wasm.as_ref(),
                    &format!("{name}/questions-ui.yml default of {var}"),
                    &Value::Object(one),
                );
            }
            variables.insert(var);
        }
        // The settings keys of the policy's Settings struct (as serde names
        // them), through the policy registry; shared/policy-registry's tests
        // check that every policy is there with keys.
        let keys = policy_registry::get(name).map_or(&[][..], |info| (info.settings_keys)());
        let fields: BTreeSet<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let missing: Vec<&String> = fields.difference(&variables).collect();
        let unknown: Vec<&String> = variables.difference(&fields).collect();
        p.check(missing.is_empty(), || {
            format!("{name}/questions-ui.yml: no question for settings {missing:?}")
        });
        p.check(unknown.is_empty(), || {
            format!("{name}/questions-ui.yml: questions for unknown settings {unknown:?}")
        });
    }
    p.assert_none("questions-ui.yml");
}

// ---- artifacthub/

#[test]
fn artifacthub_files_are_what_make_artifacthub_writes() {
    let root = workspace_root();
    let mut p = Problems::default();
    // New versions would get today's date; a committed version keeps its own.
    let files = artifacthub_gen::generate(&root, "<new version: run make artifacthub>")
        .expect("generating artifacthub/");
    for path in artifacthub_gen::stale(&root, &files) {
        p.add(format!(
            "{} is missing or stale: run `make artifacthub` and commit the result",
            path.display()
        ));
    }
    for policy in policies().expect("policies") {
        let Ok(dir) = policy.artifacthub_dir() else {
            continue;
        };
        let pkg = root.join(&dir).join("artifacthub-pkg.yml");
        let Ok(text) = fs::read_to_string(&pkg) else {
            continue;
        };
        let Ok(doc) = serde_yaml::from_str::<Value>(&text) else {
            p.add(format!("{}: not YAML", dir.display()));
            continue;
        };
        let image = format!("{OCI_PREFIX}{}:v{}", policy.name, policy.cargo_version);
        let (m, a) = (&policy.metadata, &doc["annotations"]);
        let mutation = if m.mutating { "true" } else { "false" };
        let mut checks = vec![
            (
                doc["version"] == policy.cargo_version.as_str(),
                format!("version is not Cargo.toml's {}", policy.cargo_version),
            ),
            (
                doc["containersImages"][0]["image"] == image.as_str(),
                format!("containersImages[0].image is not {image}"),
            ),
            (
                text.contains(&format!("kwctl pull {image}")),
                format!("install does not say `kwctl pull {image}`"),
            ),
            (
                a["kubewarden/mutation"].as_str() == Some(mutation),
                "kubewarden/mutation is not metadata.yml's".into(),
            ),
            (
                a.get("kubewarden/contextAwareResources").is_some() == m.context_aware,
                "kubewarden/contextAwareResources disagrees with contextAware".into(),
            ),
        ];
        for key in [
            "kubewarden/rules",
            "kubewarden/resources",
            "kubewarden/questions-ui",
        ] {
            checks.push((a.get(key).is_some(), format!("no {key} annotation")));
        }
        p.check_all(&dir.display().to_string(), checks);
    }
    p.assert_none("artifacthub/");
}

// ---- deploy/

const GROUP_MEMBER_KEYS: [&str; 4] = [
    "module",
    "settings",
    "contextAwareResources",
    "timeoutEvalSeconds",
];

fn check_group(
    p: &mut Problems,
    what: &str,
    doc: serde_yaml::Value,
    policies: &[Policy],
    check_wasm: bool,
) {
    // The SDK's member type does not deny unknown fields: catch typos here.
    if let Some(members) = doc
        .get("spec")
        .and_then(|s| s.get("policies"))
        .and_then(serde_yaml::Value::as_mapping)
    {
        for (key, member) in members {
            for field in member.as_mapping().into_iter().flat_map(|m| m.keys()) {
                let field = field.as_str().unwrap_or_default();
                p.check(GROUP_MEMBER_KEYS.contains(&field), || {
                    format!("{what}: policies.{key:?} has unknown field {field:?}")
                });
            }
        }
    }
    let Some(group) = p.ok(
        serde_yaml::from_value::<ClusterAdmissionPolicyGroup>(doc),
        |e| format!("{what}: not a policies.kubewarden.io/v1 ClusterAdmissionPolicyGroup: {e}"),
    ) else {
        return;
    };
    let Some(spec) = group.spec else {
        p.add(format!("{what}: no spec"));
        return;
    };
    let mut union = BTreeSet::new();
    for policy in policies {
        let name = &policy.name;
        let module = policy.module_uri().unwrap_or_else(|e| format!("<{e:#}>"));
        let repo = format!("registry://{OCI_PREFIX}{name}:");
        let members: Vec<(&String, _)> = spec
            .policies
            .iter()
            .filter(|(_, m)| m.module.starts_with(&repo))
            .collect();
        let [(member, m)] = members.as_slice() else {
            p.add(format!(
                "{what}: {name} should be exactly one member (found {})",
                members.len()
            ));
            continue;
        };
        p.check(m.module == module, || {
            format!(
                "{what}: {member} module is {} but Cargo.toml/metadata.yml make it {module}",
                m.module
            )
        });
        p.check(spec.expression.contains(&format!("{member}()")), || {
            format!("{what}: expression does not call {member}()")
        });
        p.check(
            context_aware_pairs(&m.context_aware_resources)
                == context_aware_pairs(&policy.metadata.context_aware_resources),
            || format!("{what}: {member} contextAwareResources differ from {name}'s metadata.yml"),
        );
        if policy.metadata.mutating {
            // A group cannot mutate: a mutating policy must run in its
            // validating mode there.
            p.check(m.settings.0.get("mode").and_then(Value::as_str) == Some("validate"), || {
                format!("{what}: {member} is a mutating policy; in a group (which cannot mutate) set settings mode: validate")
            });
        }
        if check_wasm {
            let wasm = runner(p, name);
            check_settings(p, wasm.as_ref(), &format!("{what} {member}"), &m.settings.0);
        }
        if let Ok(rules) = metadata_rules(policy) {
            union.extend(rule_tuples(&rules));
        }
    }
    p.check(spec.policies.len() == policies.len(), || {
        format!(
            "{what}: {} members for {} policies",
            spec.policies.len(),
            policies.len()
        )
    });
    let group_rules = rule_tuples(spec.rules.as_deref().unwrap_or_default());
    let extra: Vec<_> = group_rules.difference(&union).collect();
    let missing: Vec<_> = union.difference(&group_rules).collect();
    let audit = spec
        .background_audit
        .as_ref()
        .and_then(|b| serde_json::to_value(b).ok());
    p.check_all(what, [
        (
            extra.is_empty() && missing.is_empty(),
            format!("rules should be the union of the policies' metadata.yml rules; missing {missing:?}, extra {extra:?}"),
        ),
        (!spec.message.trim().is_empty(), "no message".into()),
        (audit == Some(Value::Bool(true)), "backgroundAudit should be true".into()),
        (spec.mode.is_some(), "mode should be spelt out".into()),
    ]);
    check_namespace_selector(p, what, spec.namespace_selector.as_ref());
}

#[test]
fn deploy_group_enables_every_policy() {
    let root = workspace_root();
    let policies = policies().expect("policies");
    let mut p = Problems::default();
    let resources = kustomization_files(&mut p, &root.join("deploy"));
    let mut groups = 0;
    for path in &resources {
        let Some(docs) = p.ok(yaml_documents(path), |e| format!("{e:#}")) else {
            continue;
        };
        for (i, doc) in docs.into_iter().enumerate() {
            groups += 1;
            check_group(&mut p, &format!("{}#{i}", rel(path)), doc, &policies, true);
        }
    }
    p.check(groups == 1, || {
        format!("deploy/: {groups} documents, expected one ClusterAdmissionPolicyGroup")
    });

    // What `kubectl apply -k deploy/` would send.
    match Command::new("kubectl")
        .arg("kustomize")
        .arg(root.join("deploy"))
        .output()
    {
        Err(e) => eprintln!(
            "note: kubectl is not available ({e}): `kubectl kustomize deploy/` not checked"
        ),
        Ok(out) if !out.status.success() => p.add(format!(
            "kubectl kustomize deploy/ failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde_yaml::Value::deserialize(d).ok())
                .collect();
            p.check(docs.len() == 1, || {
                format!(
                    "kubectl kustomize deploy/ rendered {} objects, expected 1",
                    docs.len()
                )
            });
            for doc in docs {
                check_group(&mut p, "kubectl kustomize deploy/", doc, &policies, false);
            }
        }
    }
    p.assert_none("deploy/");
}

/// The files a kustomization's `resources` list, directories (other
/// kustomizations) followed.
fn kustomization_files(p: &mut Problems, dir: &Path) -> Vec<PathBuf> {
    let kustomization = dir.join("kustomization.yaml");
    let resources: Vec<String> = yaml_documents(&kustomization)
        .ok()
        .and_then(|docs| docs.into_iter().next())
        .and_then(|k| serde_yaml::from_value::<Value>(k).ok())
        .and_then(|k| k.get("resources").cloned())
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default();
    p.check(!resources.is_empty(), || {
        format!("{}: no resources", rel(&kustomization))
    });
    let mut out = Vec::new();
    for resource in resources {
        let path = dir.join(resource);
        if path.is_dir() {
            out.extend(kustomization_files(p, &path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Applies an RFC 6902 patch's `add` and `replace` operations on object
/// members, the only ones the overlays use.
fn apply_json_patch(doc: &mut Value, ops: &Value) -> Result<()> {
    for op in ops
        .as_array()
        .ok_or_else(|| anyhow!("a JSON patch is a list"))?
    {
        let kind = op["op"].as_str().unwrap_or_default();
        let path = op["path"].as_str().unwrap_or_default();
        let (parent, last) = path
            .rsplit_once('/')
            .ok_or_else(|| anyhow!("path {path:?} is no JSON pointer"))?;
        let target = doc
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| anyhow!("{path}: no object at {parent:?}"))?;
        let key = last.replace("~1", "/").replace("~0", "~");
        match kind {
            "replace" if !target.contains_key(&key) => {
                return Err(anyhow!("replace {path}: nothing there"));
            }
            "replace" | "add" => {
                target.insert(key, op["value"].clone());
            }
            other => return Err(anyhow!("op {other:?} is not used by the overlays")),
        }
    }
    Ok(())
}

#[test]
fn deploy_overlays_configure_their_clusters() {
    let root = workspace_root();
    let policies = policies().expect("policies");
    let mut p = Problems::default();
    let base_path = root.join("deploy/base/cluster-admission-policy-group.yaml");
    let base: Value = yaml_documents(&base_path)
        .ok()
        .and_then(|d| d.into_iter().next())
        .and_then(|d| serde_json::to_value(d).ok())
        .expect("the base group");
    let request: Value = serde_json::from_str(
        &fs::read_to_string(root.join(
            "policies/gpu-toleration-required/test_data/requests/deployment-gpu-no-tolerations.json",
        ))
        .expect("request"),
    )
    .expect("request JSON");
    let toleration = runner(&mut p, "gpu-toleration-required");
    // The Deployment asking for nvidia.com/gpu without any toleration: on AKS
    // (sku=gpu) rejected, the plugin never adds sku=gpu; on GKE accepted
    // with a warning, the plugin adds nvidia.com/gpu.
    for (overlay, accepted, needle) in [
        ("aks", false, "sku=gpu:NoSchedule"),
        ("gke", true, "ExtendedResourceToleration plugin adds"),
    ] {
        let what = format!("deploy/{overlay}/");
        let dir = root.join("deploy").join(overlay);
        // Its one patch, written inline (a patch file would be a non-object
        // document in deploy/, which `gpu-policy-check --policies deploy/`
        // reads).
        let Some(kustomization) = p.ok(yaml_documents(&dir.join("kustomization.yaml")), |e| {
            format!("{e:#}")
        }) else {
            continue;
        };
        let mut rendered = base.clone();
        let ops = kustomization
            .first()
            .and_then(|k| k.get("patches"))
            .and_then(|patches| patches.get(0))
            .and_then(|patch| patch.get("patch"))
            .and_then(serde_yaml::Value::as_str)
            .and_then(|text| serde_yaml::from_str::<Value>(text).ok());
        if let Err(e) = ops
            .ok_or_else(|| anyhow!("no inline patches[0].patch"))
            .and_then(|ops| apply_json_patch(&mut rendered, &ops))
        {
            p.add(format!("{what}kustomization.yaml: {e:#}"));
            continue;
        }
        // kubectl, where installed, must render the same members.
        if let Ok(out) = Command::new("kubectl").arg("kustomize").arg(&dir).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde_yaml::Value::deserialize(d).ok())
                .filter_map(|d| serde_json::to_value(d).ok())
                .collect();
            p.check(out.status.success() && docs.len() == 1, || {
                format!(
                    "kubectl kustomize {what} failed or rendered {} objects: {}",
                    docs.len(),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            if let Some(doc) = docs.first() {
                p.check(doc["spec"] == rendered["spec"], || {
                    format!("kubectl kustomize {what} renders another spec than its patch.yaml applied to the base")
                });
            }
        }
        let Ok(doc) = serde_yaml::to_value(&rendered) else {
            continue;
        };
        check_group(&mut p, &what, doc, &policies, true);
        let settings = &rendered["spec"]["policies"]["gpu_toleration_required"]["settings"];
        if let Some(runner) = &toleration {
            match runner.validate(&request, settings) {
                Ok(r) => {
                    let text = format!("{:?} {:?}", r.message, r.warnings);
                    p.check(r.accepted == accepted && text.contains(needle), || {
                        format!("{what}: gpu-toleration-required on the Deployment without tolerations: accepted {}, expected {accepted} mentioning {needle:?}: {text}", r.accepted)
                    });
                }
                Err(e) => p.add(format!("{what}: validate failed: {e:#}")),
            }
        }
    }
    p.assert_none("deploy overlays");
}
