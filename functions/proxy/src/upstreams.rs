//! The ordered upstream list held in SSM: `http://primary:3000,http://secondary:3000,...`.

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

/// Parses the comma-separated list, in order, dropping exact duplicates.
pub fn parse_upstreams(value: &str) -> Result<Vec<Upstream>, UpstreamListError> {
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
            Some("http") | Some("https") => {}
            _ => return Err(invalid("scheme must be http or https")),
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
        let list = parse_upstreams(" http://10.0.0.1:3000, https://api-b.example:443/ ,http://10.0.0.3:3000,http://10.0.0.4")
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
            parse_upstreams("http://vm:3000").unwrap()[0].role,
            "primary"
        );
    }

    #[test]
    fn duplicates_are_tried_once() {
        assert_eq!(
            parse_upstreams("http://a:1,http://a:1,http://b:1")
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
            ("ftp://a", 1, "scheme must be http or https"),
            ("10.0.0.1:3000", 1, "scheme must be http or https"),
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
            let err = parse_upstreams(value).unwrap_err();
            assert_eq!((err.position, err.reason), (position, reason), "{value:?}");
        }
    }
}
