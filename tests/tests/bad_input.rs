//! Robustness at the wasm level: no input makes a built policy trap, and every
//! bad setting is named. Each input goes through the waPC host
//! (`policy_runner`) to `target/policies/<name>.wasm`; a trap or a guest error
//! comes back as `Err` from the runner and fails the test.
//!
//! - The bad-input corpus: malformed envelopes, truncated JSON, invalid
//!   UTF-8, wrong types everywhere, `null`s, deep nesting (10,000 levels) in
//!   skipped and parsed places, a 5 MB object, 5,000 containers, the DRA
//!   objects (ResourceClaim, ResourceClaimTemplate, DeviceClass) with wrong
//!   types, odd counts, hostile CEL strings and 10,000 requests, and every
//!   file under `tests/bad-input/` (crash reproducers from fuzzing included).
//! - The settings matrix: every key of every policy (its Settings struct's,
//!   through the policy registry) with values of the wrong type for the type
//!   its questions-ui.yml question gives it, values out of range for that
//!   type, and the policy's own `test_data/invalid-settings/` files, must get
//!   `valid: false` with a message naming the key, and `validate` with the
//!   same settings a 400 rejection.
//! - Resource bounds: the 5,000-container and 5 MB objects are evaluated in
//!   bounded time, and the peak memory of the call is measured in a child
//!   process (its `VmHWM` before and after) and printed.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use policy_runner::{PolicyOptions, PolicyRunner};
use policy_testkit::build::set_pointer;
use serde_json::{Value, json};
use wasm_integration_tests::{wasm_dir, workspace_root};

/// Every policy (the policy registry's).
fn policies() -> Vec<&'static str> {
    policy_registry::names().collect()
}

fn policy_dir(policy: &str) -> PathBuf {
    workspace_root().join("policies").join(policy)
}

/// The top-level questions of the policy's questions-ui.yml.
fn questions(policy: &str) -> Vec<Value> {
    let path = policy_dir(policy).join("questions-ui.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    doc["questions"].as_array().cloned().unwrap_or_default()
}

fn corpus_dir() -> PathBuf {
    workspace_root().join("tests/bad-input")
}

fn runner(policy: &str) -> PolicyRunner {
    let wasm = wasm_dir().join(format!("{policy}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: run `make build` first",
        wasm.display()
    );
    let dir = policy_dir(policy);
    let mut options = PolicyOptions::default()
        .metadata_file(&dir.join("metadata.yml"))
        .unwrap();
    // The context-aware policy reads namespace `train` (the base request's).
    let session = dir.join("test_data/sessions/train.yml");
    if session.is_file() {
        options = options.replay_session_file(&session).unwrap();
    }
    PolicyRunner::from_file(&wasm, options).unwrap()
}

/// A realistic 4 KB GPU pod CREATE request (the benchmark's).
fn base_request() -> Value {
    let text = std::fs::read_to_string(corpus_dir().join("gpu-pod-request.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn payload(request: &Value, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap()
}

/// `request` with the value at `pointer` replaced (the parent must exist).
fn with(request: &Value, pointer: &str, value: Value) -> Value {
    let mut out = request.clone();
    assert!(
        set_pointer(&mut out, pointer, value),
        "{pointer}: no parent"
    );
    out
}

/// What a bad input must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// `accepted: false` with a message.
    Reject,
    /// `accepted: false` with a message from a policy whose metadata.yml
    /// rules select this resource (`resourceclaimtemplates`); any answer
    /// from the others, which a cluster never sends it to.
    RejectIfSelected(&'static str),
    /// Any answer (a rejection still needs a message): the input is odd but
    /// readable, e.g. `null` where Kubernetes allows an empty value.
    Answer,
}

struct Input {
    label: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn input(label: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Input {
    Input {
        label: label.into(),
        bytes,
        expect,
    }
}

/// `[[[...]]]` nested `depth` deep.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":...{}}}` nested `depth` deep.
fn nested_objects(depth: usize) -> String {
    format!("{}{{}}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// The base payload's JSON text with `raw` spliced in as the value of a new
/// key `key` of the object at `pointer` (raw text, so it can be nested deeper
/// than serde_json would build it).
fn splice(pointer: &str, key: &str, raw: &str, settings: &Value) -> Vec<u8> {
    splice_into(&base_request(), pointer, key, raw, settings)
}

fn splice_into(request: &Value, pointer: &str, key: &str, raw: &str, settings: &Value) -> Vec<u8> {
    const MARK: &str = "\"@@SPLICE@@\"";
    let key = key.replace('/', "~1");
    let request = with(request, &format!("{pointer}/{key}"), json!("@@SPLICE@@"));
    let text = String::from_utf8(payload(&request, settings)).unwrap();
    assert_eq!(text.matches(MARK).count(), 1);
    text.replace(MARK, raw).into_bytes()
}

/// 5,000 app containers, each asking for 1 GPU with a limit.
fn many_containers(n: usize) -> Value {
    let base = base_request();
    let template = base["object"]["spec"]["containers"][0].clone();
    let containers: Vec<Value> = (0..n)
        .map(|i| {
            let mut c = template.clone();
            c["name"] = json!(format!("trainer-{i}"));
            c["resources"] = json!({"limits": {"nvidia.com/gpu": "1", "cpu": "1"}, "requests": {"nvidia.com/gpu": "1"}});
            c
        })
        .collect();
    with(&base, "/object/spec/containers", Value::Array(containers))
}

/// An object of about 5 MB: the base pod with a 5 MB annotation.
fn five_megabytes() -> Value {
    with(
        &base_request(),
        "/object/metadata/annotations",
        json!({"example.com/blob": "x".repeat(5 * 1024 * 1024)}),
    )
}

/// The corpus for one policy: (`settings` are used where the input has a
/// settings part).
fn corpus(settings: &Value) -> Vec<Input> {
    use Expect::{Answer, Reject};
    let base = base_request();
    let good = payload(&base, settings);
    let rejected: Vec<(&str, Vec<u8>)> = vec![
        ("empty payload", vec![]),
        ("null", b"null".into()),
        ("a number", b"42".into()),
        ("an array", b"[]".into()),
        ("{} (no request)", b"{}".into()),
        ("settings but no request", br#"{"settings": {}}"#.into()),
        ("request null", br#"{"request": null}"#.into()),
        ("request a string", br#"{"request": "pod"}"#.into()),
        ("settings an array", payload(&base, &json!([]))),
        ("settings a string", payload(&base, &json!("strict"))),
        ("two JSON documents", [good.clone(), good.clone()].concat()),
        ("trailing garbage", [good.clone(), b"}".to_vec()].concat()),
        ("invalid UTF-8 alone", vec![0xff, 0xfe, 0xfd]),
        (
            "invalid UTF-8 in the pod name",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("trainer-0", "tr\u{1}ainer", 1)
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
        ),
    ];
    let mut out: Vec<Input> = rejected
        .into_iter()
        .map(|(label, bytes)| input(label, bytes, Reject))
        .collect();
    out.extend([
        input(
            "invalid UTF-8 in an annotation",
            splice("/object/metadata/annotations", "bad", "\"\u{1}\"", settings)
                .into_iter()
                .map(|b| if b == 1 { 0xc3 } else { b })
                .collect(),
            Answer,
        ),
        input(
            "lone surrogate escape in a container name",
            splice("/object/spec/containers/0", "name", r#""\ud800""#, settings),
            Answer,
        ),
    ]);
    // Truncated JSON: 64 cuts spread over the payload, and the last byte.
    let len = good.len();
    for i in 1..=64 {
        let cut = len * i / 65;
        out.push(input(
            format!("truncated at {cut}/{len}"),
            good[..cut].to_vec(),
            Reject,
        ));
    }
    out.push(input(
        "truncated by one byte",
        good[..len - 1].to_vec(),
        Reject,
    ));

    // Wrong types where the policies read.
    let gpu = "/object/spec/containers/0/resources/limits/nvidia.com~1gpu";
    let wrong_types = vec![
        ("/object/spec/containers", json!({})),
        ("/object/spec/containers", json!("trainer")),
        ("/object/spec/containers/0", json!("trainer")),
        ("/object/spec/containers/0/name", json!(7)),
        ("/object/spec/containers/0/resources", json!("2")),
        ("/object/spec/containers/0/resources/limits", json!([])),
        ("/object/spec/containers/0/resources/limits", json!("2")),
        ("/object/spec/containers/0/resources/requests", json!(2)),
        (gpu, json!(true)),
        (gpu, json!({})),
        (gpu, json!([2])),
        ("/object/spec/containers/0/env", json!({})),
        ("/object/spec/containers/0/env/0", json!(1)),
        ("/object/spec/containers/0/env/0/value", json!(["INFO"])),
        ("/object/spec/initContainers", json!(1)),
        ("/object/spec/initContainers/0/restartPolicy", json!(true)),
        ("/object/spec/ephemeralContainers", json!({"a": 1})),
        ("/object/spec/tolerations", json!("nvidia.com/gpu")),
        ("/object/spec/tolerations/0/key", json!(1)),
        ("/object/spec/tolerations/1/tolerationSeconds", json!("300")),
        ("/object/spec/tolerations/1/tolerationSeconds", json!(1.5)),
        ("/object/spec/nodeSelector", json!([])),
        (
            "/object/spec/nodeSelector/kubernetes.azure.com~1accelerator",
            json!(1),
        ),
        ("/object/spec/affinity", json!("gpu")),
        ("/object/spec/runtimeClassName", json!(["nvidia"])),
        ("/object/spec/nodeName", json!({})),
        ("/object/spec/volumes", json!("dev")),
        ("/object/spec/volumes", json!([{"hostPath": {"path": 1}}])),
        ("/object/spec/resourceClaims", json!("gpu")),
        (
            "/object/spec/resourceClaims",
            json!([{"resourceClaimName": 7}]),
        ),
        (
            "/object/spec/containers/0/securityContext",
            json!({"privileged": "yes"}),
        ),
        (
            "/object/spec/containers/0/volumeMounts",
            json!([{"mountPath": []}]),
        ),
        ("/object/spec/containers/0/envFrom", json!("all")),
        (
            "/object/spec/containers/0/resources/claims",
            json!({"name": "gpu"}),
        ),
        ("/object/metadata/annotations", json!("cdi.k8s.io/gpus")),
        (
            "/object/metadata/annotations",
            json!({"cdi.k8s.io/gpus": 1}),
        ),
        ("/object/spec", json!("spec")),
        ("/object/metadata/labels", json!("team=ml")),
        ("/object/metadata/labels", json!({"team": 1})),
        ("/object/metadata/name", json!({})),
        ("/object", json!("pod")),
        ("/object", json!(42)),
        ("/object", json!([])),
        ("/kind", json!("Pod")),
        ("/kind/kind", json!(["Pod"])),
        ("/operation", json!(1)),
        ("/namespace", json!({})),
        ("/name", json!([])),
    ];
    // The request itself is read as a mapping only: an array is refused.
    out.push(input(
        "request an array",
        br#"{"request": []}"#.to_vec(),
        Reject,
    ));
    // Known gap (reported, not fixed here): serde's derived structs also
    // read a JSON array as the struct's fields in order, so `[]` where an
    // object belongs inside the object reads as an empty object and is
    // accepted like one. The API server never sends this (it re-encodes
    // typed objects); no trap.
    let arrays_as_structs = vec![
        ("/object/spec/containers/0", json!([])),
        (
            "/object/spec/containers/0",
            json!(["trainer", {"limits": {"nvidia.com/gpu": "9"}}]),
        ),
        ("/object/spec/containers/0/resources", json!([])),
        ("/object/spec/tolerations/0", json!([])),
        ("/object/spec/affinity", json!({"nodeAffinity": []})),
        ("/object/spec", json!([])),
        ("/object/metadata", json!([])),
    ];
    // Nulls and empties: readable (the API server treats null as empty).
    let empties = vec![
        ("/object/spec", json!(null)),
        ("/object/spec", json!({})),
        ("/object", json!(null)),
        ("/object", json!({})),
        ("/object/spec/containers", json!(null)),
        ("/object/spec/containers", json!([])),
        ("/object/spec/containers/0/resources", json!(null)),
        ("/object/spec/containers/0/resources/limits", json!(null)),
        (gpu, json!(null)),
        ("/object/spec/tolerations", json!(null)),
        ("/object/metadata", json!(null)),
        ("/object/spec/nodeName", json!(null)),
        ("/object/spec/volumes", json!(null)),
        (
            "/object/spec/volumes",
            json!([{"name": "v", "hostPath": null}]),
        ),
        ("/object/spec/resourceClaims", json!(null)),
        ("/object/spec/containers/0/securityContext", json!(null)),
        ("/object/spec/containers/0/envFrom", json!(null)),
        ("/object/spec/containers/0/volumeMounts", json!(null)),
        ("/object/metadata/annotations", json!(null)),
        // Annotations other than CDI's are skipped unread, whatever they hold.
        (
            "/object/metadata/annotations",
            json!({"odd": {"deep": [1, {}]}, "n": 1}),
        ),
        ("/kind", json!(null)),
        ("/operation", json!(null)),
        ("/oldObject", json!("not an object")),
    ];
    // Odd quantities: readable, decided by the policy.
    let quantities = [
        json!("1e400"),
        json!("18446744073709551616"),
        json!("-2"),
        json!("1.5"),
        json!("0.5"),
        json!(""),
        json!(" "),
        json!("2Ki"),
        json!("NaN"),
        json!(1e300),
        json!(-1),
        json!(18446744073709551615u64),
        json!(2.0),
    ]
    .map(|q| (gpu, q));
    for (prefix, expect, table) in [
        ("", Reject, wrong_types),
        ("array as struct: ", Answer, arrays_as_structs),
        ("", Answer, empties),
        ("limit quantity: ", Answer, quantities.into()),
    ] {
        for (pointer, value) in table {
            out.push(input(
                format!("{prefix}{pointer} = {value}"),
                payload(&with(&base, pointer, value), settings),
                expect,
            ));
        }
    }
    // Deep nesting: 10,000 levels in skipped places (unknown fields,
    // annotations, userInfo, oldObject) and in parsed ones.
    let deep = nested_arrays(10_000);
    let deep_objects = nested_objects(10_000);
    let shallow = nested_arrays(200);
    // A pod that lacks its GPU toleration: a policy in a mutate mode parses
    // the whole object as a Value to patch it.
    let untolerated = with(&base, "/object/spec/tolerations", json!([]));
    let (b, u) = (("", &base), ("untolerated GPU pod, ", &untolerated));
    let (d, o, c0) = (deep.as_str(), &deep_objects, "/object/spec/containers/0");
    let (resources, limits) = (
        &format!("{c0}/resources"),
        &format!("{c0}/resources/limits"),
    );
    // Readable where skipped or kept as a Value; rejected where a policy
    // reads a value and finds 10,000 nested arrays.
    for ((pod, request), expect, pointer, key, raw) in [
        (b, Answer, "/object/metadata/annotations", "deep", d),
        (b, Answer, "/object/metadata", "x-unknown", d),
        (b, Answer, "/object/spec", "x-unknown", o),
        (b, Answer, c0, "x-unknown", d),
        (b, Answer, "/userInfo", "extra", d),
        (b, Answer, "", "x-unknown", d),
        (b, Answer, "", "oldObject", d),
        (u, Answer, "/object/metadata/annotations", "deep", d),
        (u, Answer, "/object/spec", "x-unknown", o),
        (u, Answer, c0, "x-unknown", &shallow),
        (b, Reject, "/object/spec", "containers", d),
        (b, Reject, "/object/spec", "tolerations", d),
        (b, Reject, resources, "limits", d),
        (b, Reject, limits, "nvidia.com/gpu", d),
        (b, Reject, "/object/metadata", "labels", d),
        (b, Reject, "", "object", d),
        (b, Reject, "", "kind", d),
    ] {
        out.push(input(
            format!("{pod}{} bytes nested at {pointer}/{key}", raw.len()),
            splice_into(request, pointer, key, raw, settings),
            expect,
        ));
    }
    out.push(input(
        "10,000 nested arrays as the settings",
        format!(
            r#"{{"request": {}, "settings": {deep}}}"#,
            serde_json::to_string(&base).unwrap()
        )
        .into_bytes(),
        Reject,
    ));
    out.push(input(
        "10,000 nested arrays as the whole payload",
        deep.clone().into_bytes(),
        Reject,
    ));
    out.extend(dra_corpus(settings));
    // Files in tests/bad-input/: payloads (`*.payload`, sent as is) and
    // requests (`*.json` other than the base, sent with the settings).
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".payload") {
            out.push(input(format!("corpus {name}"), bytes, Answer));
        } else if name.ends_with(".json") && name != "gpu-pod-request.json" {
            let request: Value = serde_json::from_slice(&bytes).unwrap();
            out.push(input(
                format!("corpus {name}"),
                payload(&request, settings),
                Answer,
            ));
        }
    }
    out
}

/// A request file of the corpus folder.
fn corpus_request(name: &str) -> Value {
    let text = std::fs::read_to_string(corpus_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The DRA objects: NVIDIA's MIG demo ResourceClaimTemplate (and the same
/// spec as a ResourceClaim) and its MIG DeviceClass, with wrong types,
/// nulls, odd counts, hostile CEL strings (user input the policies read
/// with their own small reader) and huge request lists.
fn dra_corpus(settings: &Value) -> Vec<Input> {
    use Expect::{Answer, RejectIfSelected};
    let template = corpus_request("dra-claim-template-request.json");
    let mut claim = template.clone();
    claim["kind"]["kind"] = json!("ResourceClaim");
    claim["resource"]["resource"] = json!("resourceclaims");
    claim["object"]["kind"] = json!("ResourceClaim");
    claim["object"]["spec"] = template["object"]["spec"]["spec"].clone();
    let class = corpus_request("dra-deviceclass-request.json");
    let mut out = Vec::new();
    // (request, its resource, the pointer of its claim spec)
    for (base, resource, spec) in [
        (&template, "resourceclaimtemplates", "/object/spec/spec"),
        (&claim, "resourceclaims", "/object/spec"),
    ] {
        let request0 = format!("{spec}/devices/requests/0");
        let exactly = format!("{request0}/exactly");
        let cel = format!("{exactly}/selectors/0/cel");
        let expression = format!("{cel}/expression");
        let first_available = format!("{request0}/firstAvailable");
        let wrong_types = [
            (spec.to_owned(), json!("spec")),
            (format!("{spec}/devices"), json!("gpu")),
            (format!("{spec}/devices/requests"), json!({})),
            (request0.clone(), json!("mig")),
            (format!("{request0}/name"), json!(7)),
            (exactly.clone(), json!(7)),
            (
                format!("{exactly}/deviceClassName"),
                json!(["mig.nvidia.com"]),
            ),
            (format!("{exactly}/count"), json!("4")),
            (format!("{exactly}/count"), json!(-1)),
            (format!("{exactly}/count"), json!(1.5)),
            (format!("{exactly}/count"), json!(1e30)),
            (format!("{exactly}/allocationMode"), json!(5)),
            (format!("{exactly}/adminAccess"), json!("true")),
            (format!("{exactly}/selectors"), json!("profile")),
            (format!("{exactly}/selectors/0"), json!(0)),
            (cel.clone(), json!("profile == '1g.5gb'")),
            (expression.clone(), json!(7)),
            (expression.clone(), json!(["1g.5gb"])),
            (first_available.clone(), json!({"name": "a"})),
            (
                first_available.clone(),
                json!([{"name": "a", "deviceClassName": 1}]),
            ),
            ("/object/metadata/namespace".to_owned(), json!(7)),
        ];
        let empties = [
            (spec.to_owned(), json!(null)),
            (format!("{spec}/devices"), json!(null)),
            (format!("{spec}/devices/requests"), json!(null)),
            (format!("{spec}/devices/requests"), json!([])),
            (format!("{spec}/devices/requests"), json!([{}])),
            (exactly.clone(), json!(null)),
            (format!("{exactly}/deviceClassName"), json!(null)),
            (format!("{exactly}/count"), json!(null)),
            (format!("{exactly}/count"), json!(0)),
            (format!("{exactly}/count"), json!(u64::MAX)),
            (format!("{exactly}/allocationMode"), json!("All")),
            (format!("{exactly}/allocationMode"), json!("all")),
            (format!("{exactly}/selectors"), json!(null)),
            (format!("{exactly}/selectors"), json!([{}, {"cel": null}])),
            (cel.clone(), json!(null)),
            (expression.clone(), json!(null)),
            (first_available.clone(), json!(null)),
            (first_available.clone(), json!([])),
            (
                first_available.clone(),
                json!([{"name": "a", "deviceClassName": "mig.nvidia.com", "count": u64::MAX},
                       {"name": "b", "deviceClassName": "gpu.nvidia.com", "allocationMode": "All"}]),
            ),
            ("/object/metadata/namespace".to_owned(), json!(null)),
        ];
        // CEL is user input: the policies read a few comparison forms and
        // must take anything else, however broken, without a trap.
        let nested = format!(
            "{}device.attributes['gpu.nvidia.com'].profile == '1g.5gb'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let long_or =
            vec!["device.attributes['gpu.nvidia.com'].profile == '1g.5gb'"; 10_000].join(" || ");
        let many_in = format!(
            "device.attributes['gpu.nvidia.com'].profile in [{}]",
            vec!["'1g.5g'"; 10_000].join(", ")
        );
        let cel_strings = [
            json!(""),
            json!(" "),
            json!("device.attributes['gpu.nvidia.com'].profile == '1g.5gb"),
            json!("device.attributes['gpu.nvidia.com'].profile == "),
            json!("device.attributes['gpu.nvidia.com'].profile in ["),
            json!("device.attributes['gpu.nvidia.com'].profile in ['1g.5gb',"),
            json!("device.attributes['gpu.nvidia.com'].profile in '1g.5gb']"),
            json!("device.attributes['gpu.nvidia.com'.profile == '1g.5gb'"),
            json!("device.attributes[\"gpu.nvidia.com\"].profile == \"1g.5gb\""),
            json!("device.attributes['gpu.nvidia.com'].profile == '1g.5gb\u{0}'"),
            json!("device.attributes['gpu.nvidia.com'].profile == 'é1g.5gbü'"),
            json!("device.attributes['gpu.nvidia.com'].profile == '\\'"),
            json!("'1g.5gb' == device.attributes['gpu.nvidia.com'].profile"),
            json!("== '1g.5gb'"),
            json!("'".repeat(10_001)),
            json!("[".repeat(10_000)),
            json!("\u{1F600}".repeat(10_000)),
            json!(nested),
            json!(long_or),
            json!(many_in),
            json!(format!("'{}'", "x".repeat(1 << 20))),
        ];
        for (pointer, value) in wrong_types {
            out.push(input(
                format!("{resource}: {pointer} = {value}"),
                payload(&with(base, &pointer, value), settings),
                RejectIfSelected(resource),
            ));
        }
        for (pointer, value) in empties {
            out.push(input(
                format!("{resource}: {pointer} = {value}"),
                payload(&with(base, &pointer, value), settings),
                Answer,
            ));
        }
        for value in cel_strings {
            let shown: String = value.to_string().chars().take(80).collect();
            out.push(input(
                format!("{resource}: CEL {shown}"),
                payload(&with(base, &expression, value), settings),
                Answer,
            ));
        }
        // 10,000 requests, each with a selector: bounded, no trap.
        let request = base.pointer(&request0).cloned();
        let many: Vec<Value> = (0..10_000)
            .map(|i| {
                let mut r = request.clone().unwrap_or_default();
                r["name"] = json!(format!("r{i}"));
                r
            })
            .collect();
        out.push(input(
            format!("{resource}: 10,000 requests"),
            payload(
                &with(
                    base,
                    &format!("{spec}/devices/requests"),
                    Value::Array(many),
                ),
                settings,
            ),
            Answer,
        ));
    }
    let class_wrong_types = [
        ("/object/spec", json!("mig")),
        ("/object/spec/selectors", json!({})),
        ("/object/spec/selectors/0/cel", json!(1)),
        ("/object/spec/selectors/0/cel/expression", json!({})),
        ("/object/spec/extendedResourceName", json!(7)),
        (
            "/object/spec/extendedResourceName",
            json!(["nvidia.com/gpu"]),
        ),
    ];
    let class_empties = [
        ("/object/spec", json!(null)),
        ("/object/spec/selectors", json!(null)),
        ("/object/spec/selectors/0/cel/expression", json!("")),
        (
            "/object/spec/selectors/0/cel/expression",
            json!("(".repeat(10_000)),
        ),
        ("/object/spec/extendedResourceName", json!(null)),
        ("/object/spec/extendedResourceName", json!("")),
        (
            "/object/spec/extendedResourceName",
            json!("nvidia.com/mig-"),
        ),
        (
            "/object/spec/extendedResourceName",
            json!("nvidia.com/mig-1g.12gb.".repeat(1000)),
        ),
        (
            "/object/spec/extendedResourceName",
            json!("deviceclass.resource.kubernetes.io/x"),
        ),
    ];
    for (pointer, value) in class_wrong_types {
        out.push(input(
            format!("deviceclasses: {pointer} = {value}"),
            payload(&with(&class, pointer, value), settings),
            RejectIfSelected("deviceclasses"),
        ));
    }
    for (pointer, value) in class_empties {
        let shown: String = value.to_string().chars().take(80).collect();
        out.push(input(
            format!("deviceclasses: {pointer} = {shown}"),
            payload(&with(&class, pointer, value), settings),
            Answer,
        ));
    }
    out
}

/// Sends `input` to `policy`, whose metadata.yml rules select `selected`
/// (see [`selected_resources`]); an error (trap, guest error) or a broken
/// promise is returned as a failure line.
fn check(
    runner: &PolicyRunner,
    policy: &str,
    selected: &[String],
    input: &Input,
) -> Result<bool, String> {
    let response = runner
        .validate_raw(&input.bytes)
        .map_err(|e| format!("{policy}: {}: TRAP or guest error: {e:#}", input.label))?;
    let message = response.message.clone().unwrap_or_default();
    if !response.accepted && message.trim().is_empty() {
        return Err(format!(
            "{policy}: {}: rejected without a message",
            input.label
        ));
    }
    let must_reject = match input.expect {
        Expect::Reject => true,
        Expect::RejectIfSelected(resource) => selected.iter().any(|r| r == resource),
        Expect::Answer => false,
    };
    if must_reject && response.accepted {
        return Err(format!(
            "{policy}: {}: accepted, expected a rejection: {response:?}",
            input.label
        ));
    }
    Ok(response.accepted)
}

/// The resources `policy`'s metadata.yml rules select.
fn selected_resources(policy: &str) -> Vec<String> {
    let path = policy_dir(policy).join("metadata.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let metadata = artifacthub_gen::Metadata::parse(&text).unwrap();
    metadata
        .rules
        .into_iter()
        .flat_map(|rule| rule.resources)
        .collect()
}

/// The settings the corpus runs with: the defaults, and each option of
/// each enum setting other than its default (a mode can take another path
/// through the object: a mutate mode parses the whole object as a Value).
fn corpus_settings(policy: &str) -> Vec<Value> {
    let mut out = vec![json!({})];
    for q in questions(policy) {
        let (Some(var), Some(options)) = (q["variable"].as_str(), q["options"].as_array()) else {
            continue;
        };
        for option in options.iter().filter(|o| **o != q["default"]) {
            out.push(json!({ var: option }));
        }
    }
    out
}

/// What a test tried, and what failed, over every policy.
#[derive(Default)]
struct Tally {
    total: usize,
    failures: Vec<String>,
}

/// Runs `each` with a runner of each policy, all counting into one
/// [`Tally`]; prints `{title}: N {what} across P policies`, then fails
/// listing every failure.
fn check_every_policy(
    title: &str,
    what: &str,
    mut each: impl FnMut(&str, &PolicyRunner, &mut Tally),
) {
    let mut tally = Tally::default();
    let policies = policies();
    for &policy in &policies {
        each(policy, &runner(policy), &mut tally);
    }
    let Tally { total, failures } = tally;
    println!("{title}: {total} {what} across {} policies", policies.len());
    assert!(
        failures.is_empty(),
        "{} of {total} {what} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_bad_input_traps_a_policy() {
    check_every_policy("bad-input corpus", "bad inputs", |policy, runner, tally| {
        let selected = selected_resources(policy);
        for settings in corpus_settings(policy) {
            for input in corpus(&settings) {
                tally.total += 1;
                if let Err(e) = check(runner, policy, &selected, &input) {
                    tally.failures.push(format!("{e} (settings {settings})"));
                }
            }
        }
        // The instance still works after all of that.
        let r = runner.validate(&base_request(), &json!({})).unwrap();
        assert!(r.accepted || r.message.is_some(), "{policy}: {r:?}");
    });
}

#[test]
fn big_objects_get_the_same_answer_as_small_ones() {
    for policy in policies() {
        let runner = runner(policy);
        let small = runner.validate(&base_request(), &json!({})).unwrap();
        let big_payload = payload(&five_megabytes(), &json!({}));
        let start = Instant::now();
        let big = runner.validate_raw(&big_payload).unwrap();
        let took = start.elapsed();
        assert_eq!(
            big.accepted, small.accepted,
            "{policy}: {big:?} / {small:?}"
        );
        assert!(
            took < Duration::from_secs(10),
            "{policy}: 5 MB took {took:?}"
        );
        let many_payload = payload(&many_containers(5_000), &json!({}));
        let start = Instant::now();
        let many = runner.validate_raw(&many_payload).unwrap();
        let took = start.elapsed();
        assert!(
            many.accepted || many.message.as_deref().is_some_and(|m| !m.is_empty()),
            "{policy}: {many:?}"
        );
        assert!(
            took < Duration::from_secs(10),
            "{policy}: 5,000 containers took {took:?}"
        );
        println!(
            "{policy}: 5 MB object -> accepted={} ; 5,000 containers ({} bytes) -> accepted={} in {took:?}, message {} bytes",
            big.accepted,
            many_payload.len(),
            many.accepted,
            many.message.as_deref().map_or(0, str::len)
        );
    }
}

// ---------------------------------------------------------------------------
// Settings matrix

#[derive(Clone, Copy, Debug)]
enum Type {
    Str,
    Bool,
    Count,
    Strings,
    Objects,
}

impl Type {
    /// The type of a questions-ui.yml question.
    fn of(question: &Value) -> Type {
        match question["type"].as_str().unwrap_or_default() {
            "string" | "enum" => Type::Str,
            "boolean" => Type::Bool,
            "int" => Type::Count,
            "array[" => Type::Strings,
            "sequence[" => Type::Objects,
            other => panic!(
                "questions-ui type {other:?} of {}: add it to the settings matrix",
                question["variable"]
            ),
        }
    }
}

/// Values of the right type that are out of range for the setting of
/// `question`, whatever the setting: strings that are no label, name or
/// option (a 64-character one too, for a single string), an enum option in
/// the wrong case, a count below its `min`, and
/// for a list of objects its first default item with an enum field off its
/// options and with each required string field empty.
fn out_of_range(question: &Value) -> Vec<Value> {
    let odd_strings = ["", "has space", "a/b/c"];
    match Type::of(question) {
        Type::Str => {
            let mut values: Vec<Value> = odd_strings.iter().map(|s| json!(s)).collect();
            values.push(json!("x".repeat(64)));
            for option in question["options"].as_array().into_iter().flatten() {
                let option = option.as_str().unwrap_or_default();
                let mut chars = option.chars();
                let flipped: String = chars
                    .next()
                    .map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().chain(chars).collect()
                        } else {
                            c.to_uppercase().chain(chars).collect()
                        }
                    })
                    .unwrap_or_default();
                values.push(json!(flipped));
            }
            values
        }
        Type::Bool => vec![],
        Type::Count => question["min"]
            .as_i64()
            .map(|min| vec![json!(min - 1)])
            .unwrap_or_default(),
        Type::Strings => odd_strings.iter().map(|s| json!([s])).collect(),
        Type::Objects => {
            let subs = question["sequence_questions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let base = question["default"][0].clone();
            let base = if base.is_object() {
                base
            } else {
                Value::Object(
                    subs.iter()
                        .filter_map(|q| {
                            Some((
                                q["variable"].as_str()?.to_owned(),
                                q.get("default")?.clone(),
                            ))
                        })
                        .collect(),
                )
            };
            let mut values = Vec::new();
            for sub in &subs {
                let var = sub["variable"].as_str().unwrap_or_default();
                if sub["options"].is_array() {
                    values.push(json!([with(&base, &format!("/{var}"), json!("Sometimes"))]));
                }
                if sub["required"] == json!(true) && sub["type"] == "string" {
                    values.push(json!([with(&base, &format!("/{var}"), json!(""))]));
                }
            }
            values
        }
    }
}

/// Every settings key of `policy` (its Settings struct's, through the
/// registry), the type its questions-ui.yml question gives it, and
/// out-of-range values of that type.
fn keys(policy: &str) -> Vec<(&'static str, Type, Vec<Value>)> {
    let info = policy_registry::get(policy).unwrap();
    let questions = questions(policy);
    (info.settings_keys)()
        .iter()
        .map(|&key| {
            let question = questions
                .iter()
                .find(|q| q["variable"] == key)
                .unwrap_or_else(|| panic!("{policy}: questions-ui.yml has no question for {key}"));
            (key, Type::of(question), out_of_range(question))
        })
        .collect()
}

/// The policy's `test_data/invalid-settings/*.json`, labelled with the keys
/// the message must name: `unknown key` for a file with a key the Settings
/// struct lacks, else its keys (any one of them).
fn invalid_settings_files(policy: &str) -> Vec<(String, Value)> {
    let info = policy_registry::get(policy).unwrap();
    let known = (info.settings_keys)();
    let dir = policy_dir(policy).join("test_data/invalid-settings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let settings: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let keys: Vec<&str> = settings
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let label = if keys.iter().any(|k| !known.contains(k)) {
                "unknown key".to_owned()
            } else {
                keys.join(" or ")
            };
            (label, settings)
        })
        .collect()
}

/// Values of the wrong type for `ty`.
fn wrong_types(ty: Type) -> Vec<Value> {
    let mut common = vec![json!({}), json!({"a": 1}), json!([[1]])];
    common.extend(match ty {
        Type::Str => vec![json!(true), json!(1), json!(1.5), json!([]), json!(["a"])],
        Type::Bool => vec![json!("true"), json!(1), json!(0), json!([]), json!("yes")],
        Type::Count => vec![
            json!("2"),
            json!(-1),
            json!(1.5),
            json!(4_294_967_296u64),
            json!(true),
            json!([]),
        ],
        Type::Strings => vec![json!("a"), json!(true), json!(1), json!([1]), json!([null]), json!([["a"]])],
        Type::Objects => vec![
            json!("nvidia.com/gpu"),
            json!(true),
            json!([1]),
            json!(["nvidia.com/gpu"]),
            json!([{"key": 1, "effect": "NoSchedule"}]),
            json!([{"resourcePattern": "nvidia.com/gpu", "key": "k", "effect": "NoSchedule", "typo": 1}]),
        ],
    });
    common
}

#[test]
fn every_bad_setting_is_named() {
    check_every_policy(
        "settings matrix",
        "bad settings",
        |policy, runner, tally| {
            let mut matrix: Vec<(String, Value)> = vec![
                ("unknown key".into(), json!({"maxGpu": 1})),
                ("unknown key".into(), json!({"unknownKey": true})),
            ];
            for (key, ty, out_of_range) in keys(policy) {
                for value in wrong_types(ty).into_iter().chain(out_of_range) {
                    matrix.push((key.to_owned(), json!({ key: value })));
                }
            }
            matrix.extend(invalid_settings_files(policy));
            for (key, settings) in matrix {
                tally.total += 1;
                let label = format!("{policy}: settings {settings}");
                let answer = match runner.validate_settings(&settings) {
                    Ok(a) => a,
                    Err(e) => {
                        tally
                            .failures
                            .push(format!("{label}: TRAP or guest error: {e:#}"));
                        continue;
                    }
                };
                let message = answer.message.clone().unwrap_or_default();
                let named = key == "unknown key" || key.split(" or ").any(|k| message.contains(k));
                if answer.valid || message.is_empty() || !named {
                    tally.failures.push(format!(
                        "{label}: expected valid:false naming {key}, got {answer:?}"
                    ));
                    continue;
                }
                // validate refuses the same settings with a 400 and the same words.
                match runner.validate(&base_request(), &settings) {
                    Ok(r)
                        if !r.accepted
                            && r.code == Some(400)
                            && r.message.as_deref().is_some_and(|m| m.contains(&message)) => {}
                    Ok(r) => tally
                        .failures
                        .push(format!("{label}: validate answered {r:?}")),
                    Err(e) => tally
                        .failures
                        .push(format!("{label}: validate TRAP or guest error: {e:#}")),
                }
            }
            // Raw settings payloads.
            for raw in [
                b"".to_vec(),
                b"{".to_vec(),
                b"[]".to_vec(),
                b"\"x\"".to_vec(),
                vec![0xff, 0xfe],
                b"{\"a\": \xff}".to_vec(),
                nested_arrays(10_000).into_bytes(),
                format!(r#"{{"gpuResources": {}}}"#, nested_arrays(10_000)).into_bytes(),
                format!(r#"{{"x": {}}}"#, nested_objects(10_000)).into_bytes(),
            ] {
                tally.total += 1;
                match runner.validate_settings_raw(&raw) {
                    // The empty payload means "no settings": valid.
                    Ok(a) if raw.is_empty() => assert!(a.valid, "{policy}: {a:?}"),
                    Ok(a) if !a.valid && a.message.as_deref().is_some_and(|m| !m.is_empty()) => {}
                    Ok(a) => tally.failures.push(format!(
                        "{policy}: raw settings {:?}: {a:?}",
                        String::from_utf8_lossy(&raw[..raw.len().min(40)])
                    )),
                    Err(e) => tally
                        .failures
                        .push(format!("{policy}: raw settings TRAP: {e:#}")),
                }
            }
        },
    );
}

// ---------------------------------------------------------------------------
// Resource bounds: peak memory, measured in a child process per policy.

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Run in a child process (see `peak_memory_is_bounded`): one policy, one
/// big input, the process's peak RSS (`VmHWM`) before and after the call.
#[test]
#[ignore = "run by peak_memory_is_bounded in a child process"]
fn memory_probe() {
    let (Ok(policy), Ok(which)) = (
        std::env::var("BAD_INPUT_PROBE_POLICY"),
        std::env::var("BAD_INPUT_PROBE_INPUT"),
    ) else {
        return;
    };
    let runner = runner(&policy);
    runner.validate(&base_request(), &json!({})).unwrap();
    let bytes = match which.as_str() {
        "containers" => payload(&many_containers(5_000), &json!({})),
        "5mb" => payload(&five_megabytes(), &json!({})),
        _ => payload(&base_request(), &json!({})),
    };
    // Reset the peak to the current RSS (Linux: clear_refs 5), so the peak
    // measured is the call's, not the host's own building of the payload.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kb("VmHWM:");
    let start = Instant::now();
    let response = runner.validate_raw(&bytes).unwrap();
    let took = start.elapsed();
    let after = status_kb("VmHWM:");
    let rss_after = status_kb("VmRSS:");
    println!(
        "PROBE policy={policy} input={which} payload_bytes={} ms={} peak_reset={reset} hwm_before_kb={before} hwm_after_kb={after} rss_after_kb={rss_after} accepted={}",
        bytes.len(),
        took.as_millis(),
        response.accepted
    );
}

#[test]
fn peak_memory_is_bounded() {
    let exe = std::env::current_exe().unwrap();
    for policy in policies() {
        for which in ["4kb", "containers", "5mb"] {
            let out = std::process::Command::new(&exe)
                .args([
                    "memory_probe",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("BAD_INPUT_PROBE_POLICY", policy)
                .env("BAD_INPUT_PROBE_INPUT", which)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let line = stdout
                .lines()
                .find_map(|l| l.find("PROBE ").and_then(|i| l.get(i..)))
                .unwrap_or_else(|| {
                    panic!(
                        "{policy} {which}: no probe line: {stdout}\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            let field = |name: &str| -> u64 {
                line.split(' ')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let growth_kb = field("hwm_after_kb").saturating_sub(field("hwm_before_kb"));
            println!("{line} peak_growth_kb={growth_kb}");
            // Generous: the payload is copied into the guest and parsed
            // there; 256 MB would mean something unbounded.
            assert!(
                growth_kb < 256 * 1024,
                "{policy} {which}: peak grew by {growth_kb} kB"
            );
        }
    }
}
