//! The default output: one row per object × policy fitted to the terminal
//! width, then the full text of every rejection and mutation (rows only
//! show a message's first line).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::TableOptions;
use crate::evaluate::{CheckedObject, Finding, Outcome, Verdict};
use crate::locate;

const HEADERS: [&str; 4] = ["OBJECT", "POLICY", "VERDICT", "MESSAGE"];
const GAP: &str = "  ";
const MIN_MESSAGE: usize = 30;

/// Cuts `text` to `width` characters, marking the cut with `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts `text` from the left: a source keeps its file name and `#doc`.
fn fit_left(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width {
        return text.to_owned();
    }
    let keep = width.saturating_sub(1);
    let mut out = String::from("…");
    out.extend(text.chars().skip(len - keep));
    out
}

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

fn paint(text: &str, verdict: Verdict, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match verdict {
        Verdict::Accept => "32",
        Verdict::Mutate => "36",
        Verdict::MonitorReject => "33",
        Verdict::Reject => "1;31",
        Verdict::Skip => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

struct Row {
    /// The object's label, or its source indented by two spaces.
    object: String,
    policy: String,
    /// `None` on a row that only carries a source.
    verdict: Option<Verdict>,
    message: String,
}

impl Row {
    fn source_only(source: String) -> Self {
        Self {
            object: source,
            policy: String::new(),
            verdict: None,
            message: String::new(),
        }
    }
}

/// The table's short form of a message: its first line, without the
/// leading field path (`spec.containers[0] "x": `) that would fill the
/// narrow column; the full text is printed below the table.
fn short(message: &str) -> String {
    let violations = locate::violations(message);
    let first = violations
        .first()
        .and_then(|v| v.lines().next())
        .unwrap_or_default();
    let looks_like_path = |p: &str| {
        let path = p.split(' ').next().unwrap_or_default();
        (path.contains('.') || path.contains('['))
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".[]_-/\"'".contains(c))
    };
    let text = match first.split_once(": ") {
        Some((prefix, reason)) if looks_like_path(prefix) => reason,
        _ => first,
    };
    match violations.len() {
        0 | 1 => text.to_owned(),
        n => format!("({n} violations) {text}"),
    }
}

fn summary_message(f: &Finding) -> String {
    let first = short(f.message.as_deref().unwrap_or_default());
    match (&f.patch, f.verdict) {
        (Some(p), Verdict::Mutate) => format!("{} JSON patch operation(s), see below", p.len()),
        _ if first.is_empty() && !f.warnings.is_empty() => {
            format!("warning: {}", f.warnings.join("; "))
        }
        _ => first,
    }
}

pub(super) fn render(outcome: &Outcome, options: TableOptions) -> String {
    let mut out = String::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut current = None;
    let mut pending_source: Option<String> = None;
    for f in &outcome.findings {
        let Some(object) = outcome.objects.get(f.object) else {
            continue;
        };
        // An object's rows read as a group: its name on the first row, its
        // file:line on the second (on a row of its own when it has only one).
        let object_cell = if current != Some(f.object) {
            if let Some(source) = pending_source.take() {
                rows.push(Row::source_only(source));
            }
            current = Some(f.object);
            pending_source = Some(format!("  {}", object.input.at()));
            object.label()
        } else {
            pending_source.take().unwrap_or_default()
        };
        rows.push(Row {
            object: object_cell,
            policy: f.policy.clone(),
            verdict: Some(f.verdict),
            message: summary_message(f),
        });
    }
    if let Some(source) = pending_source.take() {
        rows.push(Row::source_only(source));
    }

    if rows.is_empty() {
        out.push_str("No object was checked: no policy's rules select the input's kinds.\n");
    } else {
        let widest = |pick: &dyn Fn(&Row) -> usize, header: &str, cap: usize| {
            rows.iter()
                .map(pick)
                .chain([header.len()])
                .max()
                .unwrap_or(0)
                .min(cap)
        };
        let mut w_object = widest(&|r| r.object.chars().count(), HEADERS[0], 44);
        let mut w_policy = widest(&|r| r.policy.chars().count(), HEADERS[1], 32);
        let w_verdict = widest(
            &|r| r.verdict.map_or(0, |v| v.label().len()),
            HEADERS[2],
            14,
        );
        // Keep room for the message: narrow the object column, then the
        // policy column, down to a readable minimum each.
        let fixed = |o: usize, p: usize| o + p + w_verdict + 3 * GAP.len();
        let mut over = (fixed(w_object, w_policy) + MIN_MESSAGE).saturating_sub(options.width);
        for (column, floor) in [(&mut w_object, 28), (&mut w_policy, 18)] {
            let cut = over.min(column.saturating_sub(floor));
            *column -= cut;
            over -= cut;
        }
        let w_message = options
            .width
            .saturating_sub(fixed(w_object, w_policy))
            .max(MIN_MESSAGE);
        let mut push_line = |cells: [String; 4]| {
            out.push_str(cells.join(GAP).trim_end());
            out.push('\n');
        };
        push_line([
            pad(HEADERS[0], w_object),
            pad(HEADERS[1], w_policy),
            pad(HEADERS[2], w_verdict),
            HEADERS[3].to_owned(),
        ]);
        for r in &rows {
            // Sources are cut from the left so that file:line stays visible.
            let object = if r.object.starts_with("  ") {
                format!(
                    "  {}",
                    fit_left(r.object.trim_start(), w_object.saturating_sub(2))
                )
            } else {
                fit(&r.object, w_object)
            };
            let verdict = r.verdict.map_or_else(
                || pad("", w_verdict),
                |v| paint(&pad(v.label(), w_verdict), v, options.color),
            );
            push_line([
                pad(&object, w_object),
                pad(&fit(&r.policy, w_policy), w_policy),
                verdict,
                fit(&r.message, w_message),
            ]);
        }
    }

    details(outcome, &mut out);
    footer(outcome, &mut out);
    out
}

/// Full messages of rejections, patches of mutations, warnings.
fn details(outcome: &Outcome, out: &mut String) {
    section(
        outcome,
        out,
        "\nRejections:\n",
        |f| matches!(f.verdict, Verdict::Reject | Verdict::MonitorReject),
        |out, f, object| {
            let mode = if f.verdict == Verdict::MonitorReject {
                " [monitor mode: reported only]"
            } else {
                ""
            };
            heading(out, f, object, mode);
            // One violation a line, at its field: `file:line:column: text`,
            // which editors and CI logs turn into links.
            let file = object.input.source.file_name();
            for v in &f.violations {
                let mut lines = v.text.lines();
                let first = lines.next().unwrap_or_default();
                let _ = writeln!(out, "    {file}:{}:{}: {first}", v.line, v.column);
                for more in lines {
                    let _ = writeln!(out, "      {more}");
                }
            }
            if f.violations.is_empty() {
                for line in f.message.as_deref().unwrap_or_default().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if let Some(note) = &f.note {
                let _ = writeln!(out, "    note: {note}");
            }
        },
    );
    section(
        outcome,
        out,
        "\nMutations (RFC 6902 JSON patch):\n",
        |f| f.patch.is_some(),
        |out, f, object| {
            heading(out, f, object, "");
            for op in f.patch.iter().flatten() {
                let _ = writeln!(out, "    {op}");
            }
        },
    );
    section(
        outcome,
        out,
        "\nWarnings:\n",
        |f| !f.warnings.is_empty(),
        |out, f, object| {
            let (label, warnings) = (object.label(), f.warnings.join("; "));
            let _ = writeln!(
                out,
                "- {label} ({}) by {}: {warnings}",
                object.input.at(),
                f.policy
            );
            if let Some(note) = f.note.as_ref().filter(|_| f.verdict == Verdict::Accept) {
                let _ = writeln!(out, "    note: {note}");
            }
        },
    );
}

/// `- Kind/ns/name (file:line) by policy<suffix>:`, a finding's first line.
fn heading(out: &mut String, f: &Finding, object: &CheckedObject, suffix: &str) {
    let (label, at) = (object.label(), object.input.at());
    let _ = writeln!(out, "- {label} ({at}) by {}{suffix}:", f.policy);
}

/// One part of the details: when some finding is `wanted`, `heading`, then
/// what `write` says of each of them (and of its object).
fn section(
    outcome: &Outcome,
    out: &mut String,
    heading: &str,
    wanted: impl Fn(&Finding) -> bool,
    write: impl Fn(&mut String, &Finding, &CheckedObject),
) {
    let findings: Vec<&Finding> = outcome.findings.iter().filter(|f| wanted(f)).collect();
    if findings.is_empty() {
        return;
    }
    out.push_str(heading);
    for f in findings {
        if let Some(object) = outcome.objects.get(f.object) {
            write(out, f, object);
        }
    }
}

/// Not-checked objects, skipped policies, notes and the summary line.
fn footer(outcome: &Outcome, out: &mut String) {
    if !outcome.not_checked.is_empty() {
        let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for object in outcome
            .not_checked
            .iter()
            .filter_map(|i| outcome.objects.get(*i))
        {
            let kind = if object.unknown_kind {
                format!(
                    "{} (unknown kind {})",
                    object.input.kind(),
                    object.input.api_version()
                )
            } else {
                object.input.kind().to_owned()
            };
            by_kind.entry(kind).or_default().push(object.name());
        }
        out.push_str("\nNot checked (no policy's rules select these kinds):\n");
        for (kind, names) in by_kind {
            let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
            let more = match names.len() - shown.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let _ = writeln!(out, "  {kind}: {}{more}", shown.join(", "));
        }
    }
    if !outcome.skipped_policies.is_empty() {
        out.push_str("\nPolicies not run:\n");
        for s in &outcome.skipped_policies {
            let _ = writeln!(out, "  {} ({}): {}", s.name, s.origin, s.reason);
        }
    }
    if !outcome.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &outcome.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    let _ = writeln!(
        out,
        "\n{} objects ({} not checked), {} policies: {} accepted, {} mutated, {} rejected, {} rejected in monitor mode, {} skipped by selectors => {}",
        outcome.objects.len(),
        outcome.not_checked.len(),
        outcome.policies.len(),
        outcome.count(Verdict::Accept),
        outcome.count(Verdict::Mutate),
        outcome.count(Verdict::Reject),
        outcome.count(Verdict::MonitorReject),
        outcome.count(Verdict::Skip),
        if outcome.has_rejections() {
            "FAIL"
        } else {
            "PASS"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_pads_by_characters() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit_left("dir/file.yaml#3", 8), "….yaml#3");
        assert_eq!(pad("é", 3), "é  ");
    }

    #[test]
    fn short_messages_drop_the_field_path() {
        for (message, expected) in [
            (
                "spec.containers[0] \"jupyter\": requests nvidia.com/gpu: 1 but sets no limit (fix: x)",
                "requests nvidia.com/gpu: 1 but sets no limit (fix: x)",
            ),
            (
                "2 violations:\n[1] metadata.namespace: namespace \"web\" is not a GPU namespace\n[2] y",
                "(2 violations) namespace \"web\" is not a GPU namespace",
            ),
            (
                "cannot read Namespace x: not found",
                "cannot read Namespace x: not found",
            ),
        ] {
            assert_eq!(short(message), expected, "{message}");
        }
    }
}
