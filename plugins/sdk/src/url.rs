//! URL query helpers for paging: read a parameter out of a vendor's `next` link, and encode
//! values. Connectors rebuild each request from their own parameters and never follow a link
//! to another host.

/// Percent-decodes `s` (`+` as space, as in form encoding).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The decoded value of query parameter `name` in `url`, if present.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

/// The host part of an absolute URL (`https://host:port/path` → `host`).
pub fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    Some(authority.split(':').next().unwrap_or(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shotgun_next_cursor() {
        let next = "https://api.shotgun.live/tickets?organizer_id=100001&event_id=200002&after=2026-03-04T16%3A40%3A12.530Z_900000000";
        assert_eq!(
            query_param(next, "after").as_deref(),
            Some("2026-03-04T16:40:12.530Z_900000000")
        );
        assert_eq!(query_param(next, "organizer_id").as_deref(), Some("100001"));
        assert_eq!(query_param(next, "missing"), None);
        assert_eq!(host(next), Some("api.shotgun.live"));
        assert_eq!(host("http://127.0.0.1:8080/x"), Some("127.0.0.1"));
    }

    #[test]
    fn encode_decode_round_trip() {
        let s = "2026-03-04T16:40:12.530Z_900000000 &=%";
        assert_eq!(decode(&encode(s)), s);
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("100%"), "100%");
    }
}
