//! The writers' building blocks: CSV and JSON cell encoding into a byte buffer, a writer that
//! hashes and counts what passes through it, and the run manifest.
//!
//! Encoding is hand-written because it runs for every cell of a million-row run; each function
//! here is a direct byte loop with no allocation.

use std::io::{self, Write};

use orabridge_shared::encoding::hex;
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// Whether `bytes` reach both outputs unchanged: no `,` `"` `\\` or control character, so
/// [`push_csv_field`] would not quote it and [`push_json_string`] would escape nothing.
pub fn is_plain(bytes: &[u8]) -> bool {
    // A fold without early exit: the compiler turns it into a vector loop.
    !bytes
        .iter()
        .fold(false, |special, &b| special | needs_escape(b) | (b == b','))
}

/// [`is_plain`] for a whole CSV line, whose commas separate the cells rather than sit in them.
pub fn is_plain_line(line: &[u8]) -> bool {
    !line
        .iter()
        .fold(false, |special, &b| special | needs_escape(b))
}

/// Whether either writer changes `b`: a control character, `"` or `\\`.
pub(crate) fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
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

/// Pieces of at most this many bytes are appended as one block (see [`Text`]).
pub(crate) const BLOCK: usize = 32;

/// A piece of text to append to an output row, with the bytes that follow it where it is
/// stored (`room`). A short piece is appended as one fixed-size copy of the block it starts,
/// whose tail is then cut off again: two vector moves instead of a call to `memcpy`, which
/// costs more than the copy for the ten-byte cells of a color row, twenty of them a row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    room: &'a [u8],
    len: usize,
}

impl<'a> Text<'a> {
    /// `text` with no room after it (appended by `memcpy`, unless it has 32 bytes).
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Self {
            room: text,
            len: text.len(),
        }
    }

    /// The first `len` bytes of `room` (all of it if it is shorter).
    pub(crate) fn with_room(room: &'a [u8], len: usize) -> Self {
        Self {
            room,
            len: len.min(room.len()),
        }
    }

    /// The text itself.
    pub(crate) fn bytes(self) -> &'a [u8] {
        &self.room[..self.len]
    }

    /// Appends the text to `out`.
    #[inline]
    pub(crate) fn push_to(self, out: &mut Vec<u8>) {
        match self.room.first_chunk::<BLOCK>() {
            Some(block) if self.len <= BLOCK => {
                out.extend_from_slice(block);
                out.truncate(out.len() - (BLOCK - self.len));
            }
            _ => push_long(out, self.bytes()),
        }
    }
}

/// [`Text::push_to`] for a text with no room: a function of its own, so the compiler does not
/// merge the fixed-size copy into the same `memcpy` call with a variable length.
#[cold]
#[inline(never)]
fn push_long(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

/// A writer that counts and SHA-256-hashes every byte it passes on, so the manifest's
/// checksums describe exactly the bytes written, without reading the files back.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Flushes and returns the size and hex SHA-256 of everything written.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.size, hex(&self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One output file in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// File name inside the run folder.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// Row counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct RowCounts {
    /// Rows read from the source.
    pub input: u64,
    /// Rows ranked into `colors.csv`.
    pub included: u64,
    /// Rows in `excluded.csv` (invalid or matched by a rule).
    pub excluded: u64,
}

/// `manifest.json`: what a run read, what it wrote, and checksums to verify the files.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `<as_of as YYYYMMDDTHHMMSSZ>-<8 hex of the outputs' digest>`: the same input and rules
    /// at the same `as_of` give the same run id (and the same S3 folder).
    pub run_id: String,
    /// The run's reference time, RFC 3339 UTC.
    pub as_of: String,
    /// Where the rows came from (`csv:<path>` or `oracle:<SCHEMA>.<TABLE>`).
    pub source: String,
    /// Row counts.
    pub rows: RowCounts,
    /// Distinct CUSIPs in `colors.csv`.
    pub securities: u64,
    /// Rules applied, and the price order used.
    pub rules: RulesSummary,
    /// Wall time of reading, ranking and writing, in milliseconds.
    pub duration_ms: u64,
    /// The data files, in the order they are published.
    pub files: Vec<FileEntry>,
}

/// The rules part of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RulesSummary {
    /// How many rules the document had.
    pub count: usize,
    /// `asc` or `desc`.
    pub price_order: String,
    /// SHA-256 of the rules document as read.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use orabridge_shared::encoding::sha256_hex;

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
            // A line's commas are separators: only the other bytes matter there.
            assert_eq!(
                is_plain_line(text.as_bytes()),
                text.split(',').all(|cell| is_plain(cell.as_bytes())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn texts_append_exactly_their_bytes_whatever_the_room_after_them() {
        let stored: Vec<u8> = (0..100u8).collect();
        for start in [0, 10, 60, 99, 100] {
            for len in 0..=(100 - start) {
                let room = &stored[start..];
                for text in [Text::with_room(room, len), Text::new(&room[..len])] {
                    let mut out = b"head".to_vec();
                    text.push_to(&mut out);
                    assert_eq!(out[..4], *b"head");
                    assert_eq!(out[4..], stored[start..start + len], "{start}+{len}");
                    assert_eq!(text.bytes(), &stored[start..start + len]);
                }
            }
        }
        assert_eq!(Text::with_room(b"abc", 7).bytes(), b"abc");
    }

    #[test]
    fn the_hashing_writer_reports_the_digest_of_exactly_what_was_written() {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        let (size, digest) = writer.finish().unwrap();
        assert_eq!(size, 11);
        assert_eq!(digest, sha256_hex(b"hello world"));
        assert_eq!(
            digest,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }
}
