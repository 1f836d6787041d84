use std::cell::RefCell;
use std::collections::BTreeMap;

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::violation::render;
use policy_cases::InMemoryCluster;
use policy_testkit::build;
use serde_json::{Value, json};

use super::*;

/// What a test's cluster holds: namespaces, the NetworkPolicies and
/// ResourceQuotas of the namespace the request is in, lookups that fail; and
/// the lookups made. Each run answers from a [`InMemoryCluster`] built from it.
#[derive(Default)]
struct Fake {
    namespaces: BTreeMap<String, Value>,
    namespace_error: Option<String>,
    network_policies: Vec<Value>,
    network_policy_error: Option<String>,
    quotas: Vec<Value>,
    quota_error: Option<String>,
    calls: RefCell<Vec<String>>,
}

impl Fake {
    fn gpu_namespace(name: &str, kind: &str) -> Self {
        let mut fake = Fake::default();
        fake.namespace(name, json!({"gpu-workload-type": kind}));
        fake.network_policies.push(deny_all("default-deny-all"));
        fake
    }

    fn namespace(&mut self, name: &str, labels: Value) {
        self.namespaces.insert(
            name.to_owned(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        );
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    /// The cluster for a request in namespace `ns`.
    fn cluster(&self, ns: &str) -> InMemoryCluster {
        let mut cluster = InMemoryCluster::with_objects(self.namespaces.values().cloned());
        let placed = |api_version: &str, kind: &str, object: &Value| {
            let mut object = object.clone();
            object["apiVersion"] = json!(api_version);
            object["kind"] = json!(kind);
            object["metadata"]["namespace"] = json!(ns);
            object
        };
        for p in &self.network_policies {
            cluster.add(placed("networking.k8s.io/v1", "NetworkPolicy", p));
        }
        for q in &self.quotas {
            cluster.add(placed("v1", "ResourceQuota", q));
        }
        for (kind, error) in [
            ("Namespace", &self.namespace_error),
            ("NetworkPolicy", &self.network_policy_error),
            ("ResourceQuota", &self.quota_error),
        ] {
            if let Some(text) = error {
                cluster.fail(kind, text);
            }
        }
        cluster
    }
}

fn deny_all(name: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
}

fn settings(json: Value) -> Settings {
    serde_json::from_value(json).unwrap()
}

fn run(request: &Value, settings: &Settings, fake: &Fake) -> Outcome {
    let compiled = settings.clone().compile().unwrap();
    let text = request.to_string();
    let request: AdmissionRequest = serde_json::from_str(&text).unwrap();
    let ns = if request.namespace.is_empty() {
        serde_json::from_str::<Value>(request.object_json().unwrap_or("{}")).unwrap()["metadata"]
            ["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    } else {
        request.namespace.clone()
    };
    let cluster = fake.cluster(&ns);
    let outcome = if judges(&request) {
        evaluate(&request, &compiled, &Cluster::new(&cluster))
    } else {
        Outcome::Accept
    };
    fake.calls.borrow_mut().extend(cluster.calls());
    outcome
}

fn message(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Reject(v) => render(v),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// An object of `kind` whose pod template has `labels` and one container
/// with `resources`.
fn workload(kind: &str, namespace: &str, labels: Value, resources: Value) -> Value {
    let pod_spec = json!({"containers": [{"name": "trainer", "image": "nvcr.io/nvidia/pytorch:24.05-py3", "resources": resources}]});
    let k = build::workload_kind_named(kind).unwrap();
    let pod_metadata = json!({"labels": labels});
    let object = build::workload_object(
        k.group(),
        k.version(),
        kind,
        "w",
        namespace,
        pod_metadata,
        pod_spec,
    );
    build::create_request(k.resource(), object)
}

fn gpu(n: &str) -> Value {
    json!({"limits": {"nvidia.com/gpu": n}})
}

fn pod(namespace: &str, labels: Value, resources: Value) -> Value {
    workload("Pod", namespace, labels, resources)
}

/// The message for a one-GPU training pod in `namespace`, default settings.
fn training_pod_message(namespace: &str, cluster: &Fake) -> String {
    message(&run(
        &pod(namespace, training(), gpu("1")),
        &Settings::default(),
        cluster,
    ))
}

fn training() -> Value {
    json!({"gpu-workload-type": "training"})
}

#[test]
fn gpu_workload_in_matching_namespace_is_accepted_for_every_kind() {
    let cluster = Fake::gpu_namespace("ml-training", "training");
    for kind in WorkloadKind::ALL.map(WorkloadKind::name) {
        let req = workload(kind, "ml-training", training(), gpu("2"));
        assert_eq!(
            run(&req, &Settings::default(), &cluster),
            Outcome::Accept,
            "{kind}"
        );
    }
    assert_eq!(
        cluster.calls()[..2],
        [
            "get Namespace ml-training",
            "list NetworkPolicy ml-training"
        ]
    );
}

#[test]
fn non_gpu_workloads_are_accepted_without_lookups() {
    let cluster = Fake::default();
    for kind in WorkloadKind::ALL.map(WorkloadKind::name) {
        let req = workload(
            kind,
            "web",
            json!({}),
            json!({"limits": {"cpu": "2", "memory": "4Gi"}}),
        );
        assert_eq!(
            run(&req, &Settings::default(), &cluster),
            Outcome::Accept,
            "{kind}"
        );
    }
    assert!(cluster.calls().is_empty());
}

#[test]
fn other_kinds_and_deletes_are_accepted() {
    let cluster = Fake::default();
    let cm = json!({"kind": {"group": "", "version": "v1", "kind": "ConfigMap"}, "operation": "CREATE",
                    "namespace": "x", "object": {"data": {}}});
    assert_eq!(run(&cm, &Settings::default(), &cluster), Outcome::Accept);
    let mut del = pod("ml-training", training(), gpu("1"));
    del["operation"] = json!("DELETE");
    del["oldObject"] = del["object"].take();
    assert_eq!(run(&del, &Settings::default(), &cluster), Outcome::Accept);
    assert!(cluster.calls().is_empty());
}

#[test]
fn gpu_requests_without_limits_and_custom_resources_count() {
    let mut cluster = Fake::default();
    cluster.namespace("web", json!({}));
    let req = pod("web", json!({}), json!({"requests": {"amd.com/gpu": "1"}}));
    assert!(matches!(
        run(&req, &Settings::default(), &cluster),
        Outcome::Reject(_)
    ));
    let req = pod(
        "web",
        json!({}),
        json!({"limits": {"example.com/a100": "1"}}),
    );
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    let s = settings(json!({"gpuResources": ["example.com/a100"]}));
    assert!(matches!(run(&req, &s, &cluster), Outcome::Reject(_)));
}

#[test]
fn unlabelled_namespace_is_rejected_with_the_label_to_set() {
    let mut cluster = Fake::default();
    cluster.namespace("research", json!({"team": "a"}));
    cluster.network_policies.push(deny_all("deny"));
    let m = training_pod_message("research", &cluster);
    assert_eq!(
        m,
        "metadata.namespace: namespace \"research\" is not a GPU namespace: it has no label gpu-workload-type (fix: kubectl label namespace research gpu-workload-type=training)"
    );
}

#[test]
fn namespace_with_unknown_type_is_rejected() {
    let mut cluster = Fake::default();
    cluster.namespace("exp", json!({"gpu-workload-type": "experiments"}));
    cluster.network_policies.push(deny_all("deny"));
    let req = pod("exp", json!({"gpu-workload-type": "inference"}), gpu("1"));
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(
        m.contains(
            "its label gpu-workload-type=experiments is not one of training, inference, batch"
        ),
        "{m}"
    );
    assert!(
        m.contains("kubectl label namespace exp gpu-workload-type=inference --overwrite"),
        "{m}"
    );
    // The settings decide the types.
    let s = settings(json!({"workloadTypes": ["experiments"]}));
    let req = pod("exp", json!({"gpu-workload-type": "experiments"}), gpu("1"));
    assert_eq!(run(&req, &s, &cluster), Outcome::Accept);
}

#[test]
fn pod_label_missing_or_different_is_rejected_with_the_right_path() {
    let cluster = Fake::gpu_namespace("serving", "inference");
    let req = pod("serving", json!({"app": "llm"}), gpu("1"));
    assert_eq!(
        message(&run(&req, &Settings::default(), &cluster)),
        "metadata.labels: has no label gpu-workload-type (fix: set metadata.labels[\"gpu-workload-type\"]: \"inference\" (the type of namespace \"serving\"))"
    );
    let req = workload("Deployment", "serving", training(), gpu("1"));
    assert_eq!(
        message(&run(&req, &Settings::default(), &cluster)),
        "spec.template.metadata.labels: gpu-workload-type=training does not match namespace \"serving\", which is for gpu-workload-type=inference workloads (fix: run training workloads in a namespace labelled gpu-workload-type=training, or set spec.template.metadata.labels[\"gpu-workload-type\"]: \"inference\")"
    );
    let req = workload(
        "CronJob",
        "serving",
        json!({"gpu-workload-type": "bogus"}),
        gpu("1"),
    );
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(
        m.starts_with(
            "spec.jobTemplate.spec.template.metadata.labels: gpu-workload-type=bogus does not match"
        ),
        "{m}"
    );
    assert!(m.ends_with("(fix: set spec.jobTemplate.spec.template.metadata.labels[\"gpu-workload-type\"]: \"inference\")"), "{m}");
}

#[test]
fn custom_label_keys() {
    let mut cluster = Fake::default();
    cluster.namespace("ml", json!({"gpu.example.com/tier": "training"}));
    cluster.network_policies.push(deny_all("deny"));
    let s = settings(
        json!({"namespaceLabel": "gpu.example.com/tier", "podLabel": "app.kubernetes.io/component"}),
    );
    let req = pod(
        "ml",
        json!({"app.kubernetes.io/component": "training"}),
        gpu("1"),
    );
    assert_eq!(run(&req, &s, &cluster), Outcome::Accept);
    let req = pod("ml", training(), gpu("1"));
    let m = message(&run(&req, &s, &cluster));
    assert!(
        m.contains("has no label app.kubernetes.io/component"),
        "{m}"
    );
}

#[test]
fn every_violation_is_reported() {
    let mut cluster = Fake::default();
    cluster.namespace("default", json!({"kubernetes.io/metadata.name": "default"}));
    let s = settings(json!({"requireGpuQuota": true}));
    let req = workload(
        "Job",
        "default",
        json!({}),
        json!({"limits": {"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1"}}),
    );
    let m = message(&run(&req, &s, &cluster));
    assert!(
        m.starts_with(
            "5 violations:\n[1] metadata.namespace: namespace \"default\" is not a GPU namespace"
        ),
        "{m}"
    );
    assert!(m.contains("[2] spec.template.metadata.labels: has no label gpu-workload-type (fix: set spec.template.metadata.labels[\"gpu-workload-type\"]: \"training\" or another of training, inference, batch)"), "{m}");
    assert!(
        m.contains(
            "[3] metadata.namespace: namespace \"default\" has no default-deny NetworkPolicy"
        ),
        "{m}"
    );
    assert!(m.contains("[4] metadata.namespace: namespace \"default\" has no ResourceQuota with hard[\"requests.nvidia.com/gpu\"]"), "{m}");
    assert!(m.contains("[5] metadata.namespace: namespace \"default\" has no ResourceQuota with hard[\"requests.nvidia.com/mig-1g.10gb\"]"), "{m}");
}

#[test]
fn pod_label_not_a_workload_type_in_unlabelled_namespace() {
    let mut cluster = Fake::default();
    cluster.namespace("x", json!({}));
    cluster.network_policies.push(deny_all("deny"));
    let req = pod("x", json!({"gpu-workload-type": "fun"}), gpu("1"));
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(m.contains("[2] metadata.labels: gpu-workload-type=fun is not one of training, inference, batch (fix: set metadata.labels[\"gpu-workload-type\"]: \"training\")"), "{m}");
}

#[test]
fn request_namespace_is_authoritative() {
    let cluster = Fake::gpu_namespace("ml-training", "training");
    let mut req = pod("ml-training", training(), gpu("1"));
    req["object"]["metadata"]["namespace"] = json!("elsewhere");
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    assert_eq!(cluster.calls()[0], "get Namespace ml-training");
    // No request namespace: the object's.
    let mut req = pod("", training(), gpu("1"));
    req["object"]["metadata"]["namespace"] = json!("ml-training");
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    // Neither: rejected, no lookup.
    let cluster = Fake::default();
    let req = pod("", training(), gpu("1"));
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(m.contains("metadata.namespace: is not set"), "{m}");
    assert!(cluster.calls().is_empty());
}

#[test]
fn namespace_lookup_failures_fail_closed() {
    let cluster = Fake::default();
    let m = training_pod_message("ghost", &cluster);
    assert_eq!(
        m,
        "metadata.namespace: cannot read Namespace \"ghost\" to check its gpu-workload-type label: it does not exist (fix: create namespace \"ghost\" labelled gpu-workload-type=training)"
    );
    // No list after a failed namespace read.
    assert_eq!(cluster.calls(), ["get Namespace ghost"]);
    let cluster = Fake {
        namespace_error: Some("connection refused".into()),
        ..Fake::default()
    };
    let m = training_pod_message("ghost", &cluster);
    assert!(m.contains("cannot read Namespace \"ghost\""), "{m}");
    assert!(
        m.ends_with("label: the Kubernetes API could not be reached (fix: retry when the Kubernetes API answers)"),
        "{m}"
    );
    assert!(!m.contains("connection refused"), "{m}");
}

#[test]
fn network_policy_list_failure_fails_closed() {
    let mut cluster = Fake::gpu_namespace("ml-training", "training");
    cluster.network_policy_error = Some("forbidden: networkpolicies".into());
    let m = training_pod_message("ml-training", &cluster);
    assert_eq!(
        m,
        "metadata.namespace: cannot list the NetworkPolicies of namespace \"ml-training\" to find its default-deny: the policy may not read it (contextAwareResources of the policy, or RBAC) (fix: grant the policy networking.k8s.io/v1/NetworkPolicy in its contextAwareResources (and the policy server RBAC to read it))"
    );
}

#[test]
fn quota_list_failure_fails_closed() {
    let mut cluster = Fake::gpu_namespace("ml-training", "training");
    cluster.quota_error = Some("timeout".into());
    let s = settings(json!({"requireGpuQuota": true}));
    let req = pod("ml-training", training(), gpu("1"));
    let m = message(&run(&req, &s, &cluster));
    assert!(m.contains("cannot list the ResourceQuotas of namespace \"ml-training\" to find its GPU quota: the Kubernetes API could not be reached"), "{m}");
}

#[test]
fn missing_default_deny_shows_a_manifest_and_near_misses() {
    let mut cluster = Fake::default();
    cluster.namespace("ml", training());
    cluster.network_policies.push(json!({"metadata": {"name": "deny-ingress"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}));
    cluster.network_policies.push(json!({"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]}}));
    let req = pod("ml", training(), gpu("1"));
    assert_eq!(
        message(&run(&req, &Settings::default(), &cluster)),
        "metadata.namespace: namespace \"ml\" has no default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress]) (\"deny-ingress\" is not one: policyTypes lacks Egress) (fix: create NetworkPolicy \"default-deny-all\" in namespace \"ml\" with podSelector: {} and policyTypes: [Ingress, Egress], like the default-deny-all of examples/workloads/ml-training-namespace.yaml)"
    );
    // Off by setting: no list at all.
    let s = settings(json!({"requireDefaultDenyNetworkPolicy": false}));
    let before = cluster.calls().len();
    assert_eq!(run(&req, &s, &cluster), Outcome::Accept);
    assert_eq!(cluster.calls()[before..], ["get Namespace ml"]);
}

#[test]
fn network_policy_shapes_in_the_namespace() {
    let cases = [
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            true,
        ),
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
            false,
        ),
        (json!({"podSelector": {}, "policyTypes": ["Egress"]}), false),
        (
            json!({"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress", "Egress"]}),
            false,
        ),
        (json!({"podSelector": {}}), false),
        (
            json!({"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}}]}]}),
            true,
        ),
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}),
            false,
        ),
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
            true,
        ),
    ];
    for (spec, accepted) in cases {
        let mut cluster = Fake::default();
        cluster.namespace("ml", training());
        cluster
            .network_policies
            .push(json!({"metadata": {"name": "p"}, "spec": spec}));
        let req = pod("ml", training(), gpu("1"));
        let outcome = run(&req, &Settings::default(), &cluster);
        assert_eq!(outcome == Outcome::Accept, accepted, "{spec}: {outcome:?}");
    }
}

#[test]
fn gpu_quota_rule() {
    let mut cluster = Fake::gpu_namespace("ml", "training");
    let s = settings(json!({"requireGpuQuota": true}));
    let req = pod("ml", training(), gpu("2"));
    let m = message(&run(&req, &s, &cluster));
    assert_eq!(
        m,
        "metadata.namespace: namespace \"ml\" has no ResourceQuota with hard[\"requests.nvidia.com/gpu\"] for the nvidia.com/gpu this workload requests (fix: create a ResourceQuota in namespace \"ml\" with hard[\"requests.nvidia.com/gpu\"] set to the namespace's GPU budget, like examples/workloads/ml-training-namespace.yaml)"
    );
    // A quota on limits or on another resource does not count.
    cluster.quotas.push(json!({"metadata": {"name": "q"}, "spec": {"hard": {"limits.nvidia.com/gpu": "4", "requests.amd.com/gpu": "2"}}}));
    assert!(matches!(run(&req, &s, &cluster), Outcome::Reject(_)));
    cluster.quotas.push(
        json!({"metadata": {"name": "gpu"}, "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}}),
    );
    assert_eq!(run(&req, &s, &cluster), Outcome::Accept);
    // Off by default: no quota lookup.
    let cluster = Fake::gpu_namespace("ml", "training");
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    assert!(!cluster.calls().iter().any(|c| c.contains("ResourceQuota")));
}

#[test]
fn unreadable_workload_is_rejected() {
    let cluster = Fake::default();
    let mut req = pod("ml", training(), gpu("1"));
    req["object"]["spec"]["containers"] = json!("nope");
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(m.contains("spec.containers"), "{m}");
}

// --- protectDefaultDeny -------------------------------------------------------

fn np_request(operation: &str, old: Option<Value>, new: Option<Value>, name: &str) -> Value {
    let mut r = json!({"uid": "2", "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
        "operation": operation, "name": name, "namespace": "ml"});
    if let Some(o) = old {
        r["oldObject"] = o;
    }
    if let Some(n) = new {
        r["object"] = n;
    }
    r
}

/// A DELETE of the NetworkPolicy `default-deny-all` (deny all ingress).
fn delete_default_deny() -> Value {
    let old = deny_all("default-deny-all");
    np_request("DELETE", Some(old), None, "default-deny-all")
}

fn np(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "ml"}, "spec": spec})
}

fn gpu_ns_with(policies: Vec<Value>) -> Fake {
    let mut cluster = Fake::default();
    cluster.namespace("ml", training());
    cluster.network_policies = policies;
    cluster
}

#[test]
fn deleting_the_only_default_deny_is_rejected() {
    let cluster = gpu_ns_with(vec![
        deny_all("default-deny-all"),
        np(
            "allow-dns",
            json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]}),
        ),
    ]);
    let req = delete_default_deny();
    assert_eq!(
        message(&run(&req, &Settings::default(), &cluster)),
        "metadata.name: NetworkPolicy \"default-deny-all\" is the only default-deny of GPU namespace \"ml\" (gpu-workload-type=training); deleting it would leave the GPU workloads there open to all traffic (fix: first create NetworkPolicy \"default-deny\" in namespace \"ml\" with podSelector: {} and policyTypes: [Ingress, Egress], like the default-deny-all of examples/workloads/ml-training-namespace.yaml)"
    );
    // Off by setting.
    let s = settings(json!({"protectDefaultDeny": false}));
    assert_eq!(run(&req, &s, &cluster), Outcome::Accept);
    // The namespace controller emptying a namespace being deleted.
    let mut cluster = cluster;
    cluster.namespaces.get_mut("ml").unwrap()["status"] = json!({"phase": "Terminating"});
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
}

#[test]
fn deleting_one_of_two_default_denies_is_accepted() {
    let cluster = gpu_ns_with(vec![deny_all("default-deny-all"), deny_all("baseline")]);
    let req = delete_default_deny();
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
}

#[test]
fn deleting_another_policy_needs_no_lookup() {
    let cluster = Fake::default();
    let req = np_request(
        "DELETE",
        Some(np(
            "allow-dns",
            json!({"podSelector": {}, "policyTypes": ["Egress"]}),
        )),
        None,
        "allow-dns",
    );
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    assert!(cluster.calls().is_empty());
}

#[test]
fn deleting_in_a_non_gpu_namespace_is_accepted() {
    let mut cluster = Fake::default();
    cluster.namespace("ml", json!({"team": "web"}));
    let req = delete_default_deny();
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    assert_eq!(cluster.calls(), ["get Namespace ml"]);
}

#[test]
fn delete_without_old_object_uses_the_stored_policy() {
    let cluster = gpu_ns_with(vec![deny_all("default-deny-all")]);
    let req = np_request("DELETE", None, None, "default-deny-all");
    assert!(matches!(
        run(&req, &Settings::default(), &cluster),
        Outcome::Reject(_)
    ));
    let req = np_request("DELETE", None, None, "something-else");
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
}

#[test]
fn updates_that_break_the_default_deny_are_rejected() {
    let cluster = gpu_ns_with(vec![deny_all("default-deny-all")]);
    for (spec, gap) in [
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
            "policyTypes lacks Egress",
        ),
        (
            json!({"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress", "Egress"]}),
            "its podSelector is not empty",
        ),
        (
            json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]}),
            "egress[0] allows all egress traffic",
        ),
        (
            json!({"podSelector": {}}),
            "policyTypes is omitted, which Kubernetes reads as no Egress",
        ),
    ] {
        let req = np_request(
            "UPDATE",
            Some(deny_all("default-deny-all")),
            Some(np("default-deny-all", spec.clone())),
            "default-deny-all",
        );
        let m = message(&run(&req, &Settings::default(), &cluster));
        assert!(m.starts_with("spec: NetworkPolicy \"default-deny-all\" is the only default-deny of GPU namespace \"ml\" (gpu-workload-type=training), and after this change it is not one ("), "{m}");
        assert!(m.contains(gap), "{spec}: {m}");
    }
}

#[test]
fn harmless_updates_are_accepted_without_lookups() {
    let cluster = Fake::default();
    // Still a default-deny (an explicit opening added).
    let new = np(
        "default-deny-all",
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}),
    );
    let req = np_request(
        "UPDATE",
        Some(deny_all("default-deny-all")),
        Some(new),
        "default-deny-all",
    );
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    // Was never a default-deny.
    let old = np(
        "web",
        json!({"podSelector": {"matchLabels": {"app": "web"}}}),
    );
    let req = np_request("UPDATE", Some(old.clone()), Some(old), "web");
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    // CREATE is not this rule's business.
    let req = np_request(
        "CREATE",
        None,
        Some(np("x", json!({"podSelector": {}}))),
        "x",
    );
    assert_eq!(run(&req, &Settings::default(), &cluster), Outcome::Accept);
    assert!(cluster.calls().is_empty());
}

#[test]
fn network_policy_lookup_failures_fail_closed() {
    let req = delete_default_deny();
    let cluster = Fake::default();
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(m.starts_with("metadata.namespace: cannot read Namespace \"ml\" to tell whether NetworkPolicy \"default-deny-all\" guards a GPU namespace: "), "{m}");
    assert!(
        m.contains("it does not exist (fix: make sure the v1/Namespace exists, then retry)"),
        "{m}"
    );
    let mut cluster = gpu_ns_with(vec![]);
    cluster.network_policy_error =
        Some("the server is currently unable to handle the request".into());
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(m.contains("cannot list the NetworkPolicies of GPU namespace \"ml\" to check that a default-deny remains: the Kubernetes API could not be reached"), "{m}");
}

#[test]
fn unreadable_network_policies_are_rejected() {
    let cluster = Fake::default();
    let req = np_request(
        "DELETE",
        Some(json!({"spec": {"policyTypes": "Ingress"}})),
        None,
        "x",
    );
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(
        m.starts_with("oldObject: cannot be read as a NetworkPolicy"),
        "{m}"
    );
    let req = np_request("UPDATE", Some(deny_all("x")), Some(json!([1])), "x");
    let m = message(&run(&req, &Settings::default(), &cluster));
    assert!(
        m.starts_with("object: cannot be read as a NetworkPolicy"),
        "{m}"
    );
}

#[test]
fn whole_validate_entry_point_never_errors() {
    // Through the shared entry point: unreadable settings are a clean 400.
    let r = gpu_policy_core::entry::evaluate::<crate::GpuIsolatedNamespace>(
        br#"{"request": {}, "settings": {"workloadTypes": []}}"#,
        &InMemoryCluster::new(),
    );
    assert!(!r.accepted);
    assert!(r.message.unwrap().contains("workloadTypes"));
}

#[test]
fn a_gpu_device_class_is_capped_by_either_quota_name() {
    let class = "deviceclass.resource.kubernetes.io/gpu.nvidia.com";
    let s = settings(json!({"requireGpuQuota": true}));
    let req = pod("ml-training", training(), json!({"limits": {class: "1"}}));
    let bare = Fake::gpu_namespace("ml-training", "training");
    assert_eq!(
        message(&run(&req, &s, &bare)),
        format!(
            "metadata.namespace: namespace \"ml-training\" has no ResourceQuota with hard[\"requests.{class}\"] or hard[\"gpu.nvidia.com.deviceclass.resource.k8s.io/devices\"] for the {class} this workload requests (fix: create a ResourceQuota in namespace \"ml-training\" with hard[\"requests.{class}\"] set to the namespace's GPU budget, like {EXAMPLE})"
        )
    );
    for key in [
        format!("requests.{class}"),
        "gpu.nvidia.com.deviceclass.resource.k8s.io/devices".to_owned(),
    ] {
        let mut cluster = Fake::gpu_namespace("ml-training", "training");
        cluster
            .quotas
            .push(json!({"metadata": {"name": "gpu"}, "spec": {"hard": {key.as_str(): "4"}}}));
        assert_eq!(run(&req, &s, &cluster), Outcome::Accept, "{key}");
    }
    // Not a GPU class: no quota needed, no gate at all.
    let tpu = pod(
        "web",
        json!({}),
        json!({"limits": {"deviceclass.resource.kubernetes.io/tpu.example.com": "1"}}),
    );
    assert_eq!(run(&tpu, &s, &Fake::default()), Outcome::Accept);
}

/// A ResourceClaimTemplate in namespace `ml` asking for one device of `class`.
fn claim_template(class: &str) -> Value {
    policy_testkit::build::dra_request(
        gpu_policy_core::dra::DraKind::ResourceClaimTemplate,
        "gpus",
        json!({"spec": {"devices": {"requests": [{"name": "g", "exactly": {"deviceClassName": class}}]}}}),
    )
}

#[test]
fn gpu_claims_are_created_only_in_gpu_namespaces() {
    let s = settings(json!({}));
    let gpu = claim_template("mig.nvidia.com");
    assert_eq!(
        run(&gpu, &s, &Fake::gpu_namespace("ml", "training")),
        Outcome::Accept
    );
    let mut plain = Fake::default();
    plain.namespace("ml", json!({}));
    assert_eq!(
        message(&run(&gpu, &s, &plain)),
        concat!(
            "2 violations:\n",
            "[1] metadata.namespace: namespace \"ml\" is not a GPU namespace: it has no label gpu-workload-type (fix: kubectl label namespace ml gpu-workload-type=training)\n",
            "[2] metadata.namespace: namespace \"ml\" has no default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress]) (fix: create NetworkPolicy \"default-deny-all\" in namespace \"ml\" with podSelector: {} and policyTypes: [Ingress, Egress], like the default-deny-all of examples/workloads/ml-training-namespace.yaml)"
        )
    );
    assert_eq!(plain.calls(), ["get Namespace ml", "list NetworkPolicy ml"]);
    // the DRA quota on the class's devices caps a claim
    let quota = settings(json!({"requireGpuQuota": true}));
    let m = message(&run(&gpu, &quota, &Fake::gpu_namespace("ml", "training")));
    assert!(
        m.contains("hard[\"mig.nvidia.com.deviceclass.resource.k8s.io/devices\"] for the deviceclass.resource.kubernetes.io/mig.nvidia.com this claim requests"),
        "{m}"
    );
    // a claim for another class is not looked at
    let nic = Fake::default();
    assert_eq!(
        run(&claim_template("rdma.example.com"), &s, &nic),
        Outcome::Accept
    );
    assert!(nic.calls().is_empty());
    // a missing namespace fails closed
    let ghost = Fake::default();
    let m = message(&run(&gpu, &s, &ghost));
    assert!(m.contains("cannot read Namespace \"ml\""), "{m}");
    assert!(
        m.contains("create namespace \"ml\" labelled gpu-workload-type=training"),
        "{m}"
    );
    // a DeviceClass is cluster-scoped: nothing to check here
    let class = policy_testkit::build::dra_request(
        gpu_policy_core::dra::DraKind::DeviceClass,
        "gpu.nvidia.com",
        json!({}),
    );
    assert_eq!(run(&class, &s, &Fake::default()), Outcome::Accept);
}

#[test]
fn no_gpu_object_runs_where_dra_admin_access_is_allowed() {
    let s = settings(json!({}));
    let mut admin = Fake::gpu_namespace("ml", "training");
    admin.namespace(
        "ml",
        json!({"gpu-workload-type": "training", "resource.kubernetes.io/admin-access": "true"}),
    );
    let expected = "metadata.namespace: namespace \"ml\" is labelled resource.kubernetes.io/admin-access=true, which lets any ResourceClaim there ask for admin access to GPUs other tenants are using; a GPU claim must not run there (fix: kubectl label namespace ml resource.kubernetes.io/admin-access- (keep admin access to a monitoring namespace without GPU workloads))";
    assert_eq!(
        message(&run(&claim_template("gpu.nvidia.com"), &s, &admin)),
        expected
    );
    let pod_request = pod("ml", training(), json!({"limits": {"nvidia.com/gpu": "1"}}));
    assert_eq!(
        message(&run(&pod_request, &s, &admin)),
        expected.replace("GPU claim", "GPU workload")
    );
    // only "true" turns admin access on
    let mut off = Fake::gpu_namespace("ml", "training");
    off.namespace(
        "ml",
        json!({"gpu-workload-type": "training", "resource.kubernetes.io/admin-access": "false"}),
    );
    assert_eq!(run(&pod_request, &s, &off), Outcome::Accept);
}

#[test]
fn gpu_objects_without_a_namespace_fail_closed() {
    let s = settings(json!({}));
    let mut claim = claim_template("gpu.nvidia.com");
    claim["namespace"] = json!("");
    claim["object"]["metadata"]["namespace"] = json!(null);
    for (request, what) in [
        (pod("", training(), gpu("1")), "workload"),
        (claim, "claim"),
    ] {
        let fake = Fake::gpu_namespace("ml", "training");
        assert_eq!(
            message(&run(&request, &s, &fake)),
            format!(
                "metadata.namespace: is not set and the request names no namespace, so the GPU namespace of this {what} cannot be checked (fix: create the {what} in a GPU namespace)"
            )
        );
        assert!(fake.calls().is_empty(), "{what}: {:?}", fake.calls());
    }
}
