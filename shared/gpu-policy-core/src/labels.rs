//! Kubernetes label keys and values, checked the way the API server checks
//! them, so settings that name labels are refused before they can match
//! nothing.

/// A label name or value segment: at most 63 characters, alphanumeric at both
/// ends, `-`, `_`, `.` or alphanumerics inside.
fn check_name_segment(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.len() > 63 {
        return Err(format!("{text:?} is longer than 63 characters"));
    }
    let bytes = text.as_bytes();
    let alnum_ends = bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if !alnum_ends {
        return Err(format!(
            "{text:?} must start and end with a letter or digit"
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{text:?} contains {bad:?}; only letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    Ok(())
}

/// A label value (non-empty here: an empty workload type means nothing).
pub fn check_label_value(value: &str) -> Result<(), String> {
    check_name_segment(value).map_err(|e| format!("not a valid label value: {e}"))
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain of at most 253
/// characters.
pub fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    check_name_segment(name).map_err(|e| format!("not a valid label key: name part {e}"))?;
    if let Some(prefix) = prefix {
        check_dns_subdomain(prefix)
            .map_err(|e| format!("not a valid label key: prefix {prefix:?} {e}"))?;
    }
    Ok(())
}

/// A DNS subdomain (RFC 1123): what Kubernetes object names such as
/// DeviceClass names, and label key prefixes, must be.
pub(crate) fn check_dns_subdomain(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 253 {
        return Err("must be 1 to 253 characters".to_owned());
    }
    for part in text.split('.') {
        let bytes = part.as_bytes();
        let ok = !part.is_empty()
            && part.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes.first().is_some_and(|b| *b != b'-')
            && bytes.last().is_some_and(|b| *b != b'-');
        if !ok {
            return Err(
                "must be a DNS subdomain: lower-case letters, digits, '-' and '.'".to_owned(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn keys_and_values() {
        for ok in [
            "gpu-workload-type",
            "nvidia.com/gpu.present",
            "a",
            "k8s.io/x_y.z",
        ] {
            assert_eq!(check_label_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-lead",
            "trail-",
            "a/b/c",
            "/x",
            "Upper.COM/x",
            &"n".repeat(64),
        ] {
            assert!(check_label_key(bad).is_err(), "{bad}");
        }
        assert_eq!(check_label_value("training"), Ok(()));
        assert!(check_label_value("bad value").is_err());
    }
}
