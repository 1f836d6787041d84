//! Usage and input errors: exit code 2 with the file and document named,
//! never a panic. None of these needs the built policies.

mod common;

use common::{code, policies, run, stderr, stdout, write};

fn no_panic(o: &std::process::Output) {
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

#[test]
fn no_arguments_is_a_usage_error() {
    let o = run(&[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("PATH"), "{}", stderr(&o));
}

#[test]
fn unknown_output_format_is_a_usage_error() {
    let o = run(&["--output", "xml", "examples/workloads"]);
    assert_eq!(code(&o), 2);
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
    let o = run(&[dir.path().to_str().unwrap()]);
    no_panic(&o);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}#0: not a Kubernetes object", text.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}#1: not valid YAML", broken.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: not a text file", binary.display())),
        "{err}"
    );
    assert!(err.contains("nothing was checked"), "{err}");
}

#[test]
fn object_without_kind_or_api_version() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\napiVersion: v1\nmetadata: {name: no-kind}\n---\nkind: Pod\nmetadata: {name: no-version}\n",
    );
    let o = run(&[f.to_str().unwrap()]);
    no_panic(&o);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}#1: object has no kind", f.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}#2: Pod object has no apiVersion", f.display())),
        "{err}"
    );
}

#[test]
fn list_item_without_kind_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "list.json",
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod"},{"apiVersion":"v1"}]}"#,
    );
    let o = run(&[f.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("#0.items[1]: object has no kind"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[dir.path().to_str().unwrap()]);
    no_panic(&o);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("folder holds no .yaml, .yml or .json files"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn folder_of_empty_documents() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.yaml", "---\n# nothing yet\n---\n");
    let o = run(&[dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no Kubernetes objects"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_path() {
    let o = run(&["/nonexistent/manifests"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("/nonexistent/manifests: cannot read"),
        "{}",
        stderr(&o)
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
    no_panic(&o);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        policies()
            .iter()
            .any(|p| err.contains(&format!("{p}.wasm"))),
        "{err}"
    );
    assert!(err.contains("make build"), "{err}");
}

#[test]
fn invalid_policy_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "cap.yaml",
        "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: x}\nspec:\n  module: registry://ghcr.io/gpu-policies/gpu-limit-required:v0.1.0\n  mode: enforce\n  rules: []\n",
    );
    let o = run(&["--policies", f.to_str().unwrap(), "examples/workloads"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown mode \"enforce\""),
        "{}",
        stderr(&o)
    );
    let none = write(
        dir.path(),
        "none.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    let o = run(&["--policies", none.to_str().unwrap(), "examples/workloads"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no ClusterAdmissionPolicy"),
        "{}",
        stderr(&o)
    );
}
