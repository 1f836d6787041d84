//! Violations and the one renderer that turns them into a rejection message,
//! so every policy speaks the same way.

use std::fmt;

/// One broken rule: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending field, e.g. `spec.template.spec.containers[0]`.
    pub path: String,
    /// The name of the thing at that path (a container's name), when it has one.
    pub subject: Option<String>,
    /// What is wrong, as a clause: `requests nvidia.com/gpu: 2 but sets no limit`.
    pub reason: String,
    /// How to fix it, as an imperative: `set resources.limits["nvidia.com/gpu"]: 2`.
    pub fix: Option<String>,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            subject: None,
            reason: reason.into(),
            fix: None,
        }
    }

    /// Names the thing at the path (ignored when empty).
    pub fn subject(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.subject = (!name.is_empty()).then_some(name);
        self
    }

    /// Says how to fix it.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(subject) = &self.subject {
            write!(f, " {subject:?}")?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

/// Renders violations as one rejection message. A single violation is
/// rendered as itself; several as a count and then one numbered violation a
/// line, in order, which is how `kubectl` shows a multi-line message.
///
/// ```
/// use gpu_policy_core::violation::{render, Violation};
/// let v = Violation::new("spec.containers[0]", "requests nvidia.com/gpu: 2 but sets no limit")
///     .subject("trainer")
///     .fix(r#"set resources.limits["nvidia.com/gpu"]: "2""#);
/// assert_eq!(
///     render(&[v]),
///     r#"spec.containers[0] "trainer": requests nvidia.com/gpu: 2 but sets no limit (fix: set resources.limits["nvidia.com/gpu"]: "2")"#
/// );
/// ```
pub fn render(violations: &[Violation]) -> String {
    match violations {
        [] => String::new(),
        [one] => one.to_string(),
        many => {
            let mut out = format!("{} violations:", many.len());
            for (i, v) in many.iter().enumerate() {
                out.push_str(&format!("\n[{}] {v}", i + 1));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn renders_path_subject_reason_and_fix() {
        let v = Violation::new(
            "spec.template.spec.containers[0]",
            "requests nvidia.com/gpu: 2 but tolerates no GPU taint",
        )
        .subject("trainer")
        .fix("add toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}");
        assert_eq!(
            v.to_string(),
            "spec.template.spec.containers[0] \"trainer\": requests nvidia.com/gpu: 2 but tolerates no GPU taint (fix: add toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule})"
        );
    }

    #[test]
    fn empty_subject_and_no_fix_are_left_out() {
        let v = Violation::new("spec.tolerations[2]", "tolerates every taint").subject("");
        assert_eq!(v.to_string(), "spec.tolerations[2]: tolerates every taint");
    }

    #[test]
    fn several_violations_are_numbered() {
        let vs = [Violation::new("a", "x"), Violation::new("b", "y").fix("z")];
        assert_eq!(render(&vs), "2 violations:\n[1] a: x\n[2] b: y (fix: z)");
        assert_eq!(render(&[]), "");
    }
}
