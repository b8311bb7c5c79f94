//! Keyed pseudonyms for personal identifiers, issued to plugins through the `pseudonymize`
//! import.
//!
//! Owns: turning (kind, value) into a stable pseudonym, and telling a pseudonym this host issued
//! in this run from one a plugin made up. A pseudonym handed to a plugin is `<stable>.<tag>`:
//! `stable` = HMAC-SHA256(key, kind ∥ 0 ∥ value), the same across runs so a buyer can be
//! counted over time; `tag` = HMAC(run key, stable), a per-run proof of issue. Only `stable` is
//! stored. Checking a tag needs no memory per buyer, so a million-ticket backfill costs nothing
//! here. The key never leaves the host; a plugin cannot invert or forge either part.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Hex chars of the stable part (96 bits: collisions are negligible at any realistic volume).
const STABLE_HEX: usize = 24;
/// Hex chars of the per-run tag (64 bits: forging one is a 2^-64 guess per record).
const TAG_HEX: usize = 16;

#[derive(Clone)]
pub struct Pseudonymizer {
    /// HMACs already keyed (the key's inner and outer pads hashed once): every pseudonym clones
    /// one instead of re-hashing the key, which halves the hashing per record.
    keyed: HmacSha256,
    run_keyed: HmacSha256,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { .. }")
    }
}

fn keyed(key: &[u8; 32]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes any key length")
}

fn mac_hex(keyed: &HmacSha256, parts: &[&[u8]], hex_len: usize) -> String {
    let mut m = keyed.clone();
    for p in parts {
        m.update(p);
    }
    let out = m.finalize().into_bytes();
    hex::encode(&out[..hex_len / 2])
}

impl Pseudonymizer {
    /// `key` is the installation's long-lived secret; a fresh per-run key is drawn here.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            keyed: keyed(&key),
            run_keyed: keyed(&rand::random()),
        }
    }

    /// A fixed per-run key too, for replaying fixtures into golden files that do not change.
    pub fn deterministic(key: [u8; 32]) -> Self {
        Self {
            keyed: keyed(&key),
            run_keyed: keyed(&key),
        }
    }

    /// The pseudonym to hand to a plugin.
    pub fn issue(&self, kind: &str, value: &str) -> String {
        let stable = mac_hex(
            &self.keyed,
            &[kind.as_bytes(), &[0], value.as_bytes()],
            STABLE_HEX,
        );
        let tag = mac_hex(&self.run_keyed, &[stable.as_bytes()], TAG_HEX);
        format!("{stable}.{tag}")
    }

    /// The stable part of a pseudonym this host issued in this run, or `None` for anything else.
    pub fn verify<'a>(&self, issued: &'a str) -> Option<&'a str> {
        let (stable, tag) = issued.split_once('.')?;
        if stable.len() != STABLE_HEX || !stable.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expected = mac_hex(&self.run_keyed, &[stable.as_bytes()], TAG_HEX);
        // Constant-time comparison: a plugin must not learn the tag byte by byte.
        let ok = expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        ok.then_some(stable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_pseudonyms_verify_and_are_stable_across_runs() {
        let a = Pseudonymizer::new([1; 32]);
        let b = Pseudonymizer::new([1; 32]);
        let pa = a.issue("user", "7000001");
        let pb = b.issue("user", "7000001");
        assert_eq!(
            a.verify(&pa),
            b.verify(&pb),
            "stable part is run-independent"
        );
        assert!(a.verify(&pa).is_some());
        assert!(
            a.verify(&pb).is_none(),
            "a tag from another run is not ours"
        );
        assert_ne!(a.issue("user", "7000002"), pa);
        assert_ne!(a.issue("contact", "7000001"), pa);
        assert!(!pa.contains("7000001"));
    }

    #[test]
    fn forged_pseudonyms_are_refused() {
        let p = Pseudonymizer::new([9; 32]);
        let real = p.issue("user", "42");
        let (stable, _) = real.split_once('.').unwrap();
        for forged in [
            format!("{stable}.0000000000000000"),
            stable.to_string(),
            "canary.name@example.invalid".to_string(),
            format!("{stable}.{}", &real[STABLE_HEX + 1..STABLE_HEX + 9]),
        ] {
            assert!(p.verify(&forged).is_none(), "{forged}");
        }
    }
}
