//! A per-vendor request budget: at most N requests per minute, shared by every account of the
//! vendor, spent before each attempt (retries included).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket refilled continuously at `per_minute / 60` tokens per second, holding at most
/// `burst` tokens. Cheap to clone; clones share the bucket.
#[derive(Clone, Debug)]
pub struct RequestBudget {
    inner: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RequestBudget {
    /// `per_minute == 0` means unlimited.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_sec = per_minute as f64 / 60.0;
        // A small burst lets a run start without waiting while keeping the average.
        let burst = (per_minute as f64 / 6.0).clamp(1.0, 100.0);
        Self {
            inner: Arc::new(Mutex::new(Bucket {
                per_sec,
                burst,
                tokens: burst,
                last: Instant::now(),
            })),
        }
    }

    /// Waits until a request may be sent; returns how long it waited.
    pub async fn spend(&self) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let mut b = self.inner.lock().await;
                if b.per_sec <= 0.0 {
                    return waited;
                }
                let now = Instant::now();
                let elapsed = now.duration_since(b.last).as_secs_f64();
                b.tokens = (b.tokens + elapsed * b.per_sec).min(b.burst);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return waited;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / b.per_sec)
            };
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spends_at_the_configured_rate() {
        let b = RequestBudget::per_minute(60); // 1/s, burst 10
        let start = Instant::now();
        for _ in 0..10 {
            b.spend().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..5 {
            b.spend().await;
        }
        let t = start.elapsed().as_secs_f64();
        assert!((4.9..5.2).contains(&t), "{t}");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_is_unlimited() {
        let b = RequestBudget::per_minute(0);
        let start = Instant::now();
        for _ in 0..1000 {
            b.spend().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
