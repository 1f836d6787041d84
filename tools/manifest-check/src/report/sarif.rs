//! `--output sarif`: SARIF 2.1.0, the format GitHub code scanning and most
//! CI dashboards read. One rule per policy (a Kubewarden policy is one
//! best practice), one result per violation at the line and column of the
//! field it names, admission warnings and monitor-mode rejections as
//! warnings, mutations as notes.

use serde_json::{Value, json};

use crate::evaluate::{CheckedObject, Finding, Outcome, Verdict};

/// Where rule help points: the policy's README in the repository.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The SARIF base id for paths relative to where the check ran.
const SRCROOT: &str = "%SRCROOT%";

/// `text` as the path of a URI reference: unreserved characters and `/`
/// as they are, everything else percent-encoded.
fn uri_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The artifact location of an object's file: relative paths against
/// `%SRCROOT%` (the folder the check ran in), absolute ones as `file://`.
fn artifact(object: &CheckedObject) -> Value {
    let file = &object.input.source.file;
    if file.as_os_str() == "-" {
        return json!({"uri": "stdin"});
    }
    let text = file.display().to_string().replace('\\', "/");
    let relative = text.strip_prefix("./").unwrap_or(&text);
    if file.is_absolute() {
        json!({"uri": format!("file://{}", uri_path(relative))})
    } else {
        json!({"uri": uri_path(relative), "uriBaseId": SRCROOT})
    }
}

fn location(object: &CheckedObject, line: usize, column: usize) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": artifact(object),
            "region": {"startLine": line, "startColumn": column},
        },
        "logicalLocations": [{
            "name": object.input.display_name(),
            "fullyQualifiedName": object.label(),
            "kind": "resource",
        }],
    })
}

fn rule(outcome: &Outcome, policy: &str) -> Value {
    let description = outcome
        .descriptions
        .get(policy)
        .cloned()
        .unwrap_or_else(|| format!("Kubewarden policy {policy}"));
    let project = policy_registry::names().any(|p| p == policy);
    let help = format!(
        "{description} Each result names the offending field, what is wrong with it and how to fix it."
    );
    let mut rule = json!({
        "id": policy,
        "name": policy,
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": help},
        "defaultConfiguration": {"level": "error"},
    });
    if project && let Some(map) = rule.as_object_mut() {
        map.insert(
            "helpUri".to_owned(),
            json!(format!("{REPOSITORY}/tree/main/policies/{policy}#readme")),
        );
    }
    rule
}

/// The SARIF results of one finding.
fn results(f: &Finding, object: &CheckedObject, rule_index: usize) -> Vec<Value> {
    let result = |level: &str, text: String, line: usize, column: usize| {
        let text = match &f.note {
            Some(note) => format!("{text}\nNote: {note}"),
            None => text,
        };
        json!({
            "ruleId": f.policy,
            "ruleIndex": rule_index,
            "level": level,
            "message": {"text": text},
            "locations": [location(object, line, column)],
            "properties": {"verdict": f.verdict, "object": object.label()},
        })
    };
    let start = object.input.start();
    let mut out = Vec::new();
    match f.verdict {
        Verdict::Reject | Verdict::MonitorReject => {
            let (level, prefix) = if f.verdict == Verdict::Reject {
                ("error", "")
            } else {
                ("warning", "monitor mode, would reject: ")
            };
            for v in &f.violations {
                out.push(result(
                    level,
                    format!("{prefix}{}", v.text),
                    v.line,
                    v.column,
                ));
            }
            if f.violations.is_empty() {
                let message = f.message.clone().unwrap_or_default();
                out.push(result(
                    level,
                    format!("{prefix}{message}"),
                    start.line,
                    start.column,
                ));
            }
        }
        Verdict::Mutate => {
            let operations = f.patch.as_ref().map_or(0, Vec::len);
            out.push(result(
                "note",
                format!("the policy mutates this object ({operations} JSON patch operation(s)): the cluster admits it changed"),
                start.line,
                start.column,
            ));
        }
        Verdict::Accept | Verdict::Skip => {}
    }
    for warning in &f.warnings {
        out.push(result(
            "warning",
            format!("admission warning: {warning}"),
            start.line,
            start.column,
        ));
    }
    out
}

pub(super) fn render(outcome: &Outcome) -> String {
    let rules: Vec<Value> = outcome.policies.iter().map(|p| rule(outcome, p)).collect();
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .filter_map(|f| {
            let object = outcome.objects.get(f.object)?;
            let index = outcome.policies.iter().position(|p| p == &f.policy)?;
            Some(results(f, object, index))
        })
        .flatten()
        .collect();
    let mut run = json!({
        "tool": {"driver": {
            "name": "gpu-policy-check",
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": REPOSITORY,
            "rules": rules,
        }},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": true}],
    });
    // Relative artifact paths resolve against the folder the check ran in.
    if let Ok(cwd) = std::env::current_dir()
        && let Some(map) = run.as_object_mut()
    {
        let dir = cwd.display().to_string().replace('\\', "/");
        let dir = dir.trim_end_matches('/');
        map.insert(
            "originalUriBaseIds".to_owned(),
            json!({SRCROOT: {"uri": format!("file://{}/", uri_path(dir))}}),
        );
    }
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(
            uri_path("examples/a b/x#1.yaml"),
            "examples/a%20b/x%231.yaml"
        );
        assert_eq!(uri_path("é"), "%C3%A9");
    }
}
