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
    parse_timestamp_with(text, parse_date)
}

/// [`parse_timestamp`] for many values: it remembers the day number of the last dates it read
/// (by their `YYYY-MM-DD` text), so the calendar checks and arithmetic run once a day rather
/// than once a row.
pub struct TimestampParser {
    // By a hash of the date text: the text (zero-padded) and its day number.
    dates: [(u128, i64); 64],
}

impl Default for TimestampParser {
    fn default() -> Self {
        Self::new()
    }
}

impl TimestampParser {
    /// A parser that remembers nothing yet.
    pub fn new() -> Self {
        // No text makes this key (its upper bytes are padding, zero in every real key), so it
        // marks an empty slot.
        Self {
            dates: [(u128::MAX, 0); 64],
        }
    }

    /// Parses `text` as [`parse_timestamp`] does.
    pub fn parse(&mut self, text: &str) -> Option<Micros> {
        parse_timestamp_with(text, |date| {
            let mut key = [0u8; 16];
            key[..10].copy_from_slice(date);
            let key = u128::from_le_bytes(key);
            let slot = &mut self.dates[((key as u64 ^ (key >> 64) as u64)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                >> 58) as usize];
            if slot.0 == key {
                return Some(slot.1);
            }
            let days = parse_date(date)?;
            *slot = (key, days);
            Some(days)
        })
    }
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

/// [`parse_timestamp`] with the day number of the first ten bytes from `date_days`.
fn parse_timestamp_with(
    text: &str,
    date_days: impl FnOnce(&[u8]) -> Option<i64>,
) -> Option<Micros> {
    let b = text.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let days = date_days(&b[..10])?;
    if b.len() == 10 {
        return Some(days * SECONDS_PER_DAY * MICROS_PER_SECOND);
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
    let mut rest = &b[19..];
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
    let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * MICROS_PER_SECOND + micros)
}

/// Writes `micros` as RFC 3339 UTC: `2026-11-20T14:30:00Z`, with `.mmm` or `.uuuuuu` only when
/// the value has a fraction.
pub fn write_timestamp(out: &mut Vec<u8>, micros: Micros) {
    TimestampWriter::new().write(out, micros);
}

/// [`write_timestamp`] for many values: it remembers the date text of the last days it wrote
/// (a run's colors span a few weeks), so the calendar arithmetic runs once a day rather than
/// once a row.
pub struct TimestampWriter {
    // By day number modulo the length: the day and its `YYYY-MM-DD`.
    dates: [(i64, [u8; 10]); 64],
}

impl Default for TimestampWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TimestampWriter {
    /// A writer that remembers nothing yet.
    pub fn new() -> Self {
        Self {
            dates: [(i64::MIN, [0; 10]); 64],
        }
    }

    /// Appends `micros` as [`write_timestamp`] does.
    pub fn write(&mut self, out: &mut Vec<u8>, micros: Micros) {
        let seconds = micros.div_euclid(MICROS_PER_SECOND);
        let fraction = micros.rem_euclid(MICROS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let slot = &mut self.dates[days.rem_euclid(64) as usize];
        if slot.0 != days {
            let (year, month, day) = civil_from_days(days);
            if !(0..=9999).contains(&year) {
                // Outside four-digit years: written field by field, not remembered.
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
                push_fraction(out, fraction);
                return;
            }
            let mut date = *b"0000-00-00";
            put_two(&mut date, 0, year / 100);
            put_two(&mut date, 2, year % 100);
            put_two(&mut date, 5, month);
            put_two(&mut date, 8, day);
            *slot = (days, date);
        }
        // One fixed-width block: this runs for every ranked row.
        let mut b = *b"0000-00-00T00:00:00";
        b[..10].copy_from_slice(&slot.1);
        put_two(&mut b, 11, second_of_day / 3600);
        put_two(&mut b, 14, second_of_day / 60 % 60);
        put_two(&mut b, 17, second_of_day % 60);
        out.extend_from_slice(&b);
        push_fraction(out, fraction);
    }
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
    fn one_timestamp_parser_for_many_values_parses_what_parse_timestamp_parses() {
        let mut parser = TimestampParser::new();
        let texts = [
            "2026-11-20",
            "2026-11-20 14:30:00",
            "2026-11-21T00:00:00Z",
            "2026-02-29",
            "2024-02-29T23:59:59.5+01:00",
            "2026-13-01",
            "2026-11-2x",
            "0000-01-01",
            "9999-12-31",
            "2026-11-20T25:00:00",
            "",
            "2026-11-2",
            "2026/11/20",
            "2026-11-20 14:30:00",
            "2024-02-29",
            "1970-01-01T00:00:00-00:30",
            "\0\0\0\0\0\0\0\0\0\0",
        ];
        for round in 0..3 {
            for text in texts {
                assert_eq!(
                    parser.parse(text),
                    parse_timestamp(text),
                    "round {round}: {text:?}"
                );
            }
        }
        // More distinct dates than slots, each asked twice.
        for day in 1..=28 {
            for month in 1..=12 {
                let text = format!("2026-{month:02}-{day:02}T12:00:00Z");
                for _ in 0..2 {
                    assert_eq!(parser.parse(&text), parse_timestamp(&text), "{text}");
                }
            }
        }
    }

    #[test]
    fn one_timestamp_writer_for_many_values_writes_what_write_timestamp_writes() {
        // Days that share a cache slot (64 apart), negative days, far years, fractions.
        let mut writer = TimestampWriter::new();
        let day = MICROS_PER_DAY;
        let values = [
            0,
            -1,
            day * 64,
            day * 64 + 1_500_000,
            20_000 * day + 3_723_000_123,
            20_000 * day + 64 * day,
            20_000 * day,
            -719_468 * day,
            -719_469 * day,
            2_932_897 * day,
            2_932_896 * day + 86_399_999_999,
            i64::MIN / 2,
            i64::MAX / 2,
        ];
        for &micros in values.iter().chain(values.iter().rev()) {
            let mut one = Vec::new();
            writer.write(&mut one, micros);
            let mut fresh = Vec::new();
            TimestampWriter::new().write(&mut fresh, micros);
            assert_eq!(one, fresh, "{micros}");
            if let Some(parsed) = parse_timestamp(std::str::from_utf8(&one).expect("ASCII")) {
                assert_eq!(parsed, micros, "{}", String::from_utf8_lossy(&one));
            }
        }
    }

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
