//! One retry policy for the host's three HTTP clients: the vendor executor
//! (`http::executor`), the ClickHouse client (`sink::clickhouse::client` and its RowBinary
//! `writer`) and the VictoriaMetrics import (`metrics::import`).
//!
//! Owns what they share: how many attempts ([`Policy::max_attempts`]), the delay after each
//! failed one ([`Backoff`]: base × factor^(n-1), capped, optionally jittered), whether a
//! server's `Retry-After` is honoured and up to how long ([`Policy::max_retry_after`];
//! [`retry_after`] reads both of its forms, seconds and HTTP-date), and the decision after a
//! failed attempt ([`Policy::after`]) from the caller's own classification of what is worth
//! another try ([`Policy::retryable`], see [`classify`]). The loops stay with their callers,
//! which own what an attempt is (a budget to spend, an observer to tell, a body to read) and
//! what their errors say.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How a delay is spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the nominal delay.
    None,
    /// Uniform in [d/2, d] of the nominal delay d: clients that failed together do not retry
    /// together.
    UpperHalf,
}

/// The delay after the n-th failed attempt: `base · factor^(n-1)`, at most `max`, then jittered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub factor: u32,
    pub max: Duration,
    pub jitter: Jitter,
}

impl Backoff {
    /// The delay before the next attempt after `failed` attempts (1, 2, …) failed, un-jittered.
    pub fn nominal(&self, failed: u32) -> Duration {
        let exp = failed.saturating_sub(1);
        self.base
            .saturating_mul(self.factor.saturating_pow(exp))
            .min(self.max)
    }

    /// The delay before the next attempt after `failed` attempts failed.
    pub fn delay(&self, failed: u32) -> Duration {
        let d = self.nominal(failed);
        match self.jitter {
            Jitter::None => d,
            Jitter::UpperHalf => {
                let half = d / 2;
                half + Duration::from_secs_f64(rand::rng().random::<f64>() * half.as_secs_f64())
            }
        }
    }
}

/// How an attempt failed, as the caller's classification sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An answer with this HTTP status (not a success).
    Status(u16),
    /// No (complete) answer: refused, cut, timed out.
    Transport,
}

/// The callers' classifications: whether a failure is worth another attempt.
pub mod classify {
    use super::Failure;

    /// Vendor APIs: transport errors, 429 and every 5xx (the executor refuses a forbidden
    /// address before it asks: retrying cannot change that answer).
    pub fn vendor_api(f: Failure) -> bool {
        match f {
            Failure::Transport => true,
            Failure::Status(s) => s == 429 || (500..=599).contains(&s),
        }
    }

    /// ClickHouse: transport errors and a gateway's 502/503/504 (something in front of the
    /// server). ClickHouse's own refusals, 500 included, are final: a retried bad statement
    /// fails the same way.
    pub fn clickhouse(f: Failure) -> bool {
        match f {
            Failure::Transport => true,
            Failure::Status(s) => matches!(s, 502..=504),
        }
    }

    /// VictoriaMetrics (or any server with its import API): transport errors, 5xx and 429.
    pub fn victoria_metrics(f: Failure) -> bool {
        match f {
            Failure::Transport => true,
            Failure::Status(s) => s == 429 || (500..=599).contains(&s),
        }
    }
}

/// A caller's retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts in all, the first included (at least 1 is made).
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// `Some(cap)`: a `Retry-After` up to `cap` is waited out instead of the backoff, a longer
    /// one ends the retries ([`GiveUp::RetryAfterTooLong`]). `None`: the header is not read.
    pub max_retry_after: Option<Duration>,
    /// The caller's classification (see [`classify`]).
    pub retryable: fn(Failure) -> bool,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    Retry(Duration),
    GiveUp(GiveUp),
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The caller's classification says another attempt cannot help.
    NotRetryable,
    /// The last attempt failed.
    OutOfAttempts,
    /// The server asked for a wait longer than [`Policy::max_retry_after`].
    RetryAfterTooLong(Duration),
}

impl Policy {
    /// Attempts in all (at least one).
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The decision after attempt `attempt` (1, 2, …) failed with `failure`; `retry_after` is
    /// the server's `Retry-After` (see [`retry_after`]), if it sent one.
    pub fn after(&self, attempt: u32, failure: Failure, retry_after: Option<Duration>) -> Next {
        if !(self.retryable)(failure) {
            return Next::GiveUp(GiveUp::NotRetryable);
        }
        if attempt >= self.attempts() {
            return Next::GiveUp(GiveUp::OutOfAttempts);
        }
        match (self.max_retry_after, retry_after) {
            (Some(cap), Some(ra)) if ra <= cap => Next::Retry(ra),
            (Some(_), Some(ra)) => Next::GiveUp(GiveUp::RetryAfterTooLong(ra)),
            _ => Next::Retry(self.backoff.delay(attempt)),
        }
    }
}

/// A `Retry-After` value (RFC 9110 section 10.2.3) as a wait from `now`: delay-seconds
/// (`120`) or an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the two obsolete forms
/// recipients must accept: `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`). A
/// date in the past is no wait; anything else is `None` (the caller's backoff applies).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(at).ok()?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an HTTP-date in any of its three forms.
fn http_date(v: &str) -> Option<i64> {
    if !v.is_ascii() {
        return None;
    }
    // IMF-fixdate is RFC 2822's form with `GMT`.
    if let Ok(ts) = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(v) {
        return Some(ts.as_second());
    }
    let civil = |fmt: &str, s: &str| {
        jiff::fmt::strtime::parse(fmt, s)
            .ok()?
            .to_datetime()
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_second())
    };
    if let Some(rest) = v.strip_suffix(" GMT") {
        // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`.
        if let Some(ts) = civil("%A, %d-%b-%y %H:%M:%S", rest) {
            return Some(ts);
        }
    }
    // asctime: `Sun Nov  6 08:49:37 1994` (the day padded with a space).
    let squeezed = v.split_whitespace().collect::<Vec<_>>().join(" ");
    civil("%a %b %d %H:%M:%S %Y", &squeezed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(jitter: Jitter) -> Backoff {
        Backoff {
            base: Duration::from_millis(500),
            factor: 2,
            max: Duration::from_secs(30),
            jitter,
        }
    }

    fn vendor() -> Policy {
        Policy {
            max_attempts: 5,
            backoff: backoff(Jitter::UpperHalf),
            max_retry_after: Some(Duration::from_secs(120)),
            retryable: classify::vendor_api,
        }
    }

    #[test]
    fn jitter_stays_within_the_upper_half_of_the_nominal_delay() {
        let b = backoff(Jitter::UpperHalf);
        for failed in 1..=8 {
            let d = b.nominal(failed);
            let (mut lo, mut hi) = (d, Duration::ZERO);
            for _ in 0..200 {
                let j = b.delay(failed);
                assert!(
                    j >= d / 2 && j <= d,
                    "attempt {failed}: {j:?} outside [{:?}, {d:?}]",
                    d / 2
                );
                lo = lo.min(j);
                hi = hi.max(j);
            }
            // Spread, not a constant: 200 draws cover most of the half.
            assert!(hi - lo > d / 4, "attempt {failed}: {lo:?}..{hi:?}");
        }
        let exact = backoff(Jitter::None);
        assert_eq!(exact.delay(3), Duration::from_secs(2));
    }

    #[test]
    fn the_delay_grows_by_the_factor_and_stops_at_the_cap() {
        let b = backoff(Jitter::None);
        let got: Vec<u64> = (1..=8).map(|n| b.delay(n).as_millis() as u64).collect();
        assert_eq!(got, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        // Far past any exponent: saturates at the cap, no overflow.
        assert_eq!(b.delay(200), Duration::from_secs(30));
        // ClickHouse's schedule: ×4, no cap.
        let ch = Backoff {
            base: Duration::from_millis(200),
            factor: 4,
            max: Duration::MAX,
            jitter: Jitter::None,
        };
        assert_eq!(
            (1..=3).map(|n| ch.delay(n)).collect::<Vec<_>>(),
            [200, 800, 3200].map(Duration::from_millis)
        );
        // The exponent saturates instead of overflowing (the old `4u32.pow` panicked).
        assert_eq!(
            ch.delay(100),
            Duration::from_millis(200).saturating_mul(u32::MAX)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_all_three_http_date_forms() {
        // 1994-11-06T08:49:37Z
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let now = date - Duration::from_secs(90);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                retry_after(form, now),
                Some(Duration::from_secs(90)),
                "{form}"
            );
        }
        // A date already past: no wait.
        let later = date + Duration::from_secs(5);
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "soon",
            "-5",
            "1.5",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sonntag",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn the_classifications_differ_per_caller() {
        use classify::*;
        for s in [429, 500, 502, 503, 504, 599] {
            assert!(vendor_api(Failure::Status(s)), "{s}");
            assert!(victoria_metrics(Failure::Status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!vendor_api(Failure::Status(s)), "{s}");
            assert!(!victoria_metrics(Failure::Status(s)), "{s}");
            assert!(!clickhouse(Failure::Status(s)), "{s}");
        }
        for s in [502, 503, 504] {
            assert!(clickhouse(Failure::Status(s)), "{s}");
        }
        // ClickHouse's own 500 (a DB::Exception) and a 429 are answers, not outages.
        assert!(!clickhouse(Failure::Status(500)));
        assert!(!clickhouse(Failure::Status(429)));
        for f in [vendor_api, clickhouse, victoria_metrics] {
            assert!(f(Failure::Transport));
        }
    }

    #[test]
    fn the_decision_follows_attempts_classification_and_retry_after() {
        let p = vendor();
        let t = Failure::Transport;
        match p.after(1, t, None) {
            Next::Retry(d) => {
                assert!(d >= Duration::from_millis(250) && d <= Duration::from_millis(500))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.after(5, t, None), Next::GiveUp(GiveUp::OutOfAttempts));
        assert_eq!(
            p.after(1, Failure::Status(404), None),
            Next::GiveUp(GiveUp::NotRetryable)
        );
        // Retry-After wins over the backoff up to the cap, and ends the retries past it.
        let s = Failure::Status(429);
        assert_eq!(
            p.after(1, s, Some(Duration::from_secs(7))),
            Next::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            p.after(1, s, Some(Duration::from_secs(121))),
            Next::GiveUp(GiveUp::RetryAfterTooLong(Duration::from_secs(121)))
        );
        // A caller that does not read the header keeps its backoff.
        let ch = Policy {
            max_attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(200),
                factor: 4,
                max: Duration::MAX,
                jitter: Jitter::None,
            },
            max_retry_after: None,
            retryable: classify::clickhouse,
        };
        assert_eq!(
            ch.after(2, Failure::Status(503), Some(Duration::from_secs(999))),
            Next::Retry(Duration::from_millis(800))
        );
        assert_eq!(ch.after(3, t, None), Next::GiveUp(GiveUp::OutOfAttempts));
        // Zero attempts configured still means one attempt.
        let once = Policy {
            max_attempts: 0,
            ..ch
        };
        assert_eq!(once.attempts(), 1);
        assert_eq!(once.after(1, t, None), Next::GiveUp(GiveUp::OutOfAttempts));
    }
}
