//! Reading manifests: files and folders of YAML/JSON, multi-document YAML,
//! `List` objects. Every problem is collected with its file and document
//! index instead of stopping at the first one, so one run shows them all.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::position::{self, DocumentPositions, ObjectPositions, Position, Segment};

/// Where an object came from: file, document index (from 0) and, for an item
/// of a `List`, its index in `items`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file (`-` for stdin).
    pub file: PathBuf,
    pub document: usize,
    pub item: Option<usize>,
}

impl Source {
    /// The file as shown: its path, or `<stdin>`.
    pub fn file_name(&self) -> String {
        if self.file.as_os_str() == "-" {
            "<stdin>".to_owned()
        } else {
            self.file.display().to_string()
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file_name(), self.document)?;
        if let Some(item) = self.item {
            write!(f, ".items[{item}]")?;
        }
        Ok(())
    }
}

/// One Kubernetes object read from the input (apiVersion and kind checked).
#[derive(Debug, Clone)]
pub struct InputObject {
    pub source: Source,
    pub object: Value,
    /// Where its fields are in the source.
    pub positions: ObjectPositions,
}

impl InputObject {
    /// The object's first line in its file.
    pub fn start(&self) -> Position {
        self.positions.start()
    }

    /// `file:line` of the object's first line (`<stdin>:line` for stdin).
    pub fn at(&self) -> String {
        format!("{}:{}", self.source.file_name(), self.start().line)
    }

    /// `apiVersion` (checked non-empty at load time).
    pub fn api_version(&self) -> &str {
        str_field(&self.object, "apiVersion").unwrap_or_default()
    }

    /// `kind` (checked non-empty at load time).
    pub fn kind(&self) -> &str {
        str_field(&self.object, "kind").unwrap_or_default()
    }

    pub fn meta(&self, field: &str) -> Option<&str> {
        self.object.get("metadata")?.get(field)?.as_str()
    }

    /// `metadata.name`, or `generateName` followed by `*`, or `<unnamed>`.
    pub fn display_name(&self) -> String {
        match (self.meta("name"), self.meta("generateName")) {
            (Some(name), _) if !name.is_empty() => name.to_owned(),
            (_, Some(prefix)) if !prefix.is_empty() => format!("{prefix}*"),
            _ => "<unnamed>".to_owned(),
        }
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key)?.as_str()
}

/// A problem with the input, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// `file`, `file#doc` or `file#doc.items[i]`.
    pub location: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Everything read from the command-line paths.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The objects, in file order (files sorted within each folder).
    pub objects: Vec<InputObject>,
    pub errors: Vec<InputError>,
    pub files: usize,
    /// Whether documents that are no Kubernetes object at all (no
    /// `apiVersion` and no `kind`: a CI workflow, a values file) are
    /// skipped instead of being input errors: `--skip-non-kubernetes`, for
    /// hooks that are handed every changed YAML file.
    pub skip_non_kubernetes: bool,
    /// Where the skipped documents were (`file#doc`).
    pub skipped: Vec<String>,
}

impl Inputs {
    fn error(&mut self, location: impl fmt::Display, message: impl Into<String>) {
        self.errors.push(InputError {
            location: location.to_string(),
            message: message.into(),
        });
    }
}

/// File extensions read from folders (files named explicitly are read
/// whatever their extension).
const MANIFEST_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Reads every path: a file, a folder (recursively: `.yaml`, `.yml`,
/// `.json`, hidden entries skipped) or `-` for stdin.
pub fn load(paths: &[PathBuf]) -> Inputs {
    load_skipping(paths, false)
}

/// [`load`], skipping documents that are no Kubernetes object when
/// `skip_non_kubernetes` (see [`Inputs::skip_non_kubernetes`]).
pub fn load_skipping(paths: &[PathBuf], skip_non_kubernetes: bool) -> Inputs {
    let mut inputs = Inputs {
        skip_non_kubernetes,
        ..Inputs::default()
    };
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => parse_text(&text, path, &mut inputs),
                Err(e) => inputs.error("-", format!("cannot read stdin: {e}")),
            }
            inputs.files += 1;
            continue;
        }
        match std::fs::metadata(path) {
            Err(e) => inputs.error(path.display(), format!("cannot read: {e}")),
            Ok(meta) if meta.is_dir() => {
                let mut files = Vec::new();
                if let Err(e) = collect_files(path, &mut files) {
                    inputs.error(path.display(), format!("cannot read folder: {e}"));
                    continue;
                }
                if files.is_empty() {
                    inputs.error(path.display(), "folder holds no .yaml, .yml or .json files");
                }
                for file in files {
                    load_file(&file, &mut inputs);
                }
            }
            Ok(_) => load_file(path, &mut inputs),
        }
    }
    inputs
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    // Sorted, so runs (and their reports) are reproducible.
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            collect_files(&entry, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(entry);
        }
    }
    Ok(())
}

fn load_file(path: &Path, inputs: &mut Inputs) {
    inputs.files += 1;
    match std::fs::read(path) {
        Err(e) => inputs.error(path.display(), format!("cannot read: {e}")),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_text(&text, path, inputs),
            Err(_) => inputs.error(
                path.display(),
                "not a text file (invalid UTF-8): expected Kubernetes YAML or JSON",
            ),
        },
    }
}

pub fn parse_text(text: &str, file: &Path, inputs: &mut Inputs) {
    let positions = position::index(text);
    for (document, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let source = Source {
            file: file.to_path_buf(),
            document,
            item: None,
        };
        let mut value = match serde_yaml::Value::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                inputs.error(source, format!("not valid YAML or JSON: {e}"));
                // The parser cannot resynchronise after a syntax error.
                return;
            }
        };
        if value.is_null() {
            continue; // an empty document (`---` alone, comments only)
        }
        if let Err(e) = value.apply_merge() {
            inputs.error(source, format!("invalid YAML merge key: {e}"));
            continue;
        }
        match serde_json::to_value(&value) {
            Ok(json) => {
                let positions = positions.get(document).cloned().unwrap_or_default();
                add_document(json, source, positions, inputs);
            }
            Err(e) => inputs.error(
                source,
                format!("cannot be represented as JSON (Kubernetes objects are JSON): {e}"),
            ),
        }
    }
}

fn add_document(
    value: Value,
    source: Source,
    positions: Arc<DocumentPositions>,
    inputs: &mut Inputs,
) {
    if let Err(message) = check_object(&value) {
        if inputs.skip_non_kubernetes && !looks_like_kubernetes(&value) {
            inputs.skipped.push(source.to_string());
        } else {
            inputs.error(&source, message);
        }
        return;
    }
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some();
    if !is_list {
        inputs.objects.push(InputObject {
            source,
            object: value,
            positions: ObjectPositions::new(positions, Vec::new()),
        });
        return;
    }
    let Some(Value::Array(items)) = value.get("items") else {
        inputs.error(&source, "a List's items must be a sequence of objects");
        return;
    };
    for (index, item) in items.iter().enumerate() {
        let item_source = Source {
            item: Some(index),
            ..source.clone()
        };
        match check_object(item) {
            Ok(()) => inputs.objects.push(InputObject {
                source: item_source,
                object: item.clone(),
                positions: ObjectPositions::new(
                    positions.clone(),
                    vec![Segment::Key("items".to_owned()), Segment::Index(index)],
                ),
            }),
            Err(message) => inputs.error(&item_source, message),
        }
    }
}

/// Whether a document means to be a Kubernetes object: a mapping with an
/// `apiVersion` or a `kind` (one without both is a broken object, not some
/// other YAML).
fn looks_like_kubernetes(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|map| map.contains_key("apiVersion") || map.contains_key("kind"))
}

/// A Kubernetes object needs a mapping with non-empty `apiVersion` and `kind`.
fn check_object(value: &Value) -> Result<(), String> {
    let Some(map) = value.as_object() else {
        return Err(format!(
            "not a Kubernetes object (expected a mapping with apiVersion and kind, found {})",
            json_type(value)
        ));
    };
    let field = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match (field("apiVersion"), field("kind")) {
        (None, None) => Err("object has no apiVersion and no kind".to_owned()),
        (None, Some(kind)) => Err(format!("{kind} object has no apiVersion")),
        (Some(_), None) => Err("object has no kind".to_owned()),
        (Some(_), Some(_)) => {
            if let Some(meta) = map.get("metadata")
                && !meta.is_object()
                && !meta.is_null()
            {
                return Err("metadata must be a mapping".to_owned());
            }
            Ok(())
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a plain string (is this file YAML?)",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Inputs {
        let mut inputs = Inputs::default();
        parse_text(text, Path::new("f.yaml"), &mut inputs);
        inputs
    }

    #[test]
    fn multi_document_yaml_and_empty_documents() {
        let inputs = parse(
            "---\n# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
        );
        assert!(inputs.errors.is_empty(), "{:?}", inputs.errors);
        assert_eq!(inputs.objects.len(), 2);
        assert_eq!(inputs.objects[0].source.to_string(), "f.yaml#1");
        assert_eq!(inputs.objects[1].source.to_string(), "f.yaml#3");
        // each object's first line, counted in the whole file
        assert_eq!(inputs.objects[0].at(), "f.yaml:4");
        assert_eq!(inputs.objects[1].at(), "f.yaml:9");
    }

    #[test]
    fn lists_are_expanded() {
        let inputs = parse(
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}},{"kind":"Pod"}]}"#,
        );
        assert_eq!(inputs.objects.len(), 1);
        assert_eq!(inputs.objects[0].source.to_string(), "f.yaml#0.items[0]");
        assert_eq!(inputs.errors[0].location, "f.yaml#0.items[1]");
        assert!(inputs.errors[0].message.contains("no apiVersion"));
        let typed = parse("apiVersion: v1\nkind: PodList\nitems:\n- {apiVersion: v1, kind: Pod}\n");
        assert_eq!(typed.objects.len(), 1);
        assert_eq!(typed.objects[0].at(), "f.yaml:4");
    }

    #[test]
    fn bad_documents_are_located() {
        let inputs = parse("apiVersion: v1\nkind: Pod\n---\njust some text\n---\nkind: [\n");
        assert_eq!(inputs.objects.len(), 1);
        assert_eq!(inputs.errors.len(), 2, "{:?}", inputs.errors);
        assert_eq!(inputs.errors[0].location, "f.yaml#1");
        assert!(inputs.errors[0].message.contains("plain string"));
        assert_eq!(inputs.errors[1].location, "f.yaml#2");
        assert!(inputs.errors[1].message.contains("not valid YAML"));
        let no_kind = parse("apiVersion: v1\nmetadata: {name: x}\n");
        assert_eq!(no_kind.errors[0].message, "object has no kind");
    }

    #[test]
    fn other_yaml_is_skipped_only_when_asked() {
        let text =
            "name: ci\non: [push]\n---\n- a\n---\nkind: Pod\n---\napiVersion: v1\nkind: Pod\n";
        let strict = parse(text);
        assert_eq!(strict.errors.len(), 3, "{:?}", strict.errors);
        let mut lenient = Inputs {
            skip_non_kubernetes: true,
            ..Inputs::default()
        };
        parse_text(text, Path::new("f.yaml"), &mut lenient);
        assert_eq!(lenient.skipped, ["f.yaml#0", "f.yaml#1"]);
        // a Pod without apiVersion is a broken object, still an error
        assert_eq!(lenient.errors.len(), 1, "{:?}", lenient.errors);
        assert_eq!(lenient.errors[0].location, "f.yaml#2");
        assert_eq!(lenient.objects.len(), 1);
    }

    #[test]
    fn yaml_merge_keys_are_applied() {
        let inputs = parse(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: &l {a: b}\n  annotations:\n    <<: *l\n",
        );
        assert_eq!(
            inputs.objects[0].object["metadata"]["annotations"]["a"],
            "b"
        );
    }
}
