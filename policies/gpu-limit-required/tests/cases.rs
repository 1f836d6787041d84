//! Runs `test_data/cases.yaml` natively through the same entry point the
//! wasm module exports, so the cases are checked by `cargo test` too (the
//! wasm-level run is the tests/ crate's job).

use std::path::{Path, PathBuf};

use gpu_limit_required::evaluate;
use gpu_limit_required::settings::Settings;
use gpu_policy_core::entry;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    request: PathBuf,
    settings: Option<Value>,
    settings_file: Option<PathBuf>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expect {
    accepted: bool,
    message_contains: Option<OneOrMany>,
    code: Option<u16>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn test_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data")
}

#[test]
fn cases_yaml_passes_natively() {
    let dir = test_data();
    let text = std::fs::read_to_string(dir.join("cases.yaml")).unwrap();
    let file: CaseFile = serde_yaml::from_str(&text).unwrap();
    assert!(file.cases.len() >= 20, "only {} cases", file.cases.len());
    let mut names = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for case in &file.cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate name {}",
            case.name
        );
        let request: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&case.request)).unwrap())
                .unwrap();
        let settings = match (&case.settings, &case.settings_file) {
            (Some(s), None) => s.clone(),
            (None, Some(f)) => {
                serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
            }
            (None, None) => json!({}),
            _ => panic!("{}: both settings and settingsFile", case.name),
        };
        let payload =
            serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
        let r = entry::evaluate::<Settings, _>(&payload, evaluate);
        let message = r.message.clone().unwrap_or_default();
        let mut problems = Vec::new();
        if r.accepted != case.expect.accepted {
            problems.push(format!("accepted = {}", r.accepted));
        }
        if let Some(code) = case.expect.code
            && r.code != Some(code)
        {
            problems.push(format!("code = {:?}", r.code));
        }
        let needles = match &case.expect.message_contains {
            None => vec![],
            Some(OneOrMany::One(s)) => vec![s.clone()],
            Some(OneOrMany::Many(v)) => v.clone(),
        };
        for needle in needles {
            if !message.contains(&needle) {
                problems.push(format!("message lacks {needle:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  message: {message}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_request_file_is_used_and_every_kind_is_covered() {
    let dir = test_data();
    let text = std::fs::read_to_string(dir.join("cases.yaml")).unwrap();
    let file: CaseFile = serde_yaml::from_str(&text).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir.join("requests")).unwrap() {
        let path = entry.unwrap().path();
        let relative = Path::new("requests").join(path.file_name().unwrap());
        assert!(
            file.cases.iter().any(|c| c.request == relative),
            "{} is not used by any case",
            relative.display()
        );
        let request: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        kinds.insert(request["kind"]["kind"].as_str().unwrap().to_owned());
    }
    for kind in [
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
    ] {
        assert!(kinds.contains(kind), "no request of kind {kind}");
    }
}
