//! Unit tests of the rules.

use super::*;
use gpu_policy_core::WorkloadKind;
use gpu_policy_core::violation::render;
use serde_json::{Value, json};

fn pod(spec: Value) -> Workload {
    Workload::from_json(
        WorkloadKind::Pod,
        &json!({"metadata": {"name": "p"}, "spec": spec}).to_string(),
    )
    .unwrap()
}

fn limits(resources: Value) -> Value {
    json!({"containers": [{"name": "trainer", "resources": {"limits": resources}}]})
}

fn run(spec: Value, settings: &Settings) -> Vec<Violation> {
    check(&pod(spec), settings)
}

fn message(spec: Value, settings: &Settings) -> String {
    render(&run(spec, settings))
}

fn mixed() -> Settings {
    Settings {
        strategy: Strategy::Mixed,
        ..Settings::default()
    }
}

#[test]
fn good_names_pass() {
    for name in [
        "nvidia.com/mig-1g.10gb",
        "nvidia.com/mig-1g.10gb.me",
        "nvidia.com/mig-1g.24gb.me.all",
        "nvidia.com/mig-1g.24gb-me",
        "nvidia.com/mig-1g.24gb.gfx",
        "nvidia.com/mig-7g.141gb",
        "nvidia.com/mig-3g.40gb.shared",
        "nvidia.com/gpu",
        "nvidia.com/gpu.shared",
        "amd.com/gpu",
    ] {
        assert!(
            run(limits(json!({name: "1"})), &Settings::default()).is_empty(),
            "{name}"
        );
        assert!(
            run(limits(json!({name: "1"})), &mixed()).is_empty(),
            "{name}"
        );
    }
}

#[test]
fn every_catalogue_profile_passes_in_mixed() {
    for model in MODELS {
        for p in model.profiles {
            let spec = json!({
                "containers": [{"name": "c", "resources": {"limits": {p.resource_name(false): "1"}}}],
                "nodeSelector": {"nvidia.com/gpu.product": model.products.first().unwrap()}
            });
            assert!(run(spec, &mixed()).is_empty(), "{} {p}", model.name);
        }
    }
}

#[test]
fn malformed_names_are_rejected_with_path_and_suggestion() {
    let table = [
        (
            "nvidia.com/MIG-1g.10gb",
            "upper-case",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/1g.10gb",
            "missing the \"mig-\" prefix",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/mig-1g.10gb+me",
            "'+'",
            "use \"nvidia.com/mig-1g.10gb.me\"",
        ),
        (
            "nvidia.com/mig-1g.10g",
            "end in \"gb\"",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/mig-1g10gb",
            "missing the '.' after 1g",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/mig-1g.10GB",
            "upper-case",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/mig-1g.10gb.foo",
            ".foo is not a MIG attribute",
            "use \"nvidia.com/mig-1g.10gb\"",
        ),
        (
            "nvidia.com/mig-1g.11gb",
            "MIG profile 1g.11gb exists on no GPU model in the MIG catalogue",
            "use \"nvidia.com/mig-1g.10gb\" (the nearest known profile)",
        ),
        (
            "nvidia.com/mig-3g.41gb",
            "MIG profile 3g.41gb exists on no GPU model",
            "use \"nvidia.com/mig-3g.40gb\" (the nearest known profile)",
        ),
        (
            "nvidia.com/mig-1g.11gb.me",
            "1g.11gb+me exists on no",
            "use \"nvidia.com/mig-1g.10gb.me\"",
        ),
        (
            "nvidia.com/mig-2g.10gb.gfx",
            "2g.10gb+gfx exists on no",
            "use \"nvidia.com/mig-2g.48gb.gfx\"",
        ),
        (
            "nvidia.com/mig-big",
            "<n>g.<m>gb",
            "use nvidia.com/mig-<n>g.<m>gb, e.g. \"",
        ),
        (
            "NVIDIA.com/Mig-1g.5gb",
            "upper-case",
            "use \"nvidia.com/mig-1g.5gb\"",
        ),
        (
            "nvidia.com/mig-1g.24gb-gfx",
            "-gfx does not exist",
            "use \"nvidia.com/mig-1g.24gb.gfx\"",
        ),
        (
            "nvidia.com/mig-1g.10gb.shared.me",
            ".shared must come last",
            "use \"nvidia.com/mig-1g.10gb.me.shared\"",
        ),
    ];
    for (name, reason, fix) in table {
        let vs = run(limits(json!({name: "1"})), &Settings::default());
        assert_eq!(vs.len(), 1, "{name}: {vs:?}");
        let v = &vs[0];
        assert_eq!(
            v.path,
            format!("spec.containers[0].resources.limits[\"{name}\"]")
        );
        assert_eq!(v.subject.as_deref(), Some("trainer"));
        assert!(v.reason.contains(reason), "{name}: {}", v.reason);
        assert!(
            v.fix.as_deref().unwrap().contains(fix),
            "{name}: {:?}",
            v.fix
        );
    }
}

#[test]
fn gpu_models_narrow_the_profiles_and_extras_widen_them() {
    let s = Settings {
        gpu_models: vec!["A100-40GB".into()],
        ..mixed()
    };
    let m = message(limits(json!({"nvidia.com/mig-1g.20gb": "1"})), &s);
    assert!(
        m.contains("1g.20gb exists on none of gpuModels (A100-40GB)"),
        "{m}"
    );
    assert!(m.contains("use \"nvidia.com/mig-1g.10gb\""), "{m}");
    let s = Settings {
        extra_profiles: vec!["1g.11gb".into()],
        ..mixed()
    };
    assert!(run(limits(json!({"nvidia.com/mig-1g.11gb": "1"})), &s).is_empty());
}

#[test]
fn shared_slices_follow_allow_shared() {
    let s = Settings {
        allow_shared: false,
        ..Settings::default()
    };
    let m = message(limits(json!({"nvidia.com/mig-1g.10gb.shared": "1"})), &s);
    assert!(m.contains("allowShared is false"), "{m}");
    assert!(m.contains("use \"nvidia.com/mig-1g.10gb\""), "{m}");
    // nvidia.com/gpu.shared is not a MIG resource: left to other policies.
    assert!(run(limits(json!({"nvidia.com/gpu.shared": "1"})), &s).is_empty());
}

#[test]
fn single_strategy_rejects_mig_names() {
    let s = Settings {
        strategy: Strategy::Single,
        ..Settings::default()
    };
    let vs = run(limits(json!({"nvidia.com/mig-1g.10gb": "1"})), &s);
    assert_eq!(vs.len(), 1);
    assert!(vs[0].reason.contains("MIG strategy is single"), "{vs:?}");
    assert_eq!(
        vs[0].fix.as_deref(),
        Some(
            "ask for nvidia.com/gpu and select the slice with nodeSelector nvidia.com/gpu.product: <product>-MIG-1g.10gb"
        )
    );
    let m = message(limits(json!({"nvidia.com/mig-1g.10g": "1"})), &s);
    assert!(m.contains("besides") && m.contains("end in \"gb\""), "{m}");
    assert!(run(limits(json!({"nvidia.com/gpu": "1"})), &s).is_empty());
    // Mixing rules do not pile on in single mode.
    let vs = run(
        limits(json!({"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "2"})),
        &s,
    );
    assert_eq!(vs.len(), 1, "{vs:?}");
}

#[test]
fn mixing_rules_per_container() {
    let whole = run(
        limits(json!({"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1"})),
        &mixed(),
    );
    assert_eq!(whole.len(), 1, "{whole:?}");
    assert_eq!(whole[0].path, "spec.containers[0]");
    assert!(
        whole[0]
            .reason
            .contains("whole GPUs (nvidia.com/gpu) and MIG slices")
    );

    let two = run(
        limits(json!({"nvidia.com/mig-1g.10gb": "1", "nvidia.com/mig-2g.20gb": "1"})),
        &mixed(),
    );
    let m = render(&two);
    assert!(
        m.contains("asks for 2 MIG profiles (nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.20gb)"),
        "{m}"
    );
    assert!(
        m.contains("asks for 2 MIG devices, more than maxMigDevicesPerContainer (1)"),
        "{m}"
    );

    let many = run(limits(json!({"nvidia.com/mig-1g.10gb": "3"})), &mixed());
    assert_eq!(many.len(), 1);
    assert!(many[0].fix.as_deref().unwrap().contains("at most 1"));
    let s = Settings {
        max_mig_devices_per_container: 3,
        ..mixed()
    };
    assert!(run(limits(json!({"nvidia.com/mig-1g.10gb": "3"})), &s).is_empty());

    // A request without a limit counts as well, and a misspelt second
    // profile counts as the profile it means.
    let spec = json!({"containers": [{"name": "c", "resources": {
        "requests": {"nvidia.com/mig-1g.10gb": "1"},
        "limits": {"nvidia.com/mig-2g.20gb+me": "1"}}}]});
    let m = message(spec, &mixed());
    assert!(
        m.contains("resources.requests[\"nvidia.com/mig-1g.10gb\"]")
            || m.contains("2 MIG profiles"),
        "{m}"
    );
    assert!(m.contains("2 MIG profiles"), "{m}");

    // Separate containers may each have their own device type.
    let spec = json!({"containers": [
        {"name": "a", "resources": {"limits": {"nvidia.com/gpu": "1"}}},
        {"name": "b", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "1"}}}]});
    assert!(run(spec, &mixed()).is_empty());
    // Bad quantities are someone else's rule.
    assert!(run(limits(json!({"nvidia.com/mig-1g.10gb": "500m"})), &mixed()).is_empty());
}

#[test]
fn all_violations_are_reported_together() {
    let spec = json!({"initContainers": [{"name": "init", "resources": {"limits": {"nvidia.com/MIG-1g.10gb": "1"}}}],
        "containers": [{"name": "a", "resources": {"limits": {"nvidia.com/1g.10gb": "1", "nvidia.com/gpu": "1"}}}]});
    let m = message(spec, &mixed());
    assert!(m.starts_with("3 violations:\n"), "{m}");
    assert!(
        m.contains("spec.initContainers[0].resources.limits[\"nvidia.com/MIG-1g.10gb\"] \"init\""),
        "{m}"
    );
    assert!(
        m.contains("spec.containers[0].resources.limits[\"nvidia.com/1g.10gb\"] \"a\""),
        "{m}"
    );
    assert!(
        m.contains("spec.containers[0] \"a\": asks for whole GPUs"),
        "{m}"
    );
}

fn with_product(resource: &str, product: &str) -> Value {
    json!({"containers": [{"name": "c", "resources": {"limits": {resource: "1"}}}],
           "nodeSelector": {"nvidia.com/gpu.product": product}})
}

#[test]
fn product_must_offer_the_profile() {
    let ok = [
        ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB"),
        ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-40GB"),
        ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB-SHARED"),
        ("nvidia.com/mig-1g.12gb", "NVIDIA-H100-NVL"),
        (
            "nvidia.com/mig-1g.24gb.me",
            "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition",
        ),
        ("nvidia.com/mig-1g.10gb", "NVIDIA-L40S"),
        ("nvidia.com/mig-1g.10gb", "Some-Future-GPU"),
    ];
    for (r, p) in ok {
        assert!(run(with_product(r, p), &mixed()).is_empty(), "{r} on {p}");
    }
    let vs = run(
        with_product("nvidia.com/mig-1g.20gb", "NVIDIA-A100-SXM4-40GB"),
        &mixed(),
    );
    assert_eq!(vs.len(), 1, "{vs:?}");
    assert_eq!(vs[0].path, "spec.nodeSelector[\"nvidia.com/gpu.product\"]");
    assert!(
        vs[0]
            .reason
            .contains("(A100-40GB), which has no MIG profile 1g.20gb"),
        "{}",
        vs[0].reason
    );
    let fix = vs[0].fix.as_deref().unwrap();
    assert!(
        fix.contains("nvidia.com/mig-1g.5gb") && fix.contains("NVIDIA-A100-SXM4-80GB"),
        "{fix}"
    );
    // H100 NVL has no 1g.24gb+me (the shared facts file said it had).
    let vs = run(
        with_product("nvidia.com/mig-1g.24gb.me", "NVIDIA-H100-NVL"),
        &mixed(),
    );
    assert_eq!(vs.len(), 1, "{vs:?}");
}

#[test]
fn product_in_required_affinity() {
    let spec = json!({"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/mig-3g.40gb": "1"}}}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In",
               "values": ["NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-NVL"]}]},
            {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "NotIn", "values": ["NVIDIA-A30"]}]}]}}}});
    let vs = run(spec, &mixed());
    assert_eq!(vs.len(), 1, "{vs:?}");
    assert_eq!(
        vs[0].path,
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[1]"
    );
    assert!(vs[0].reason.contains("H100-NVL-94GB"));
}

#[test]
fn product_mig_suffix_must_be_a_profile_of_the_model() {
    let s = Settings {
        strategy: Strategy::Single,
        ..Settings::default()
    };
    for ok in [
        "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb",
        "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb-SHARED",
        "NVIDIA-H100-NVL-MIG-1g.12gb",
        "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb.me",
        "NVIDIA-Unknown-MIG-9g.99gb",
    ] {
        assert!(
            run(with_product("nvidia.com/gpu", ok), &s).is_empty(),
            "{ok}"
        );
    }
    let vs = run(
        with_product("nvidia.com/gpu", "NVIDIA-A100-SXM4-40GB-MIG-1g.20gb"),
        &s,
    );
    assert_eq!(vs.len(), 1, "{vs:?}");
    assert!(
        vs[0].reason.contains("has no MIG profile \"1g.20gb\""),
        "{}",
        vs[0].reason
    );
    assert!(
        vs[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("NVIDIA-A100-SXM4-40GB-MIG-1g.10gb")
    );
    // A mig-* request on a single-strategy product, in mixed/any mode.
    let vs = run(
        with_product("nvidia.com/mig-1g.5gb", "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb"),
        &Settings::default(),
    );
    assert_eq!(vs.len(), 1, "{vs:?}");
    assert!(vs[0].reason.contains("single MIG strategy"));
}

#[test]
fn split_product_labels() {
    let p = split_product("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb-SHARED");
    assert_eq!(
        p,
        ProductLabel {
            base: "NVIDIA-A100-SXM4-40GB",
            mig_suffix: Some("1g.5gb"),
            shared: true
        }
    );
    let p = split_product("NVIDIA-H100-NVL");
    assert_eq!(
        p,
        ProductLabel {
            base: "NVIDIA-H100-NVL",
            mig_suffix: None,
            shared: false
        }
    );
    let p = split_product("NVIDIA-H100-NVL-SHARED");
    assert_eq!(p.base, "NVIDIA-H100-NVL");
    assert!(p.shared);
    assert_eq!(split_product("-MIG-").mig_suffix, Some(""));
}

#[test]
fn nearest_profile_prefers_attribute_then_slices_then_memory() {
    let all = Settings::default().configured_profiles();
    let near = |t: &str| {
        nearest_profile(&Profile::parse(t).unwrap(), &all)
            .unwrap()
            .to_string()
    };
    assert_eq!(near("1g.11gb"), "1g.10gb");
    assert_eq!(near("1g.11gb+me"), "1g.10gb+me");
    assert_eq!(near("7g.79gb"), "7g.80gb");
    assert_eq!(near("3g.19gb"), "3g.20gb");
    assert_eq!(near("9g.80gb"), "7g.80gb");
}

#[test]
fn requests_outside_create_and_update_or_without_pods_are_accepted() {
    let pod =
        json!({"metadata": {"name": "p"}, "spec": limits(json!({"nvidia.com/MIG-1g.10gb": "1"}))});
    let req = |op: &str, kind: &str| {
        json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": kind}, "operation": op, "object": pod})
            .to_string()
    };
    // Through the entry point, which decides the operations judged.
    let eval = |text: String| {
        let payload = format!(r#"{{"request": {text}, "settings": {{}}}}"#);
        gpu_policy_core::entry::evaluate::<crate::MigResourceNaming>(
            payload.as_bytes(),
            &gpu_policy_core::host::NoCluster,
        )
        .accepted
    };
    assert!(!eval(req("CREATE", "Pod")));
    assert!(!eval(req("UPDATE", "Pod")));
    assert!(eval(req("DELETE", "Pod")));
    assert!(eval(req("CONNECT", "Pod")));
    assert!(eval(req("CREATE", "ConfigMap")));
    let bad = json!({"uid": "1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE",
        "object": {"spec": {"containers": "nope"}}}).to_string();
    assert!(!eval(bad));
}

/// The example rejection quoted in the README.
mod readme {
    use super::*;
    use gpu_policy_core::WorkloadKind;
    use gpu_policy_core::violation::render;

    /// Quoted in README.md "What it rejects"; keep the two in step.
    const README_EXAMPLE: &str = concat!(
        r#"3 violations:"#,
        "\n",
        r#"[1] spec.template.spec.containers[0].resources.limits["nvidia.com/mig-1g.11gb"] "triton": "nvidia.com/mig-1g.11gb" is not a MIG resource the NVIDIA device plugin advertises: MIG profile 1g.11gb exists on no GPU model in the MIG catalogue (fix: use "nvidia.com/mig-1g.10gb" (the nearest known profile))"#,
        "\n",
        r#"[2] spec.template.spec.containers[1].resources.limits["nvidia.com/MIG-1g.10gb+me"] "encoder": "nvidia.com/MIG-1g.10gb+me" is not a MIG resource the NVIDIA device plugin advertises: it has upper-case letters (resource names are case-sensitive and the device plugin's are lower case), it uses '+' from the NVIDIA profile name, which the resource name writes as '.' (fix: use "nvidia.com/mig-1g.10gb.me")"#,
        "\n",
        r#"[3] spec.template.spec.nodeSelector["nvidia.com/gpu.product"]: selects nvidia.com/gpu.product=NVIDIA-A100-SXM4-40GB (A100-40GB), which has no MIG profile 1g.10gb+me; the pod would stay Pending (fix: ask for one of A100-40GB's profiles (nvidia.com/mig-1g.5gb, nvidia.com/mig-1g.5gb.me, nvidia.com/mig-1g.10gb, nvidia.com/mig-2g.10gb, nvidia.com/mig-3g.20gb, nvidia.com/mig-4g.20gb, nvidia.com/mig-7g.40gb), or select a product that offers it: NVIDIA-A100-SXM4-80GB, NVIDIA-H100-80GB-HBM3)"#
    );

    /// The example rejection quoted in the README.
    #[test]
    fn readme_example_message() {
        let w = Workload::from_json(
            WorkloadKind::Deployment,
            r#"{"metadata": {"name": "triton"}, "spec": {"template": {"spec": {
                "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
                "containers": [
                    {"name": "triton", "resources": {"limits": {"nvidia.com/mig-1g.11gb": "1"}}},
                    {"name": "encoder", "resources": {"limits": {"nvidia.com/MIG-1g.10gb+me": "1"}}}]}}}}"#,
        )
        .unwrap();
        let message = render(&check(&w, &Settings::default()));
        println!("{message}");
        assert_eq!(message, README_EXAMPLE);
    }
}

// ---- DRA objects: ResourceClaim, ResourceClaimTemplate, DeviceClass

fn judge_dra(kind: gpu_policy_core::dra::DraKind, spec: Value, settings: Value) -> Outcome {
    let request = policy_testkit::build::dra_request(kind, "mig-devices", spec);
    let payload = json!({"request": request, "settings": settings});
    let r = gpu_policy_core::entry::evaluate::<crate::MigResourceNaming>(
        &serde_json::to_vec(&payload).unwrap(),
        &gpu_policy_core::host::NoCluster,
    );
    match (r.accepted, r.message, r.warnings) {
        (true, None, None) => Outcome::Accept,
        (true, None, Some(w)) => Outcome::Warn(w),
        (false, Some(m), _) => Outcome::Reject(vec![Violation::new("", m)]),
        other => panic!("unexpected answer {other:?}"),
    }
}

fn rejection(outcome: Outcome) -> String {
    match outcome {
        Outcome::Reject(v) => v[0].reason.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The demo template of NVIDIA's DRA driver, with the first profile `first`.
fn demo_template(first: &str) -> Value {
    let select = |p: &str| json!([{"cel": {"expression": format!("device.attributes['gpu.nvidia.com'].profile == '{p}'")}}]);
    json!({"spec": {"devices": {
        "requests": [
            {"name": "mig-1g-5gb-0", "exactly": {"deviceClassName": "mig.nvidia.com", "selectors": select(first)}},
            {"name": "mig-3g-20gb", "exactly": {"deviceClassName": "mig.nvidia.com", "selectors": select("3g.20gb")}}],
        "constraints": [{"requests": [], "matchAttribute": "gpu.nvidia.com/parentUUID"}]}}})
}

#[test]
fn claim_templates_select_profiles_that_exist() {
    use gpu_policy_core::dra::DraKind::ResourceClaimTemplate as T;
    assert_eq!(
        judge_dra(T, demo_template("1g.5gb"), json!({})),
        Outcome::Accept
    );
    assert_eq!(
        rejection(judge_dra(T, demo_template("1g.5g"), json!({}))),
        "spec.spec.devices.requests[0].exactly.selectors[0].cel.expression: selects MIG profile \"1g.5g\", which no device has: is not a MIG profile name: expected <n>g.<m>gb, e.g. 1g.10gb (fix: select '1g.5gb' (the closest spelling))"
    );
    assert_eq!(
        rejection(judge_dra(
            T,
            demo_template("1g.5gb"),
            json!({"gpuModels": ["H100-80GB"]})
        )),
        "2 violations:\n[1] spec.spec.devices.requests[0].exactly.selectors[0].cel.expression: selects MIG profile \"1g.5gb\", which no device has: MIG profile 1g.5gb exists on none of gpuModels (H100-80GB) (fix: select '1g.10gb' (the nearest known profile))\n[2] spec.spec.devices.requests[1].exactly.selectors[0].cel.expression: selects MIG profile \"3g.20gb\", which no device has: MIG profile 3g.20gb exists on none of gpuModels (H100-80GB) (fix: select '3g.40gb' (the nearest known profile))"
    );
    // a class that is not NVIDIA's is not read
    let other = json!({"spec": {"devices": {"requests": [{"name": "x", "exactly": {"deviceClassName": "fpga.example.com",
        "selectors": [{"cel": {"expression": "device.attributes['gpu.nvidia.com'].profile == 'nonsense'"}}]}}]}}});
    assert_eq!(judge_dra(T, other, json!({})), Outcome::Accept);
}

#[test]
fn a_product_must_offer_a_profile_its_request_selects() {
    use gpu_policy_core::dra::DraKind::ResourceClaim as C;
    let claim = |expression: &str| {
        json!({"devices": {"requests": [{"name": "s", "firstAvailable": [{"name": "a", "deviceClassName": "mig.nvidia.com",
            "selectors": [{"cel": {"expression": "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA A100-SXM4-40GB'"}},
                          {"cel": {"expression": expression}}]}]}]}})
    };
    let profile = |p: &str| format!("device.attributes['gpu.nvidia.com'].profile == '{p}'");
    assert_eq!(
        judge_dra(C, claim(&profile("1g.5gb")), json!({})),
        Outcome::Accept
    );
    assert_eq!(
        rejection(judge_dra(C, claim(&profile("2g.20gb")), json!({}))),
        "spec.devices.requests[0].firstAvailable[0].selectors[0].cel.expression: selects productName \"NVIDIA A100-SXM4-40GB\", whose model A100-40GB has no MIG profile 2g.20gb, so no device matches (fix: select one of A100-40GB's profiles (1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb), or a product that offers 2g.20gb (A100-80GB, H100-80GB))"
    );
    // one profile of the list it offers is enough
    let either = "device.attributes['gpu.nvidia.com'].profile in ['2g.20gb', '1g.5gb']";
    assert_eq!(judge_dra(C, claim(either), json!({})), Outcome::Accept);
    // an unknown product is a warning, not a guess
    let unknown = json!({"devices": {"requests": [{"name": "s", "exactly": {"deviceClassName": "mig.nvidia.com",
        "selectors": [{"cel": {"expression": "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA Z900' && device.attributes['gpu.nvidia.com'].profile == '1g.5gb'"}}]}}]}});
    let Outcome::Warn(w) = judge_dra(C, unknown, json!({})) else {
        panic!("not a warning");
    };
    assert_eq!(
        w,
        [
            "spec.devices.requests[0].exactly.selectors[0].cel.expression: selects productName \"NVIDIA Z900\", a product the MIG catalogue does not know, so whether it offers 1g.5gb was not checked"
        ]
    );
}

#[test]
fn cel_that_is_not_read_is_a_warning() {
    use gpu_policy_core::dra::DraKind::ResourceClaimTemplate as T;
    let long = format!(
        "device.attributes['gpu.nvidia.com'].profile.startsWith('1g') && {}",
        "true && ".repeat(30)
    );
    for (expression, shown) in [
        (
            "device.attributes['gpu.nvidia.com'].profile != '1g.5gb'".to_owned(),
            "\"device.attributes['gpu.nvidia.com'].profile != '1g.5gb'\"".to_owned(),
        ),
        (
            long.clone(),
            format!("{:?}", format!("{}...", &long[..120])),
        ),
    ] {
        let spec = json!({"spec": {"devices": {"requests": [{"name": "g", "exactly": {"deviceClassName": "gpu.nvidia.com",
            "selectors": [{"cel": {"expression": expression}}]}}]}}});
        let Outcome::Warn(w) = judge_dra(T, spec, json!({})) else {
            panic!("not a warning: {expression}");
        };
        assert_eq!(
            w,
            [format!(
                "spec.spec.devices.requests[0].exactly.selectors[0].cel.expression: {shown} uses NVIDIA's profile attribute in a form this policy does not read (it reads ==, in [...] and has(), joined by && and ||), so what it selects was not checked"
            )]
        );
    }
}

fn device_class(name: &str, profile: Option<&str>) -> Value {
    let mut spec = json!({"extendedResourceName": name});
    if let Some(p) = profile {
        spec["selectors"] = json!([{"cel": {"expression": format!(
            "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'mig' && device.attributes['gpu.nvidia.com'].profile == '{p}'"
        )}}]);
    }
    spec
}

#[test]
fn device_classes_map_to_names_gpus_are_asked_for_by() {
    use gpu_policy_core::dra::DraKind::DeviceClass as D;
    for (name, profile) in [
        ("nvidia.com/mig-1g.12gb", Some("1g.12gb")),
        ("nvidia.com/gpu", None),
        ("nvidia.com/gpu", Some("1g.12gb")),
        ("nvidia.com/gpu.shared", None),
        ("nvidia.com/mig-3g.40gb", None),
        ("example.com/fpga", Some("1g.12gb")),
    ] {
        assert_eq!(
            judge_dra(D, device_class(name, profile), json!({})),
            Outcome::Accept,
            "{name}"
        );
    }
    assert_eq!(
        rejection(judge_dra(
            D,
            device_class("nvidia.com/mig-1g.12g", Some("1g.12gb")),
            json!({})
        )),
        "spec.extendedResourceName: \"nvidia.com/mig-1g.12g\" is not a MIG resource the NVIDIA device plugin advertises: the memory size must end in \"gb\" (12gb, not 12g) (fix: use \"nvidia.com/mig-1g.12gb\")"
    );
    assert_eq!(
        rejection(judge_dra(
            D,
            device_class("nvidia.com/mig-1g.12gb", Some("2g.24gb")),
            json!({})
        )),
        "spec.extendedResourceName: \"nvidia.com/mig-1g.12gb\" names MIG profile 1g.12gb, but the class's selectors select 2g.24gb: pods asking for nvidia.com/mig-1g.12gb would get another slice (fix: name the class's resource nvidia.com/mig-2g.24gb, or select '1g.12gb' in its selectors)"
    );
    assert_eq!(
        rejection(judge_dra(
            D,
            device_class("nvidia.com/gpus", None),
            json!({})
        )),
        "spec.extendedResourceName: \"nvidia.com/gpus\" is not a name NVIDIA GPUs are asked for by, so no pod asks for it (fix: use nvidia.com/gpu for whole GPUs or nvidia.com/mig-<profile> for MIG slices, e.g. nvidia.com/mig-1g.6gb)"
    );
    let m = rejection(judge_dra(
        D,
        device_class("nvidia.com/mig-1g.12gb", Some("1g.12gb")),
        json!({"gpuModels": ["A100-40GB"]}),
    ));
    assert!(
        m.contains("spec.selectors[0].cel.expression: selects MIG profile \"1g.12gb\""),
        "{m}"
    );
    assert!(
        m.contains("spec.extendedResourceName: \"nvidia.com/mig-1g.12gb\""),
        "{m}"
    );
    // the strategy is the device plugin's: a class is served by DRA
    assert_eq!(
        judge_dra(
            D,
            device_class("nvidia.com/mig-1g.12gb", None),
            json!({"strategy": "single"})
        ),
        Outcome::Accept
    );
    assert!(
        rejection(judge_dra(
            D,
            device_class("nvidia.com/gpu.shared", None),
            json!({"allowShared": false})
        ))
        .contains("is not a name NVIDIA GPUs are asked for by")
    );
}
