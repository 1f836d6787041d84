//! Reading resource names as MIG resources, leniently: a well-formed name
//! gives its profile; a malformed one gives every problem found and, when
//! the intent is clear, the name that was meant.
//!
//! Which names are read at all ("MIG-ish"): any resource under `nvidia.com/`
//! (domain in any case) whose name mentions `mig` in any case, or starts like
//! a `<n>g.<m>gb` profile. `nvidia.com/gpu`, `nvidia.com/gpu.shared`, renamed
//! whole-GPU resources and other domains are left alone.

use crate::profile::{Attr, DOMAIN, Profile};

/// A MIG resource: its profile and whether it is the `.shared` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigName {
    /// The GPU-instance profile.
    pub profile: Profile,
    /// Time-sliced / MPS renamed resource (`.shared`).
    pub shared: bool,
}

impl MigName {
    /// The resource name the device plugin advertises.
    pub fn resource_name(&self) -> String {
        self.profile.resource_name(self.shared)
    }
}

/// What a resource name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Not a MIG resource name: not ours to judge.
    NotMig,
    /// A well-formed MIG resource name.
    Mig(MigName),
    /// A MIG-ish name no device plugin advertises.
    Malformed {
        /// What is wrong, as clauses.
        problems: Vec<String>,
        /// What was most likely meant, when that is clear.
        meant: Option<MigName>,
    },
}

/// Reads a resource name.
pub fn read(name: &str) -> Reading {
    let Some((domain, local)) = name.split_once('/') else {
        return Reading::NotMig;
    };
    if !domain.eq_ignore_ascii_case(DOMAIN) {
        return Reading::NotMig;
    }
    let lower = local.to_ascii_lowercase();
    if !is_mig_ish(&lower) {
        return Reading::NotMig;
    }
    let mut problems = Vec::new();
    if domain != DOMAIN || local != lower {
        problems.push(
            "it has upper-case letters (resource names are case-sensitive and the device plugin's are lower case)"
                .to_owned(),
        );
    }
    let meant = read_local(&lower, &mut problems);
    if let Some(m) = meant
        && problems.is_empty()
        && m.resource_name() != name
    {
        problems.push("it is not spelt the way the device plugin spells it".to_owned());
    }
    match meant {
        Some(m) if problems.is_empty() => Reading::Mig(m),
        _ => Reading::Malformed { problems, meant },
    }
}

/// Whether a lower-cased local name (after `nvidia.com/`) is about MIG.
fn is_mig_ish(lower: &str) -> bool {
    lower.contains("mig") || looks_like_profile(lower)
}

/// `<digits>g[.]<digit>...`: a profile without its `mig-` prefix.
fn looks_like_profile(text: &str) -> bool {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = text.get(digits..).unwrap_or("");
    let Some(rest) = rest.strip_prefix('g') else {
        return false;
    };
    let rest = rest.strip_prefix(['.', '_', '-']).unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Reads `mig-<n>g.<m>gb<attrs>[.shared]` leniently, noting every deviation.
fn read_local(lower: &str, problems: &mut Vec<String>) -> Option<MigName> {
    let rest = strip_mig_prefix(lower, problems);
    let replaced;
    let rest = if rest.contains('+') {
        problems.push(
            "it uses '+' from the NVIDIA profile name, which the resource name writes as '.'"
                .to_owned(),
        );
        replaced = rest.replace('+', ".");
        replaced.as_str()
    } else {
        rest
    };

    let Some((compute, rest)) = lenient_number(rest, problems) else {
        problems.push("it does not name a <n>g.<m>gb MIG profile".to_owned());
        return None;
    };
    let Some(rest) = rest.strip_prefix('g') else {
        problems.push("it does not name a <n>g.<m>gb MIG profile".to_owned());
        return None;
    };
    let rest = match rest.chars().next() {
        Some('.') => rest.get(1..).unwrap_or(""),
        Some('_' | '-') => {
            problems.push(format!(
                "the separator between {compute}g and the memory size is '.'"
            ));
            rest.get(1..).unwrap_or("")
        }
        Some(c) if c.is_ascii_digit() => {
            problems.push(format!("it is missing the '.' after {compute}g"));
            rest
        }
        _ => {
            problems.push("it does not name a <n>g.<m>gb MIG profile".to_owned());
            return None;
        }
    };
    let Some((memory, rest)) = lenient_number(rest, problems) else {
        problems.push("it does not name a <n>g.<m>gb MIG profile".to_owned());
        return None;
    };
    let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    let unit = rest.get(..unit_len).unwrap_or("");
    let rest = if unit == "gb" {
        rest.get(2..).unwrap_or("")
    } else if unit.starts_with("gb") {
        // `10gbme`: the unit runs into an attribute; read on after "gb".
        rest.get(2..).unwrap_or("")
    } else if matches!(unit, "" | "g" | "gi" | "gib" | "b" | "gbs") {
        problems.push(format!(
            "the memory size must end in \"gb\" ({memory}gb, not {memory}{unit})"
        ));
        rest.get(unit_len..).unwrap_or("")
    } else {
        problems.push("it does not name a <n>g.<m>gb MIG profile".to_owned());
        return None;
    };
    let (attr, shared) = read_attributes(rest, problems);
    Some(MigName {
        profile: Profile::new(compute, memory, attr),
        shared,
    })
}

/// Strips `mig-` (or a near miss of it), noting what was wrong.
fn strip_mig_prefix<'a>(lower: &'a str, problems: &mut Vec<String>) -> &'a str {
    let Some(at) = lower.find("mig") else {
        problems.push("it is missing the \"mig-\" prefix".to_owned());
        return lower;
    };
    let before = lower.get(..at).unwrap_or("");
    let after = lower.get(at + 3..).unwrap_or("");
    if !before.is_empty() {
        problems.push(format!("it has {before:?} before \"mig-\""));
    }
    match after.chars().next() {
        Some('-') => after.get(1..).unwrap_or(""),
        Some('_' | '.' | ':') => {
            problems.push("the prefix is \"mig-\", with a hyphen".to_owned());
            after.get(1..).unwrap_or("")
        }
        _ => {
            problems.push("it is missing the '-' of the \"mig-\" prefix".to_owned());
            after
        }
    }
}

/// A decimal (up to 4 digits); leading zeros are a problem, not a failure.
fn lenient_number<'a>(text: &'a str, problems: &mut Vec<String>) -> Option<(u16, &'a str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    let (number, rest) = text.split_at_checked(digits)?;
    let value: u16 = number.parse().ok()?;
    if value == 0 {
        return None;
    }
    if number.starts_with('0') {
        problems.push(format!("{number} has a leading zero"));
    }
    Some((value, rest))
}

/// Reads `.me`, `.me.all`, `.gfx`, `-me` and a final `.shared`.
fn read_attributes(mut rest: &str, problems: &mut Vec<String>) -> (Attr, bool) {
    let mut words: Vec<(char, &str)> = Vec::new();
    while let Some(first) = rest.chars().next() {
        let (sep, body) = if matches!(first, '.' | '-' | '_') {
            (first, rest.get(1..).unwrap_or(""))
        } else {
            (' ', rest)
        };
        let len = body.find(['.', '-', '_']).unwrap_or(body.len());
        let word = body.get(..len).unwrap_or("");
        words.push((sep, word));
        rest = body.get(len..).unwrap_or("");
        if words.len() > 8 {
            problems.push("it has too many attributes".to_owned());
            break;
        }
    }

    let mut shared = false;
    let mut attrs: Vec<&str> = Vec::new();
    let last = words.len().saturating_sub(1);
    for (i, (sep, word)) in words.iter().copied().enumerate() {
        if word.is_empty() {
            problems.push("it has an empty attribute (a doubled or trailing separator)".to_owned());
            continue;
        }
        let known = matches!(word, "me" | "all" | "gfx" | "shared");
        if !known {
            let shown = if sep == ' ' {
                String::new()
            } else {
                sep.to_string()
            };
            problems.push(format!(
                "{shown}{word} is not a MIG attribute (known: .me, .me.all, .gfx, -me, and .shared last)"
            ));
            continue;
        }
        match sep {
            ' ' => problems.push(format!("it is missing the '.' before {word}")),
            '_' => problems.push(format!(
                "attributes are separated by '.', not '_' (_{word})"
            )),
            '-' if word != "me" => {
                problems.push(format!("-{word} does not exist; write .{word}"));
            }
            _ => {}
        }
        if word == "shared" {
            if shared {
                problems.push("it repeats .shared".to_owned());
            } else if i != last {
                problems.push(".shared must come last".to_owned());
            }
            shared = true;
        } else if sep == '-' && word == "me" {
            attrs.push("-me");
        } else {
            attrs.push(word);
        }
    }
    let attr = match attrs.as_slice() {
        [] => Attr::None,
        ["me"] => Attr::Me,
        ["me", "all"] => Attr::MeAll,
        ["gfx"] => Attr::Gfx,
        ["-me"] => Attr::NoMe,
        other => {
            problems.push(format!(
                "{:?} is not a MIG attribute combination (known: .me, .me.all, .gfx, -me)",
                other.join(".")
            ));
            Attr::None
        }
    };
    (attr, shared)
}

/// Levenshtein distance over bytes, inputs capped at 64 bytes so a hostile
/// name costs nothing.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a = a.as_bytes().get(..a.len().min(64)).unwrap_or_default();
    let b = b.as_bytes().get(..b.len().min(64)).unwrap_or_default();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let delete = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(cell) = cur.get_mut(j + 1) {
                *cell = substitute.min(delete).min(insert);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meant(name: &str) -> (Vec<String>, Option<String>) {
        match read(name) {
            Reading::Malformed { problems, meant } => (problems, meant.map(|m| m.resource_name())),
            other => panic!("{name}: expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn leaves_non_mig_names_alone() {
        for name in [
            "nvidia.com/gpu",
            "nvidia.com/gpu.shared",
            "NVIDIA.com/gpu",
            "nvidia.com/a100",
            "amd.com/gpu",
            "example.com/mig-1g.10gb",
            "cpu",
            "memory",
            "nvidia.com/",
            "gpu.intel.com/i915",
        ] {
            assert_eq!(read(name), Reading::NotMig, "{name}");
        }
    }

    #[test]
    fn reads_well_formed_names() {
        for (name, profile, shared) in [
            ("nvidia.com/mig-1g.10gb", "1g.10gb", false),
            ("nvidia.com/mig-1g.10gb.me", "1g.10gb+me", false),
            ("nvidia.com/mig-1g.24gb.me.all", "1g.24gb+me.all", false),
            ("nvidia.com/mig-1g.24gb.gfx", "1g.24gb+gfx", false),
            ("nvidia.com/mig-1g.24gb-me", "1g.24gb-me", false),
            ("nvidia.com/mig-1g.10gb.shared", "1g.10gb", true),
            ("nvidia.com/mig-1g.10gb.me.shared", "1g.10gb+me", true),
            ("nvidia.com/mig-1g.11gb", "1g.11gb", false),
        ] {
            assert_eq!(
                read(name),
                Reading::Mig(MigName {
                    profile: Profile::parse(profile).unwrap(),
                    shared
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn malformed_names_get_their_problem_and_the_meant_name() {
        let table: &[(&str, &str, Option<&str>)] = &[
            (
                "nvidia.com/MIG-1g.10gb",
                "upper-case",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "NVIDIA.COM/mig-1g.10gb",
                "upper-case",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/1g.10gb",
                "missing the \"mig-\" prefix",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig1g.10gb",
                "missing the '-'",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig_1g.10gb",
                "with a hyphen",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/gpu-mig-1g.10gb",
                "\"gpu-\" before",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gb+me",
                "'+'",
                Some("nvidia.com/mig-1g.10gb.me"),
            ),
            (
                "nvidia.com/mig-1g.24gb+me.all",
                "'+'",
                Some("nvidia.com/mig-1g.24gb.me.all"),
            ),
            (
                "nvidia.com/mig-1g.10g",
                "must end in \"gb\"",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g10gb",
                "missing the '.' after 1g",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10GB",
                "upper-case",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gib",
                "must end in \"gb\"",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gb.foo",
                ".foo is not a MIG attribute",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gb-gfx",
                "-gfx does not exist",
                Some("nvidia.com/mig-1g.10gb.gfx"),
            ),
            (
                "nvidia.com/mig-1g.10gb.shared.me",
                ".shared must come last",
                Some("nvidia.com/mig-1g.10gb.me.shared"),
            ),
            (
                "nvidia.com/mig-1g.10gb.",
                "empty attribute",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gbme",
                "missing the '.' before me",
                Some("nvidia.com/mig-1g.10gb.me"),
            ),
            (
                "nvidia.com/mig-1g.10gb_me",
                "not '_'",
                Some("nvidia.com/mig-1g.10gb.me"),
            ),
            (
                "nvidia.com/mig-01g.10gb",
                "leading zero",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g-10gb",
                "separator between 1g",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            (
                "nvidia.com/mig-1g.10gb.gfx.me",
                "not a MIG attribute combination",
                Some("nvidia.com/mig-1g.10gb"),
            ),
            ("nvidia.com/mig-large", "<n>g.<m>gb", None),
            ("nvidia.com/mig-", "<n>g.<m>gb", None),
            ("nvidia.com/mig-1c.3g.20gb", "<n>g.<m>gb", None),
            ("nvidia.com/Mig", "<n>g.<m>gb", None),
        ];
        for (name, needle, expected) in table {
            let (problems, got) = meant(name);
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{name}: {problems:?} lacks {needle:?}"
            );
            assert_eq!(got.as_deref(), *expected, "{name}");
        }
    }

    #[test]
    fn several_problems_are_all_named() {
        let (problems, got) = meant("nvidia.com/MIG1g10GB+ME");
        assert_eq!(got.as_deref(), Some("nvidia.com/mig-1g.10gb.me"));
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn hostile_names_do_not_panic() {
        let long = format!("nvidia.com/mig-{}", "9".repeat(10_000));
        assert!(matches!(read(&long), Reading::Malformed { .. }));
        let attrs = format!("nvidia.com/mig-1g.10gb{}", ".me".repeat(1_000));
        assert!(matches!(read(&attrs), Reading::Malformed { .. }));
        for name in [
            "nvidia.com/mig-é",
            "nvidia.com/migé1g",
            "nvidia.com/1gé",
            "nvidia.com/mig-1g.ég",
        ] {
            let _ = read(name);
        }
        assert_eq!(edit_distance(&"a".repeat(5000), "b"), 64);
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("mig-1g.11gb", "mig-1g.10gb"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
