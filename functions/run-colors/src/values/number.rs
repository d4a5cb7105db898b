//! `RANK` integers and `PRICE` decimals, parsed from a cell's text.

use std::borrow::Cow;

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
    pub text: Cow<'a, str>,
}

/// A decimal as written, `[+-]int[.frac][e[+-]exp]`, in its parts.
struct Decimal<'a> {
    sign: Option<u8>,
    int: &'a str,
    point: bool,
    frac: &'a str,
    exponent: &'a str,
}

impl<'a> Decimal<'a> {
    /// `text`'s parts, if it is a decimal (`.5` and `1.` are; `.`, `1e` and `inf` are not).
    fn split(text: &'a str) -> Option<Self> {
        let sign = text
            .as_bytes()
            .first()
            .copied()
            .filter(|b| matches!(b, b'+' | b'-'));
        let rest = &text[usize::from(sign.is_some())..];
        let (int, rest) = rest.split_at(leading_digits(rest));
        let (point, rest) = match rest.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let (frac, exponent) = rest.split_at(leading_digits(rest));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !exponent.is_empty() {
            let power = exponent.strip_prefix(['e', 'E'])?;
            let power = power.strip_prefix(['+', '-']).unwrap_or(power);
            if power.is_empty() || leading_digits(power) != power.len() {
                return None;
            }
        }
        Some(Decimal {
            sign,
            int,
            point,
            frac,
            exponent,
        })
    }

    /// Whether it is already written as the outputs write it: a valid JSON number.
    fn is_canonical(&self) -> bool {
        self.sign != Some(b'+')
            && !self.int.is_empty()
            && (self.int.len() == 1 || !self.int.starts_with('0'))
            && (!self.point || !self.frac.is_empty())
    }

    /// The same number as a JSON number: no `+`, no leading zeros, no bare `.5` or `1.`.
    fn canonical(&self) -> String {
        let int = self.int.trim_start_matches('0');
        let mut text = String::with_capacity(self.int.len() + self.frac.len() + 8);
        if self.sign == Some(b'-') {
            text.push('-');
        }
        text.push_str(if int.is_empty() { "0" } else { int });
        if !self.frac.is_empty() {
            text.push('.');
            text.push_str(self.frac);
        }
        text.push_str(self.exponent);
        text
    }
}

fn leading_digits(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

/// Parses a decimal `[+-]digits[.digits][e[+-]digits]` (`.5` and `1.` accepted), never
/// `inf` or `NaN`, nor one too large for a double.
pub fn parse_price(text: &str) -> Option<Price<'_>> {
    let decimal = Decimal::split(text)?;
    let text = if decimal.is_canonical() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(decimal.canonical())
    };
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(Price { value, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_decimals_keep_their_value_and_become_json_numbers() {
        const PIECES: [&str; 10] = ["", "-", "+", "0", "07", "5", ".", "e", "E-", "12"];
        let mut rng = orabridge_shared::testkit::TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for _ in 0..50_000 {
            let text: String = (0..rng.below(6))
                .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                .collect();
            let Some(price) = parse_price(&text) else {
                continue;
            };
            accepted += 1;
            // The value is the one Rust's own parser reads from the text as written.
            let as_written: f64 = text.parse().expect("a price is a float literal");
            assert_eq!(price.value.to_bits(), as_written.to_bits(), "{text:?}");
            // And what the outputs write is a JSON number, of that value.
            let json: serde_json::Value = serde_json::from_str(&price.text).expect("JSON");
            assert!(json.is_number(), "{text:?} as {}", price.text);
            let canonical: f64 = price.text.parse().expect("a float literal");
            assert_eq!(
                canonical.to_bits(),
                as_written.to_bits(),
                "{text:?} as {}",
                price.text
            );
        }
        assert!(accepted > 5_000, "{accepted}");
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
