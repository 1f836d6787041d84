//! Where each field of an input object sits in its YAML or JSON source, so
//! that a finding's field path (`spec.template.spec.containers[0].resources.limits`)
//! becomes `file:line:column` for editors, CI annotations and SARIF.
//!
//! serde_yaml gives values without positions, so the text is read a second
//! time with yaml-rust2's event parser, which marks every node. Only the
//! positions are kept: one map per document from a field path to the line
//! and column of its key (or of its item, in a sequence).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use yaml_rust2::parser::{Event, Parser};

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A place in a file, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The positions of one YAML document: its root node and every key and
/// sequence item below it, by field path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentPositions {
    fields: HashMap<Vec<Segment>, Position>,
}

impl DocumentPositions {
    /// The position of the node at `path`, if the document has it.
    pub fn get(&self, path: &[Segment]) -> Option<Position> {
        self.fields.get(path).copied()
    }
}

/// What the walker is inside of.
enum Frame {
    /// A mapping: waiting for a key, or for the value of `key`. `first`:
    /// no key seen yet (a block mapping's start mark lies after its first
    /// key, so the mapping is placed at that key once it comes).
    Mapping { key: Option<String>, first: bool },
    /// A sequence, with the index of its next item.
    Sequence { next: usize },
}

/// Builds [`DocumentPositions`] from parser events.
#[derive(Default)]
struct Walker {
    documents: Vec<DocumentPositions>,
    current: DocumentPositions,
    frames: Vec<Frame>,
    path: Vec<Segment>,
    /// Depth inside a complex (non-scalar) mapping key, which no field path
    /// can name: its events are skipped.
    in_complex_key: usize,
}

impl Walker {
    fn record(&mut self, segment: Option<Segment>, at: Position) {
        let mut path = self.path.clone();
        path.extend(segment);
        self.current.fields.entry(path).or_insert(at);
    }

    /// A node starts (a scalar or alias when `opens` is false; a mapping or
    /// sequence when true) at `at`. Returns whether the node was placed at
    /// `at` (the root, a sequence item) rather than at its key.
    fn node(&mut self, scalar: Option<&str>, opens: bool, at: Position) -> bool {
        if self.in_complex_key > 0 {
            if opens {
                self.in_complex_key += 1;
            }
            return false;
        }
        // Where this node sits in its parent, and whether it is a key.
        let segment = match self.frames.last_mut() {
            None => None,
            Some(Frame::Sequence { next }) => {
                let index = *next;
                *next += 1;
                Some(Segment::Index(index))
            }
            Some(Frame::Mapping {
                key: key @ None,
                first,
            }) => {
                if std::mem::take(first) {
                    self.current.fields.insert(self.path.clone(), at);
                }
                match scalar {
                    Some(text) => {
                        *key = Some(text.to_owned());
                        self.record(Some(Segment::Key(text.to_owned())), at);
                    }
                    // `? [a, b]: value`: a key no path names.
                    None if opens => {
                        *key = Some(String::new());
                        self.in_complex_key = 1;
                    }
                    None => *key = Some(String::new()),
                }
                return false;
            }
            Some(Frame::Mapping {
                key: key @ Some(_), ..
            }) => key.take().map(Segment::Key),
        };
        // A mapping value is located at its key, recorded with the key.
        let placed_here = !matches!(segment, Some(Segment::Key(_)));
        if placed_here {
            self.record(segment.clone(), at);
        }
        if opens {
            self.path.extend(segment);
        }
        placed_here
    }

    fn open(&mut self, frame: Frame) {
        if self.in_complex_key == 0 {
            self.frames.push(frame);
        }
    }

    fn close(&mut self) {
        if self.in_complex_key > 0 {
            self.in_complex_key -= 1;
            return;
        }
        self.frames.pop();
        if !self.frames.is_empty() {
            self.path.pop();
        }
    }

    fn on_event(&mut self, event: Event, at: Position) {
        match event {
            Event::DocumentStart => {
                self.current = DocumentPositions::default();
                self.frames.clear();
                self.path.clear();
                self.in_complex_key = 0;
            }
            Event::DocumentEnd => self.documents.push(std::mem::take(&mut self.current)),
            Event::Scalar(text, ..) => {
                self.node(Some(&text), false, at);
            }
            Event::Alias(_) => {
                self.node(None, false, at);
            }
            Event::MappingStart(..) => {
                let first = self.node(None, true, at);
                self.open(Frame::Mapping { key: None, first });
            }
            Event::SequenceStart(..) => {
                self.node(None, true, at);
                self.open(Frame::Sequence { next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => self.close(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
    }
}

/// The positions of every document of `text`, in order. Text the event
/// parser cannot read gives the documents read before the error (findings
/// then fall back to line 1, never to a wrong line of another document).
pub fn index(text: &str) -> Vec<Arc<DocumentPositions>> {
    let mut parser = Parser::new_from_str(text);
    let mut walker = Walker::default();
    while let Ok((event, mark)) = parser.next_token() {
        let end = event == Event::StreamEnd;
        let at = Position {
            line: mark.line().max(1),
            column: mark.col() + 1,
        };
        walker.on_event(event, at);
        if end {
            break;
        }
    }
    walker.documents.into_iter().map(Arc::new).collect()
}

/// Where one object's fields are: its document's positions, and the path
/// of the object in it (`items[i]` for an item of a `List`).
#[derive(Debug, Clone, Default)]
pub struct ObjectPositions {
    document: Arc<DocumentPositions>,
    root: Vec<Segment>,
}

impl ObjectPositions {
    pub fn new(document: Arc<DocumentPositions>, root: Vec<Segment>) -> Self {
        Self { document, root }
    }

    /// The object's first line (its first key), else line 1.
    pub fn start(&self) -> Position {
        self.document
            .get(&self.root)
            .unwrap_or(Position { line: 1, column: 1 })
    }

    /// The position of the field at `path`, or of its nearest ancestor the
    /// source has (a missing `tolerations` points at the `spec` it belongs
    /// in), or the object's first line.
    pub fn locate(&self, path: &[Segment]) -> Position {
        let mut full = self.root.clone();
        full.extend_from_slice(path);
        (self.root.len()..=full.len())
            .rev()
            .find_map(|len| full.get(..len).and_then(|p| self.document.get(p)))
            .unwrap_or_else(|| self.start())
    }
}

/// Reads the field path a violation starts with, as the policies write it:
/// `spec.containers[0].resources.limits["nvidia.com/gpu"]`. `None` when
/// the text does not start with one (`cannot read Namespace ...`: a word
/// alone is no path).
pub fn parse_path(text: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = text;
    let ident = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len())
    };
    let first = ident(rest);
    if first == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    segments.push(Segment::Key(rest.get(..first)?.to_owned()));
    rest = rest.get(first..)?;
    loop {
        if let Some(after) = rest.strip_prefix('.') {
            let len = ident(after);
            if len == 0 {
                break;
            }
            segments.push(Segment::Key(after.get(..len)?.to_owned()));
            rest = after.get(len..)?;
        } else if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]")?;
            segments.push(Segment::Key(after.get(..end)?.to_owned()));
            rest = after.get(end + 2..)?;
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index = after.get(..end)?.parse().ok()?;
            segments.push(Segment::Index(index));
            rest = after.get(end + 1..)?;
        } else {
            break;
        }
    }
    // A path ends where the violation's text goes on: ` "name": ` or `: `.
    let ends = rest.is_empty() || rest.starts_with(' ') || rest.starts_with(':');
    (ends && (segments.len() > 1 || rest.starts_with(':'))).then_some(segments)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn key(k: &str) -> Segment {
        Segment::Key(k.to_owned())
    }

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    const DEPLOYMENT: &str = "# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: a
          resources:
            limits:
              nvidia.com/gpu: 1
        - name: b
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers: [{name: c, resources: {limits: {\"nvidia.com/gpu\": 2}}}]
";

    #[test]
    fn keys_and_items_are_located_in_every_document() {
        let docs = index(DEPLOYMENT);
        assert_eq!(docs.len(), 2);
        let deployment = ObjectPositions::new(docs[0].clone(), vec![]);
        assert_eq!(deployment.start(), at(2, 1));
        let path = parse_path(
            "spec.template.spec.containers[0].resources.limits[\"nvidia.com/gpu\"] \"a\": x",
        )
        .unwrap();
        assert_eq!(deployment.locate(&path), at(13, 15));
        let path = parse_path("spec.template.spec.containers[1]: y").unwrap();
        assert_eq!(deployment.locate(&path), at(14, 11));
        // absent: the nearest ancestor the source has
        let path = parse_path("spec.template.spec.tolerations: none").unwrap();
        assert_eq!(deployment.locate(&path), at(8, 5));
        let pod = ObjectPositions::new(docs[1].clone(), vec![key("items"), Segment::Index(0)]);
        assert_eq!(pod.start(), at(19, 3));
        let path =
            parse_path("spec.containers[0].resources.limits[\"nvidia.com/gpu\"]: z").unwrap();
        assert_eq!(pod.locate(&path).line, 23);
        assert_eq!(pod.locate(&[key("nowhere")]), at(19, 3));
    }

    #[test]
    fn json_is_located_too() {
        let docs =
            index("{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"containers\": []\n  }\n}\n");
        let pod = ObjectPositions::new(docs[0].clone(), vec![]);
        assert_eq!(pod.locate(&[key("spec"), key("containers")]).line, 4);
    }

    #[test]
    fn paths_are_read_as_the_policies_write_them() {
        assert_eq!(
            parse_path("spec.resourceClaims[0] \"gpu\" (ResourceClaimTemplate t): x"),
            Some(vec![key("spec"), key("resourceClaims"), Segment::Index(0)])
        );
        assert_eq!(
            parse_path("metadata.namespace: namespace \"web\" ..."),
            Some(vec![key("metadata"), key("namespace")])
        );
        assert_eq!(parse_path("spec: x"), Some(vec![key("spec")]));
        for not_a_path in [
            "cannot read Namespace \"x\": gone",
            "3 violations:",
            "",
            "[1] spec.x: y",
            "spec.containers[x]: y",
            "spec.containers[\"unclosed: y",
        ] {
            assert_eq!(parse_path(not_a_path), None, "{not_a_path}");
        }
    }

    #[test]
    fn broken_and_odd_yaml_never_panics() {
        for text in [
            "",
            "---\n---\n",
            "a: [1, 2",
            "? [a, b]\n: c\nd: {e: f}\n",
            "a: &x {b: 1}\nc: *x\n",
            "- - - 1\n",
            "\u{feff}a: 1",
            "a: 'unterminated",
            "{{{{",
        ] {
            let _ = index(text);
        }
        let docs = index("? [a, b]\n: c\nd: {e: f}\n");
        let o = ObjectPositions::new(docs[0].clone(), vec![]);
        assert_eq!(o.locate(&[key("d"), key("e")]), at(3, 5));
    }
}
