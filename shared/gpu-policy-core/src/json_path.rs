//! Which field of a JSON text a parse error is in, found from the error's
//! position.
//!
//! serde_path_to_error would track the path during the parse, but it is a
//! second deserializer type: every derived deserializer of the pod and DRA
//! structs is compiled once more for it, over a quarter of each `.wasm`. A
//! failed parse is rare, so it pays instead: the text is scanned once more,
//! up to the error, keeping the stack of keys and indexes.

/// The path (`spec.containers[0].name`; empty for the root) of the field
/// `error` is in, `error` being what parsing `json` with serde_json gave.
pub fn error_path(json: &str, error: &serde_json::Error) -> String {
    path_at(json, offset_of(json, error.line(), error.column()))
}

/// The path (`spec.containers[0].name`; empty for the root) of the value at
/// byte `offset` of `json`: the key or element whose value the offset is in
/// or right after. `json` is valid JSON up to `offset` (the envelope was
/// parsed before); on anything else the path stops where the text does.
fn path_at(json: &str, offset: usize) -> String {
    enum Frame<'a> {
        /// An object and its current key (set from the key to the next `,`).
        Object(Option<&'a str>),
        /// An array and the index of its current element.
        Array(usize),
    }
    let mut frames: Vec<Frame> = Vec::new();
    let bytes = json.as_bytes();
    let end = offset.min(bytes.len());
    let mut i = 0;
    // In an object, the next string is a key until its `:`.
    let mut expect_key = false;
    while i < end {
        let Some(&byte) = bytes.get(i) else { break };
        match byte {
            b'"' => {
                let close = string_end(bytes, i + 1);
                if expect_key {
                    if let Some(Frame::Object(key)) = frames.last_mut() {
                        // An unterminated key names nothing.
                        *key = json.get(i + 1..close).filter(|_| close < bytes.len());
                    }
                    expect_key = false;
                }
                i = close + 1;
                continue;
            }
            b'{' => {
                frames.push(Frame::Object(None));
                expect_key = true;
            }
            b'[' => frames.push(Frame::Array(0)),
            b'}' | b']' => {
                frames.pop();
                expect_key = false;
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object(key)) => {
                    *key = None;
                    expect_key = true;
                }
                Some(Frame::Array(index)) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &frames {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&unescape(key));
            }
            Frame::Object(None) => {}
            Frame::Array(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// The byte offset of the error `serde_json` reports at `line` (1-based)
/// and `column` (bytes into the line) of `json`.
fn offset_of(json: &str, line: usize, column: usize) -> usize {
    let line_start: usize = json
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start + column
}

/// The index of the quote that closes the string whose text starts at
/// `start` (the end of the text when it is not closed).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A key as its text says it, escapes decoded (left as written when they
/// do not decode).
fn unescape(key: &str) -> String {
    if key.contains('\\') {
        serde_json::from_str(&format!("\"{key}\"")).unwrap_or_else(|_| key.to_owned())
    } else {
        key.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The path at the position serde_json reports for `T` parsed from
    /// `json`.
    fn failed_parse_path<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        let e = serde_json::from_str::<T>(json).unwrap_err();
        super::error_path(json, &e)
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Pod {
        spec: Spec,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Spec {
        #[serde(default)]
        containers: Vec<Container>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Container {
        name: String,
        #[serde(default)]
        args: Vec<String>,
    }

    #[test]
    fn names_the_field_of_a_wrong_scalar_map_or_list() {
        assert_eq!(
            failed_parse_path::<Pod>(r#"{"spec": {"containers": 5}}"#),
            "spec.containers"
        );
        assert_eq!(
            failed_parse_path::<Pod>(r#"{"spec": {"containers": {"a": 1}}}"#),
            "spec.containers"
        );
        assert_eq!(
            failed_parse_path::<Pod>(r#"{"spec": {"containers": [{"name": "a"}, {"name": 7}]}}"#),
            "spec.containers[1].name"
        );
        assert_eq!(
            failed_parse_path::<Pod>(
                r#"{"spec": {"containers": [{"name": "a", "args": ["x", {}]}]}}"#
            ),
            "spec.containers[0].args[1]"
        );
        assert_eq!(
            failed_parse_path::<Pod>(r#"{"spec": {"containers": [7]}}"#),
            "spec.containers[0]"
        );
    }

    #[test]
    fn skips_strings_with_brackets_quotes_and_escaped_keys() {
        let json = "{\"spec\": {\"labels\": {\"a\\\"]}\": \"{[,\", \"b\": 1}}}";
        assert_eq!(failed_parse_path::<Pod>(json), "spec.labels.b");
        let json = "{\"spec\": {\"labels\": {\"x\\\"y\": 2}}}";
        assert_eq!(failed_parse_path::<Pod>(json), "spec.labels.x\"y");
    }

    #[test]
    fn a_missing_field_names_the_object_that_lacks_it() {
        assert_eq!(
            failed_parse_path::<Pod>(r#"{"spec": {"containers": [{"args": []}]}}"#),
            "spec.containers[0]"
        );
        assert_eq!(failed_parse_path::<Pod>("{}"), "");
    }

    #[test]
    fn positions_on_later_lines_count_from_their_line() {
        let json = "{\n  \"spec\": {\n    \"containers\": [\n      {\"name\": 3}\n    ]\n  }\n}";
        assert_eq!(failed_parse_path::<Pod>(json), "spec.containers[0].name");
    }

    #[test]
    fn offsets_past_the_text_or_inside_broken_text_do_not_panic() {
        assert_eq!(path_at(r#"{"a": [1, "#, 1000), "a[1]");
        assert_eq!(path_at(r#"{"a": "unterminated"#, 1000), "a");
        assert_eq!(path_at("", 5), "");
        assert_eq!(path_at(r#"{"a\"#, 4), "");
        assert_eq!(offset_of("ab\ncd", 2, 1), 4);
        assert_eq!(offset_of("", 0, 0), 0);
    }
}
