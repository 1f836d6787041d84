//! Kubernetes quantity strings, read as whole device counts.
//!
//! Extended resources such as `nvidia.com/gpu` are counted in whole devices:
//! the API server accepts `500m` or `0.5` in a manifest, but the scheduler can
//! never satisfy them. This module parses the full quantity grammar
//! (`1`, `1000m`, `1k`, `1Ki`, `1e3`) exactly, with integer arithmetic, and
//! says precisely why a value is not a positive whole number.

use std::fmt;

/// Why a quantity is not a usable GPU count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantityError {
    /// The string is empty.
    Empty,
    /// The string is not a Kubernetes quantity at all (`abc`, `1K`, `1.2.3`).
    Invalid,
    /// Below zero (`-1`).
    Negative,
    /// Exactly zero: asks for no device at all.
    Zero,
    /// Not a whole number of devices (`0.5`, `500m`, `1500m`).
    Fractional,
    /// A whole number too large to be a device count.
    TooLarge,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuantityError::Empty => "is empty",
            QuantityError::Invalid => "is not a Kubernetes quantity",
            QuantityError::Negative => "is negative",
            QuantityError::Zero => "is zero",
            QuantityError::Fractional => "is not a whole number of devices",
            QuantityError::TooLarge => "is too large to be a device count",
        })
    }
}

/// Largest count accepted; far above any node, small enough that sums over
/// thousands of containers cannot overflow.
pub const MAX_DEVICE_COUNT: u64 = 1 << 32;

/// Parses a quantity as a positive whole device count.
///
/// ```
/// use gpu_policy_core::quantity::{parse_device_count, QuantityError};
/// assert_eq!(parse_device_count("2"), Ok(2));
/// assert_eq!(parse_device_count("1000m"), Ok(1));
/// assert_eq!(parse_device_count("500m"), Err(QuantityError::Fractional));
/// assert_eq!(parse_device_count("0"), Err(QuantityError::Zero));
/// ```
pub fn parse_device_count(text: &str) -> Result<u64, QuantityError> {
    let parsed = parse_quantity(text)?;
    if parsed.negative && parsed.mantissa != 0 {
        return Err(QuantityError::Negative);
    }
    let value = parsed.whole_value()?;
    if value == 0 {
        return Err(QuantityError::Zero);
    }
    if value > u128::from(MAX_DEVICE_COUNT) {
        return Err(QuantityError::TooLarge);
    }
    u64::try_from(value).map_err(|_| QuantityError::TooLarge)
}

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`, with its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

/// Digits beyond this are more than any count could need; refuse rather than
/// overflow.
const MAX_DIGITS: usize = 30;

impl Parsed {
    /// The exact value when it is a whole number.
    fn whole_value(&self) -> Result<u128, QuantityError> {
        let mut value = self.mantissa;
        if self.mantissa == 0 {
            return Ok(0);
        }
        for _ in 0..self.exp2 {
            value = value.checked_mul(2).ok_or(QuantityError::TooLarge)?;
        }
        if self.exp10 >= 0 {
            for _ in 0..self.exp10 {
                value = value.checked_mul(10).ok_or(QuantityError::TooLarge)?;
            }
            Ok(value)
        } else {
            for _ in 0..self.exp10.unsigned_abs() {
                if !value.is_multiple_of(10) {
                    return Err(QuantityError::Fractional);
                }
                value /= 10;
            }
            Ok(value)
        }
    }
}

/// Parses the Kubernetes quantity grammar:
/// `<sign><digits>[.<digits>]<suffix>` where the suffix is a decimal SI
/// (`n u m k M G T P E`), a binary SI (`Ki Mi Gi Ti Pi Ei`) or a decimal
/// exponent (`e3`, `E-2`).
fn parse_quantity(text: &str) -> Result<Parsed, QuantityError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    if let Some(&sign) = bytes.first()
        && (sign == b'+' || sign == b'-')
    {
        negative = sign == b'-';
        pos = 1;
    }

    let mut mantissa: u128 = 0;
    let mut significant_digits = 0usize;
    let mut any_digit = false;
    let mut frac_digits: i32 = 0;
    let mut seen_dot = false;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'0'..=b'9' => {
                any_digit = true;
                if seen_dot {
                    frac_digits += 1;
                }
                if mantissa != 0 || b != b'0' {
                    significant_digits += 1;
                    if significant_digits > MAX_DIGITS {
                        return Err(QuantityError::TooLarge);
                    }
                }
                mantissa = mantissa * 10 + u128::from(b - b'0');
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        pos += 1;
    }
    if !any_digit {
        return Err(QuantityError::Invalid);
    }
    // Trailing zeros after the dot only lengthen the digit count: MAX_DIGITS
    // bounds frac_digits too, since every digit after a non-zero one counts.
    if frac_digits as usize > MAX_DIGITS + 10 {
        return Err(QuantityError::TooLarge);
    }

    let suffix = text.get(pos..).ok_or(QuantityError::Invalid)?;
    let (exp10, exp2) = parse_suffix(suffix)?;
    Ok(Parsed {
        negative,
        mantissa,
        exp10: exp10 - frac_digits,
        exp2,
    })
}

/// The multiplier a suffix stands for, as (power of ten, power of two).
fn parse_suffix(suffix: &str) -> Result<(i32, u32), QuantityError> {
    Ok(match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let rest = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .ok_or(QuantityError::Invalid)?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError::Invalid);
            }
            // Exponents beyond this make any non-zero value too large or too
            // small to be a count; clamp so the arithmetic stays bounded.
            let exp: i32 = rest.parse().map_err(|_| QuantityError::TooLarge)?;
            if !(-60..=60).contains(&exp) {
                return Err(if exp > 0 {
                    QuantityError::TooLarge
                } else {
                    QuantityError::Fractional
                });
            }
            (exp, 0)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn device_counts_table() {
        use QuantityError::*;
        // Each outcome with every input that gives it.
        let cases: &[(Result<u64, QuantityError>, &[&str])] = &[
            (
                Ok(1),
                &["1", "1000m", "1.0", "10e-1", "1000000000n", "1000000u"],
            ),
            (Ok(2), &["2", "2000m", "2."]),
            (Ok(8), &["8"]),
            (Ok(3), &["+3"]),
            (Ok(4), &[" 4 "]),
            (
                Err(Fractional),
                &["1500m", "500m", "0.5", ".5", "1e-1", "1e-999"],
            ),
            (Ok(1000), &["1k", "1e3"]),
            (Ok(1024), &["1Ki"]),
            (Ok(100), &["1E2"]),
            (Ok(1_000_000), &["1M"]),
            (Ok(1_000_000_000), &["1G"]),
            (
                Err(TooLarge),
                &[
                    "5G",
                    "1Ei",
                    "1e60",
                    "1e999",
                    "99999999999999999999999999999999999999",
                ],
            ),
            (Err(Negative), &["-1", "-0.5"]),
            (Err(Zero), &["0", "-0", "0m", "000"]),
            (Err(Empty), &["", "   "]),
            (
                Err(Invalid),
                &[
                    "abc", "1K", "1ki", "1.2.3", "1 gpu", "-", ".", "1e", "1e+", "0x10", "１",
                ],
            ),
        ];
        for (expected, inputs) in cases {
            for input in *inputs {
                assert_eq!(&parse_device_count(input), expected, "input {input:?}");
            }
        }
    }

    #[test]
    fn max_count_is_accepted_and_one_more_is_not() {
        assert_eq!(
            parse_device_count(&MAX_DEVICE_COUNT.to_string()),
            Ok(MAX_DEVICE_COUNT)
        );
        assert_eq!(
            parse_device_count(&(MAX_DEVICE_COUNT + 1).to_string()),
            Err(QuantityError::TooLarge)
        );
    }

    #[test]
    fn long_fraction_of_zeros_is_bounded() {
        let long = format!("1.{}", "0".repeat(10_000));
        assert_eq!(parse_device_count(&long), Err(QuantityError::TooLarge));
        let many_leading_zeros = format!("{}1", "0".repeat(10_000));
        assert_eq!(parse_device_count(&many_leading_zeros), Ok(1));
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            QuantityError::Fractional.to_string(),
            "is not a whole number of devices"
        );
    }
}
