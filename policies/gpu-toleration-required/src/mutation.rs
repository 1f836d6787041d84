//! The `mode: mutate` edit: append tolerations to the pod spec of the raw
//! object, leaving every other field (including fields this policy and
//! k8s-openapi do not know) exactly as submitted.

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::pod::Toleration;
use serde_json::{Map, Value};

/// Parses the raw object and appends `tolerations` to the pod spec's
/// `tolerations` (created when absent or `null`). The error says what could
/// not be edited; it never panics.
pub fn add_tolerations(
    object_json: &str,
    kind: WorkloadKind,
    tolerations: &[Toleration],
) -> Result<Value, String> {
    let mut object: Value = serde_json::from_str(object_json)
        .map_err(|e| format!("the object cannot be read for mutation: {e}"))?;
    let pointer = kind.pod_spec_pointer();
    let spec = object
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("the object has no pod spec at {pointer} to add tolerations to"))?;
    let list = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else {
        return Err(format!("{pointer}/tolerations is not a list"));
    };
    list.extend(tolerations.iter().map(toleration_json));
    Ok(object)
}

/// A toleration as JSON, without unset fields, in the order kubectl shows.
fn toleration_json(t: &Toleration) -> Value {
    let mut m = Map::new();
    for (name, value) in [
        ("key", &t.key),
        ("operator", &t.operator),
        ("value", &t.value),
        ("effect", &t.effect),
    ] {
        if !value.is_empty() {
            m.insert(name.to_owned(), Value::String(value.clone()));
        }
    }
    if let Some(seconds) = t.toleration_seconds {
        m.insert("tolerationSeconds".to_owned(), Value::from(seconds));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpu_policy_core::Taint;
    use serde_json::json;

    fn nvidia() -> Vec<Toleration> {
        vec![Taint::new("nvidia.com/gpu", "NoSchedule").toleration()]
    }

    #[test]
    fn creates_the_list_when_absent_or_null() {
        for spec in [
            json!({"containers": []}),
            json!({"containers": [], "tolerations": null}),
        ] {
            let input = json!({"kind": "Pod", "spec": spec});
            let out = add_tolerations(&input.to_string(), WorkloadKind::Pod, &nvidia()).unwrap();
            assert_eq!(
                out["spec"]["tolerations"],
                json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
            );
            assert_eq!(out["spec"]["containers"], json!([]));
        }
    }

    #[test]
    fn appends_after_existing_tolerations_at_each_kinds_path() {
        let existing = json!([{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]);
        let pod_spec = json!({"tolerations": existing, "someFutureField": {"x": [1, 2]}});
        for (kind, input) in [
            (WorkloadKind::Pod, json!({"spec": pod_spec})),
            (
                WorkloadKind::Deployment,
                json!({"spec": {"template": {"spec": pod_spec}}}),
            ),
            (
                WorkloadKind::CronJob,
                json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}),
            ),
        ] {
            let tolerations = [Taint::with_value("sku", "gpu", "NoSchedule").toleration()];
            let out = add_tolerations(&input.to_string(), kind, &tolerations).unwrap();
            let mut expected = input.clone();
            expected
                .pointer_mut(&format!("{}/tolerations", kind.pod_spec_pointer()))
                .unwrap()
                .as_array_mut()
                .unwrap()
                .push(json!({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}));
            assert_eq!(out, expected, "{kind}");
        }
    }

    #[test]
    fn unusable_objects_are_errors_not_panics() {
        for (json, kind) in [
            ("{", WorkloadKind::Pod),
            ("{}", WorkloadKind::Pod),
            (r#"{"spec": []}"#, WorkloadKind::Pod),
            (r#"{"spec": {"tolerations": {}}}"#, WorkloadKind::Pod),
            (r#"{"spec": {"template": null}}"#, WorkloadKind::Job),
        ] {
            assert!(add_tolerations(json, kind, &nvidia()).is_err(), "{json}");
        }
    }
}
