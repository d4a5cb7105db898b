//! CSV and JSON encoding of one cell into a byte buffer: RFC 4180 quoting, JSON string escapes,
//! integers, and which text needs neither. Each is a direct byte loop with no allocation: they
//! run for every cell of a million-row run.

/// Appends `field` to a CSV line, quoted only when it has to be (RFC 4180).
pub fn push_csv_field(out: &mut Vec<u8>, field: impl AsRef<[u8]>) {
    let field = field.as_ref();
    let needs_quotes = field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for (index, part) in field.split(|&b| b == b'"').enumerate() {
        if index > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part);
    }
    out.push(b'"');
}

/// Appends `text` (UTF-8) as a JSON string literal.
pub fn push_json_string(out: &mut Vec<u8>, text: impl AsRef<[u8]>) {
    out.push(b'"');
    let bytes = text.as_ref();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether either writer changes `byte`: a control character, `"` or `\\` (and, in a cell,
/// the comma, which [`push_csv_field`] quotes).
pub fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Whether `text` reaches both outputs as it is: [`push_csv_field`] would not quote it and
/// [`push_json_string`] would escape nothing.
pub fn is_plain(text: &[u8]) -> bool {
    // A fold without an early exit, which the compiler turns into a vector loop.
    !text
        .iter()
        .fold(false, |special, &b| special | needs_escape(b) | (b == b','))
}

/// Appends `value` in decimal.
pub fn push_int(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(field: &str) -> String {
        let mut out = Vec::new();
        push_csv_field(&mut out, field);
        String::from_utf8(out).unwrap()
    }

    fn json(text: &str) -> String {
        let mut out = Vec::new();
        push_json_string(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed_and_quotes_are_doubled() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv(" spaced "), " spaced ");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv("cr\r"), "\"cr\r\"");
        assert_eq!(csv(""), "");
    }

    #[test]
    fn json_strings_escape_what_json_requires_and_round_trip() {
        for text in [
            "plain",
            "q\"uote",
            "back\\slash",
            "tab\tnew\nline\r",
            "\u{1}\u{1f}",
            "é€😀",
        ] {
            let encoded = json(text);
            let decoded: String = serde_json::from_str(&encoded).unwrap();
            assert_eq!(decoded, text);
        }
        assert_eq!(json("\u{1}"), "\"\\u0001\"");
    }

    #[test]
    fn plain_means_neither_writer_changes_the_text() {
        for text in [
            "",
            "C0001",
            "a b",
            "ü€",
            "x,y",
            "say \"hi\"",
            "back\\slash",
            "tab\t",
            "line\n",
            "cr\r",
            "\u{1}",
            "\u{7f}",
        ] {
            let unchanged = csv(text) == text && json(text) == format!("\"{text}\"");
            assert_eq!(is_plain(text.as_bytes()), unchanged, "{text:?}");
        }
    }

    #[test]
    fn integers_are_written_as_rust_writes_them() {
        for value in [0, 7, 10, -1, -10, 123_456_789, i64::MAX, i64::MIN] {
            let mut out = b"x".to_vec();
            push_int(&mut out, value);
            assert_eq!(out, format!("x{value}").into_bytes());
        }
    }
}
