//! Usage and input errors: exit code 2 with the file and document named,
//! never a panic. None of these needs the built policies.

mod common;

use common::{code, policies, run, stderr, stdout, write};

/// `o` is an input error (exit code 2, no panic) whose stderr says each of
/// `wanted`.
fn fails_with(o: &std::process::Output, wanted: &[&str]) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code(o), 2, "{err}");
    for w in wanted {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

#[test]
fn no_arguments_is_a_usage_error() {
    fails_with(&run(&[]), &["PATH"]);
}

#[test]
fn unknown_output_format_is_a_usage_error() {
    fails_with(&run(&["--output", "xml", "examples/workloads"]), &[]);
}

#[test]
fn help_succeeds_and_documents_exit_codes() {
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Exit status"), "{}", stdout(&o));
}

#[test]
fn file_that_is_not_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let text = write(
        dir.path(),
        "notes.yaml",
        "This is a shopping list, not a manifest.\n",
    );
    let broken = write(
        dir.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: Pod\n---\nmetadata: {name: [\n",
    );
    let binary = dir.path().join("blob.json");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x9f]).unwrap();
    fails_with(
        &run(&[dir.path().to_str().unwrap()]),
        &[
            &format!("{}#0: not a Kubernetes object", text.display()),
            &format!("{}#1: not valid YAML", broken.display()),
            &format!("{}: not a text file", binary.display()),
            "nothing was checked",
        ],
    );
}

#[test]
fn objects_without_kind_or_api_version_are_located() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, wanted) in [
        (
            "pods.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\napiVersion: v1\nmetadata: {name: no-kind}\n---\nkind: Pod\nmetadata: {name: no-version}\n",
            &["#1: object has no kind", "#2: Pod object has no apiVersion"][..],
        ),
        (
            "list.json",
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod"},{"apiVersion":"v1"}]}"#,
            &["#0.items[1]: object has no kind"],
        ),
    ] {
        let f = write(dir.path(), name, text);
        let wanted: Vec<String> = wanted
            .iter()
            .map(|w| format!("{}{w}", f.display()))
            .collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        fails_with(&run(&[f.to_str().unwrap()]), &wanted);
    }
}

#[test]
fn empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    fails_with(
        &run(&[dir.path().to_str().unwrap()]),
        &["folder holds no .yaml, .yml or .json files"],
    );
}

#[test]
fn folder_of_empty_documents() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.yaml", "---\n# nothing yet\n---\n");
    fails_with(
        &run(&[dir.path().to_str().unwrap()]),
        &["no Kubernetes objects"],
    );
}

#[test]
fn missing_path() {
    fails_with(
        &run(&["/nonexistent/manifests"]),
        &["/nonexistent/manifests: cannot read"],
    );
}

#[test]
fn missing_wasm_says_to_run_make_build() {
    let wasm = tempfile::tempdir().unwrap();
    let o = run(&[
        "--wasm-dir",
        wasm.path().to_str().unwrap(),
        "examples/workloads",
    ]);
    fails_with(&o, &["make build"]);
    let err = stderr(&o);
    assert!(
        policies()
            .iter()
            .any(|p| err.contains(&format!("{p}.wasm"))),
        "{err}"
    );
}

#[test]
fn invalid_policy_manifests() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, wanted) in [
        (
            "cap.yaml",
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: x}\nspec:\n  module: registry://ghcr.io/gpu-policies/gpu-limit-required:v0.1.0\n  mode: enforce\n  rules: []\n",
            "unknown mode \"enforce\"",
        ),
        (
            "typo.yaml",
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: x}\nspec:\n  module: registry://ghcr.io/gpu-policies/gpu-limit-required:v0.1.0\n  rules: [{apiGroups: [''], apiVersions: [v1], resources: [pods], operation: [CREATE]}]\n",
            "unknown field `operation`",
        ),
        (
            "none.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            "no ClusterAdmissionPolicy",
        ),
    ] {
        let f = write(dir.path(), name, text);
        fails_with(
            &run(&["--policies", f.to_str().unwrap(), "examples/workloads"]),
            &[wanted],
        );
    }
}
