//! RFC 6902 JSON patch between an object and its mutated version, to show
//! what a mutating policy would change (as policy-server sends it).

use serde_json::{Value, json};

/// Escapes one JSON-pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

pub fn diff(from: &Value, to: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    walk(from, to, "", &mut ops);
    ops
}

fn walk(from: &Value, to: &Value, path: &str, ops: &mut Vec<Value>) {
    if from == to {
        return;
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                let child = format!("{path}/{}", escape(key));
                match b.get(key) {
                    Some(new) => walk(old, new, &child, ops),
                    None => ops.push(json!({"op": "remove", "path": child})),
                }
            }
            for (key, new) in b {
                if !a.contains_key(key) {
                    let child = format!("{path}/{}", escape(key));
                    ops.push(json!({"op": "add", "path": child, "value": new}));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (index, (old, new)) in a.iter().zip(b).enumerate() {
                walk(old, new, &format!("{path}/{index}"), ops);
            }
            // Appended elements use `-`; removed ones go from the end so the
            // indices stay valid while the patch is applied.
            for new in b.iter().skip(a.len()) {
                ops.push(json!({"op": "add", "path": format!("{path}/-"), "value": new}));
            }
            for index in (b.len()..a.len()).rev() {
                ops.push(json!({"op": "remove", "path": format!("{path}/{index}")}));
            }
        }
        _ => ops.push(json!({"op": "replace", "path": path, "value": to})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_replaces_removes() {
        let from = json!({"metadata": {"labels": {"a": "1", "x/y": "2"}}, "spec": {"tolerations": [{"key": "k"}], "n": 1}});
        let to = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"tolerations": [{"key": "k"}, {"key": "nvidia.com/gpu", "operator": "Exists"}], "n": 2}});
        let ops = diff(&from, &to);
        assert_eq!(
            ops,
            vec![
                json!({"op": "remove", "path": "/metadata/labels/x~1y"}),
                json!({"op": "replace", "path": "/spec/n", "value": 2}),
                json!({"op": "add", "path": "/spec/tolerations/-", "value": {"key": "nvidia.com/gpu", "operator": "Exists"}}),
            ]
        );
        assert!(diff(&from, &from).is_empty());
        assert_eq!(
            diff(&json!([1, 2, 3]), &json!([1])),
            vec![
                json!({"op": "remove", "path": "/2"}),
                json!({"op": "remove", "path": "/1"})
            ]
        );
        assert_eq!(
            diff(&json!({"spec": {}}), &json!({"spec": {"tolerations": []}})),
            vec![json!({"op": "add", "path": "/spec/tolerations", "value": []})]
        );
    }
}
