//! Runs test_data/cases.yaml natively (the same payloads the wasm harness
//! sends), so the cases are checked by `cargo test -p mig-resource-naming`
//! even where the wasm harness is not built.

use std::path::Path;

use gpu_policy_core::entry::{check_settings, evaluate};
use mig_resource_naming::settings::Settings;
use serde_json::{Value, json};

#[test]
fn cases_yaml_passes_natively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("cases.yaml")).unwrap()).unwrap();
    let cases = doc["cases"].as_sequence().unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let request: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(case["request"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let settings: Value = match case.get("settings") {
            Some(s) => serde_json::to_value(s).unwrap(),
            None => json!({}),
        };
        let payload = json!({"request": request, "settings": settings}).to_string();
        let response = evaluate::<Settings, _>(payload.as_bytes(), mig_resource_naming::evaluate);
        let expect = &case["expect"];
        let message = response.message.clone().unwrap_or_default();
        if expect["accepted"].as_bool().unwrap() != response.accepted {
            failures.push(format!(
                "{name}: accepted={} ({message})",
                response.accepted
            ));
        }
        if let Some(code) = expect.get("code")
            && response.code.map(u64::from) != code.as_u64()
        {
            failures.push(format!("{name}: code {:?}", response.code));
        }
        let needles: Vec<String> = match expect.get("messageContains") {
            Some(serde_yaml::Value::String(s)) => vec![s.clone()],
            Some(serde_yaml::Value::Sequence(v)) => {
                v.iter().map(|s| s.as_str().unwrap().to_owned()).collect()
            }
            _ => Vec::new(),
        };
        for needle in needles {
            if !message.contains(&needle) {
                failures.push(format!("{name}: message lacks {needle:?}: {message}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn settings_folders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    for (folder, want) in [("valid-settings", true), ("invalid-settings", false)] {
        for entry in std::fs::read_dir(dir.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let r = check_settings::<Settings>(&std::fs::read(&path).unwrap());
            assert_eq!(r.valid, want, "{}: {:?}", path.display(), r.message);
        }
    }
}
