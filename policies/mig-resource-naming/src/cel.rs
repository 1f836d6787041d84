//! The MIG profiles a DRA CEL selector names.
//!
//! NVIDIA's DRA driver gives each MIG device the attribute
//! `device.attributes['gpu.nvidia.com'].profile` (`"1g.5gb"`, `"3g.20gb"`);
//! claims select a slice by comparing it with a string:
//! `device.attributes['gpu.nvidia.com'].profile == '1g.5gb'`, the other way
//! round, or `... .profile in ['1g.5gb', '2g.10gb']`. This reads those
//! strings with a small tokenizer: any other use of the attribute (`!=`,
//! functions, variables) names no profile and is left alone, and no input
//! makes it fail.

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

/// The length of `device.attributes['gpu.nvidia.com'].profile` (or
/// `...["profile"]`) starting at `tokens[at]`, if it is there.
fn profile_attribute(tokens: &[Token<'_>], at: usize) -> Option<usize> {
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
    if punct(6, ".") && ident(7, "profile") {
        Some(8)
    } else if punct(6, "[") && string(7, "profile") && punct(8, "]") {
        Some(9)
    } else {
        None
    }
}

/// The profile strings `expr` compares the NVIDIA `profile` attribute with,
/// in order.
pub fn profile_literals(expr: &str) -> Vec<String> {
    let tokens = tokens(expr);
    let mut out = Vec::new();
    for at in 0..tokens.len() {
        let Some(len) = profile_attribute(&tokens, at) else {
            continue;
        };
        let after = |k: usize| tokens.get(at + len + k);
        match (after(0), after(1)) {
            (Some(Token::Punct("==")), Some(Token::Str(s))) => out.push(s.clone()),
            (Some(Token::Ident("in")), Some(Token::Punct("["))) => {
                let mut k = 2;
                while let Some(token) = after(k) {
                    match token {
                        Token::Str(s) => out.push(s.clone()),
                        Token::Punct(",") => {}
                        _ => break,
                    }
                    k += 1;
                }
            }
            _ => {}
        }
        if let (Some(Token::Punct("==")), Some(Token::Str(s))) = (
            at.checked_sub(1).and_then(|k| tokens.get(k)),
            at.checked_sub(2).and_then(|k| tokens.get(k)),
        ) {
            out.push(s.clone());
        }
    }
    out
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
        assert_eq!(profile_literals(expr), ["1g.5gb", "é\\'"]);
    }
}
