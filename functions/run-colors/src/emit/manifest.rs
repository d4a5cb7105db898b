//! `manifest.json`, what a run read and wrote with checksums to verify the files, and the
//! writer that hashes the files as they are written.

use std::io::{self, Write};

use orabridge_shared::encoding::hex;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::engine::RowCounts;

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
