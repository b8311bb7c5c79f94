//! Signature verification of one delivery over its raw bytes, in constant time, with the
//! account's secret. Owns the secret's in-memory form ([`WebhookSecret`]: never printed) and the
//! one comparison; says only *that* a delivery is forged, never what the right value was.

use hmac::{Hmac, Mac};

use crate::model::WebhookSignature;

/// An account's webhook secret. `Debug` prints `[redacted]`; there is no `Display` and no way
/// to read the value back out except [`WebhookSecret::expose`] for the one HMAC key use.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// Why a delivery's signature did not verify (no values: safe to log and count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Forged {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is not hex of the right length")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The (lower-case) header a scheme carries its signature in.
pub fn signature_header(sig: &WebhookSignature) -> String {
    match sig {
        WebhookSignature::HmacSha1Hex { header } | WebhookSignature::HmacSha256Hex { header } => {
            header.trim().to_ascii_lowercase()
        }
    }
}

/// Checks `value` (the signature header's value, `None` if absent) against the HMAC of `body`
/// under `secret`. Hex is decoded in either case; the comparison is `Mac::verify_slice`
/// (constant time, and a tag of the wrong length never matches).
pub fn verify(
    sig: &WebhookSignature,
    secret: &WebhookSecret,
    value: Option<&[u8]>,
    body: &[u8],
) -> Result<(), Forged> {
    let value = value.ok_or(Forged::Missing)?;
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(Forged::Missing);
    }
    let tag = hex::decode(value).map_err(|_| Forged::Malformed)?;
    let ok = match sig {
        WebhookSignature::HmacSha1Hex { .. } => {
            if tag.len() != 20 {
                return Err(Forged::Malformed);
            }
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.expose())
                .map_err(|_| Forged::Mismatch)?;
            mac.update(body);
            mac.verify_slice(&tag).is_ok()
        }
        WebhookSignature::HmacSha256Hex { .. } => {
            if tag.len() != 32 {
                return Err(Forged::Malformed);
            }
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose())
                .map_err(|_| Forged::Mismatch)?;
            mac.update(body);
            mac.verify_slice(&tag).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Forged::Mismatch)
    }
}

/// The lower-case hex signature of `body` under `secret` (what a vendor sends; for tests, the
/// simulators and `boxoffice` tooling that signs test deliveries).
pub fn sign(sig: &WebhookSignature, secret: &[u8], body: &[u8]) -> String {
    match sig {
        WebhookSignature::HmacSha1Hex { .. } => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        WebhookSignature::HmacSha256Hex { .. } => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1() -> WebhookSignature {
        WebhookSignature::HmacSha1Hex {
            header: "X-Signature".into(),
        }
    }

    #[test]
    fn sha1_matches_a_known_vector_in_either_case() {
        // RFC 2202 test case 2.
        let s = sign(&sha1(), b"Jefe", b"what do ya want for nothing?");
        assert_eq!(s, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let secret = WebhookSecret::new("Jefe");
        let body = b"what do ya want for nothing?";
        assert_eq!(verify(&sha1(), &secret, Some(s.as_bytes()), body), Ok(()));
        let upper = s.to_ascii_uppercase();
        assert_eq!(
            verify(&sha1(), &secret, Some(upper.as_bytes()), body),
            Ok(())
        );
        assert_eq!(
            verify(&sha1(), &secret, Some(&s.as_bytes()[..38]), body),
            Err(Forged::Malformed)
        );
        assert_eq!(verify(&sha1(), &secret, None, body), Err(Forged::Missing));
        assert_eq!(
            verify(
                &sha1(),
                &secret,
                Some(s.as_bytes()),
                b"what do ya want for nothing!"
            ),
            Err(Forged::Mismatch)
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
    }
}
