//! Every violation of a finding, on the line of the field it names: the
//! rejection message is split into its violations (the policies' renderer
//! writes `N violations:` and then `[i] <path> ...` a line each), and each
//! path is looked up in the object's source positions.

use serde::Serialize;

use crate::evaluate::{Outcome, Verdict};
use crate::position::{Position, parse_path};

/// One violation of a rejection, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    /// The violation as the policy wrote it (without its `[i] ` number).
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// The violations of a rejection message: the numbered lines after
/// `N violations:`, or the message itself when it holds one.
pub fn violations(message: &str) -> Vec<&str> {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or_default();
    let several = first
        .strip_suffix(" violations:")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if !several {
        return vec![message];
    }
    lines
        .map(|line| {
            // `[12] text` -> `text`
            line.strip_prefix('[')
                .and_then(|rest| rest.split_once("] "))
                .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
                .map_or(line, |(_, text)| text)
        })
        .collect()
}

/// Locates the violations of every rejection (protect or monitor mode) of
/// `outcome` in its object's source.
pub fn locate(outcome: &mut Outcome) {
    for finding in &mut outcome.findings {
        if !matches!(finding.verdict, Verdict::Reject | Verdict::MonitorReject) {
            continue;
        }
        let (Some(object), Some(message)) = (
            outcome.objects.get(finding.object),
            finding.message.as_deref(),
        ) else {
            continue;
        };
        let positions = &object.input.positions;
        finding.violations = violations(message)
            .into_iter()
            .map(|text| {
                let Position { line, column } = parse_path(text)
                    .map_or_else(|| positions.start(), |path| positions.locate(&path));
                Located {
                    text: text.to_owned(),
                    line,
                    column,
                }
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_their_violations() {
        assert_eq!(violations("spec.x: y (fix: z)"), ["spec.x: y (fix: z)"]);
        assert_eq!(
            violations("2 violations:\n[1] spec.a: x\n[2] spec.b: y"),
            ["spec.a: x", "spec.b: y"]
        );
        assert_eq!(
            violations("cannot read Namespace \"x\": gone"),
            ["cannot read Namespace \"x\": gone"]
        );
        // not the renderer's header: kept whole
        assert_eq!(violations("many violations:\nx"), ["many violations:\nx"]);
    }
}
