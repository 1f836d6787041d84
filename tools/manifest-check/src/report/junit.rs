//! `--output junit`: one testsuite per policy, one testcase per object it
//! checked; rejections are failures, selector exclusions are skipped.

use std::fmt::Write;

use crate::evaluate::{Finding, Outcome, Verdict};
use crate::locate;

/// XML text escaping (attributes and content); control characters other
/// than tab/newline are not allowed in XML 1.0 and are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn count(findings: &[&Finding], verdict: Verdict) -> usize {
    findings.iter().filter(|f| f.verdict == verdict).count()
}

pub(super) fn render(outcome: &Outcome) -> String {
    let failures = outcome.count(Verdict::Reject);
    let skipped = outcome.count(Verdict::Skip);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"gpu-policy-check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        outcome.findings.len()
    );
    for policy in &outcome.policies {
        let cases: Vec<_> = outcome
            .findings
            .iter()
            .filter(|f| &f.policy == policy)
            .collect();
        let failed = count(&cases, Verdict::Reject);
        let skip = count(&cases, Verdict::Skip);
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skip}\">",
            escape(policy),
            cases.len()
        );
        for f in cases {
            let Some(object) = outcome.objects.get(f.object) else {
                continue;
            };
            // The line of the first violation, else of the object.
            let line = f
                .violations
                .first()
                .map_or_else(|| object.input.start().line, |v| v.line);
            let _ = write!(
                xml,
                "    <testcase name=\"{} ({})\" classname=\"{}\" file=\"{}\" line=\"{line}\"",
                escape(&object.label()),
                escape(&object.input.source.to_string()),
                escape(policy),
                escape(&object.input.source.file.display().to_string())
            );
            let file = object.input.source.file_name();
            let message = if f.violations.is_empty() {
                f.message.clone().unwrap_or_default()
            } else {
                // One violation a line, each at `file:line:column`.
                let located: Vec<String> = f
                    .violations
                    .iter()
                    .map(|v| format!("{file}:{}:{}: {}", v.line, v.column, v.text))
                    .collect();
                located.join("\n")
            };
            let message = match &f.note {
                Some(note) => format!("{message}\nnote: {note}"),
                None => message,
            };
            // The summary: the first violation's first line, with the count
            // when there are several.
            let original = f.message.clone().unwrap_or_default();
            let violations = locate::violations(&original);
            let first = violations
                .first()
                .and_then(|v| v.lines().next())
                .unwrap_or_default();
            let first_line = match violations.len() {
                0 | 1 => first.to_owned(),
                n => format!("{n} violations: {first}"),
            };
            let first_line = first_line.as_str();
            let patch = f
                .patch
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(p).ok());
            if f.verdict == Verdict::Accept && patch.is_none() && f.warnings.is_empty() {
                xml.push_str("/>\n");
                continue;
            }
            xml.push_str(">\n");
            match f.verdict {
                Verdict::Reject => {
                    let _ = writeln!(
                        xml,
                        "      <failure type=\"REJECT\" message=\"{}\">{}</failure>",
                        escape(first_line),
                        escape(&message)
                    );
                }
                Verdict::Skip => {
                    let _ = writeln!(xml, "      <skipped message=\"{}\"/>", escape(&message));
                }
                Verdict::MonitorReject => {
                    let _ = writeln!(
                        xml,
                        "      <system-out>monitor mode, would reject: {}</system-out>",
                        escape(&message)
                    );
                }
                Verdict::Accept | Verdict::Mutate => {}
            }
            if let Some(patch) = patch {
                let _ = writeln!(
                    xml,
                    "      <system-out>JSON patch: {}</system-out>",
                    escape(&patch)
                );
            }
            if !f.warnings.is_empty() {
                let _ = writeln!(
                    xml,
                    "      <system-err>warnings: {}</system-err>",
                    escape(&f.warnings.join("; "))
                );
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1b}[1m"),
            "a&lt;b&gt;&amp;&quot;c&apos;[1m"
        );
    }
}
