//! How hard a connector may drive a vendor: its manifest's request rate and sync interval are
//! read as requests, bounded by the host, and the operator can only make them gentler.
//!
//! Rules (one place, used by `app` for budgets and by `cli::run` for the schedule):
//! - request rate: the manifest's `max_requests_per_minute` is a ceiling, at most
//!   [`MAX_REQUESTS_PER_MINUTE`]. A manifest cannot ask for "unlimited": its `0` (which used to
//!   mean that) is clamped to [`MAX_REQUESTS_PER_MINUTE`], as is anything above it. The
//!   operator's `[plugins.<id>] max_requests_per_minute` lowers the ceiling, never raises it.
//! - the one exception is the operator's global `BOXOFFICE_MAX_REQUESTS_PER_MINUTE` (file key
//!   `max_requests_per_minute`): an explicit override for simulators and tests, taken as
//!   written (`0` = unlimited). It is the operator's to set, never a connector's.
//! - sync interval: the manifest's `default_interval_secs` is used when the operator sets none,
//!   but never shorter than [`MIN_INTERVAL_SECS`] (a manifest cannot ask to run every second);
//!   an account's `interval_secs` is the operator's and is taken as written.

use std::time::Duration;

/// The highest request rate a manifest may ask for, and what its `0` is read as.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 600;

/// The shortest sync interval a manifest may ask for.
pub const MIN_INTERVAL_SECS: u32 = 60;

/// Who decided a connector's request rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// The manifest's own ceiling.
    Manifest,
    /// The manifest asked for more than the host allows (or for "unlimited"): clamped.
    ManifestClamped,
    /// The operator lowered it for this connector.
    Operator,
    /// The operator's global override (simulators, tests).
    GlobalOverride,
}

/// A connector's request rate and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    /// Requests per minute; `0` (unlimited) only ever comes from the global override.
    pub per_minute: u32,
    pub source: RateSource,
}

/// The rate of a connector whose manifest asks for `manifest`, given the operator's
/// per-connector setting and global override.
pub fn request_rate(manifest: u32, operator: Option<u32>, global: Option<u32>) -> RequestRate {
    if let Some(per_minute) = global {
        return RequestRate {
            per_minute,
            source: RateSource::GlobalOverride,
        };
    }
    let (ceiling, source) = if manifest == 0 || manifest > MAX_REQUESTS_PER_MINUTE {
        (MAX_REQUESTS_PER_MINUTE, RateSource::ManifestClamped)
    } else {
        (manifest, RateSource::Manifest)
    };
    match operator.filter(|n| *n >= 1 && *n < ceiling) {
        Some(per_minute) => RequestRate {
            per_minute,
            source: RateSource::Operator,
        },
        None => RequestRate {
            per_minute: ceiling,
            source,
        },
    }
}

/// The interval between an account's syncs.
pub fn sync_interval(manifest_secs: u32, operator_secs: Option<u32>) -> Duration {
    let secs = match operator_secs {
        Some(s) => s.max(1),
        None => manifest_secs.max(MIN_INTERVAL_SECS),
    };
    Duration::from_secs(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_cannot_ask_for_unlimited_or_more_than_the_ceiling() {
        assert_eq!(
            request_rate(0, None, None),
            RequestRate {
                per_minute: MAX_REQUESTS_PER_MINUTE,
                source: RateSource::ManifestClamped
            }
        );
        assert_eq!(
            request_rate(1_000_000, None, None).per_minute,
            MAX_REQUESTS_PER_MINUTE
        );
        assert_eq!(
            request_rate(60, None, None),
            RequestRate {
                per_minute: 60,
                source: RateSource::Manifest
            }
        );
    }

    #[test]
    fn the_operator_lowers_but_never_raises_the_ceiling() {
        assert_eq!(
            request_rate(60, Some(10), None),
            RequestRate {
                per_minute: 10,
                source: RateSource::Operator
            }
        );
        assert_eq!(request_rate(60, Some(6000), None).per_minute, 60);
        assert_eq!(
            request_rate(0, Some(6000), None).per_minute,
            MAX_REQUESTS_PER_MINUTE
        );
    }

    #[test]
    fn the_global_override_is_the_operators_and_taken_as_written() {
        assert_eq!(
            request_rate(60, Some(10), Some(0)),
            RequestRate {
                per_minute: 0,
                source: RateSource::GlobalOverride
            }
        );
    }

    #[test]
    fn a_manifest_interval_is_floored_an_operator_interval_is_not() {
        assert_eq!(sync_interval(0, None), Duration::from_secs(60));
        assert_eq!(sync_interval(1, None), Duration::from_secs(60));
        assert_eq!(sync_interval(300, None), Duration::from_secs(300));
        assert_eq!(sync_interval(300, Some(5)), Duration::from_secs(5));
        assert_eq!(sync_interval(300, Some(0)), Duration::from_secs(1));
    }
}
