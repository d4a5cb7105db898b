//! The text encodings every function writes the same way: lower-case hex, SHA-256 digests,
//! base64 as API Gateway and Lambda carry binary bodies, and RFC 3339 UTC timestamps. One implementation, so a checksum in a manifest, an idempotency
//! record's validation hash and a lake line's reading id are spelled alike everywhere.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// `text` decoded from standard base64 with padding (how API Gateway encodes a binary body);
/// `None` when it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// `bytes` as standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of `bytes` as lower-case hex (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// SHA-256 over `parts`, each followed by a NUL byte, so `["ab", "c"]` and `["a", "bc"]`
/// differ: the digest of a composite key.
pub fn sha256_of_parts(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

/// `at` in RFC 3339 with milliseconds and `Z` (`2026-11-20T10:00:00.000Z`): log lines and
/// lake records.
pub fn rfc3339_millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `at` in RFC 3339 to the second with `Z` (`2026-11-20T10:00:00Z`): reports and manifests.
pub fn rfc3339_secs(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_with_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn sha256_hex_matches_the_published_test_vector() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parts_are_separated_so_their_boundaries_count() {
        assert_ne!(sha256_of_parts(&["ab", "c"]), sha256_of_parts(&["a", "bc"]));
        assert_eq!(sha256_of_parts(&["abc"]), sha256(b"abc\0"));
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        let at: DateTime<Utc> = "2026-11-20T10:00:00.5Z".parse().expect("time");
        assert_eq!(rfc3339_millis(at), "2026-11-20T10:00:00.500Z");
        assert_eq!(rfc3339_secs(at), "2026-11-20T10:00:00Z");
    }
}
