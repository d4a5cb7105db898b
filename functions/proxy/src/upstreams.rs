//! The ordered upstream list held in SSM: `https://primary,https://secondary:8443,...`.
//!
//! Every request carries the internal key, so an upstream is `https://` unless
//! `ALLOW_PLAIN_HTTP_UPSTREAM` (the template's `AllowPlainHttpUpstream`) says a private network
//! or a first setup (the Unified API's own guide starts it on plain port 3000, its certificate
//! "optional") may use `http://`.

use http::Uri;

/// One Unified API base URL and its place in the failover order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `primary`, `secondary`, `fallback`, then `upstream-4`...: what logs, metrics and the
    /// health answer name it by, so an address never reaches a client.
    pub role: String,
    /// Scheme and authority, e.g. `http://10.0.0.1:3000`.
    pub base: String,
}

/// The SSM value is not a usable upstream list. The entry is quoted only in logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("upstream list entry {position} ({entry:?}) is invalid: {reason}")]
pub struct UpstreamListError {
    /// 1-based position in the list.
    pub position: usize,
    /// The offending entry.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// What to tell an operator whose list has a plain-HTTP entry the setting does not allow.
pub const PLAIN_HTTP_REFUSED: &str = "plain http would carry the internal key in clear text: use https://, or set ALLOW_PLAIN_HTTP_UPSTREAM=true (template parameter AllowPlainHttpUpstream) for a private network";

/// Parses the comma-separated list, in order, dropping exact duplicates; `http://` entries
/// only when `allow_plain_http`.
pub fn parse_upstreams(
    value: &str,
    allow_plain_http: bool,
) -> Result<Vec<Upstream>, UpstreamListError> {
    let mut upstreams: Vec<Upstream> = Vec::new();
    for (index, entry) in value.split(',').map(str::trim).enumerate() {
        let position = index + 1;
        let invalid = |reason| UpstreamListError {
            position,
            entry: entry.to_owned(),
            reason,
        };
        if entry.is_empty() {
            return Err(invalid("empty entry"));
        }
        let uri: Uri = entry.parse().map_err(|_| invalid("not a URL"))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if allow_plain_http => {}
            Some("http") => return Err(invalid(PLAIN_HTTP_REFUSED)),
            _ => return Err(invalid("scheme must be https (or http where allowed)")),
        }
        let Some(authority) = uri.authority() else {
            return Err(invalid("no host"));
        };
        // The forwarded path is always /api/v1/...; a base path or query would silently change
        // where requests land.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid(
                "must be scheme://host[:port] with no path or query",
            ));
        }
        let base = format!("{}://{}", uri.scheme_str().unwrap_or("http"), authority);
        if upstreams.iter().any(|u| u.base == base) {
            continue;
        }
        let role = match upstreams.len() {
            0 => "primary".to_owned(),
            1 => "secondary".to_owned(),
            2 => "fallback".to_owned(),
            n => format!("upstream-{}", n + 1),
        };
        upstreams.push(Upstream { role, base });
    }
    Ok(upstreams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordered_list_gets_primary_secondary_fallback_roles() {
        let list = parse_upstreams(" http://10.0.0.1:3000, https://api-b.example:443/ ,http://10.0.0.3:3000,http://10.0.0.4", true)
            .unwrap();
        let roles: Vec<_> = list
            .iter()
            .map(|u| (u.role.as_str(), u.base.as_str()))
            .collect();
        assert_eq!(
            roles,
            [
                ("primary", "http://10.0.0.1:3000"),
                ("secondary", "https://api-b.example:443"),
                ("fallback", "http://10.0.0.3:3000"),
                ("upstream-4", "http://10.0.0.4"),
            ]
        );
    }

    #[test]
    fn a_single_url_is_the_primary() {
        assert_eq!(
            parse_upstreams("http://vm:3000", true).unwrap()[0].role,
            "primary"
        );
    }

    #[test]
    fn duplicates_are_tried_once() {
        assert_eq!(
            parse_upstreams("http://a:1,http://a:1,http://b:1", true)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn invalid_entries_are_rejected_with_their_position() {
        for (value, position, reason) in [
            ("", 1, "empty entry"),
            ("http://a:1,,http://b:1", 2, "empty entry"),
            ("ftp://a", 1, "scheme must be https (or http where allowed)"),
            (
                "10.0.0.1:3000",
                1,
                "scheme must be https (or http where allowed)",
            ),
            (
                "http://a:1/api",
                1,
                "must be scheme://host[:port] with no path or query",
            ),
            (
                "http://a:1?x=1",
                1,
                "must be scheme://host[:port] with no path or query",
            ),
        ] {
            let err = parse_upstreams(value, true).unwrap_err();
            assert_eq!((err.position, err.reason), (position, reason), "{value:?}");
        }
    }

    #[test]
    fn plain_http_is_refused_unless_allowed_naming_the_setting() {
        let err = parse_upstreams("https://vm-a.example,http://10.0.0.2:3000", false).unwrap_err();
        assert_eq!(err.position, 2);
        assert!(
            err.to_string().contains("ALLOW_PLAIN_HTTP_UPSTREAM"),
            "{err}"
        );
        assert!(err.to_string().contains("AllowPlainHttpUpstream"), "{err}");
        assert_eq!(
            parse_upstreams("https://vm-a.example", false)
                .unwrap()
                .len(),
            1
        );
    }
}
