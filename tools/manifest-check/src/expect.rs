//! `--expect-annotations`: each input file says in its leading comment
//! block which verdict its objects must get, and the run passes when every
//! verdict is the annotated one. This is how the bundled examples, which
//! hold deliberate mistakes, are checked (`make check`):
//!
//! - `# expect: accept`: no policy rejects any object of the file (objects
//!   no policy selects, such as Namespaces, count as accepted);
//! - `# expect: reject <policy>[, <policy>...]`: every object of the file
//!   that a policy checks is rejected by exactly these policies, and at
//!   least one object is checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::evaluate::{Outcome, Verdict};

/// What a file's `# expect:` line promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Accept,
    /// Rejected by exactly these policies.
    Reject(BTreeSet<String>),
}

/// Reads `# expect: accept` / `# expect: reject a, b` from the comment
/// block that starts `text`; `None` when there is none, `Err` when the
/// line says something else.
pub fn expectation(text: &str) -> Option<Result<Expect, String>> {
    let line = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("expect:"))?
        .trim();
    if line == "accept" {
        return Some(Ok(Expect::Accept));
    }
    let policies: BTreeSet<String> = line
        .strip_prefix("reject")
        .unwrap_or_default()
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    Some(if policies.is_empty() {
        Err(format!(
            "`# expect: {line}` is neither `accept` nor `reject <policy>[, <policy>...]`"
        ))
    } else {
        Ok(Expect::Reject(policies))
    })
}

/// The result of checking the annotations.
#[derive(Debug, Default)]
pub struct Report {
    /// Files whose verdicts were as annotated.
    pub passed: usize,
    /// One line per file or object that was not.
    pub failures: Vec<String>,
}

/// Checks every input file of `outcome` against its `# expect:` line
/// (read again from disk: `read` is `std::fs::read_to_string` outside tests).
pub fn check(outcome: &Outcome, read: impl Fn(&Path) -> std::io::Result<String>) -> Report {
    // file -> (object label at file:line -> policies that rejected it), for
    // every object some policy checked; files with no checked object too.
    let mut files: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for object in &outcome.objects {
        files.entry(object.input.source.file.clone()).or_default();
    }
    for f in &outcome.findings {
        let Some(object) = outcome.objects.get(f.object) else {
            continue;
        };
        let label = format!("{} ({})", object.label(), object.input.at());
        let rejected = files
            .entry(object.input.source.file.clone())
            .or_default()
            .entry(label)
            .or_default();
        if f.verdict == Verdict::Reject {
            rejected.insert(f.policy.clone());
        }
    }
    let mut report = Report::default();
    for (file, objects) in files {
        let shown = file.display();
        let text = if file.as_os_str() == "-" {
            Err(std::io::Error::other("stdin has no annotations to read"))
        } else {
            read(&file)
        };
        let expect = match text.as_deref().map(expectation) {
            Err(e) => Err(format!("{shown}: cannot read its annotation: {e}")),
            Ok(None) => Err(format!(
                "{shown}: no `# expect: accept` or `# expect: reject <policy>` line in its leading comments"
            )),
            Ok(Some(Err(e))) => Err(format!("{shown}: {e}")),
            Ok(Some(Ok(expect))) => Ok(expect),
        };
        let before = report.failures.len();
        match expect {
            Err(e) => report.failures.push(e),
            Ok(Expect::Accept) => {
                for (object, rejected) in &objects {
                    if !rejected.is_empty() {
                        report.failures.push(format!(
                            "{object}: expected accept, rejected by {}",
                            list(rejected)
                        ));
                    }
                }
            }
            Ok(Expect::Reject(policies)) => {
                if objects.is_empty() {
                    report.failures.push(format!(
                        "{shown}: expected rejection by {}, but no policy checked any of its objects",
                        list(&policies)
                    ));
                }
                for (object, rejected) in &objects {
                    if rejected != &policies {
                        let got = if rejected.is_empty() {
                            "accepted by all".to_owned()
                        } else {
                            format!("rejected by {}", list(rejected))
                        };
                        report.failures.push(format!(
                            "{object}: expected rejection by {}, {got}",
                            list(&policies)
                        ));
                    }
                }
            }
        }
        if report.failures.len() == before {
            report.passed += 1;
        }
    }
    report
}

fn list(policies: &BTreeSet<String>) -> String {
    policies.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_read_from_the_leading_comments() {
        assert_eq!(
            expectation("# intro\n# expect: accept\napiVersion: v1\n"),
            Some(Ok(Expect::Accept))
        );
        assert_eq!(
            expectation("# expect: reject b, a\n"),
            Some(Ok(Expect::Reject(BTreeSet::from([
                "a".to_owned(),
                "b".to_owned()
            ]))))
        );
        assert_eq!(expectation("apiVersion: v1\n# expect: accept\n"), None);
        assert!(matches!(expectation("# expect: maybe\n"), Some(Err(_))));
        assert!(matches!(expectation("# expect: reject\n"), Some(Err(_))));
    }
}
