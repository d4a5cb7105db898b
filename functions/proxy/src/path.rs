//! Where a request may be forwarded: only under `/api/v1/` on the configured host.
//!
//! API Gateway hands the path over decoded (REST v1) or raw (HTTP API v2), so the checks look at
//! the path as received and at every percent-decoding of it: a `..` segment, a slash or
//! backslash in any spelling, an empty segment (`//host`, and so any embedded `scheme://`) or a
//! control character is refused before anything is sent. The upstream URL is always built
//! from the configured base plus this path, so nothing in the path can change the host.

/// The prefix every forwarded path keeps.
pub const FORWARD_PREFIX: &str = "/api/v1/";

/// Why a path was refused (for the log; the client sees a generic 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not under `/api/v1/`.
    #[error("path is not under /api/v1/")]
    OutsidePrefix,
    /// `.` or `..` segment, in any encoding.
    #[error("path has a dot segment")]
    DotSegment,
    /// An encoded slash, or a backslash in any encoding.
    #[error("path has an encoded slash or a backslash")]
    Separator,
    /// An empty segment (`//`).
    #[error("path has an empty segment")]
    EmptySegment,
    /// Control bytes (header smuggling) or a malformed escape.
    #[error("path has a forbidden character")]
    Forbidden,
}

/// Checks `path` and returns it, percent-encoded, ready to append to an upstream base URL.
pub fn forward_path(path: &str) -> Result<String, PathError> {
    let rest = path
        .strip_prefix(FORWARD_PREFIX)
        .ok_or(PathError::OutsidePrefix)?;
    if rest.is_empty() {
        return Err(PathError::EmptySegment);
    }
    let mut encoded = String::with_capacity(path.len() + 8);
    encoded.push_str(FORWARD_PREFIX);
    for (index, segment) in rest.split('/').enumerate() {
        // A trailing slash is a real path (`/api/v1/items/`); an empty segment elsewhere is not.
        let last = index == rest.split('/').count() - 1;
        if segment.is_empty() && !last {
            return Err(PathError::EmptySegment);
        }
        let decoded = fully_decode(segment)?;
        if decoded == "." || decoded == ".." {
            return Err(PathError::DotSegment);
        }
        if decoded.contains('/') || decoded.contains('\\') {
            return Err(PathError::Separator);
        }
        if decoded.chars().any(char::is_control) {
            return Err(PathError::Forbidden);
        }
        if index > 0 {
            encoded.push('/');
        }
        encode_segment(segment, &mut encoded);
    }
    Ok(encoded)
}

/// Decodes `%XX` escapes until nothing changes, so `%252e%252e` is seen as `..` too.
fn fully_decode(segment: &str) -> Result<String, PathError> {
    let mut current = segment.to_owned();
    for _ in 0..4 {
        let next = percent_decode(&current)?;
        if next == current {
            return Ok(next);
        }
        current = next;
    }
    // Still changing after four rounds: nobody encodes a path that deep legitimately.
    Err(PathError::Forbidden)
}

fn percent_decode(input: &str) -> Result<String, PathError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::Forbidden)?;
            let text = std::str::from_utf8(hex).map_err(|_| PathError::Forbidden)?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| PathError::Forbidden)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::Forbidden)
}

/// Keeps valid escapes and unreserved/sub-delim characters, escapes everything else (spaces and
/// non-ASCII from a decoded REST v1 path).
fn encode_segment(segment: &str, out: &mut String) {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let is_escape = byte == b'%'
            && bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if is_escape || byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_are_forwarded_unchanged() {
        for path in [
            "/api/v1/sensors",
            "/api/v1/sensors/WL-0042/readings",
            "/api/v1/items/",
            "/api/v1/search/a%20b",
            "/api/v1/files/report_2026-11-20.csv",
            "/api/v1/readings/2026-11-20T10:15:00Z",
        ] {
            assert_eq!(forward_path(path).as_deref(), Ok(path), "{path}");
        }
    }

    #[test]
    fn decoded_characters_are_re_encoded() {
        assert_eq!(
            forward_path("/api/v1/search/a b/ไทย").unwrap(),
            "/api/v1/search/a%20b/%E0%B9%84%E0%B8%97%E0%B8%A2"
        );
    }

    #[test]
    fn escapes_out_of_the_prefix_are_refused() {
        for (path, error) in [
            ("/api/v1/../admin", PathError::DotSegment),
            ("/api/v1/a/..", PathError::DotSegment),
            ("/api/v1/%2e%2e/admin", PathError::DotSegment),
            ("/api/v1/%2E%2E/admin", PathError::DotSegment),
            ("/api/v1/.%2e/admin", PathError::DotSegment),
            ("/api/v1/%252e%252e/admin", PathError::DotSegment),
            ("/api/v1/./x", PathError::DotSegment),
            ("/api/v1/a%2Fb", PathError::Separator),
            ("/api/v1/a%2fb", PathError::Separator),
            ("/api/v1/a\\b", PathError::Separator),
            ("/api/v1/a%5cb", PathError::Separator),
            ("/api/v1//evil.example/x", PathError::EmptySegment),
            ("/api/v1/", PathError::EmptySegment),
            ("/api/v1/http://evil.example/x", PathError::EmptySegment),
            ("/api/v1/http:%2F%2Fevil.example", PathError::Separator),
            ("/api/v1/a%0d%0aHost:%20evil", PathError::Forbidden),
            ("/api/v1/bad%zz", PathError::Forbidden),
            ("/api/v1/truncated%2", PathError::Forbidden),
            ("/api/v2/x", PathError::OutsidePrefix),
            ("http://evil.example/api/v1/x", PathError::OutsidePrefix),
            ("//evil.example/api/v1/x", PathError::OutsidePrefix),
        ] {
            assert_eq!(forward_path(path), Err(error), "{path}");
        }
    }
}
