//! The command over real manifests through the built policies: the
//! annotated verdicts of examples/workloads, exit codes, the output formats,
//! ClusterAdmissionPolicy configuration and the offline cluster context.
//! Needs `make build build-fixtures` (fails with that hint otherwise).
// The helpers below are test code too (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};

use common::{cache_dir, code, policies, require_wasm, root, run, stderr, stdout, wasm_dir, write};
use manifest_check::position::{Segment, parse_path};
use serde_json::Value;

fn json_run(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let o = run(&all);
    let report: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(&o), stderr(&o)));
    (code(&o), report, stderr(&o))
}

/// Writes `text` as `name` in a fresh directory: the directory (removed
/// when dropped) and the file's path.
fn input_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, text);
    (dir, path)
}

/// Checks `target` with `--policies` naming a directory that holds just
/// `policies` (one or more YAML documents).
fn check_with_policies(policies: &str, target: &Path) -> (i32, Value, String) {
    let caps = tempfile::tempdir().unwrap();
    write(caps.path(), "policies.yaml", policies);
    json_run(&[
        "--policies",
        caps.path().to_str().unwrap(),
        target.to_str().unwrap(),
    ])
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

/// The message of the report's first result.
fn first_message(report: &Value) -> &str {
    results(report)
        .first()
        .and_then(|r| r.get("message"))
        .and_then(Value::as_str)
        .unwrap()
}

#[test]
fn example_workloads_get_their_annotated_verdicts() {
    require_wasm(&policies());
    // Without annotations the deliberate mistakes fail the run...
    let o = run(&["examples/workloads"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // ...with them, every verdict is the one its file's `# expect:` names.
    let o = run(&["--expect-annotations", "examples/workloads"]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    let files = std::fs::read_dir(root().join("examples/workloads"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(files >= 10);
    assert!(
        out.contains(&format!(
            "Expected verdicts: all {files} file(s) got the verdicts their `# expect:` lines annotate ("
        )),
        "{out}"
    );
}

#[test]
fn a_verdict_that_differs_from_its_annotation_fails_naming_it() {
    require_wasm(&policies());
    let dir = tempfile::tempdir().unwrap();
    let copy = |name: &str, header: &str| {
        let text = std::fs::read_to_string(root().join("examples/workloads").join(name)).unwrap();
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("# expect:"))
            .map(|l| format!("{l}\n"))
            .collect();
        write(dir.path(), name, &format!("{header}{body}"))
    };
    copy("ml-training-namespace.yaml", "# expect: accept\n");
    copy(
        "mistake-gpu-request-without-limit.yaml",
        "# expect: reject gpu-toleration-required\n",
    );
    copy("training-job.yaml", "# expect: reject gpu-limit-required\n");
    copy("mig-inference-pod.yaml", "# no annotation here\n");
    let (code, _, err) = json_run(&["--expect-annotations", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    for expected in [
        "Expected verdicts: 1 file(s) as annotated, 3 verdict(s) not => FAIL",
        "Pod/ml-training/notebook (",
        "mistake-gpu-request-without-limit.yaml:4): expected rejection by gpu-toleration-required, rejected by gpu-limit-required",
        "Job/ml-training/llm-finetune (",
        "expected rejection by gpu-limit-required, accepted by all",
        "mig-inference-pod.yaml: no `# expect: accept` or `# expect: reject <policy>` line",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
}

/// The value at `path` of `object`, following keys and indices.
fn walk<'a>(object: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(object, |v, s| match s {
        Segment::Key(k) => v.get(k.as_str()),
        Segment::Index(i) => v.get(*i),
    })
}

#[test]
fn every_violation_in_the_examples_points_at_its_field() {
    require_wasm(&policies());
    let (_, report, err) = json_run(&["examples/workloads"]);
    let mut checked = 0;
    for r in results(&report) {
        let Some(violations) = r.get("violations").and_then(Value::as_array) else {
            assert_ne!(
                r["verdict"], "REJECT",
                "a rejection without located violations: {r}"
            );
            continue;
        };
        let file = r["object"]["file"].as_str().unwrap();
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // The object as YAML read it: its document of the file.
        let document = r["object"]["document"].as_u64().unwrap();
        let object: Value = serde_yaml::Deserializer::from_str(&text)
            .nth(usize::try_from(document).unwrap())
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .unwrap();
        let start = r["object"]["line"].as_u64().unwrap();
        assert!(
            lines[usize::try_from(start).unwrap() - 1].starts_with("apiVersion"),
            "{file}:{start} is not the object's first line ({err})"
        );
        for v in violations {
            let (line, column) = (v["line"].as_u64().unwrap(), v["column"].as_u64().unwrap());
            let violation = v["text"].as_str().unwrap();
            let at: String = lines[usize::try_from(line).unwrap() - 1]
                .chars()
                .skip(usize::try_from(column).unwrap() - 1)
                .collect();
            // The deepest part of the violation's path the object has: the
            // key it names must stand at the position given.
            let path = parse_path(violation).unwrap_or_default();
            let deepest = (0..=path.len())
                .rev()
                .find(|n| walk(&object, &path[..*n]).is_some())
                .unwrap();
            match path[..deepest].last() {
                Some(Segment::Key(key)) => assert!(
                    at.starts_with(key.as_str()) || at.starts_with(&format!("\"{key}\"")),
                    "{file}:{line}:{column} should name {key:?} for {violation:?}, has {at:?}"
                ),
                // An item of a sequence: its first key
                Some(Segment::Index(_)) => assert!(
                    at.chars().next().is_some_and(char::is_alphanumeric),
                    "{file}:{line}:{column} should start an item for {violation:?}, has {at:?}"
                ),
                None => assert_eq!(line, start, "{violation:?}"),
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 13,
        "only {checked} violations located: {report:#}"
    );
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0_with_a_rule_per_policy() {
    require_wasm(&policies());
    let o = run(&["-o", "sarif", "examples/workloads"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The schema as OASIS publishes it, shipped in the serde-sarif crate.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(sarif_schema()).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // (the validator does enforce the schema)
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
    // and it reads as the typed SARIF model too
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(sarif.clone()).unwrap();
    assert_eq!(typed.runs.len(), 1);

    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, policies());
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(rule["help"]["text"].as_str().unwrap().len() > 40, "{rule}");
        assert!(
            rule["helpUri"].as_str().unwrap().ends_with("#readme"),
            "{rule}"
        );
        // the policy's own description, from its metadata.yml
        let text = rule["shortDescription"]["text"].as_str().unwrap();
        let id = rule["id"].as_str().unwrap();
        let metadata =
            std::fs::read_to_string(root().join("policies").join(id).join("metadata.yml")).unwrap();
        assert!(
            metadata.contains(&format!("io.kubewarden.policy.description: {text}")),
            "{rule}"
        );
    }
    let results = run["results"].as_array().unwrap();
    let errors: Vec<&Value> = results.iter().filter(|r| r["level"] == "error").collect();
    let (_, json, _) = json_run(&["examples/workloads"]);
    let violations: usize = self::results(&json)
        .iter()
        .filter(|r| r["verdict"] == "REJECT")
        .map(|r| r["violations"].as_array().unwrap().len())
        .sum();
    assert_eq!(errors.len(), violations, "one SARIF error per violation");
    let typo = errors
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("nvidia.com/mig-1g.10g\"")
        })
        .unwrap();
    let location = &typo["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "examples/workloads/mistake-misspelt-mig-name.yaml"
    );
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 24);
    assert_eq!(location["region"]["startColumn"], 11);
}

/// `src/schema.json` of the serde-sarif package (a dev-dependency), found
/// through `cargo metadata`.
fn sarif_schema() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let o = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let metadata: Value = serde_json::from_slice(&o.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap();
    Path::new(manifest)
        .with_file_name("src")
        .join("schema.json")
}

#[test]
fn good_workloads_pass_with_exit_0_and_a_table() {
    require_wasm(&policies());
    let o = run(&[
        "examples/workloads/ml-training-namespace.yaml",
        "examples/workloads/training-job.yaml",
        "examples/workloads/web-namespace.yaml",
        "examples/workloads/web-frontend.yaml",
    ]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}\n{}", stderr(&o));
    assert!(out.starts_with("OBJECT"), "{out}");
    assert!(out.contains("Job/ml-training/llm-finetune"), "{out}");
    assert!(
        out.contains("examples/workloads/training-job.yaml:4"),
        "{out}"
    );
    assert!(out.contains("ACCEPT"), "{out}");
    assert!(out.contains("Not checked"), "{out}");
    assert!(out.contains("Service: web/storefront"), "{out}");
    assert!(out.trim_end().ends_with("PASS"), "{out}");
}

#[test]
fn rejections_exit_1_with_full_messages_below_the_table() {
    require_wasm(&policies());
    let o = run(&[
        "examples/workloads/mistake-gpu-request-without-limit.yaml",
        "examples/workloads/ml-training-namespace.yaml",
    ]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("REJECT"), "{out}");
    assert!(out.contains("Rejections:"), "{out}");
    assert!(out.contains("- Pod/ml-training/notebook (examples/workloads/mistake-gpu-request-without-limit.yaml:4) by gpu-limit-required:"), "{out}");
    // each violation at file:line:column of its field
    assert!(out.contains("    examples/workloads/mistake-gpu-request-without-limit.yaml:17:7: spec.containers[0] \"jupyter\": requests nvidia.com/gpu: 1 but sets no limit"), "{out}");
    assert!(out.contains("nvidia.com/gpu"), "{out}");
    assert!(out.trim_end().ends_with("FAIL"), "{out}");
    // Rows fit the default 120 columns.
    for line in out.lines().take_while(|l| !l.is_empty()) {
        assert!(line.chars().count() <= 120, "{line}");
    }
}

/// A GPU pod in namespace `namespace` (`None`: none given), after the
/// documents in `before`.
fn gpu_pod_in(namespace: Option<&str>, before: &str) -> String {
    let namespace = namespace.map_or(String::new(), |ns| format!(", namespace: {ns}"));
    format!(
        "{before}apiVersion: v1\nkind: Pod\nmetadata: {{name: p{namespace}, labels: {{gpu-workload-type: training}}}}\nspec:\n  tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]\n  containers: [{{name: c, image: cuda, resources: {{limits: {{nvidia.com/gpu: 1}}}}}}]\n"
    )
}

/// The JSON report of checking `text` alone, and its gpu-isolated-namespace
/// result, which must be a rejection.
fn isolated_namespace_rejection(text: &str) -> (Value, Value) {
    let (_dir, f) = input_file("pod.yaml", text);
    let (code, report, _) = json_run(&[f.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let r = results(&report)
        .iter()
        .find(|r| r["policy"] == "gpu-isolated-namespace")
        .unwrap()
        .clone();
    assert_eq!(r["verdict"], "REJECT", "{r}");
    (report, r)
}

#[test]
fn namespace_missing_from_the_input_fails_closed_naming_it() {
    require_wasm(&policies());
    let (_, r) = isolated_namespace_rejection(&gpu_pod_in(Some("team-ghost"), ""));
    let message = r["message"].as_str().unwrap();
    assert!(message.contains("team-ghost"), "{message}");
    // and says the namespace was not in the input, rather than that it
    // exists without its label
    let note = r["note"].as_str().unwrap();
    assert!(
        note.starts_with(
            "namespace \"team-ghost\" is not in the input, so it was checked as absent;"
        ),
        "{note}"
    );
    // A built-in namespace the input lacks: judged as a new cluster has it.
    let (report, r) = isolated_namespace_rejection(&gpu_pod_in(None, ""));
    assert!(
        r["note"].as_str().unwrap().starts_with(
            "namespace \"default\" is not in the input: it was checked as a new cluster has it, with no labels"
        ),
        "{r}"
    );
    // Policies that read no namespace get no note.
    assert!(
        results(&report)
            .iter()
            .filter(|r| r["policy"] != "gpu-isolated-namespace")
            .all(|r| r.get("note").is_none()),
        "{report:#}"
    );
    // With the Namespace in the input (unlabelled), there is nothing to note.
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n---\n";
    let (_, r) = isolated_namespace_rejection(&gpu_pod_in(Some("web"), namespace));
    assert!(r.get("note").is_none(), "{r}");
}

#[test]
fn unknown_kinds_and_lists_are_handled() {
    require_wasm(&policies());
    let (_dir, f) = input_file(
        "mixed.yaml",
        r#"apiVersion: example.com/v1alpha1
kind: InferenceService
metadata: {name: llama, namespace: ml-inference}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg}
- apiVersion: v1
  kind: Pod
  metadata: {name: cpu}
  spec:
    containers: [{name: c, image: nginx}]
"#,
    );
    let (code, report, _) = json_run(&[f.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    let not_checked = report["notChecked"].as_array().unwrap();
    assert_eq!(not_checked.len(), 2, "{report:#}");
    assert_eq!(not_checked[0]["kind"], "InferenceService");
    assert_eq!(not_checked[0]["unknownKind"], true);
    let pod: Vec<_> = results(&report)
        .iter()
        .filter(|r| {
            r["object"]["source"]
                .as_str()
                .unwrap()
                .ends_with("#1.items[1]")
        })
        .collect();
    assert_eq!(pod.len(), 4, "{report:#}");
    assert!(pod.iter().all(|r| r["verdict"] == "ACCEPT"), "{report:#}");
    assert_eq!(pod[0]["object"]["namespace"], "default");
}

#[test]
fn reads_stdin_and_writes_reports_to_a_file() {
    require_wasm(&policies());
    use std::io::Write;
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("report.xml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gpu-policy-check"))
        .args([
            "-o",
            "junit",
            "--output-file",
            report.to_str().unwrap(),
            "-",
        ])
        .env("POLICY_WASM_DIR", wasm_dir())
        .env("GPU_POLICY_CHECK_CACHE_DIR", cache_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let manifest =
        std::fs::read(root().join("examples/workloads/mistake-misspelt-mig-name.yaml")).unwrap();
    child.stdin.take().unwrap().write_all(&manifest).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.contains("Pod/ml-inference/embeddings-mig-typo (&lt;stdin&gt;#0)"),
        "{xml}"
    );
    assert!(xml.contains("nvidia.com/mig-1g.10gb"), "{xml}");
}

#[test]
fn junit_output_has_a_suite_per_policy_and_failures() {
    require_wasm(&policies());
    let o = run(&["--output", "junit", "examples/workloads"]);
    assert_eq!(code(&o), 1);
    let xml = stdout(&o);
    assert!(xml.starts_with("<?xml"), "{xml}");
    for p in policies() {
        assert!(xml.contains(&format!("<testsuite name=\"{p}\"")), "{xml}");
    }
    assert!(xml.contains("<failure type=\"REJECT\""), "{xml}");
    assert!(xml.contains("Deployment/ml-inference/llm-serving"), "{xml}");
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
    assert!(xml.trim_end().ends_with("</testsuites>"));
}

fn fixture_cap(name: &str, extra: &str) -> String {
    let wasm = wasm_dir().join("test-policy.wasm");
    let wasm = std::fs::canonicalize(&wasm).unwrap_or(wasm);
    format!(
        "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {{name: {name}}}\nspec:\n  module: file://{}\n  rules:\n  - {{apiGroups: [\"\"], apiVersions: [v1], resources: [pods], operations: [CREATE]}}\n{extra}",
        wasm.display()
    )
}

/// Checks `target` with just the test-policy fixture, as [`fixture_cap`]
/// writes it.
fn check_with_fixture(name: &str, extra: &str, target: &Path) -> (i32, Value, String) {
    check_with_policies(&fixture_cap(name, extra), target)
}

const LABELLED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ml\n  labels: {team: a}\nspec:\n  containers: [{name: c, image: nginx}]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ml, labels: {test/allowed: \"true\"}}\n";

#[test]
fn mutations_are_shown_as_json_patches() {
    require_wasm(&["test-policy"]);
    let (_dir, pods) = input_file("pod.yaml", LABELLED_POD);
    let (code, report, _) = check_with_fixture(
        "adds-label",
        "  mutating: true\n  settings: {mutate: true}\n",
        &pods,
    );
    assert_eq!(code, 0, "{report:#}");
    let r = &results(&report)[0];
    assert_eq!(r["verdict"], "MUTATE", "{r}");
    assert_eq!(r["patch"][0]["op"], "add", "{r}");
    assert_eq!(
        r["patch"][0]["path"], "/metadata/labels/test~1mutated",
        "{r}"
    );

    // The same policy without `mutating: true` is refused, as policy-server does.
    let (code, report, _) = check_with_fixture("adds-label", "  settings: {mutate: true}\n", &pods);
    assert_eq!(code, 1);
    assert!(first_message(&report).contains("not allow mutations"));
}

#[test]
fn monitor_mode_selectors_and_foreign_modules() {
    require_wasm(&["test-policy", "gpu-limit-required"]);
    let (_dir, pods) = input_file(
        "pods.yaml",
        &format!(
            "{LABELLED_POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: unlabelled, namespace: ml}}\nspec:\n  containers: [{{name: c, image: nginx}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: sys, namespace: kube-system}}\nspec:\n  containers: [{{name: c, image: nginx}}]\n"
        ),
    );
    let (code, report, _) = check_with_policies(
        &format!(
            "{}---\napiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {{name: privileged}}\nspec:\n  module: registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0\n  rules: []\n",
            fixture_cap(
                "team-label",
                "  mode: monitor\n  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}\n"
            )
        ),
        &pods,
    );
    assert_eq!(code, 0, "monitor mode never fails the run: {report:#}");
    let verdicts: Vec<(&str, &str)> = results(&report)
        .iter()
        .map(|r| {
            (
                r["object"]["name"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("p", "ACCEPT"),
            ("unlabelled", "MONITOR-REJECT"),
            ("sys", "SKIP")
        ],
        "{report:#}"
    );
    assert_eq!(report["skippedPolicies"][0]["name"], "privileged");
}

#[test]
fn context_aware_lookups_follow_context_aware_resources() {
    require_wasm(&["test-policy"]);
    let (_dir, pods) = input_file(
        "pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: reads-ns\n  namespace: ml\n  labels: {team: a}\n  annotations: {test/lookup-namespace: ml}\nspec:\n  containers: [{name: c, image: nginx}]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ml, labels: {test/allowed: \"true\"}}\n",
    );
    // No contextAwareResources: the lookup is refused, the policy rejects.
    let (code, report, _) = check_with_fixture("reader", "", &pods);
    assert_eq!(code, 1);
    assert!(
        first_message(&report).contains("not been granted access"),
        "{report:#}"
    );
    // Granted: answered from the Namespace in the input.
    let (code, report, _) = check_with_fixture(
        "reader",
        "  contextAwareResources:\n  - {apiVersion: v1, kind: Namespace}\n",
        &pods,
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn groups_evaluate_their_expression() {
    require_wasm(&["gpu-limit-required", "gpu-toleration-required"]);
    let group = |expression: &str| {
        format!(
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicyGroup\nmetadata: {{name: gpu-basics}}\nspec:\n  rules:\n  - {{apiGroups: [apps], apiVersions: [v1], resources: [deployments], operations: [CREATE, UPDATE]}}\n  policies:\n    limits: {{module: \"registry://ghcr.io/gpu-policies/gpu-limit-required:v0.1.0\", settings: {{}}}}\n    tolerations: {{module: \"registry://ghcr.io/gpu-policies/gpu-toleration-required:v0.1.0\"}}\n  expression: \"{expression}\"\n  message: GPU basics are not met\n"
        )
    };
    let file = Path::new("examples/workloads/mistake-gpu-pod-without-toleration.yaml");
    let (code, report, _) = check_with_policies(&group("limits() && tolerations()"), file);
    assert_eq!(code, 1, "{report:#}");
    let message = first_message(&report);
    assert!(message.starts_with("GPU basics are not met"), "{message}");
    assert!(message.contains("tolerations: "), "{message}");
    let (code, _, _) = check_with_policies(&group("limits() || tolerations()"), file);
    assert_eq!(code, 0);
    // Outside the supported CEL subset: every member must accept, said in a note.
    let (code, report, _) = check_with_policies(
        &group("limits() && tolerations() && request.namespace != 'x'"),
        file,
    );
    assert_eq!(code, 1);
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .contains("approximated"),
        "{report:#}"
    );
}

/// `cargo test --release -p manifest-check --test workloads -- --ignored --nocapture`
/// (or tools/manifest-check/bench.sh): 1,000 generated objects, timed.
#[test]
#[ignore = "timing measurement, run explicitly"]
fn thousand_objects_take_seconds() {
    require_wasm(&policies());
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..1000 {
        let (ns, gpu) = if i % 2 == 0 {
            ("ml-training", 1)
        } else {
            ("web", 0)
        };
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n    metadata: {{labels: {{app: a{i}, gpu-workload-type: training}}}}\n    spec:\n      tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]\n      containers:\n      - name: c\n        image: nvcr.io/nvidia/pytorch:24.05-py3\n        resources: {{limits: {{nvidia.com/gpu: {gpu}, memory: 1Gi}}}}\n"
        ));
    }
    write(dir.path(), "many.yaml", &text);
    let start = std::time::Instant::now();
    let o = run(&[
        "--output",
        "json",
        dir.path().to_str().unwrap(),
        "examples/workloads/ml-training-namespace.yaml",
    ]);
    let elapsed = start.elapsed();
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    eprintln!(
        "1,000 objects x {} policies: {elapsed:.2?}",
        policies().len()
    );
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
}

/// GPU infrastructure (a DCGM-exporter-like DaemonSet: privileged, the GPU
/// taint tolerated, /dev mounted, no GPU limit) is exempted by the example
/// ClusterAdmissionPolicy's namespaceSelector, and the same DaemonSet
/// elsewhere is rejected for each device-access path.
#[test]
fn gpu_infrastructure_is_exempted_by_the_example_namespace_selector() {
    require_wasm(&["gpu-limit-required"]);
    let example = std::fs::read_to_string(
        root().join("policies/gpu-limit-required/examples/cluster-admission-policy.yaml"),
    )
    .unwrap();
    let daemonset = |ns: &str| {
        format!(
            r#"apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: dcgm-exporter, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: dcgm-exporter}}}}
  template:
    metadata: {{labels: {{app: dcgm-exporter}}}}
    spec:
      tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
      containers:
        - name: exporter
          image: nvcr.io/nvidia/k8s/dcgm-exporter:4.1.1-4.0.4-ubuntu22.04
          securityContext: {{privileged: true}}
          volumeMounts: [{{name: dev, mountPath: /dev}}]
      volumes: [{{name: dev, hostPath: {{path: /dev}}}}]
"#
        )
    };
    let text = format!(
        "{}---\n{}",
        daemonset("gpu-operator"),
        daemonset("monitoring")
    );
    let (_dir, path) = input_file("dcgm.yaml", &text);
    let (code, report, err) = check_with_policies(&example, &path);
    assert_eq!(code, 1, "stderr: {err}");
    let verdicts: Vec<(String, String, String)> = results(&report)
        .iter()
        .map(|r| {
            (
                r["object"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r["verdict"].as_str().unwrap_or_default().to_owned(),
                r["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let [(ns0, v0, _), (ns1, v1, message)] = verdicts.as_slice() else {
        panic!("{verdicts:?}");
    };
    assert_eq!((ns0.as_str(), v0.as_str()), ("gpu-operator", "SKIP"));
    assert_eq!((ns1.as_str(), v1.as_str()), ("monitoring", "REJECT"));
    for needle in [
        "spec.template.spec.containers[0].securityContext.privileged \"exporter\": is true in a pod that asks for a GPU or aims at GPU nodes",
        "spec.template.spec.volumes[0].hostPath.path \"dev\": mounts \"/dev\" from the node",
        "spec.template.spec.tolerations[0]: tolerates the GPU taint nvidia.com/gpu:NoSchedule but no container sets a GPU limit",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
}
