//! `COLOR_DATE` timestamps: parsed from the three accepted forms into microseconds since the
//! Unix epoch in UTC (integer comparison is then the ordering the ranking and rules need), and
//! written back as RFC 3339 UTC.

use super::Micros;
use super::calendar::{civil_from_days, days_from_civil, days_in_month, digits, push_padded};

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// One day in microseconds.
pub const MICROS_PER_DAY: i64 = SECONDS_PER_DAY * MICROS_PER_SECOND;

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (or with `T`) with an optional fraction, and
/// RFC 3339 with `Z` or a `±HH:MM` offset. No offset means UTC.
pub fn parse_timestamp(text: &str) -> Option<Micros> {
    let b = text.as_bytes();
    let days = parse_date(b.get(..10)?)?;
    if b.len() == 10 {
        return Some(days * MICROS_PER_DAY);
    }
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T' || b[10] == b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (micros, offset) = parse_fraction_and_offset(&b[19..])?;
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset;
    Some(seconds * MICROS_PER_SECOND + micros)
}

/// The day number of a `YYYY-MM-DD` (ten bytes), if it is a real date.
fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// After the seconds: an optional fraction (its microseconds) and an optional offset (in
/// seconds east of UTC).
fn parse_fraction_and_offset(rest: &[u8]) -> Option<(i64, i64)> {
    let mut rest = rest;
    let mut micros = 0i64;
    if let Some((b'.', fraction)) = rest.split_first() {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Digits past the sixth are below our resolution: truncated, not rounded, so a
        // nanosecond Oracle TIMESTAMP(9) never moves into the next microsecond.
        for (i, digit) in fraction[..len].iter().take(6).enumerate() {
            micros += i64::from(digit - b'0') * 10i64.pow(5 - i as u32);
        }
        rest = &fraction[len..];
    }
    let offset_seconds = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = (hours * 60 + minutes) * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    Some((micros, offset_seconds))
}

/// Writes `micros` as RFC 3339 UTC: `2026-11-20T14:30:00Z`, with `.mmm` or `.uuuuuu` only when
/// the value has a fraction.
pub fn write_timestamp(out: &mut Vec<u8>, micros: Micros) {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    if !(0..=9999).contains(&year) {
        // Outside four-digit years: a sign or a fifth digit, field by field.
        push_padded(out, year, 4);
        out.push(b'-');
        push_padded(out, month, 2);
        out.push(b'-');
        push_padded(out, day, 2);
        out.push(b'T');
        push_padded(out, second_of_day / 3600, 2);
        out.push(b':');
        push_padded(out, second_of_day / 60 % 60, 2);
        out.push(b':');
        push_padded(out, second_of_day % 60, 2);
        return push_fraction(out, fraction);
    }
    let mut b = *b"0000-00-00T00:00:00";
    for (at, value) in [
        (0, year / 100),
        (2, year % 100),
        (5, month),
        (8, day),
        (11, second_of_day / 3600),
        (14, second_of_day / 60 % 60),
        (17, second_of_day % 60),
    ] {
        put_two(&mut b, at, value);
    }
    out.extend_from_slice(&b);
    push_fraction(out, fraction);
}

/// Writes `v` (0..=99) as two digits at `at`.
fn put_two(b: &mut [u8], at: usize, v: i64) {
    b[at] = b'0' + (v / 10) as u8;
    b[at + 1] = b'0' + (v % 10) as u8;
}

/// `.mmm` or `.uuuuuu` when there is a fraction, then the `Z`.
fn push_fraction(out: &mut Vec<u8>, fraction: i64) {
    if fraction != 0 {
        out.push(b'.');
        if fraction % 1000 == 0 {
            push_padded(out, fraction / 1000, 3);
        } else {
            push_padded(out, fraction, 6);
        }
    }
    out.push(b'Z');
}

/// `micros` as an RFC 3339 UTC string.
pub fn format_timestamp(micros: Micros) -> String {
    let mut out = Vec::with_capacity(27);
    write_timestamp(&mut out, micros);
    String::from_utf8(out).unwrap_or_default()
}

/// The UTC calendar date of `micros` as `YYYY-MM-DD` (the S3 run folder's date).
pub fn format_date(micros: Micros) -> String {
    let (year, month, day) = civil_from_days(
        micros
            .div_euclid(MICROS_PER_SECOND)
            .div_euclid(SECONDS_PER_DAY),
    );
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_timestamp_forms_agree_on_the_same_instant() {
        let rfc = parse_timestamp("2026-11-20T14:30:00Z").unwrap();
        assert_eq!(parse_timestamp("2026-11-20 14:30:00"), Some(rfc));
        assert_eq!(parse_timestamp("2026-11-20T14:30:00"), Some(rfc));
        assert_eq!(parse_timestamp("2026-11-20T15:30:00+01:00"), Some(rfc));
        assert_eq!(parse_timestamp("2026-11-20T09:30:00-05:00"), Some(rfc));
        assert_eq!(
            parse_timestamp("2026-11-20"),
            Some(rfc - (14 * 3600 + 30 * 60) * 1_000_000)
        );
        assert_eq!(format_timestamp(rfc), "2026-11-20T14:30:00Z");
    }

    #[test]
    fn timestamps_round_trip_through_the_output_format_across_centuries_and_leap_days() {
        for text in [
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2000-02-29T12:00:00Z",
            "2024-02-29T23:59:59.250Z",
            "2100-12-31T00:00:00.000001Z",
            "1900-03-01T00:00:00Z",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(text).unwrap()), text);
        }
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01Z"),
            Some(1_000_000),
            "epoch arithmetic"
        );
    }

    #[test]
    fn instants_outside_four_digit_years_are_still_written_whole() {
        let day = MICROS_PER_DAY;
        for (micros, text) in [
            (-719_468 * day, "0000-03-01T00:00:00Z"),
            (-719_469 * day, "0000-02-29T00:00:00Z"),
            (
                2_932_896 * day + 86_399_999_999,
                "9999-12-31T23:59:59.999999Z",
            ),
            (2_932_897 * day, "10000-01-01T00:00:00Z"),
            (-719_529 * day, "-0001-12-31T00:00:00Z"),
        ] {
            assert_eq!(format_timestamp(micros), text, "{micros}");
        }
    }

    #[test]
    fn fractions_beyond_microseconds_are_truncated() {
        let nanos = parse_timestamp("2026-01-01 00:00:00.123456789").unwrap();
        assert_eq!(format_timestamp(nanos), "2026-01-01T00:00:00.123456Z");
    }

    #[test]
    fn impossible_or_malformed_timestamps_are_rejected() {
        for text in [
            "",
            "2026-13-01",
            "2026-02-29",
            "2026-04-31",
            "2026-11-20 24:00:00",
            "2026-11-20 12:60:00",
            "2026-11-20T12:00",
            "2026-11-20T12:00:00.",
            "2026-11-20T12:00:00+0100",
            "2026-11-20T12:00:00Q",
            "20261120",
            "2026/11/20",
            "yesterday",
            "2026-1a-20",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text:?}");
        }
    }
}
