//! MIG GPU-instance profiles (`1g.10gb`, `1g.10gb+me`, `1g.24gb-me`) and
//! their resource names under the device plugin's mixed strategy.

use std::fmt;

/// A profile's attribute suffix, as NVIDIA spells it in profile names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    /// No attribute (`1g.10gb`).
    None,
    /// `+me`: at least one media engine.
    Me,
    /// `+me.all`: every media engine of the GPU.
    MeAll,
    /// `+gfx`: graphics APIs (Blackwell GB20X).
    Gfx,
    /// `-me`: no media engine.
    NoMe,
}

impl Attr {
    /// The suffix in the NVIDIA profile name (`+me`, `-me`, ...).
    pub fn profile_suffix(self) -> &'static str {
        match self {
            Attr::None => "",
            Attr::Me => "+me",
            Attr::MeAll => "+me.all",
            Attr::Gfx => "+gfx",
            Attr::NoMe => "-me",
        }
    }

    /// The suffix in the resource name: every `+` becomes `.`, `-` stays.
    pub fn resource_suffix(self) -> &'static str {
        match self {
            Attr::None => "",
            Attr::Me => ".me",
            Attr::MeAll => ".me.all",
            Attr::Gfx => ".gfx",
            Attr::NoMe => "-me",
        }
    }
}

/// A MIG GPU-instance profile: `<compute>g.<memory>gb<attr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    /// GPU slices (the `1` of `1g`).
    pub compute: u16,
    /// Memory in GB (the `10` of `10gb`).
    pub memory_gb: u16,
    /// Attribute suffix.
    pub attr: Attr,
}

/// The resource domain of the NVIDIA device plugin.
pub const DOMAIN: &str = "nvidia.com";
/// The suffix the device plugin appends to a shared (time-sliced / MPS)
/// resource when it renames it.
pub const SHARED_SUFFIX: &str = ".shared";

impl Profile {
    /// A profile; `const` so the catalogue can be a static table.
    pub const fn new(compute: u16, memory_gb: u16, attr: Attr) -> Self {
        Profile {
            compute,
            memory_gb,
            attr,
        }
    }

    /// The resource name the mixed strategy advertises, e.g.
    /// `nvidia.com/mig-1g.10gb.me`, with `.shared` when shared.
    pub fn resource_name(&self, shared: bool) -> String {
        format!(
            "{DOMAIN}/mig-{}g.{}gb{}{}",
            self.compute,
            self.memory_gb,
            self.attr.resource_suffix(),
            if shared { SHARED_SUFFIX } else { "" }
        )
    }

    /// Parses an NVIDIA profile name (`1g.10gb+me`, `1g.24gb-me`). The
    /// resource spelling of attributes (`1g.10gb.me`) is accepted too, since
    /// users copy names from either place. Strict otherwise: lowercase, no
    /// leading zeros, known attributes only.
    pub fn parse(text: &str) -> Result<Profile, String> {
        let (compute, memory_gb, rest) = parse_core(text).ok_or_else(|| {
            format!("{text:?} is not a MIG profile name: expected <n>g.<m>gb, e.g. 1g.10gb")
        })?;
        let attr = match rest {
            "" => Attr::None,
            "+me" | ".me" => Attr::Me,
            "+me.all" | ".me.all" => Attr::MeAll,
            "+gfx" | ".gfx" => Attr::Gfx,
            "-me" => Attr::NoMe,
            other => {
                return Err(format!(
                    "{text:?}: unknown profile attribute {other:?} (known: +me, +me.all, +gfx, -me)"
                ));
            }
        };
        Ok(Profile::new(compute, memory_gb, attr))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}g.{}gb{}",
            self.compute,
            self.memory_gb,
            self.attr.profile_suffix()
        )
    }
}

/// Reads `<n>g.<m>gb` strictly and returns the numbers and what follows.
fn parse_core(text: &str) -> Option<(u16, u16, &str)> {
    let (compute, rest) = parse_number(text)?;
    let rest = rest.strip_prefix("g.")?;
    let (memory, rest) = parse_number(rest)?;
    let rest = rest.strip_prefix("gb")?;
    Some((compute, memory, rest))
}

/// A positive decimal without leading zeros, at most 4 digits.
pub(crate) fn parse_number(text: &str) -> Option<(u16, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 || text.starts_with('0') {
        return None;
    }
    let (number, rest) = text.split_at_checked(digits)?;
    let value: u16 = number.parse().ok()?;
    Some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_every_attribute() {
        for (text, resource) in [
            ("1g.10gb", "nvidia.com/mig-1g.10gb"),
            ("1g.10gb+me", "nvidia.com/mig-1g.10gb.me"),
            ("1g.24gb+me.all", "nvidia.com/mig-1g.24gb.me.all"),
            ("1g.24gb+gfx", "nvidia.com/mig-1g.24gb.gfx"),
            ("1g.24gb-me", "nvidia.com/mig-1g.24gb-me"),
            ("7g.141gb", "nvidia.com/mig-7g.141gb"),
        ] {
            let p = Profile::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(p.resource_name(false), resource);
            assert_eq!(
                p.resource_name(true),
                format!("{resource}.shared"),
                "{text}"
            );
        }
        assert_eq!(
            Profile::parse("1g.10gb.me").unwrap(),
            Profile::parse("1g.10gb+me").unwrap()
        );
    }

    #[test]
    fn rejects_malformed_profiles() {
        for bad in [
            "",
            "1g",
            "1g.10g",
            "1g10gb",
            "01g.10gb",
            "1g.010gb",
            "1G.10GB",
            "1g.10gb+foo",
            "1g.10gb-gfx",
            "g.10gb",
            "1c.3g.20gb",
            "99999g.1gb",
            "1g.10gb+",
        ] {
            assert!(Profile::parse(bad).is_err(), "{bad}");
        }
    }
}
