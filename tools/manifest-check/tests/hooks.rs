//! Where the check runs besides the command line: the pre-commit hook
//! (`.pre-commit-hooks.yaml` with `tools/manifest-check/pre-commit.sh`),
//! driven by the real pre-commit framework on a throw-away git repository,
//! and the GitHub Action (`action.yml`), whose check step is run here as
//! the runner would run it.
//!
//! pre-commit comes from PyPI (`pip install pre-commit`; `.ci/run` installs
//! it). Without it the hook test says so and passes, except under CI (the
//! `CI` variable set), where a missing pre-commit fails it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{cache_dir, policies, require_wasm, root, wasm_dir};
use serde_json::Value;

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git")
}

fn ok(o: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

/// A folder holding the built `gpu-policy-check` (this test's binary), for PATH.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_gpu-policy-check"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn path_with_bin() -> std::ffi::OsString {
    let mut paths = vec![bin_dir()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

fn pre_commit_available() -> bool {
    Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn example(name: &str) -> String {
    std::fs::read_to_string(root().join("examples/workloads").join(name)).unwrap()
}

#[test]
fn the_pre_commit_hook_rejects_a_mistaken_manifest_and_accepts_a_correct_one() {
    require_wasm(&policies());
    if !pre_commit_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "pre-commit is not installed (pip install pre-commit)"
        );
        eprintln!("SKIP: pre-commit is not installed (pip install pre-commit)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // The hook's repository: this repository's hook definition and entry,
    // committed, as pre-commit clones it.
    let hooks = work.path().join("hooks");
    let entry = "tools/manifest-check/pre-commit.sh";
    std::fs::create_dir_all(hooks.join("tools/manifest-check")).unwrap();
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    std::fs::copy(root().join(entry), hooks.join(entry)).unwrap();
    ok(&git(&hooks, &["init", "-q"]));
    ok(&git(&hooks, &["add", "."]));
    ok(&git(&hooks, &["commit", "-q", "-m", "hooks"]));
    let rev = ok(&git(&hooks, &["rev-parse", "HEAD"])).trim().to_owned();

    // A project using the hook.
    let project = work.path().join("project");
    std::fs::create_dir_all(project.join("k8s")).unwrap();
    std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
    ok(&git(&project, &["init", "-q"]));
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: gpu-policy-check\n",
            hooks.display()
        ),
    )
    .unwrap();
    let pre_commit = |args: &[&str]| {
        Command::new("pre-commit")
            .args(args)
            .current_dir(&project)
            .env("PRE_COMMIT_HOME", work.path().join("cache"))
            .output()
            .expect("run pre-commit")
    };
    ok(&pre_commit(&["install"]));
    let commit = |message: &str| {
        Command::new("git")
            .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
            .args(["-c", "commit.gpgsign=false", "commit", "-m", message])
            .current_dir(&project)
            .env("PRE_COMMIT_HOME", work.path().join("cache"))
            .env("PATH", path_with_bin())
            .env("POLICY_WASM_DIR", wasm_dir())
            .env("GPU_POLICY_CHECK_CACHE_DIR", cache_dir())
            .output()
            .expect("run git commit")
    };

    // A correct commit: a GPU Job with its namespace, and a CI workflow
    // (other YAML, skipped).
    std::fs::write(
        project.join("k8s/ml-training.yaml"),
        example("ml-training-namespace.yaml"),
    )
    .unwrap();
    std::fs::write(project.join("k8s/job.yaml"), example("training-job.yaml")).unwrap();
    std::fs::write(
        project.join(".github/workflows/ci.yaml"),
        "name: ci\non: [push]\njobs: {}\n",
    )
    .unwrap();
    ok(&git(&project, &["add", "."]));
    let accepted = ok(&commit("a GPU training job"));
    assert!(
        accepted.contains("GPU policies (gpu-policy-check)"),
        "{accepted}"
    );
    assert!(accepted.contains("Passed"), "{accepted}");

    // A mistaken manifest: a GPU requested without a limit.
    std::fs::write(
        project.join("k8s/notebook.yaml"),
        example("mistake-gpu-request-without-limit.yaml"),
    )
    .unwrap();
    ok(&git(&project, &["add", "."]));
    let o = commit("a notebook");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "the commit went through: {text}");
    assert!(text.contains("Failed"), "{text}");
    assert!(
        text.contains(
            "k8s/notebook.yaml:17:7: spec.containers[0] \"jupyter\": requests nvidia.com/gpu: 1 but sets no limit"
        ),
        "{text}"
    );
    let log = ok(&git(&project, &["log", "--oneline"]));
    assert_eq!(log.lines().count(), 1, "{log}");
}

/// The `run:` script of the step with `id` in action.yml's composite steps.
fn step_script(action: &Value, id: &str) -> String {
    action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("action.yml has no step {id} with a run script"))
        .to_owned()
}

#[test]
fn the_github_action_checks_and_writes_sarif() {
    require_wasm(&policies());
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))),
        "{text}"
    );
    for input in [
        "paths",
        "policies",
        "sarif-file",
        "upload-sarif",
        "fail-on-rejection",
    ] {
        assert!(
            action["inputs"].get(input).is_some(),
            "input {input} missing"
        );
    }
    // The check step as the runner runs it: bash, inputs as environment.
    let script = step_script(&action, "check");
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("results.sarif");
    let outputs = out.path().join("github-output");
    let run = |paths: &str, fail: &str| {
        Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(root())
            .env("PATH", path_with_bin())
            .env("POLICY_WASM_DIR", wasm_dir())
            .env("GPU_POLICY_CHECK_CACHE_DIR", cache_dir())
            .env("INPUT_PATHS", paths)
            .env("INPUT_POLICIES", "")
            .env("INPUT_ARGS", "")
            .env("INPUT_SARIF_FILE", &sarif)
            .env("INPUT_FAIL_ON_REJECTION", fail)
            .env("GITHUB_OUTPUT", &outputs)
            .output()
            .unwrap()
    };
    let o = run("examples/workloads", "true");
    let log = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{log}");
    assert!(log.contains("Rejections:"), "{log}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(report["version"], "2.1.0");
    assert!(!report["runs"][0]["results"].as_array().unwrap().is_empty());
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(written.contains("exit-code=1"), "{written}");
    // Without failing on rejections the step passes, the SARIF still written.
    let o = run(
        "examples/workloads/training-job.yaml examples/workloads/mistake-misspelt-mig-name.yaml",
        "false",
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
