//! Sharded daemons: `--shard I/N`, `shard = "I/N"` in the config file, `BOXOFFICE_SHARD`.
//! A daemon of shard `I/N` syncs exactly the accounts whose stable hash of `vendor/account`
//! (FNV-1a, 64-bit: the same on every machine, build and run, unlike Rust's randomised
//! `DefaultHasher`) is `I` modulo `N`; so `N` daemons with `0/N … N-1/N` cover every account
//! once. How a shard map changes is in `docs/scaling.md`.

use std::fmt;

use super::{invalid, ConfigError};

/// One daemon's slice of the accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` (0 ≤ I < N); `key` names where the value came from.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        let fix = "write I/N with 0 <= I < N, e.g. 0/2 and 1/2 for two daemons";
        let (i, n) = value
            .trim()
            .split_once('/')
            .ok_or_else(|| invalid(key, format!("`{value}` is not of the form I/N"), fix))?;
        let num = |s: &str, what: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                invalid(
                    key,
                    format!("`{value}`: the {what} `{s}` is not a whole number"),
                    fix,
                )
            })
        };
        let (index, count) = (num(i, "shard index")?, num(n, "shard count")?);
        if count == 0 {
            return Err(invalid(
                key,
                format!("`{value}`: the shard count is 0"),
                fix,
            ));
        }
        if index >= count {
            return Err(invalid(
                key,
                format!("`{value}`: shard {index} does not exist among {count} (they are numbered 0 to {})", count - 1),
                fix,
            ));
        }
        Ok(Self { index, count })
    }

    /// The shard `vendor/account` belongs to among `count`.
    pub fn of(vendor: &str, account: &str, count: u32) -> u32 {
        (fnv1a64(format!("{vendor}/{account}").as_bytes()) % u64::from(count.max(1))) as u32
    }

    /// Whether this daemon syncs `vendor/account`.
    pub fn owns(&self, vendor: &str, account: &str) -> bool {
        Self::of(vendor, account, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn parses_good_values_and_names_the_bad_ones() {
        assert_eq!(
            Shard::parse("--shard", " 1/3 ").unwrap(),
            Shard { index: 1, count: 3 }
        );
        assert_eq!(Shard::parse("--shard", "0/1").unwrap().to_string(), "0/1");
        for (bad, says) in [
            ("2/2", "shard 2 does not exist among 2"),
            ("0/0", "the shard count is 0"),
            ("x/3", "the shard index `x` is not a whole number"),
            ("1/y", "the shard count `y` is not a whole number"),
            ("-1/2", "the shard index `-1`"),
            ("3", "not of the form I/N"),
            ("", "not of the form I/N"),
        ] {
            let e = Shard::parse("BOXOFFICE_SHARD", bad)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("BOXOFFICE_SHARD: "), "{e}");
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn every_account_has_exactly_one_owner_and_the_map_is_stable() {
        for n in 1..=5u32 {
            for a in 0..50 {
                let account = format!("org-{a}");
                let owners = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.owns("shotgun", &account))
                    .count();
                assert_eq!(owners, 1, "{account} among {n}");
            }
        }
        // Pinned: a change of hash would silently move every account between daemons.
        assert_eq!(
            Shard::of("shotgun", "org-1", 2),
            (fnv1a64(b"shotgun/org-1") % 2) as u32
        );
        let spread: Vec<u32> = (0..8)
            .map(|a| Shard::of("shotgun", &format!("org-{a}"), 2))
            .collect();
        assert!(spread.contains(&0) && spread.contains(&1), "{spread:?}");
    }
}
