//! `RANK` integers and `PRICE` decimals, parsed from a cell's text.

/// Parses a `RANK`: an integer, or an integral decimal such as `2.0` (what a float column
/// written by pandas looks like when the column has gaps). `2.5` is not a rank.
pub fn parse_rank(text: &str) -> Option<i64> {
    if let Ok(rank) = text.parse::<i64>() {
        return Some(rank);
    }
    let (whole, fraction) = text.split_once('.')?;
    if fraction.is_empty() || !fraction.bytes().all(|c| c == b'0') {
        return None;
    }
    whole.parse::<i64>().ok()
}

/// A `PRICE`: its value for comparisons and its canonical decimal text for the outputs (a
/// valid JSON number: no leading `+`, no bare `.5` or `1.`), so the files repeat what the
/// source said, digit for digit, rather than a float's rendering of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Price<'a> {
    /// The value compared by rules and the ranking.
    pub value: f64,
    /// The canonical text written to the outputs (borrowed when the input already is).
    pub text: std::borrow::Cow<'a, str>,
}

/// `±int.frac` computed directly when it has at most 15 digits (`mantissa` is all of them as
/// one integer, `frac_len` how many follow the point): the integer is then exact in a double,
/// and so is the power of ten, so one division rounds once, to the same double the full parser
/// finds (Clinger's fast path, which `str::parse` also takes, after much more work per call).
fn short_decimal(negative: bool, mantissa: u64, frac_len: usize) -> f64 {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let value = mantissa as f64 / POWERS[frac_len];
    if negative { -value } else { value }
}

/// Parses a decimal `[+-]digits[.digits][e[+-]digits]` (`.5` and `1.` accepted), never
/// `inf` or `NaN`.
pub fn parse_price(text: &str) -> Option<Price<'_>> {
    let b = text.as_bytes();
    let (negative, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    // The digits as one integer, read as they are scanned (exact up to 15 of them).
    let mut mantissa = 0u64;
    let mut digits_from = |i: &mut usize| {
        let start = *i;
        while let Some(digit) = b.get(*i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
            *i += 1;
        }
        start..*i
    };
    let int_digits = digits_from(&mut i);
    let has_point = b.get(i) == Some(&b'.');
    let frac_digits = if has_point {
        i += 1;
        digits_from(&mut i)
    } else {
        i..i
    };
    let (int_len, frac_len) = (int_digits.len(), frac_digits.len());
    if int_len == 0 && frac_len == 0 {
        return None;
    }
    // Every byte before `i` is ASCII: these are char boundaries.
    let int_digits = &text[int_digits];
    let frac_digits = &text[frac_digits];
    let mut exponent = "";
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let start = i;
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let digits_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        exponent = &text[start..i];
    }
    if i != b.len() {
        return None;
    }
    let already_canonical = b[0] != b'+'
        && !int_digits.is_empty()
        && (int_digits.len() == 1 || !int_digits.starts_with('0'))
        && (!has_point || !frac_digits.is_empty());
    if already_canonical {
        // The common case: no copy, one float parse, or none for a short plain decimal.
        let value: f64 = if exponent.is_empty() && int_len + frac_len <= 15 {
            short_decimal(negative, mantissa, frac_len)
        } else {
            text.parse().ok()?
        };
        return value.is_finite().then_some(Price {
            value,
            text: std::borrow::Cow::Borrowed(text),
        });
    }
    let mut canonical = String::with_capacity(text.len() + 1);
    if negative {
        canonical.push('-');
    }
    // JSON numbers allow no leading zeros: `007.5` is written `7.5`.
    let int_digits = int_digits.trim_start_matches('0');
    canonical.push_str(if int_digits.is_empty() {
        "0"
    } else {
        int_digits
    });
    if !frac_digits.is_empty() {
        canonical.push('.');
        canonical.push_str(frac_digits);
    }
    canonical.push_str(exponent);
    let value: f64 = canonical.parse().ok()?;
    value.is_finite().then_some(Price {
        value,
        text: std::borrow::Cow::Owned(canonical),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_decimals_parse_to_exactly_the_double_the_full_parser_finds() {
        let mut rng = crate::test_rng::TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for _ in 0..200_000 {
            let int_len = rng.below(9) as usize;
            let frac_len = rng.below(9) as usize;
            let digits: String = (0..int_len + frac_len)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect();
            let (int, frac) = digits.split_at(int_len);
            let sign = if rng.below(3) == 0 { "-" } else { "" };
            let text = match frac {
                "" => format!("{sign}{int}"),
                _ => format!("{sign}{int}.{frac}"),
            };
            let Some(price) = parse_price(&text) else {
                assert!(int.is_empty() && frac.is_empty(), "{text:?}");
                continue;
            };
            let full: f64 = price.text.parse().expect("canonical text parses");
            assert_eq!(price.value.to_bits(), full.to_bits(), "{text:?}");
            checked += 1;
        }
        assert!(checked > 150_000);
        for (text, bits) in [
            ("0.1", 0.1f64),
            ("-0.0", -0.0),
            ("999999999999999", 999999999999999.0),
        ] {
            assert_eq!(
                parse_price(text).expect(text).value.to_bits(),
                bits.to_bits()
            );
        }
    }

    #[test]
    fn ranks_are_integers_or_integral_decimals() {
        assert_eq!(parse_rank("3"), Some(3));
        assert_eq!(parse_rank("-1"), Some(-1));
        assert_eq!(parse_rank("2.0"), Some(2));
        assert_eq!(parse_rank("2.00"), Some(2));
        for bad in ["2.5", "2.", "two", "", "1e3", "0x10"] {
            assert_eq!(parse_rank(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn prices_keep_their_digits_in_canonical_form() {
        let price = parse_price("101.50").unwrap();
        assert_eq!((price.value, price.text.as_ref()), (101.5, "101.50"));
        assert_eq!(parse_price("+7").unwrap().text, "7");
        assert_eq!(parse_price(".5").unwrap().text, "0.5");
        assert_eq!(parse_price("-.5").unwrap().text, "-0.5");
        assert_eq!(parse_price("3.").unwrap().text, "3");
        assert_eq!(parse_price("007.50").unwrap().text, "7.50");
        assert_eq!(parse_price("-00").unwrap().text, "-0");
        for text in ["007.50", "0.5", "1e5", "-0", "12"] {
            let canonical = parse_price(text).unwrap().text;
            assert!(
                serde_json::from_str::<f64>(&canonical).is_ok(),
                "{canonical} is JSON"
            );
        }
        assert_eq!(parse_price("1.5e2").unwrap().value, 150.0);
        for bad in [
            "", "-", ".", "abc", "1,5", "inf", "NaN", "1e", "1e400", "1.2.3", " 1",
        ] {
            assert_eq!(parse_price(bad), None, "{bad:?}");
        }
    }
}
