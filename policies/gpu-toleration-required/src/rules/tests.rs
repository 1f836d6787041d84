//! The policy end to end, natively: payload in, response out.

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::pod::Toleration;
use kubewarden_policy_sdk::response::ValidationResponse;
use policy_testkit::build;
use serde_json::{Value, json};

/// A `kind` named x in namespace ml, its pod labelled app=x.
fn object(kind: WorkloadKind, pod_spec: &Value) -> Value {
    let labels = json!({"labels": {"app": "x"}});
    let (group, version, name) = (kind.group(), kind.version(), kind.name());
    build::workload_object(group, version, name, "x", "ml", labels, pod_spec.clone())
}

fn request(kind: WorkloadKind, object: &Value) -> Value {
    build::create_request(kind.resource(), object.clone())
}

fn run_request(request: &Value, settings: &Value) -> ValidationResponse {
    let payload = json!({"request": request, "settings": settings}).to_string();
    gpu_policy_core::entry::evaluate::<crate::GpuTolerationRequired>(
        payload.as_bytes(),
        &gpu_policy_core::host::NoCluster,
    )
}

fn run(kind: WorkloadKind, pod_spec: &Value, settings: &Value) -> ValidationResponse {
    run_request(&request(kind, &object(kind, pod_spec)), settings)
}

fn gpu_spec(tolerations: Value) -> Value {
    json!({
        "containers": [{"name": "trainer", "image": "pytorch", "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "4"}}}],
        "tolerations": tolerations,
    })
}

fn plain_spec(tolerations: Value) -> Value {
    json!({
        "containers": [{"name": "web", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}],
        "tolerations": tolerations,
    })
}

/// A toleration as written, its empty fields left out (as the core writes
/// one).
fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> Value {
    let [key, operator, value, effect] = [key, operator, value, effect].map(str::to_owned);
    let toleration = Toleration {
        key,
        operator,
        value,
        effect,
        toleration_seconds: None,
    };
    serde_json::to_value(toleration).unwrap()
}

fn message(r: &ValidationResponse) -> &str {
    r.message.as_deref().unwrap_or_default()
}

const NVIDIA_YAML: &str = "{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}";

/// One toleration against the default NVIDIA taint, through the policy, for a
/// GPU pod (accepted when it tolerates) and a pod without GPUs (rejected when
/// it tolerates).
#[test]
fn toleration_matrix() {
    // toleration (key, operator, value, effect) and, when it tolerates
    // nvidia.com/gpu:NoSchedule, the reason shown for a pod without GPUs.
    const MATCH: &str = "its key and effect match";
    const ANY_EFFECT: &str = "an empty effect matches every effect";
    const ANY_KEY: &str = "an empty key tolerates every taint";
    let table = [
        ("nvidia.com/gpu", "Exists", "", "NoSchedule", Some(MATCH)),
        (
            "nvidia.com/gpu",
            "Equal",
            "present",
            "NoSchedule",
            Some(MATCH),
        ),
        ("nvidia.com/gpu", "", "true", "NoSchedule", Some(MATCH)),
        ("nvidia.com/gpu", "Exists", "", "", Some(ANY_EFFECT)),
        ("nvidia.com/gpu", "Equal", "present", "", Some(ANY_EFFECT)),
        ("", "Exists", "", "", Some(ANY_KEY)),
        ("", "Exists", "", "NoSchedule", Some(ANY_KEY)),
        ("", "Exists", "", "NoExecute", None),
        ("nvidia.com/gpu", "Exists", "", "NoExecute", None),
        ("nvidia.com/gpu", "Exists", "", "PreferNoSchedule", None),
        ("nvidia.com/GPU", "Exists", "", "NoSchedule", None),
        ("nvidia.com/gpu", "Gt", "1", "NoSchedule", None),
        ("dedicated", "Equal", "ml", "NoSchedule", None),
    ];
    for (key, operator, value, effect, why) in table {
        let toleration = toleration(key, operator, value, effect);
        let tolerates = why.is_some();
        let gpu = run(
            WorkloadKind::Pod,
            &gpu_spec(json!([toleration])),
            &json!({}),
        );
        assert_eq!(
            gpu.accepted, tolerates,
            "GPU pod with {toleration}: {:?}",
            gpu.message
        );
        if !tolerates {
            assert!(message(&gpu).contains(NVIDIA_YAML), "{}", message(&gpu));
        }
        let plain = run(
            WorkloadKind::Pod,
            &plain_spec(json!([toleration])),
            &json!({}),
        );
        assert_eq!(
            plain.accepted, !tolerates,
            "plain pod with {toleration}: {:?}",
            plain.message
        );
        if let Some(why) = why {
            let m = message(&plain);
            assert!(m.starts_with("spec.tolerations[0]: "), "{m}");
            assert!(m.contains(why), "{m}");
            assert!(m.contains("nvidia.com/gpu:NoSchedule"), "{m}");
            assert!(m.contains("namespaceSelector"), "{m}");
        }
    }
}

/// A configured taint with a value: exact Kubernetes matching, wrong value fails.
#[test]
fn taint_with_value_needs_the_value() {
    let settings = json!({"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}]});
    let table = [
        ("sku", "Equal", "gpu", "NoSchedule", true),
        ("sku", "Exists", "", "NoSchedule", true),
        ("sku", "Equal", "cpu", "NoSchedule", false),
        ("sku", "Equal", "gpu", "NoExecute", false),
        ("nvidia.com/gpu", "Exists", "", "NoSchedule", false),
    ];
    for (key, operator, value, effect, ok) in table {
        let toleration = toleration(key, operator, value, effect);
        let r = run(
            WorkloadKind::Deployment,
            &gpu_spec(json!([toleration])),
            &settings,
        );
        assert_eq!(r.accepted, ok, "{toleration}: {:?}", r.message);
        // A pod without GPUs may keep a toleration of another sku value.
        let plain = run(
            WorkloadKind::Deployment,
            &plain_spec(json!([toleration])),
            &settings,
        );
        assert_eq!(plain.accepted, !ok, "{toleration}: {:?}", plain.message);
    }
    let r = run(
        WorkloadKind::Deployment,
        &gpu_spec(
            json!([{"key": "sku", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}]),
        ),
        &settings,
    );
    assert_eq!(
        message(&r),
        "spec.template.spec.tolerations: requests nvidia.com/gpu in spec.template.spec.containers[0] \"trainer\" but does not tolerate the GPU node taint sku=gpu:NoSchedule, so it stays Pending; spec.template.spec.tolerations[0] names the key but has value \"cpu\", not \"gpu\" (fix: add {key: sku, operator: Equal, value: gpu, effect: NoSchedule} to spec.template.spec.tolerations)"
    );
}

/// A taint without a value accepts any value of the key (AKS sku=gpu written
/// as just the key).
#[test]
fn taint_without_value_accepts_any_value() {
    let settings = json!({"taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "effect": "NoSchedule"}]});
    for toleration in [
        json!({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}),
        json!({"key": "sku", "operator": "Equal", "value": "anything", "effect": "NoSchedule"}),
        json!({"key": "sku", "operator": "Exists"}),
    ] {
        let r = run(WorkloadKind::Pod, &gpu_spec(json!([toleration])), &settings);
        assert!(r.accepted, "{toleration}: {:?}", r.message);
    }
}

#[test]
fn missing_toleration_message_is_exact() {
    let r = run(WorkloadKind::Pod, &gpu_spec(json!(null)), &json!({}));
    assert!(!r.accepted);
    assert_eq!(
        message(&r),
        "spec.tolerations: requests nvidia.com/gpu in spec.containers[0] \"trainer\" but does not tolerate the GPU node taint nvidia.com/gpu:NoSchedule, so it stays Pending (fix: add {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to spec.tolerations)"
    );
    assert_eq!(r.code, None);
    assert!(r.mutated_object.is_none());
}

#[test]
fn near_miss_on_effect_is_explained() {
    let r = run(
        WorkloadKind::Pod,
        &gpu_spec(json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}])),
        &json!({}),
    );
    assert!(
        message(&r)
            .contains("spec.tolerations[0] names the key but has effect NoExecute, not NoSchedule"),
        "{}",
        message(&r)
    );
}

#[test]
fn gpu_in_an_init_container_only() {
    let spec = json!({
        "initContainers": [{"name": "warmup", "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
        "containers": [{"name": "serve", "resources": {"limits": {"cpu": "1"}}}],
    });
    let r = run(WorkloadKind::Job, &spec, &json!({}));
    assert!(!r.accepted);
    assert!(
        message(&r).starts_with("spec.template.spec.tolerations: requests nvidia.com/gpu in spec.template.spec.initContainers[0] \"warmup\""),
        "{}",
        message(&r)
    );
    // A restartable sidecar counts the same way.
    let mut sidecar = spec.clone();
    sidecar["initContainers"][0]["restartPolicy"] = json!("Always");
    assert!(!run(WorkloadKind::Job, &sidecar, &json!({})).accepted);
    // ... and tolerating makes it a GPU pod that may tolerate.
    let mut ok = spec;
    ok["tolerations"] =
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
    assert!(run(WorkloadKind::Job, &ok, &json!({})).accepted);
}

#[test]
fn gpu_pod_with_an_unrelated_toleration() {
    let tolerations =
        json!([{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]);
    let r = run(
        WorkloadKind::StatefulSet,
        &gpu_spec(tolerations.clone()),
        &json!({}),
    );
    assert!(!r.accepted);
    assert!(message(&r).contains("add {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to spec.template.spec.tolerations"));
    // the unrelated toleration is not blamed
    assert!(!message(&r).contains("tolerations[0]"), "{}", message(&r));
    // in mutate mode the new toleration goes after it
    let r = run(
        WorkloadKind::StatefulSet,
        &gpu_spec(tolerations),
        &json!({"mode": "mutate"}),
    );
    assert!(r.accepted);
    let m = r.mutated_object.unwrap();
    assert_eq!(
        m["spec"]["template"]["spec"]["tolerations"],
        json!([
            {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ])
    );
}

#[test]
fn every_vendor_needs_its_own_toleration() {
    let spec = json!({
        "containers": [
            {"name": "a", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}},
            {"name": "b", "resources": {"limits": {"amd.com/gpu": "1"}}},
            {"name": "c", "resources": {"requests": {"gpu.intel.com/xe": "1"}, "limits": {"gpu.intel.com/xe": "1"}}},
        ],
        "tolerations": [{"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    });
    let r = run(WorkloadKind::DaemonSet, &spec, &json!({}));
    let m = message(&r);
    assert!(m.starts_with("2 violations:\n[1] spec.template.spec.tolerations: requests nvidia.com/mig-1g.10gb in spec.template.spec.containers[0] \"a\""), "{m}");
    assert!(m.contains("[2] spec.template.spec.tolerations: requests gpu.intel.com/xe in spec.template.spec.containers[2] \"c\" but does not tolerate the GPU node taint gpu.intel.com/i915:NoSchedule"), "{m}");
    assert!(!m.contains("amd.com/gpu:NoSchedule"), "{m}");
    let r = run(WorkloadKind::DaemonSet, &spec, &json!({"mode": "mutate"}));
    let added = &r.mutated_object.unwrap()["spec"]["template"]["spec"]["tolerations"];
    assert_eq!(
        added,
        &json!([
            {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "gpu.intel.com/i915", "operator": "Exists", "effect": "NoSchedule"}
        ])
    );
}

#[test]
fn rules_sharing_a_taint_ask_for_it_once() {
    let settings = json!({"taints": [
        {"resourcePattern": "nvidia.com/gpu", "key": "sku", "value": "gpu", "effect": "NoSchedule"},
        {"resourcePattern": "nvidia.com/mig-*", "key": "sku", "value": "gpu", "effect": "NoSchedule"},
        {"resourcePattern": "nvidia.com/*", "key": "nvidia.com/gpu", "effect": "NoSchedule"},
    ]});
    let spec = json!({"containers": [
        {"name": "a", "resources": {"limits": {"nvidia.com/gpu": "1"}}},
        {"name": "b", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1", "nvidia.com/gpu": "1"}}},
    ]});
    let r = run(WorkloadKind::Pod, &spec, &settings);
    let m = message(&r);
    assert!(m.starts_with("2 violations:\n[1] spec.tolerations: requests nvidia.com/gpu in spec.containers[0] \"a\", nvidia.com/mig-1g.10gb in spec.containers[1] \"b\" but does not tolerate the GPU node taint sku=gpu:NoSchedule"), "{m}");
    let r = run(
        WorkloadKind::Pod,
        &spec,
        &json!({"taints": settings["taints"], "mode": "mutate"}),
    );
    assert_eq!(
        r.mutated_object.unwrap()["spec"]["tolerations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `nvidia.com/*` applies only to what the GPU catalogue calls a GPU: the
/// NVIDIA network operator's RDMA devices are not GPUs.
#[test]
fn vendor_pattern_applies_only_to_gpu_resources() {
    let spec = json!({"containers": [{"name": "net", "resources": {"limits": {"nvidia.com/rdma_shared_device_a": "1"}}}]});
    assert!(run(WorkloadKind::Pod, &spec, &json!({})).accepted);
    // ... so that pod must not tolerate the GPU taint either
    let mut tolerating = spec.clone();
    tolerating["tolerations"] =
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
    assert!(!run(WorkloadKind::Pod, &tolerating, &json!({})).accepted);
    // unless the cluster says it is a GPU
    assert!(
        !run(
            WorkloadKind::Pod,
            &spec,
            &json!({"gpuResources": ["nvidia.com/rdma*"]})
        )
        .accepted
    );
    // renamed GPUs are GPUs once listed
    let a100 =
        json!({"containers": [{"name": "t", "resources": {"limits": {"nvidia.com/a100": "1"}}}]});
    assert!(run(WorkloadKind::Pod, &a100, &json!({})).accepted);
    assert!(
        !run(
            WorkloadKind::Pod,
            &a100,
            &json!({"gpuResources": ["nvidia.com/a100"]})
        )
        .accepted
    );
}

#[test]
fn zero_gpus_is_no_gpu() {
    let spec = json!({"containers": [{"name": "t", "resources": {"limits": {"nvidia.com/gpu": "0"}}}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]});
    let r = run(WorkloadKind::Pod, &spec, &json!({}));
    assert!(!r.accepted);
    assert!(message(&r).contains("requests no GPU"));
}

#[test]
fn reject_non_gpu_tolerations_can_be_turned_off() {
    let spec = plain_spec(json!([{"operator": "Exists"}]));
    assert!(!run(WorkloadKind::DaemonSet, &spec, &json!({})).accepted);
    assert!(
        run(
            WorkloadKind::DaemonSet,
            &spec,
            &json!({"rejectNonGpuTolerations": false})
        )
        .accepted
    );
    // and mutate mode still rejects squatting (it only adds, never removes)
    assert!(!run(WorkloadKind::DaemonSet, &spec, &json!({"mode": "mutate"})).accepted);
}

#[test]
fn every_gpu_toleration_of_a_plain_pod_is_named() {
    let spec = plain_spec(json!([
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"operator": "Exists"},
        {"key": "amd.com/gpu", "operator": "Exists"},
    ]));
    let r = run(WorkloadKind::ReplicationController, &spec, &json!({}));
    assert_eq!(
        message(&r),
        "2 violations:\n[1] spec.template.spec.tolerations[1]: {operator: Exists} tolerates the GPU taints nvidia.com/gpu:NoSchedule, amd.com/gpu:NoSchedule, gpu.intel.com/i915:NoSchedule (an empty key tolerates every taint) but the pod requests no GPU, so it can take up a GPU node (fix: remove the toleration, or request a GPU if the pod needs one; GPU infrastructure (device plugin, DCGM exporter, node-feature-discovery) is exempted with the ClusterAdmissionPolicy's namespaceSelector or objectSelector)\n[2] spec.template.spec.tolerations[2]: {key: amd.com/gpu, operator: Exists} tolerates the GPU taint amd.com/gpu:NoSchedule (its key matches and an empty effect matches every effect) but the pod requests no GPU, so it can take up a GPU node (fix: remove the toleration, or request a GPU if the pod needs one; GPU infrastructure (device plugin, DCGM exporter, node-feature-discovery) is exempted with the ClusterAdmissionPolicy's namespaceSelector or objectSelector)"
    );
}

#[test]
fn every_kind_is_checked_at_its_path() {
    for kind in WorkloadKind::ALL {
        let r = run(kind, &gpu_spec(json!([])), &json!({}));
        assert!(!r.accepted, "{kind}");
        let expected = format!("add {NVIDIA_YAML} to {}.tolerations", kind.pod_spec_path());
        assert!(message(&r).contains(&expected), "{kind}: {}", message(&r));
        let ok = run(
            kind,
            &gpu_spec(
                json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
            ),
            &json!({}),
        );
        assert!(ok.accepted, "{kind}");
        let plain = run(kind, &plain_spec(json!([])), &json!({}));
        assert!(plain.accepted, "{kind}");
    }
}

#[test]
fn nothing_to_check_is_accepted() {
    let delete = json!({"uid": "u", "operation": "DELETE", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": null,
        "oldObject": object(WorkloadKind::Pod, &gpu_spec(json!(null)))});
    assert!(run_request(&delete, &json!({})).accepted);
    let service = json!({"uid": "u", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Service"},
        "object": {"spec": {"tolerations": [{"operator": "Exists"}]}}});
    assert!(run_request(&service, &json!({})).accepted);
    let empty = run(WorkloadKind::Pod, &json!({}), &json!({}));
    assert!(empty.accepted);
}

#[test]
fn unreadable_objects_and_settings_are_rejected_cleanly() {
    let bad = json!({"uid": "u", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"spec": {"tolerations": [{"key": 5}]}}});
    let r = run_request(&bad, &json!({}));
    assert!(!r.accepted);
    assert!(
        message(&r).starts_with("spec.tolerations[0].key: cannot be read"),
        "{}",
        message(&r)
    );
    let r = run(
        WorkloadKind::Pod,
        &gpu_spec(json!([])),
        &json!({"mode": "enforce"}),
    );
    assert!(!r.accepted);
    assert_eq!(r.code, Some(400));
    assert!(message(&r).contains("expected `validate` or `mutate`"));
}

// ---------------------------------------------------------------- mutation

fn mutate(kind: WorkloadKind, object: &Value, settings: &Value) -> ValidationResponse {
    run_request(&request(kind, object), settings)
}

/// The mutated object is the input plus exactly the new toleration; unknown
/// fields survive; mutating the output again changes nothing.
#[test]
fn mutation_adds_exactly_the_missing_toleration_and_is_idempotent() {
    let settings = json!({"mode": "mutate"});
    for kind in WorkloadKind::ALL {
        let mut spec = gpu_spec(json!(null));
        spec["someFutureField"] = json!({"enabled": true, "levels": [1, 2, 3]});
        spec["containers"][0]["someFutureContainerField"] = json!("kept");
        let mut input = object(kind, &spec);
        input["metadata"]["annotations"] = json!({"a": "b"});
        input["status"] = json!({"phase": "Pending"});
        let r = mutate(kind, &input, &settings);
        assert!(r.accepted, "{kind}");
        assert!(r.message.is_none());
        let out = r.mutated_object.expect("mutated");
        let mut expected = input.clone();
        *expected
            .pointer_mut(&format!("{}/tolerations", kind.pod_spec_pointer()))
            .unwrap() =
            json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
        assert_eq!(out, expected, "{kind}");
        assert_eq!(
            out.pointer(&format!(
                "{}/someFutureField/levels/2",
                kind.pod_spec_pointer()
            )),
            Some(&json!(3)),
            "{kind}"
        );
        let again = mutate(kind, &out, &settings);
        assert!(
            again.accepted && again.mutated_object.is_none(),
            "{kind}: {again:?}"
        );
        // and the validating deployment accepts the mutated object
        assert!(mutate(kind, &out, &json!({})).accepted, "{kind}");
    }
}

#[test]
fn cronjob_in_mutate_mode() {
    let spec = json!({
        "restartPolicy": "OnFailure",
        "containers": [{"name": "nightly-train", "image": "trainer:1", "resources": {"limits": {"nvidia.com/gpu": "4"}}}],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
    });
    let settings = json!({"mode": "mutate", "taints": [
        {"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"},
    ]});
    let mut input = object(WorkloadKind::CronJob, &spec);
    input["spec"]["schedule"] = json!("0 * * * *");
    let r = mutate(WorkloadKind::CronJob, &input, &settings);
    assert!(r.accepted);
    let out = r.mutated_object.unwrap();
    assert_eq!(
        out.pointer("/spec/jobTemplate/spec/template/spec/tolerations"),
        Some(&json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        ]))
    );
    assert_eq!(out["spec"]["schedule"], "0 * * * *");
    assert!(
        mutate(WorkloadKind::CronJob, &out, &settings)
            .mutated_object
            .is_none()
    );
}

#[test]
fn mutate_mode_accepts_a_pod_that_already_tolerates() {
    let r = mutate(
        WorkloadKind::Pod,
        &object(
            WorkloadKind::Pod,
            &gpu_spec(json!([{"operator": "Exists"}])),
        ),
        &json!({"mode": "mutate"}),
    );
    assert!(r.accepted && r.mutated_object.is_none());
}

/// The realistic 4 KB request from the benchmark: accepted as is, and with
/// its GPU toleration removed, mutated back to the same object.
#[test]
fn bench_request_round_trip() {
    let text = include_str!("../../test_data/requests/pod-gpu-tolerated.json");
    let request: Value = serde_json::from_str(text).unwrap();
    assert!(run_request(&request, &json!({})).accepted);
    let mut stripped = request.clone();
    stripped["object"]["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    assert!(!run_request(&stripped, &json!({})).accepted);
    let r = run_request(&stripped, &json!({"mode": "mutate"}));
    let out = r.mutated_object.unwrap();
    let mut expected = stripped["object"].clone();
    expected["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}));
    assert_eq!(out, expected);
}

#[test]
fn the_plugin_covers_only_extended_resources_a_template_requests() {
    let spec = |resources: Value| {
        json!({"initContainers": [{"name": "i", "resources": resources}],
               "containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]})
    };
    let settings = json!({"extendedResourceToleration": true});
    for kind in WorkloadKind::ALL {
        // The plugin adds nvidia.com/gpu for an init container's request too.
        let r = run(
            kind,
            &spec(json!({"requests": {"nvidia.com/gpu": "1"}})),
            &settings,
        );
        assert_eq!(
            r.accepted,
            kind != WorkloadKind::Pod,
            "{kind:?}: {:?}",
            r.message
        );
        if kind != WorkloadKind::Pod {
            let warnings = r.warnings.unwrap_or_default();
            assert!(
                warnings
                    .iter()
                    .any(|w| w
                        .contains("ExtendedResourceToleration plugin adds {key: nvidia.com/gpu")),
                "{warnings:?}"
            );
        }
        // An implicit DRA name is under kubernetes.io/: not an extended
        // resource for the plugin, so no toleration is added for it.
        let dra =
            spec(json!({"limits": {"deviceclass.resource.kubernetes.io/gpu.nvidia.com": "1"}}));
        assert!(!run(kind, &dra, &settings).accepted, "{kind:?}");
    }
    // Off (the default), the template is judged in full.
    let r = run(
        WorkloadKind::Deployment,
        &spec(json!({"limits": {"nvidia.com/gpu": "1"}})),
        &json!({}),
    );
    assert!(!r.accepted);
}
