//! Runs `test_data/` natively: every case of `cases.yaml` through the same
//! entry point the wasm module exports, and every settings file in
//! `invalid-settings/` and `valid-settings/` through `validate_settings`.
//! The wasm harness in `tests/` runs the same cases on the built module.

// Test code: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use gpu_policy_core::entry::{check_settings, evaluate};
use gpu_toleration_required::settings::Settings;
use serde_json::{Value, json};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn items(v: &serde_yaml::Value) -> Vec<String> {
    match v {
        serde_yaml::Value::String(s) => vec![s.clone()],
        serde_yaml::Value::Sequence(list) => list
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("messageContains: {other:?}"),
    }
}

#[test]
fn cases_yaml() {
    let text = std::fs::read_to_string(data().join("cases.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let cases = doc["cases"].as_sequence().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let request = read_json(&data().join(case["request"].as_str().unwrap()));
        let settings: Value = match (case.get("settings"), case.get("settingsFile")) {
            (Some(s), None) => serde_json::to_value(s).unwrap(),
            (None, Some(f)) => read_json(&data().join(f.as_str().unwrap())),
            (None, None) => json!({}),
            _ => panic!("{name}: both settings and settingsFile"),
        };
        let payload = json!({"request": request, "settings": settings}).to_string();
        let r = evaluate::<Settings, _>(payload.as_bytes(), gpu_toleration_required::evaluate);
        let expect = &case["expect"];
        let message = r.message.clone().unwrap_or_default();
        let mut problems = Vec::new();
        if r.accepted != expect["accepted"].as_bool().unwrap() {
            problems.push(format!("accepted = {}", r.accepted));
        }
        if let Some(needles) = expect.get("messageContains") {
            for needle in items(needles) {
                if !message.contains(&needle) {
                    problems.push(format!("message lacks {needle:?}"));
                }
            }
        }
        if let Some(mutated) = expect.get("mutated").and_then(serde_yaml::Value::as_bool)
            && mutated != r.mutated_object.is_some()
        {
            problems.push(format!("mutated = {}", r.mutated_object.is_some()));
        }
        if let Some(patched) = expect
            .get("patched")
            .and_then(serde_yaml::Value::as_mapping)
        {
            for (pointer, value) in patched {
                let pointer = pointer.as_str().unwrap();
                let want = serde_json::to_value(value).unwrap();
                let got = r.mutated_object.as_ref().and_then(|o| o.pointer(pointer));
                if got != Some(&want) {
                    problems.push(format!("{pointer} = {got:?}, want {want}"));
                }
            }
        }
        if let Some(code) = expect.get("code").and_then(serde_yaml::Value::as_u64)
            && r.code.map(u64::from) != Some(code)
        {
            problems.push(format!("code = {:?}", r.code));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {} (message: {message})",
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn settings_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir} is empty");
    files
}

#[test]
fn invalid_settings_are_refused_with_a_message() {
    for path in settings_files("invalid-settings") {
        let r = check_settings::<Settings>(&std::fs::read(&path).unwrap());
        assert!(!r.valid, "{} was accepted", path.display());
        assert!(
            !r.message.unwrap_or_default().is_empty(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn valid_settings_are_accepted() {
    for path in settings_files("valid-settings")
        .into_iter()
        .chain(settings_files("settings"))
    {
        let r = check_settings::<Settings>(&std::fs::read(&path).unwrap());
        assert!(r.valid, "{}: {:?}", path.display(), r.message);
    }
}

/// The settings in the example ClusterAdmissionPolicies are valid, and each
/// example's `mutating` matches its mode.
#[test]
fn example_policies_have_valid_settings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let spec = &doc["spec"];
        let settings = serde_json::to_vec(&spec["settings"]).unwrap();
        let r = check_settings::<Settings>(&settings);
        assert!(r.valid, "{}: {:?}", path.display(), r.message);
        let mutate = spec["settings"]["mode"].as_str() == Some("mutate");
        assert_eq!(
            spec["mutating"].as_bool(),
            Some(mutate),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert_eq!(seen, 2);
}
