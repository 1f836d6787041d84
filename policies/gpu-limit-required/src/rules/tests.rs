//! Unit tests of the rules, run through the same entry point the waPC
//! `validate` function uses (envelope + settings parsing included).

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::dra::DraKind;
use gpu_policy_core::entry;
use gpu_policy_core::host::NoCluster;
use kubewarden_policy_sdk::response::ValidationResponse;
use policy_testkit::build;
use serde_json::{Value, json};

/// The names of the eight workload kinds.
fn kinds() -> impl Iterator<Item = &'static str> {
    WorkloadKind::ALL.into_iter().map(WorkloadKind::name)
}

/// A request for a `kind` named trainer in namespace ml, its pod labelled
/// app=trainer; DELETE has only the old object, UPDATE the same old and new.
fn request(kind: &str, operation: &str, spec: &Value) -> Value {
    let k = build::workload_kind_named(kind).unwrap();
    let (group, version) = (k.group(), k.version());
    let labels = json!({"labels": {"app": "trainer"}});
    let object =
        build::workload_object(group, version, kind, "trainer", "ml", labels, spec.clone());
    let (object, old_object) = match operation {
        "DELETE" => (Value::Null, object),
        "UPDATE" => (object.clone(), object),
        _ => (object, Value::Null),
    };
    let resource = k.resource();
    build::admission_request(
        group, version, kind, resource, operation, "trainer", "ml", object, old_object,
    )
}

fn run_request(request: Value, settings: Value) -> ValidationResponse {
    let payload = json!({"request": request, "settings": settings});
    entry::evaluate::<crate::GpuLimitRequired>(&serde_json::to_vec(&payload).unwrap(), &NoCluster)
}

fn run(kind: &str, spec: Value, settings: Value) -> ValidationResponse {
    run_request(request(kind, "CREATE", &spec), settings)
}

fn accepts(kind: &str, spec: Value, settings: Value) {
    let r = run(kind, spec.clone(), settings);
    assert!(r.accepted, "{kind} {spec}: {:?}", r.message);
}

fn rejects(kind: &str, spec: Value, settings: Value) -> String {
    let r = run(kind, spec.clone(), settings);
    assert!(!r.accepted, "{kind} {spec} was accepted");
    r.message.unwrap()
}

fn container(name: &str, resources: Value) -> Value {
    json!({"name": name, "image": "nvcr.io/nvidia/pytorch:24.08-py3", "resources": resources})
}

fn gpu_limit(n: &str) -> Value {
    json!({"limits": {"nvidia.com/gpu": n, "cpu": "4", "memory": "16Gi"}})
}

fn gpu_toleration() -> Value {
    json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
}

fn web() -> Value {
    json!({"name": "web", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1"}}})
}

// ---------------------------------------------------------------- accepts

#[test]
fn gpu_workload_with_limit_and_targeting_is_accepted_for_every_kind() {
    for kind in kinds() {
        accepts(
            kind,
            json!({"tolerations": [gpu_toleration()],
                   "nodeSelector": {"nvidia.com/gpu.present": "true"},
                   "runtimeClassName": "nvidia",
                   "containers": [container("trainer", gpu_limit("2")), web()]}),
            json!({}),
        );
    }
}

#[test]
fn non_gpu_workloads_are_accepted_for_every_kind() {
    for kind in kinds() {
        accepts(
            kind,
            json!({"nodeSelector": {"disktype": "ssd"},
                   "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                   "containers": [web()]}),
            json!({}),
        );
    }
}

#[test]
fn delete_update_and_unknown_kinds() {
    let bad = json!({"tolerations": [gpu_toleration()], "containers": [web()]});
    let r = run_request(request("Pod", "DELETE", &bad), json!({}));
    assert!(r.accepted);
    let r = run_request(request("Deployment", "UPDATE", &bad), json!({}));
    assert!(!r.accepted, "UPDATE is checked too");
    // A Volcano Job and a Service are not known kinds.
    let mut volcano = request("Job", "CREATE", &bad);
    volcano["kind"]["group"] = json!("batch.volcano.sh");
    assert!(run_request(volcano, json!({})).accepted);
    let service = json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Service"},
        "operation": "CREATE", "object": {"spec": {"ports": [{"port": 80}]}}});
    assert!(run_request(service, json!({})).accepted);
}

#[test]
fn unreadable_object_is_rejected_naming_the_field() {
    let r = run("Pod", json!({"containers": {"name": "x"}}), json!({}));
    assert!(!r.accepted);
    assert!(
        r.message
            .unwrap()
            .starts_with("spec.containers: cannot be read"),
        "names the field"
    );
}

#[test]
fn realistic_bench_request_is_accepted() {
    let text = include_str!("../../test_data/requests/bench-gpu-pod.json");
    let request: Value = serde_json::from_str(text).unwrap();
    let r = run_request(
        request,
        json!({"maxGpusPerContainer": 2, "maxGpusPerPod": 2}),
    );
    assert!(r.accepted, "{:?}", r.message);
}

#[test]
fn invalid_settings_reject_with_code_400() {
    let r = run(
        "Pod",
        json!({"containers": [web()]}),
        json!({"maxGpusPerPod": 0}),
    );
    assert!(!r.accepted);
    assert_eq!(r.code, Some(400));
    assert!(r.message.unwrap().contains("maxGpusPerPod"));
}

// ------------------------------------------------- rule 1: GPU targeting

#[test]
fn toleration_without_gpu_limit_exact_message() {
    assert_eq!(
        rejects(
            "Pod",
            json!({"tolerations": [gpu_toleration()], "containers": [web()]}),
            json!({})
        ),
        r#"spec.tolerations[0]: tolerates the GPU taint nvidia.com/gpu:NoSchedule but no container sets a GPU limit (fix: add a GPU limit such as resources.limits["nvidia.com/gpu"]: "1" to the container that uses the GPU, or remove this GPU targeting)"#
    );
}

#[test]
fn every_targeting_field_is_reported_for_every_kind() {
    for (kind, spec_path) in WorkloadKind::ALL.map(|k| (k.name(), k.pod_spec_path())) {
        let message = rejects(
            kind,
            json!({
                "nodeSelector": {"kubernetes.azure.com/accelerator": "nvidia"},
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-A100-SXM4-80GB"]}]}]}}},
                "runtimeClassName": "nvidia",
                "tolerations": [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
                "containers": [web()]}),
            json!({}),
        );
        assert!(message.starts_with("4 violations:\n"), "{message}");
        for needle in [
            format!(
                r#"{spec_path}.nodeSelector["kubernetes.azure.com/accelerator"]: selects GPU nodes (kubernetes.azure.com/accelerator=nvidia) but no container sets a GPU limit"#
            ),
            format!(
                "{spec_path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]: requires GPU nodes (nvidia.com/gpu.product In)"
            ),
            format!(r#"{spec_path}.runtimeClassName: uses the GPU runtime class "nvidia""#),
            format!("{spec_path}.tolerations[0]: tolerates the GPU taint sku=gpu:NoSchedule"),
        ] {
            assert!(message.contains(&needle), "{kind}: {needle}\n{message}");
        }
    }
}

#[test]
fn gpu_limit_in_any_container_satisfies_targeting() {
    // In a sidecar.
    accepts(
        "Deployment",
        json!({"tolerations": [gpu_toleration()],
               "initContainers": [{"name": "encoder", "image": "x", "restartPolicy": "Always", "resources": gpu_limit("1")}],
               "containers": [web()]}),
        json!({}),
    );
    // In an init container of a Job.
    accepts(
        "Job",
        json!({"tolerations": [gpu_toleration()],
               "initContainers": [container("warmup", gpu_limit("1"))],
               "containers": [web()]}),
        json!({}),
    );
    // A request without limit does not count (and is its own violation).
    let message = rejects(
        "Job",
        json!({"tolerations": [gpu_toleration()],
               "containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": "1"}}))]}),
        json!({}),
    );
    assert!(message.starts_with("2 violations:\n"), "{message}");
    assert!(message.contains("sets no limit"), "{message}");
    assert!(
        message.contains("spec.template.spec.tolerations[0]"),
        "{message}"
    );
}

#[test]
fn wildcard_tolerations_and_preferred_affinity() {
    // `operator: Exists` with no key tolerates every taint, GPU taints too.
    let message = rejects(
        "DaemonSet",
        json!({"tolerations": [{"operator": "Exists"}], "containers": [web()]}),
        json!({}),
    );
    assert!(
        message.starts_with(
            "spec.template.spec.tolerations[0]: tolerates the GPU taint nvidia.com/gpu:NoSchedule"
        ),
        "{message}"
    );
    // Preferred affinity and NotIn do not aim at GPU nodes.
    accepts(
        "Deployment",
        json!({"affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "NotIn", "values": ["true"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference":
                {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "Exists"}]}}]}},
            "containers": [web()]}),
        json!({}),
    );
    // A different effect is not the GPU taint.
    accepts(
        "Pod",
        json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], "containers": [web()]}),
        json!({}),
    );
}

#[test]
fn amd_and_intel_targeting_suggest_their_resource() {
    let message = rejects(
        "StatefulSet",
        json!({"tolerations": [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}], "containers": [web()]}),
        json!({}),
    );
    assert!(
        message.contains(r#"resources.limits["amd.com/gpu"]: "1""#),
        "{message}"
    );
    let message = rejects(
        "StatefulSet",
        json!({"tolerations": [{"key": "gpu.intel.com/i915", "operator": "Exists", "effect": "NoSchedule"}], "containers": [web()]}),
        json!({}),
    );
    assert!(
        message.contains(r#"resources.limits["gpu.intel.com/i915"]: "1""#),
        "{message}"
    );
    // An AMD limit satisfies AMD targeting.
    accepts(
        "StatefulSet",
        json!({"tolerations": [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
               "nodeSelector": {"amd.com/gpu.family": "AI"},
               "containers": [container("rocm", json!({"limits": {"amd.com/gpu": "1"}}))]}),
        json!({}),
    );
}

#[test]
fn gpu_taints_setting_replaces_the_defaults() {
    let settings =
        json!({"gpuTaints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]});
    accepts(
        "Pod",
        json!({"tolerations": [gpu_toleration()], "containers": [web()]}),
        settings.clone(),
    );
    let message = rejects(
        "Pod",
        json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}], "containers": [web()]}),
        settings.clone(),
    );
    assert!(
        message
            .starts_with("spec.tolerations[0]: tolerates the GPU taint dedicated=gpu:NoSchedule"),
        "{message}"
    );
    accepts(
        "Pod",
        json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}], "containers": [web()]}),
        settings,
    );
    // No GPU taints at all: tolerations never count.
    accepts(
        "Pod",
        json!({"tolerations": [gpu_toleration()], "containers": [web()]}),
        json!({"gpuTaints": []}),
    );
}

#[test]
fn gpu_node_selector_labels_setting_adds_labels() {
    let spec =
        json!({"nodeSelector": {"node.example.com/gpu-pool": "a100"}, "containers": [web()]});
    accepts("ReplicaSet", spec.clone(), json!({}));
    let message = rejects(
        "ReplicaSet",
        spec,
        json!({"gpuNodeSelectorLabels": ["node.example.com/gpu-*"]}),
    );
    assert!(
        message.starts_with(
            r#"spec.template.spec.nodeSelector["node.example.com/gpu-pool"]: selects GPU nodes"#
        ),
        "{message}"
    );
    // The defaults stay.
    rejects(
        "ReplicaSet",
        json!({"nodeSelector": {"nvidia.com/gpu.present": "true"}, "containers": [web()]}),
        json!({"gpuNodeSelectorLabels": ["node.example.com/gpu-*"]}),
    );
}

// ------------------------------------------ rule 2: requests need limits

#[test]
fn request_without_limit_exact_message() {
    assert_eq!(
        rejects(
            "Deployment",
            json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": "2", "cpu": "1"}}))]}),
            json!({})
        ),
        r#"spec.template.spec.containers[0] "trainer": requests nvidia.com/gpu: 2 but sets no limit (fix: set resources.limits["nvidia.com/gpu"]: "2")"#
    );
}

#[test]
fn request_different_from_limit_exact_message() {
    assert_eq!(
        rejects(
            "StatefulSet",
            json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": "2"}, "limits": {"nvidia.com/gpu": "1"}}))]}),
            json!({})
        ),
        r#"spec.template.spec.containers[0] "trainer": requests nvidia.com/gpu: 2 but limits it to 1 (GPUs cannot be overcommitted: requests must equal limits) (fix: give resources.requests["nvidia.com/gpu"] the limit's value, or remove the request (it defaults to the limit))"#
    );
}

#[test]
fn requests_and_limits_are_compared_as_numbers() {
    for (request, limit) in [("1", "1"), ("1000m", "1"), ("2", "2000m"), ("1.0", "1")] {
        accepts(
            "Pod",
            json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": request}, "limits": {"nvidia.com/gpu": limit}}))]}),
            json!({}),
        );
    }
    // Numbers in a hand-written request read like strings.
    accepts(
        "Pod",
        json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}))]}),
        json!({}),
    );
    // Limit alone is fine: Kubernetes copies it into the request.
    accepts(
        "Pod",
        json!({"containers": [container("trainer", gpu_limit("1"))]}),
        json!({}),
    );
}

#[test]
fn requests_without_limits_in_init_containers_and_sidecars() {
    let message = rejects(
        "CronJob",
        json!({"initContainers": [
                  container("prep", json!({"requests": {"nvidia.com/gpu": "1"}})),
                  {"name": "sidecar", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"nvidia.com/mig-1g.10gb": "1"}}}],
               "containers": [container("trainer", gpu_limit("1"))]}),
        json!({}),
    );
    assert_eq!(
        message,
        concat!(
            r#"2 violations:"#,
            "\n",
            r#"[1] spec.jobTemplate.spec.template.spec.initContainers[0] "prep": requests nvidia.com/gpu: 1 but sets no limit (fix: set resources.limits["nvidia.com/gpu"]: "1")"#,
            "\n",
            r#"[2] spec.jobTemplate.spec.template.spec.initContainers[1] "sidecar": requests nvidia.com/mig-1g.10gb: 1 but sets no limit (fix: set resources.limits["nvidia.com/mig-1g.10gb"]: "1")"#
        )
    );
}

#[test]
fn gpu_resources_setting_adds_renamed_resources() {
    let spec = json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/a100": "1"}}))]});
    accepts("Pod", spec.clone(), json!({}));
    let message = rejects("Pod", spec, json!({"gpuResources": ["nvidia.com/a*"]}));
    assert!(
        message.contains(r#"requests nvidia.com/a100: 1 but sets no limit"#),
        "{message}"
    );
}

// ------------------------------------------ rule 3: whole positive counts

#[test]
fn bad_quantities_are_named_with_their_path() {
    for (bad, why) in [
        ("0.5", "is not a whole number of devices"),
        ("500m", "is not a whole number of devices"),
        ("-1", "is negative"),
        ("abc", "is not a Kubernetes quantity"),
        ("0", "is zero"),
    ] {
        let message = rejects(
            "Pod",
            json!({"containers": [container("trainer", json!({"limits": {"nvidia.com/gpu": bad}}))]}),
            json!({}),
        );
        assert!(
            message.starts_with(&format!(
                r#"spec.containers[0].resources.limits["nvidia.com/gpu"] "trainer": GPU quantity "{bad}" {why} (fix: set a positive whole number"#
            )),
            "{bad}: {message}"
        );
        assert!(!message.contains("violations"), "one violation: {message}");
        // In requests (with an equal limit) too.
        let message = rejects(
            "Job",
            json!({"containers": [container("trainer", json!({"requests": {"nvidia.com/gpu": bad}, "limits": {"nvidia.com/gpu": bad}}))]}),
            json!({}),
        );
        assert!(
            message.contains(&format!(
                r#"spec.template.spec.containers[0].resources.requests["nvidia.com/gpu"] "trainer": GPU quantity "{bad}" {why}"#
            )),
            "{bad}: {message}"
        );
    }
}

#[test]
fn fractional_limit_exact_message() {
    assert_eq!(
        rejects(
            "Pod",
            json!({"containers": [container("trainer", json!({"limits": {"nvidia.com/gpu": "500m"}}))]}),
            json!({})
        ),
        r#"spec.containers[0].resources.limits["nvidia.com/gpu"] "trainer": GPU quantity "500m" is not a whole number of devices (fix: set a positive whole number of devices, e.g. "1")"#
    );
    assert_eq!(
        rejects(
            "Pod",
            json!({"containers": [container("trainer", json!({"limits": {"nvidia.com/gpu": "0"}}))]}),
            json!({})
        ),
        r#"spec.containers[0].resources.limits["nvidia.com/gpu"] "trainer": GPU quantity "0" is zero (fix: set a positive whole number of devices, or remove the resource if the container needs no GPU)"#
    );
}

#[test]
fn non_gpu_quantities_are_not_checked() {
    accepts(
        "Pod",
        json!({"containers": [container("web", json!({"limits": {"cpu": "500m", "example.com/foo": "0.5"}}))]}),
        json!({}),
    );
}

// ------------------------------------------ rule 4: NVIDIA_VISIBLE_DEVICES

fn env_container(name: &str, env: Value, resources: Value) -> Value {
    json!({"name": name, "image": "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04", "env": env, "resources": resources})
}

#[test]
fn visible_devices_without_limit_exact_message() {
    assert_eq!(
        rejects(
            "CronJob",
            json!({"containers": [env_container("report",
                json!([{"name": "LOG_LEVEL", "value": "info"}, {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]),
                json!({"limits": {"cpu": "1"}}))]}),
            json!({})
        ),
        r#"spec.jobTemplate.spec.template.spec.containers[0].env[1] "report": sets NVIDIA_VISIBLE_DEVICES="all" without a GPU limit: the NVIDIA runtime would expose GPUs the device plugin did not assign (fix: remove NVIDIA_VISIBLE_DEVICES (or set it to "void"), or request a GPU with resources.limits["nvidia.com/gpu"])"#
    );
}

#[test]
fn visible_devices_values() {
    let spec = |env: Value| json!({"containers": [env_container("app", env, json!({}))]});
    for value in ["all", "0", "0,1", "GPU-3f1e2d", " 1 ", "none,0"] {
        let message = rejects(
            "Pod",
            spec(json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": value}])),
            json!({}),
        );
        assert!(
            message.starts_with("spec.containers[0].env[0] \"app\": sets NVIDIA_VISIBLE_DEVICES="),
            "{value}: {message}"
        );
    }
    for value in ["void", "none", "", " ", ",", "void,0"] {
        accepts(
            "Pod",
            spec(json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": value}])),
            json!({}),
        );
    }
    // No value at all is the same as empty.
    accepts(
        "Pod",
        spec(json!([{"name": "NVIDIA_VISIBLE_DEVICES"}])),
        json!({}),
    );
    // Other variables do not matter.
    accepts(
        "Pod",
        spec(json!([{"name": "CUDA_VISIBLE_DEVICES", "value": "0"}])),
        json!({}),
    );
    // valueFrom cannot be checked: rejected.
    let message = rejects(
        "Pod",
        spec(
            json!([{"name": "NVIDIA_VISIBLE_DEVICES", "valueFrom": {"configMapKeyRef": {"name": "gpu", "key": "devices"}}}]),
        ),
        json!({}),
    );
    assert!(
        message.contains("sets NVIDIA_VISIBLE_DEVICES from valueFrom (its value cannot be checked at admission) without a GPU limit"),
        "{message}"
    );
    // The last of two entries wins, as in Kubernetes.
    accepts(
        "Pod",
        spec(
            json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}, {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}]),
        ),
        json!({}),
    );
    let message = rejects(
        "Pod",
        spec(
            json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}, {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]),
        ),
        json!({}),
    );
    assert!(
        message.starts_with("spec.containers[0].env[1]"),
        "{message}"
    );
}

#[test]
fn visible_devices_with_gpu_limit_or_disabled_check() {
    accepts(
        "Deployment",
        json!({"containers": [env_container("cuda", json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]), gpu_limit("1"))]}),
        json!({}),
    );
    accepts(
        "Deployment",
        json!({"containers": [env_container("cuda", json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]), json!({}))]}),
        json!({"checkVisibleDevicesEnv": false}),
    );
    // Another container's limit does not cover this one.
    let message = rejects(
        "Deployment",
        json!({"containers": [container("trainer", gpu_limit("1")),
            env_container("snoop", json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]), json!({}))]}),
        json!({}),
    );
    assert!(
        message.starts_with(r#"spec.template.spec.containers[1].env[0] "snoop""#),
        "{message}"
    );
}

#[test]
fn visible_devices_in_init_sidecar_and_ephemeral_containers() {
    let env = json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]);
    let message = rejects(
        "Pod",
        json!({"initContainers": [env_container("init", env.clone(), json!({})),
                                  {"name": "side", "image": "x", "restartPolicy": "Always", "env": env.clone()}],
               "containers": [container("trainer", gpu_limit("1"))],
               "ephemeralContainers": [{"name": "debugger", "image": "busybox", "env": env.clone()}]}),
        json!({}),
    );
    assert!(message.starts_with("3 violations:\n"), "{message}");
    assert!(message.contains(r#"[1] spec.initContainers[0].env[0] "init": sets NVIDIA_VISIBLE_DEVICES="all" without a GPU limit"#), "{message}");
    assert!(
        message.contains(r#"[2] spec.initContainers[1].env[0] "side": sets"#),
        "{message}"
    );
    assert!(
        message.contains(r#"[3] spec.ephemeralContainers[0].env[0] "debugger": sets NVIDIA_VISIBLE_DEVICES="all" in an ephemeral container, which cannot have a GPU limit: the NVIDIA runtime would expose GPUs the device plugin did not assign (fix: remove NVIDIA_VISIBLE_DEVICES (or set it to "void"))"#),
        "{message}"
    );
    // Ephemeral containers are never asked for limits, and cannot satisfy
    // the targeting rule either.
    accepts(
        "Pod",
        json!({"tolerations": [gpu_toleration()],
               "containers": [container("trainer", gpu_limit("1"))],
               "ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}),
        json!({}),
    );
    let message = rejects(
        "Pod",
        json!({"tolerations": [gpu_toleration()],
               "containers": [web()],
               "ephemeralContainers": [{"name": "debugger", "image": "busybox", "resources": gpu_limit("1")}]}),
        json!({}),
    );
    assert!(message.starts_with("spec.tolerations[0]"), "{message}");
}

// ------------------------------------------ rule 5: caps

#[test]
fn max_gpus_per_container() {
    let settings = json!({"maxGpusPerContainer": 2});
    accepts(
        "Job",
        json!({"containers": [container("a", gpu_limit("2")), container("b", gpu_limit("2"))]}),
        settings.clone(),
    );
    assert_eq!(
        rejects(
            "Job",
            json!({"containers": [container("a", gpu_limit("2")),
                container("b", json!({"limits": {"nvidia.com/gpu": "2", "nvidia.com/mig-1g.10gb": "1"}}))]}),
            settings.clone()
        ),
        r#"spec.template.spec.containers[1] "b": asks for 3 GPU devices (nvidia.com/gpu: 2, nvidia.com/mig-1g.10gb: 1), more than maxGpusPerContainer 2 (fix: ask for at most 2 per container, or split the work across containers or pods)"#
    );
    // Init containers and sidecars have the same cap.
    let message = rejects(
        "Job",
        json!({"initContainers": [container("prep", gpu_limit("3")),
                                  {"name": "side", "image": "x", "restartPolicy": "Always", "resources": gpu_limit("4")}],
               "containers": [container("a", gpu_limit("1"))]}),
        json!({"maxGpusPerContainer": 2}),
    );
    assert!(message.starts_with("2 violations:\n"), "{message}");
    assert!(
        message.contains(r#"initContainers[0] "prep": asks for 3"#),
        "{message}"
    );
    assert!(
        message.contains(r#"initContainers[1] "side": asks for 4"#),
        "{message}"
    );
}

#[test]
fn max_gpus_per_pod_uses_the_effective_request() {
    let settings = json!({"maxGpusPerPod": 4});
    // 2 + 2 app containers = 4: at the cap.
    accepts(
        "Deployment",
        json!({"containers": [container("a", gpu_limit("2")), container("b", gpu_limit("2"))]}),
        settings.clone(),
    );
    // An init container of 4 runs alone: max(4, 2) = 4.
    accepts(
        "Deployment",
        json!({"initContainers": [container("prep", gpu_limit("4"))],
               "containers": [container("a", gpu_limit("2"))]}),
        settings.clone(),
    );
    // A sidecar runs beside the app containers: 1 + 2 + 2 = 5.
    assert_eq!(
        rejects(
            "Deployment",
            json!({"initContainers": [{"name": "side", "image": "x", "restartPolicy": "Always", "resources": gpu_limit("1")}],
                   "containers": [container("a", gpu_limit("2")), container("b", gpu_limit("2"))]}),
            settings.clone()
        ),
        "spec.template.spec: the pod asks for 5 GPU devices (nvidia.com/gpu: 5), more than maxGpusPerPod 4 (fix: ask for at most 4 in total (a pod needs the larger of its biggest init container and the sum of its containers and sidecars), or split the work across pods)"
    );
    // Summed over GPU resources.
    let message = rejects(
        "Pod",
        json!({"containers": [container("a", json!({"limits": {"nvidia.com/gpu": "3", "amd.com/gpu": "2"}}))]}),
        settings,
    );
    assert!(
        message.contains("the pod asks for 5 GPU devices (amd.com/gpu: 2, nvidia.com/gpu: 3)"),
        "{message}"
    );
}

// ------------------------------------------ everything at once

#[test]
fn several_violations_are_all_reported() {
    let message = rejects(
        "Job",
        json!({
        "tolerations": [gpu_toleration()],
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "initContainers": [container("prep", json!({"requests": {"nvidia.com/gpu": "1"}}))],
        "containers": [
            container("trainer", json!({"requests": {"nvidia.com/gpu": "0.5"}})),
            env_container("snoop", json!([{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]), json!({}))
        ]}),
        json!({"maxGpusPerPod": 1}),
    );
    assert_eq!(
        message,
        concat!(
            "6 violations:\n",
            r#"[1] spec.template.spec.initContainers[0] "prep": requests nvidia.com/gpu: 1 but sets no limit (fix: set resources.limits["nvidia.com/gpu"]: "1")"#,
            "\n",
            r#"[2] spec.template.spec.containers[0].resources.requests["nvidia.com/gpu"] "trainer": GPU quantity "0.5" is not a whole number of devices (fix: set a positive whole number of devices, e.g. "1")"#,
            "\n",
            r#"[3] spec.template.spec.containers[0] "trainer": requests nvidia.com/gpu: 0.5 but sets no limit (fix: set resources.limits["nvidia.com/gpu"] to the number of devices the container needs and the request to the same value)"#,
            "\n",
            r#"[4] spec.template.spec.containers[1].env[0] "snoop": sets NVIDIA_VISIBLE_DEVICES="all" without a GPU limit: the NVIDIA runtime would expose GPUs the device plugin did not assign (fix: remove NVIDIA_VISIBLE_DEVICES (or set it to "void"), or request a GPU with resources.limits["nvidia.com/gpu"])"#,
            "\n",
            r#"[5] spec.template.spec.nodeSelector["nvidia.com/gpu.present"]: selects GPU nodes (nvidia.com/gpu.present=true) but no container sets a GPU limit (fix: add a GPU limit such as resources.limits["nvidia.com/gpu"]: "1" to the container that uses the GPU, or remove this GPU targeting)"#,
            "\n",
            r#"[6] spec.template.spec.tolerations[0]: tolerates the GPU taint nvidia.com/gpu:NoSchedule but no container sets a GPU limit (fix: add a GPU limit such as resources.limits["nvidia.com/gpu"]: "1" to the container that uses the GPU, or remove this GPU targeting)"#
        )
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    for spec in [
        json!(null),
        json!({}),
        json!({"containers": null, "initContainers": null, "tolerations": null}),
        json!({"containers": [{}], "ephemeralContainers": [{"env": null}]}),
        json!({"containers": [{"env": [{"name": null, "value": null}], "resources": {"limits": null, "requests": null}}]}),
        json!({"containers": [{"resources": {"limits": {"nvidia.com/gpu": "99999999999999999999999999999999999"}}}]}),
        json!({"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1e999999999"}}}]}),
        json!({"containers": [{"resources": {"limits": {"nvidia.com/gpu": "4294967296"}}}, {"resources": {"limits": {"nvidia.com/gpu": "4294967296"}}}]}),
        json!({"containers": [{"resources": {"limits": {"nvidia.com/gpu": true}}}]}),
        json!({"containers": "x"}),
        json!([1, 2]),
    ] {
        for kind in kinds() {
            let _ = run(
                kind,
                spec.clone(),
                json!({"maxGpusPerPod": 1, "maxGpusPerContainer": 1}),
            );
        }
    }
    for payload in ["", "{", "null", "[]", r#"{"request": 5}"#] {
        let r = entry::evaluate::<crate::GpuLimitRequired>(payload.as_bytes(), &NoCluster);
        assert!(!r.accepted, "{payload}");
    }
}

/// A ResourceClaimTemplate whose claim spec has `requests`.
fn template(requests: Value) -> Value {
    build::dra_request(
        DraKind::ResourceClaimTemplate,
        "gpus",
        json!({"spec": {"devices": {"requests": requests}}}),
    )
}

fn claim_message(request: Value, settings: Value) -> Option<String> {
    let r = run_request(request, settings);
    assert_eq!(r.accepted, r.message.is_none(), "{:?}", r.message);
    r.message
}

#[test]
fn claims_count_their_gpu_requests_against_the_caps() {
    let four = json!([{"name": "g", "exactly": {"deviceClassName": "gpu.nvidia.com", "count": 4}}]);
    assert_eq!(claim_message(template(four.clone()), json!({})), None);
    assert_eq!(
        claim_message(template(four.clone()), json!({"maxGpusPerContainer": 4})),
        None
    );
    assert_eq!(
        claim_message(template(four.clone()), json!({"maxGpusPerContainer": 2})).unwrap(),
        "spec.spec.devices.requests[0].exactly.count: asks for 4 gpu.nvidia.com devices, more than maxGpusPerContainer 2 (fix: set count to at most 2, or split the work across claims and pods)"
    );
    // every alternative of firstAvailable may be the one allocated; the pod
    // cap takes the largest of them per request, summed
    let mixed = json!([
        {"name": "a", "firstAvailable": [
            {"name": "big", "deviceClassName": "gpu.nvidia.com", "count": 3},
            {"name": "small", "deviceClassName": "mig.nvidia.com"}]},
        {"name": "nic", "exactly": {"deviceClassName": "rdma.example.com", "count": 9}},
        {"name": "b", "exactly": {"deviceClassName": "gpu.nvidia.com", "count": 2}}]);
    let message = claim_message(
        template(mixed.clone()),
        json!({"maxGpusPerContainer": 2, "maxGpusPerPod": 4}),
    )
    .unwrap();
    assert_eq!(
        message,
        concat!(
            "2 violations:\n",
            "[1] spec.spec.devices.requests[0].firstAvailable[0].count: asks for 3 gpu.nvidia.com devices, more than maxGpusPerContainer 2 (fix: set count to at most 2, or split the work across claims and pods)\n",
            "[2] spec.spec.devices.requests: ask for 5 GPU devices (device classes gpu.nvidia.com, mig.nvidia.com), more than maxGpusPerPod 4: every pod using the claim is allocated all of its requests (fix: ask for at most 4 GPU devices in total across the requests, or split the work across claims and pods)"
        )
    );
    assert_eq!(
        claim_message(
            template(mixed),
            json!({"maxGpusPerContainer": 3, "maxGpusPerPod": 5})
        ),
        None
    );
    // allocationMode: All is unbounded: refused under a cap, accepted without
    let all = json!([{"name": "g", "exactly": {"deviceClassName": "gpu.nvidia.com", "allocationMode": "All"}}]);
    assert_eq!(claim_message(template(all.clone()), json!({})), None);
    let capped = claim_message(template(all.clone()), json!({"maxGpusPerContainer": 8})).unwrap();
    assert!(
        capped.starts_with("spec.spec.devices.requests[0].exactly.allocationMode: asks for every gpu.nvidia.com device of a node (allocationMode: All)"),
        "{capped}"
    );
    assert!(capped.contains("set allocationMode: ExactCount with a count of at most 8"));
    let pod_capped = claim_message(template(all), json!({"maxGpusPerPod": 8})).unwrap();
    assert!(pod_capped.contains("every GPU of its node"), "{pod_capped}");
    // a class that is not a GPU is not looked at
    let nic = json!([{"name": "n", "exactly": {"deviceClassName": "rdma.example.com", "count": 64, "adminAccess": true}}]);
    assert_eq!(
        claim_message(
            template(nic),
            json!({"maxGpusPerContainer": 1, "maxGpusPerPod": 1})
        ),
        None
    );
}

#[test]
fn admin_access_to_gpus_needs_allow_admin_access() {
    let admin = json!([{"name": "monitor", "exactly": {"deviceClassName": "gpu.nvidia.com", "adminAccess": true}}]);
    let claim = build::dra_request(
        DraKind::ResourceClaim,
        "monitor",
        json!({"devices": {"requests": admin}}),
    );
    assert_eq!(
        claim_message(claim.clone(), json!({})).unwrap(),
        "spec.devices.requests[0].exactly.adminAccess: asks for admin access to GPU devices (device class gpu.nvidia.com): it would reach GPUs already allocated to other pods (fix: remove adminAccess (it is meant for monitoring and debugging tools), or set allowAdminAccess: true in the policy settings)"
    );
    assert_eq!(
        claim_message(claim, json!({"allowAdminAccess": true})),
        None
    );
    let off = json!([{"name": "g", "exactly": {"deviceClassName": "gpu.nvidia.com", "adminAccess": false}}]);
    assert_eq!(claim_message(template(off), json!({})), None);
}

#[test]
fn dra_objects_that_are_not_claims_or_cannot_be_read() {
    let class = build::dra_request(
        DraKind::DeviceClass,
        "gpu.nvidia.com",
        json!({"selectors": [{"cel": {"expression": "device.driver == 'gpu.nvidia.com'"}}]}),
    );
    assert_eq!(
        claim_message(class, json!({"maxGpusPerContainer": 1})),
        None
    );
    let mut bad = template(json!([]));
    bad["object"]["spec"]["spec"]["devices"]["requests"] = json!([{"exactly": {"count": -1}}]);
    let r = run_request(bad, json!({}));
    assert!(!r.accepted);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .starts_with("spec.spec.devices.requests[0].exactly.count: cannot be read"),
        "{:?}",
        r.message
    );
    // a null request is no request the API server would store: refused by name
    let r = run_request(template(json!([null])), json!({}));
    assert!(
        r.message
            .unwrap()
            .starts_with("spec.spec.devices.requests[0]: cannot be read")
    );
    for requests in [
        json!(null),
        json!([{"exactly": null, "firstAvailable": null}]),
    ] {
        assert_eq!(
            claim_message(template(requests), json!({"maxGpusPerPod": 1})),
            None
        );
    }
}
