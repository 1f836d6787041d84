//! The MIG profiles a DRA CEL selector names.
//!
//! NVIDIA's DRA driver gives each MIG device the attributes
//! `device.attributes['gpu.nvidia.com'].profile` (`"1g.5gb"`, `"3g.20gb"`)
//! and `productName` (its GPU's, `"NVIDIA A100-SXM4-40GB"`); claims and
//! device classes select a slice by comparing them with strings:
//! `device.attributes['gpu.nvidia.com'].profile == '1g.5gb'`, the other way
//! round, or `... .profile in ['1g.5gb', '2g.10gb']`. This reads those
//! strings with a small tokenizer, not a CEL evaluator: any other use of
//! the attributes is reported as not read, and no input makes it fail.

/// The attribute domain of NVIDIA's DRA driver.
pub const NVIDIA_ATTRIBUTE_DOMAIN: &str = "gpu.nvidia.com";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Str(String),
    Punct(&'a str),
    Other,
}

fn tokens(expr: &str) -> Vec<Token<'_>> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // String literals, with CEL's r/b prefixes and triple quotes.
        let mut j = i;
        let mut raw = false;
        while let Some(&p) = bytes.get(j) {
            if matches!(p, b'r' | b'R' | b'b' | b'B') && j - i < 2 {
                raw |= matches!(p, b'r' | b'R');
                j += 1;
            } else {
                break;
            }
        }
        if let Some(&quote) = bytes.get(j).filter(|q| matches!(q, b'\'' | b'"')) {
            let triple = bytes.get(j..j + 3) == Some(&[quote, quote, quote][..]);
            let open = if triple { 3 } else { 1 };
            let mut k = j + open;
            let mut text = String::new();
            let mut closed = false;
            while k < bytes.len() {
                let at_close = if triple {
                    bytes.get(k..k + 3) == Some(&[quote, quote, quote][..])
                } else {
                    bytes.get(k) == Some(&quote)
                };
                if at_close {
                    k += open;
                    closed = true;
                    break;
                }
                let ch = expr
                    .get(k..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\u{fffd}');
                if ch == '\\' && !raw {
                    // An escape: keep the escaped character as written.
                    k += 1;
                    if let Some(next) = expr.get(k..).and_then(|s| s.chars().next()) {
                        text.push('\\');
                        text.push(next);
                        k += next.len_utf8();
                    }
                    continue;
                }
                text.push(ch);
                k += ch.len_utf8().max(1);
            }
            out.push(if closed {
                Token::Str(text)
            } else {
                Token::Other
            });
            i = k;
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            out.push(Token::Ident(expr.get(start..i).unwrap_or("")));
            continue;
        }
        let two = expr.get(i..i + 2);
        if let Some(op) = two.filter(|t| matches!(*t, "==" | "!=" | "&&" | "||" | "<=" | ">=")) {
            out.push(Token::Punct(op));
            i += 2;
            continue;
        }
        if b.is_ascii() {
            out.push(match expr.get(i..i + 1) {
                Some(p) if b.is_ascii_punctuation() => Token::Punct(p),
                _ => Token::Other,
            });
            i += 1;
        } else {
            // A non-ASCII character outside a string: skip it whole.
            let len = expr
                .get(i..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            out.push(Token::Other);
            i += len;
        }
    }
    out
}

/// The NVIDIA attributes whose comparisons are read.
const PROFILE: &str = "profile";
const PRODUCT_NAME: &str = "productName";

/// The attribute `device.attributes['gpu.nvidia.com'].<name>` (or
/// `...["<name>"]`) starting at `tokens[at]`: its name and token length.
fn nvidia_attribute<'t>(tokens: &'t [Token<'_>], at: usize) -> Option<(&'t str, usize)> {
    let t = |k: usize| tokens.get(at + k);
    let ident = |k: usize, name: &str| matches!(t(k), Some(Token::Ident(n)) if *n == name);
    let punct = |k: usize, p: &str| matches!(t(k), Some(Token::Punct(q)) if *q == p);
    let string = |k: usize, s: &str| matches!(t(k), Some(Token::Str(v)) if v == s);
    if !(ident(0, "device")
        && punct(1, ".")
        && ident(2, "attributes")
        && punct(3, "[")
        && string(4, NVIDIA_ATTRIBUTE_DOMAIN)
        && punct(5, "]"))
    {
        return None;
    }
    match (t(6), t(7), t(8)) {
        (Some(Token::Punct(".")), Some(Token::Ident(name)), _) => Some((name, 8)),
        (Some(Token::Punct("[")), Some(Token::Str(name)), Some(Token::Punct("]"))) => {
            Some((name.as_str(), 9))
        }
        _ => None,
    }
}

/// Whether the token can start or end a conjunct or disjunct of the
/// expression (the edges of a comparison that is read).
fn is_edge(token: Option<&Token<'_>>, opening: bool) -> bool {
    match token {
        None => true,
        Some(Token::Punct(p)) => matches!(*p, "&&" | "||") || *p == if opening { "(" } else { ")" },
        _ => false,
    }
}

/// What a CEL selector says about NVIDIA's MIG attributes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The strings it compares the `profile` attribute with, in order.
    pub profiles: Vec<String>,
    /// The strings it compares the `productName` attribute with, in order.
    pub products: Vec<String>,
    /// The attributes (`profile`, `productName`) it uses in a form not read.
    pub unread: Vec<&'static str>,
}

/// Reads the comparisons of NVIDIA's `profile` and `productName`
/// attributes in `expr`. A comparison is read when it is `ATTR == 'text'`,
/// `'text' == ATTR` or `ATTR in ['a', 'b']`, standing alone or joined to the
/// rest by `&&` and `||` (parentheses allowed); `has(ATTR)` is a guard and
/// names nothing. Any other use (`!=`, `!`, `?:`, functions, variables) is
/// listed in `unread`, never guessed at.
pub fn read(expr: &str) -> Selection {
    let tokens = tokens(expr);
    // A negation or a conditional can turn a comparison around.
    let turned = tokens
        .iter()
        .any(|t| matches!(t, Token::Punct("!") | Token::Punct("?")));
    let mut out = Selection::default();
    let get = |k: Option<usize>| k.and_then(|k| tokens.get(k));
    for at in 0..tokens.len() {
        let Some((name, len)) = nvidia_attribute(&tokens, at) else {
            continue;
        };
        let attribute = match name {
            PROFILE => PROFILE,
            PRODUCT_NAME => PRODUCT_NAME,
            _ => continue,
        };
        let end = at + len;
        let before = |k: usize| get(at.checked_sub(k));
        let after = |k: usize| tokens.get(end + k);
        let mut values: Option<Vec<String>> = None;
        if is_guard(&tokens, at, end) {
            continue;
        }
        match (after(0), after(1)) {
            (Some(Token::Punct("==")), Some(Token::Str(s)))
                if is_edge(before(1), true) && is_edge(after(2), false) =>
            {
                values = Some(vec![s.clone()]);
            }
            (Some(Token::Ident("in")), Some(Token::Punct("["))) if is_edge(before(1), true) => {
                let mut listed = Vec::new();
                let mut k = 2;
                let closed = loop {
                    match after(k) {
                        Some(Token::Str(s)) => listed.push(s.clone()),
                        Some(Token::Punct(",")) => {}
                        Some(Token::Punct("]")) => break true,
                        _ => break false,
                    }
                    k += 1;
                };
                if closed && is_edge(after(k + 1), false) {
                    values = Some(listed);
                }
            }
            _ => {}
        }
        if let (Some(Token::Punct("==")), Some(Token::Str(s))) = (before(1), before(2))
            && is_edge(before(3), true)
            && is_edge(after(0), false)
        {
            values = Some(vec![s.clone()]);
        }
        match values {
            Some(values) if !turned => {
                let list = if attribute == PROFILE {
                    &mut out.profiles
                } else {
                    &mut out.products
                };
                list.extend(values);
            }
            _ => {
                if !out.unread.contains(&attribute) {
                    out.unread.push(attribute);
                }
            }
        }
    }
    out
}

/// Whether the attribute at `tokens[at..end]` is the whole argument of
/// `has(...)`.
fn is_guard(tokens: &[Token<'_>], at: usize, end: usize) -> bool {
    let before = |k: usize| at.checked_sub(k).and_then(|k| tokens.get(k));
    matches!(before(1), Some(Token::Punct("(")))
        && matches!(before(2), Some(Token::Ident("has")))
        && matches!(tokens.get(end), Some(Token::Punct(")")))
}

/// The profile strings `expr` compares the NVIDIA `profile` attribute with,
/// in order (see [`read`]).
pub fn profile_literals(expr: &str) -> Vec<String> {
    read(expr).profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_compared_with_the_nvidia_attribute_are_read() {
        for (expr, want) in [
            (
                "device.attributes['gpu.nvidia.com'].profile == '1g.5gb'",
                vec!["1g.5gb"],
            ),
            (
                r#"device.attributes["gpu.nvidia.com"].profile=="3g.20gb""#,
                vec!["3g.20gb"],
            ),
            (
                "'2g.10gb' == device.attributes['gpu.nvidia.com'].profile",
                vec!["2g.10gb"],
            ),
            (
                "device.attributes['gpu.nvidia.com']['profile'] == r'1g.10gb+me'",
                vec!["1g.10gb+me"],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile in ['1g.5gb', \"2g.10gb\"]",
                vec!["1g.5gb", "2g.10gb"],
            ),
            (
                "device.driver == 'gpu.nvidia.com' && device.attributes['gpu.nvidia.com'].type == 'mig' && device.attributes['gpu.nvidia.com'].profile == '1g.12gb'",
                vec!["1g.12gb"],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile == '''4g.40gb'''",
                vec!["4g.40gb"],
            ),
        ] {
            assert_eq!(profile_literals(expr), want, "{expr}");
        }
    }

    #[test]
    fn other_expressions_name_no_profile() {
        for expr in [
            "device.attributes['gpu.nvidia.com'].profile != '1g.5gb'",
            "device.attributes['gpu.nvidia.com'].profile.startsWith('1g')",
            "device.attributes['gpu.nvidia.com'].productName == '1g.5gb'",
            "device.attributes['example.com'].profile == '1g.5gb'",
            "device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('10Gi')) >= 0",
            "profile == '1g.5gb'",
            "",
            "device.attributes['gpu.nvidia.com'].profile == ",
            "device.attributes['gpu.nvidia.com'].profile == '1g.5gb",
            "'",
            "\"\"\"",
            "r",
            "device.attributes['gpu.nvidia.com'",
            "é == device.attributes['gpu.nvidia.com'].profile ∧ '\\",
        ] {
            assert_eq!(profile_literals(expr), Vec::<String>::new(), "{expr:?}");
        }
    }

    #[test]
    fn no_string_makes_the_reader_fail() {
        // Every prefix of a tricky expression, cut at every byte (char
        // boundaries only, as a &str must be).
        let expr = "b'x' R\"y\" '''z''' device.attributes['gpu.nvidia.com'].profile in ['1g.5gb', 'é\\'', 3] == \"\\\"\"";
        for end in 0..=expr.len() {
            if let Some(prefix) = expr.get(..end) {
                let _ = profile_literals(prefix);
            }
        }
        // the list holds a number, and the comparison is not a conjunct
        assert_eq!(
            read(expr),
            Selection {
                unread: vec![PROFILE],
                ..Selection::default()
            }
        );
        let listed = "device.attributes['gpu.nvidia.com'].profile in ['1g.5gb', 'é\\'']";
        assert_eq!(profile_literals(listed), ["1g.5gb", "é\\'"]);
    }

    #[test]
    fn product_names_are_read_beside_profiles() {
        let expr = "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA A100-SXM4-40GB' && (device.attributes[\"gpu.nvidia.com\"].profile == '1g.5gb' || device.attributes['gpu.nvidia.com'].profile == '2g.10gb')";
        assert_eq!(
            read(expr),
            Selection {
                profiles: vec!["1g.5gb".into(), "2g.10gb".into()],
                products: vec!["NVIDIA A100-SXM4-40GB".into()],
                unread: vec![],
            }
        );
        assert_eq!(
            read("device.attributes['gpu.nvidia.com'].productName in ['NVIDIA H100 80GB HBM3', 'NVIDIA H200']").products,
            ["NVIDIA H100 80GB HBM3", "NVIDIA H200"]
        );
        // a guard names nothing and is understood
        assert_eq!(
            read(
                "has(device.attributes['gpu.nvidia.com'].profile) && device.attributes['gpu.nvidia.com'].profile == '3g.20gb'"
            ),
            Selection {
                profiles: vec!["3g.20gb".into()],
                ..Selection::default()
            }
        );
    }

    #[test]
    fn forms_not_read_are_reported_not_guessed() {
        for (expr, unread) in [
            (
                "device.attributes['gpu.nvidia.com'].profile != '1g.5gb'",
                vec![PROFILE],
            ),
            (
                "!(device.attributes['gpu.nvidia.com'].profile == '1g.5gb')",
                vec![PROFILE],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile.startsWith('1g')",
                vec![PROFILE],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile == '1g' + '.5gb'",
                vec![PROFILE],
            ),
            (
                "x ? device.attributes['gpu.nvidia.com'].profile == '1g.5gb' : true",
                vec![PROFILE],
            ),
            (
                "device.attributes['gpu.nvidia.com'].productName.matches('A100') && device.attributes['gpu.nvidia.com'].profile == '1g.5gb'",
                vec![PRODUCT_NAME],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile in profiles",
                vec![PROFILE],
            ),
            (
                "device.attributes['gpu.nvidia.com'].profile in ['1g.5gb'",
                vec![PROFILE],
            ),
            (
                "'1g.5gb' == device.attributes['gpu.nvidia.com'].profile.lowerAscii()",
                vec![PROFILE],
            ),
            ("device.attributes['gpu.nvidia.com'].type == 'mig'", vec![]),
            (
                "device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('10Gi')) >= 0",
                vec![],
            ),
        ] {
            let reading = read(expr);
            assert_eq!(reading.unread, unread, "{expr}");
            if !unread.contains(&PROFILE) {
                continue;
            }
            assert!(reading.profiles.is_empty(), "{expr}: {reading:?}");
        }
    }
}
