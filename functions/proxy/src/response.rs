//! The upstream's answer as the Lambda response API Gateway receives, and what that response
//! weighs.
//!
//! Lambda refuses a synchronous response over 6 MB ("Invocation payload (request and
//! response): 6 MB each for request and response (synchronous)", Lambda quotas) and API Gateway
//! then answers the client 502 with nothing the proxy could say. The proxy must therefore check
//! the response as serialised: a text body travels as a JSON string, where every quote,
//! backslash and control character is escaped (up to six bytes each); a binary body travels
//! base64-encoded, a third larger; the headers travel too.

use bytes::Bytes;
use http::StatusCode;

use crate::exchange::{ProxyResponse, ResponseBody};
use crate::headers::client_response_headers;

/// Lambda's limit on a synchronous response payload (6 MB = 6 × 2^20 bytes).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

/// Room for the response's own fields (`statusCode`, `isBase64Encoded`, the field names).
const ENVELOPE_BYTES: usize = 256;

/// The client's answer for an upstream's answer. Text stays text (API Gateway passes it
/// through untouched); anything else travels as binary, which the runtime base64-encodes and
/// API Gateway decodes, byte-exact.
pub fn client_response(
    status: StatusCode,
    headers: &http::HeaderMap,
    body: Bytes,
) -> ProxyResponse {
    // `Vec::from` takes the received buffer over when nothing else holds it, so a body of
    // megabytes is not copied again on its way to the answer.
    let body = if body.is_empty() {
        ResponseBody::Empty
    } else if has_textual_content_type(headers) {
        match String::from_utf8(Vec::from(body)) {
            Ok(text) => ResponseBody::Text(text),
            Err(err) => ResponseBody::Binary(err.into_bytes()),
        }
    } else {
        ResponseBody::Binary(Vec::from(body))
    };
    ProxyResponse {
        status,
        headers: client_response_headers(headers),
        body,
    }
}

/// Whether the answer's `Content-Type` makes its body travel as text.
fn has_textual_content_type(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_textual)
}

/// Whether a content type's body travels as text (else base64-encoded binary).
pub fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("json")
        || essence.ends_with("xml")
        || essence.contains("javascript")
        || essence == "application/x-www-form-urlencoded"
}

/// An upper bound on the bytes of the serialised Lambda response for an upstream's answer
/// (headers as the client gets them, body as [`client_response`] classifies it). Exact up
/// to [`ENVELOPE_BYTES`] and a few bytes per header.
pub fn lambda_payload_size(headers: &http::HeaderMap, body: &[u8]) -> usize {
    let textual = has_textual_content_type(headers);
    let body_bytes = match std::str::from_utf8(body) {
        Ok(text) if textual => json_string_len(text),
        _ => body.len().div_ceil(3) * 4 + 2,
    };
    let header_bytes: usize = client_response_headers(headers)
        .iter()
        // `"name":["value"],` in v1's multiValueHeaders; `"name":"value",` in v2's headers.
        .map(|(name, value)| {
            name.as_str().len() + json_string_len(&String::from_utf8_lossy(value.as_bytes())) + 6
        })
        .sum();
    body_bytes + header_bytes + ENVELOPE_BYTES
}

/// The length of `text` as a JSON string, quotes included, escaped as serde_json escapes it.
fn json_string_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textual_content_types_are_recognised() {
        for ct in [
            "application/json",
            "application/problem+json; charset=utf-8",
            "text/csv",
            "application/xml",
            "application/javascript",
        ] {
            assert!(is_textual(ct), "{ct}");
        }
        for ct in [
            "image/png",
            "application/octet-stream",
            "application/pdf",
            "application/zip",
        ] {
            assert!(!is_textual(ct), "{ct}");
        }
    }

    /// The response as the function serialises it, in the REST API (v1) format or the HTTP
    /// API (v2) one.
    fn serialised_len(headers: &http::HeaderMap, body: &[u8], v1: bool) -> usize {
        let response = client_response(StatusCode::OK, headers, Bytes::copy_from_slice(body));
        let format = match v1 {
            true => crate::apigw::Format::V1,
            false => crate::apigw::Format::V2,
        };
        serde_json::to_vec(&crate::apigw::from_response(response, format))
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn the_estimate_bounds_the_serialised_response_closely_for_every_kind_of_body() {
        let mut rng = orabridge_shared::testkit::TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next_u64();
        for round in 0..300 {
            let len = (next() % 5000) as usize;
            // Bytes drawn from an alphabet heavy in what JSON escapes.
            let alphabet = b"ab \"\\\n\t\x01\x1f/\xc3\xa9";
            let mut body: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if round % 3 == 0 {
                body = (0..len).map(|_| next() as u8).collect();
            }
            let mut headers = http::HeaderMap::new();
            let content_type = ["text/plain", "application/json", "image/png"][round % 3];
            headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
            headers.insert("x-request-id", "req-\"1\"".parse().unwrap());
            let estimate = lambda_payload_size(&headers, &body);
            for v1 in [true, false] {
                let actual = serialised_len(&headers, &body, v1);
                assert!(estimate >= actual, "round {round}: {estimate} < {actual}");
                assert!(
                    estimate <= actual + 512,
                    "round {round}: {estimate} far above {actual}"
                );
            }
        }
    }

    #[test]
    fn a_text_body_of_quotes_weighs_twice_its_length() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let body = vec![b'"'; 1000];
        let size = lambda_payload_size(&headers, &body);
        assert!((2000..2000 + 512).contains(&size), "{size}");
    }
}
