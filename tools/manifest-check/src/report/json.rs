//! `--output json`: one document, stable keys, for scripts and dashboards.

use serde_json::{Value, json};

use crate::evaluate::{CheckedObject, Outcome, Verdict};

fn object_json(object: &CheckedObject) -> Value {
    let input = &object.input;
    json!({
        "apiVersion": input.api_version(),
        "kind": input.kind(),
        "namespace": object.namespace,
        "name": input.display_name(),
        "file": input.source.file.display().to_string(),
        "document": input.source.document,
        "item": input.source.item,
        "source": input.source.to_string(),
        "line": input.start().line,
    })
}

pub(super) fn render(outcome: &Outcome) -> String {
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let mut value = serde_json::to_value(f).unwrap_or(Value::Null);
            if let (Some(map), Some(object)) =
                (value.as_object_mut(), outcome.objects.get(f.object))
            {
                map.insert("object".to_owned(), object_json(object));
            }
            value
        })
        .collect();
    let not_checked: Vec<Value> = outcome
        .not_checked
        .iter()
        .filter_map(|i| outcome.objects.get(*i))
        .map(|o| {
            let mut v = object_json(o);
            if let Some(map) = v.as_object_mut() {
                map.insert("unknownKind".to_owned(), json!(o.unknown_kind));
            }
            v
        })
        .collect();
    let document = json!({
        "passed": !outcome.has_rejections(),
        "summary": {
            "objects": outcome.objects.len(),
            "notChecked": outcome.not_checked.len(),
            "accept": outcome.count(Verdict::Accept),
            "mutate": outcome.count(Verdict::Mutate),
            "reject": outcome.count(Verdict::Reject),
            "monitorReject": outcome.count(Verdict::MonitorReject),
            "skip": outcome.count(Verdict::Skip),
        },
        "policies": outcome.policies,
        "results": results,
        "notChecked": not_checked,
        "skippedPolicies": outcome.skipped_policies,
        "notes": outcome.notes,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    )
}
