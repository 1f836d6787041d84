//! The host's behaviour against the real fixture policy
//! (`tests/fixtures/test-policy`, built by `make build-fixtures`).

use std::path::PathBuf;
use std::sync::Arc;

use policy_runner::{
    ContextAwareResource, HostCallOutcome, PolicyOptions, PolicyRunner, ReplaySession,
};
use policy_testkit::build;
use serde_json::{Value, json};
use wasm_integration_tests::{wasm_dir, workspace_root};

fn fixture_wasm() -> PathBuf {
    let path = wasm_dir().join("test-policy.wasm");
    assert!(
        path.is_file(),
        "{} is missing: run `make build-fixtures` first",
        path.display()
    );
    path
}

fn fixture_data(rel: &str) -> PathBuf {
    workspace_root()
        .join("tests/fixtures/test-policy")
        .join(rel)
}

fn try_runner() -> anyhow::Result<PolicyRunner> {
    let options = PolicyOptions::default().metadata_file(&fixture_data("metadata.yml"))?;
    PolicyRunner::from_file(fixture_wasm(), options)
}

fn runner() -> PolicyRunner {
    match try_runner() {
        Ok(runner) => runner,
        Err(e) => unreachable!("cannot load the fixture policy: {e:#}"),
    }
}

/// A Pod CREATE in namespace team-a, labelled team=a, with `annotations`.
fn pod(annotations: Value) -> Value {
    let metadata = json!({"labels": {"team": "a"}, "annotations": annotations});
    let spec = json!({"containers": [{"name": "c", "image": "busybox"}]});
    build::create_request(
        "pods",
        build::workload_object("", "v1", "Pod", "p", "team-a", metadata, spec),
    )
}

/// The fixture's message for a pod annotated `annotations`, default
/// settings; the pod must be rejected.
fn rejection(runner: &PolicyRunner, annotations: Value) -> anyhow::Result<String> {
    let response = runner.validate(&pod(annotations), &json!({}))?;
    assert!(!response.accepted, "{response:?}");
    Ok(response.message.unwrap_or_default())
}

#[test]
fn protocol_version_and_timings() {
    let runner = runner();
    assert_eq!(runner.protocol_version().unwrap(), "v1");
    let timings = runner.load_timings();
    assert!(timings.compile + timings.instantiate > std::time::Duration::ZERO);
}

#[test]
fn one_instance_serves_many_calls() {
    let runner = runner();
    for _ in 0..200 {
        let r = runner.validate(&pod(json!({})), &json!({})).unwrap();
        assert!(r.accepted);
    }
}

#[test]
fn refuses_resources_missing_from_context_aware_resources() {
    let runner = runner();
    let message = rejection(&runner, json!({"test/lookup-secret": "db-password"})).unwrap();
    assert!(
        message.contains("Policy has not been granted access to Kubernetes v1/Secret resources"),
        "{message}"
    );
    let calls = runner.host_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        matches!(calls[0].outcome, HostCallOutcome::Denied(_)),
        "{calls:?}"
    );
}

#[test]
fn lookup_missing_from_session_is_an_error_naming_the_request() {
    let runner = runner();
    let session =
        ReplaySession::from_file(&fixture_data("test_data/sessions/namespace-team-a.yml")).unwrap();
    runner.set_host_capabilities(Some(Arc::new(session)));
    // The policy fails closed with the host's error text...
    let message = rejection(&runner, json!({"test/lookup-namespace": "not-recorded"})).unwrap();
    assert!(message.contains("has no exchange for request"), "{message}");
    assert!(message.contains("name: not-recorded"), "{message}");
    // ...and the host recorded the unanswered lookup for the harness.
    let calls = runner.host_calls();
    let [call] = calls.as_slice() else {
        panic!("{calls:?}")
    };
    let HostCallOutcome::Unanswered(text) = &call.outcome else {
        panic!("{call:?}")
    };
    assert!(text.contains("!KubernetesGetResource"), "{text}");
    assert!(text.contains("kind: Namespace"), "{text}");
    assert!(text.contains("name: not-recorded"), "{text}");
}

#[test]
fn no_allowed_resources_means_no_lookups() {
    let runner = PolicyRunner::from_file(fixture_wasm(), PolicyOptions::default()).unwrap();
    runner.set_context_aware_resources(Vec::<ContextAwareResource>::new());
    let message = rejection(&runner, json!({"test/lookup-namespace": "team-a"})).unwrap();
    assert!(
        message.contains("Kubernetes v1/Namespace resources"),
        "{message}"
    );
}

#[test]
fn guest_errors_are_errors() {
    let runner = runner();
    // Not a ValidationRequest: the SDK returns an error to the host.
    let err = runner
        .validate(&json!({"kind": 3}), &json!({}))
        .unwrap_err();
    assert!(format!("{err:#}").contains("guest error"), "{err:#}");
}

#[test]
fn admission_review_is_unwrapped() {
    let runner = runner();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": pod(json!({}))
    });
    assert!(runner.validate(&review, &json!({})).unwrap().accepted);
}

#[test]
fn missing_and_corrupt_modules_are_clear_errors() {
    let err = PolicyRunner::from_file("/nonexistent/x.wasm", PolicyOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent/x.wasm"));
    let err = PolicyRunner::from_bytes(&[7u8; 64], PolicyOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("cannot compile"), "{err:#}");
}
