//! The server's release (`SELECT version()`, asked once at connect) and the one decision taken
//! from it: whether the `clickhouse` crate validates typed rows against the table schema.
//!
//! Validation (`RowBinaryWithNamesAndTypes`, the crate's default) first runs `DESCRIBE TABLE`
//! with the setting `describe_include_subcolumns`, and then sends the names and types ahead of
//! the rows. Debian's 18.16 knows neither the setting nor that input format and refuses the
//! insert, so there the crate must send plain `RowBinary` (`with_validation(false)`), whose
//! rows are checked by this crate's tests instead (`clickhouse_rowbinary.rs`). Both arrived
//! during the 21.x releases; validation is switched on from 22.1, the first release line that
//! has both for certain. Anything older, or a version string we cannot read, goes without it:
//! plain RowBinary works on every release, validation only adds a clearer error on a schema
//! mismatch.

use std::fmt;

/// The first release whose server accepts the crate's validated inserts.
pub const VALIDATION_SINCE: ServerVersion = ServerVersion {
    major: 22,
    minor: 1,
};

/// `major.minor` of a ClickHouse release (`18.16.1`, `26.3.2.1`, `24.8.1.2684-lts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
}

impl ServerVersion {
    /// Reads the answer of `SELECT version()`; `None` when it is not `N.N…`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let number = |p: Option<&str>| -> Option<u32> {
            let digits: String = p?.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let major = number(parts.next())?;
        let minor = number(parts.next())?;
        Some(Self { major, minor })
    }

    /// Whether inserts into this server use the crate's schema validation.
    pub fn validates_rows(self) -> bool {
        self >= VALIDATION_SINCE
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The validation choice for the answer of `SELECT version()`: off when unreadable.
pub fn validation_for(version_text: &str) -> bool {
    ServerVersion::parse(version_text).is_some_and(ServerVersion::validates_rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_release_strings() {
        assert_eq!(
            ServerVersion::parse("18.16.1\n"),
            Some(ServerVersion {
                major: 18,
                minor: 16
            })
        );
        assert_eq!(
            ServerVersion::parse("24.8.1.2684-lts"),
            Some(ServerVersion {
                major: 24,
                minor: 8
            })
        );
        assert_eq!(
            ServerVersion::parse("26.9.0"),
            Some(ServerVersion {
                major: 26,
                minor: 9
            })
        );
        assert_eq!(ServerVersion::parse(""), None);
        assert_eq!(ServerVersion::parse("ClickHouse"), None);
        assert_eq!(ServerVersion::parse("26"), None);
        assert_eq!(ServerVersion::parse(".5"), None);
    }

    #[test]
    fn validation_is_off_for_18_16_and_old_or_unreadable_servers_on_for_current_ones() {
        assert!(!validation_for("18.16.1"));
        assert!(!validation_for("19.17.6.36"));
        assert!(!validation_for("21.12.4.1"));
        assert!(validation_for("22.1.3.7"));
        assert!(validation_for("24.8.1.2684-lts"));
        assert!(validation_for("26.9.0"));
        assert!(validation_for("100.1.1"));
        assert!(!validation_for("not a version"));
        assert!(!validation_for(""));
    }
}
