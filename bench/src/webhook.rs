//! The webhook path's figures (issue 16): latency from a signed delivery to the figure on
//! `/metrics`, and deliveries per second sustained.
//!
//! Owns the set-up the daemon would make, in this process on loopback: the QTickets simulator,
//! the account from an operator's variables with `webhooks = "on"`, the SQLite warehouse, the
//! real listener (`webhook::serve`) over the real ingest (`sync::webhook::WebhookIngest`), and
//! the real `/metrics` server. A sample is: a new paid order in the simulator, its body as the
//! API serves it (rendered before the clock starts), signed with the account's secret; the
//! clock runs from the POST until a scrape of `/metrics` shows the sold figure changed. The
//! throughput run posts `deliveries` such deliveries (distinct orders) with `concurrency`
//! in flight and counts the 200s; afterwards the ledger must equal the simulator's truth.
//!
//! The listener's rate cap (default 200/s per account after a burst of 1,000) would be what is
//! measured, so this bench raises it for its own listener (documented in the bench's note).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::pipeline::{self, check_figures, ledger_figures, Warehouse};
use boxoffice::app::App;
use boxoffice::sync::{sync_account, RunOptions};
use boxoffice::webhook::{ListenerConfig, WebhookAccount, WebhookSecret};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};

const SECRET: &str = "bench-webhook-secret";

/// What one bench run measured.
#[derive(Debug, Clone)]
pub struct WebhookFigures {
    /// Delivery → changed figure on `/metrics`, one per sample, ms, sorted.
    pub latencies_ms: Vec<f64>,
    /// Deliveries of the throughput run, all answered 200.
    pub deliveries: u64,
    pub concurrency: usize,
    pub elapsed: Duration,
    /// Rate cap the bench's listener ran with (per second, burst).
    pub rate_cap: (u32, u32),
}

impl WebhookFigures {
    /// The `q` quantile (0..=1) of the latencies, nearest rank.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.latencies_ms.len() as f64).ceil() as usize)
            .clamp(1, self.latencies_ms.len());
        self.latencies_ms[rank - 1]
    }

    pub fn per_sec(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn sold_total(scrape: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with("boxoffice_tickets_sold_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `samples` latency samples, then `deliveries` concurrent deliveries, `concurrency` at once.
pub async fn measure(
    samples: usize,
    deliveries: usize,
    concurrency: usize,
    state_dir: &Path,
) -> anyhow::Result<WebhookFigures> {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 200,
        start_ms: boxoffice::clock::now_ms() - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let base = format!("{}/api/rest/v1", srv.base_url());
    let mut config = pipeline::config(
        &[
            ("QTICKETS_TOKEN", sim.token()),
            ("QTICKETS_BASE_URL", base.clone()),
        ],
        state_dir,
        &Warehouse::Sqlite,
    )?;
    config.accounts[0]
        .settings
        .push(("webhooks".into(), "on".into()));
    let app = Arc::new(App::open(config).await?);
    let account = app.accounts()?.remove(0);
    let first = sync_account(&app.deps, &account, &RunOptions::default()).await?;
    if !first.ok() {
        bail!(
            "qtickets sync before the webhooks: {}: {}",
            first.status,
            first.message
        );
    }
    let signature = account
        .plugin
        .manifest
        .webhook
        .as_ref()
        .map(|w| w.signature.clone())
        .context("the bundled QTickets connector declares no webhook signature")?;
    let rate_cap = (1_000_000, 1_000_000);
    let listener = boxoffice::webhook::serve(
        &ListenerConfig {
            bind: "127.0.0.1:0".parse()?,
            max_per_second: rate_cap.0,
            burst: rate_cap.1,
            ..Default::default()
        },
        vec![WebhookAccount {
            vendor: "qtickets".into(),
            account: account.name.clone(),
            secret: WebhookSecret::new(SECRET),
            signature,
        }],
        Arc::new(boxoffice::sync::webhook::WebhookIngest::new(
            app.deps.clone(),
            app.accounts()?,
        )),
        app.metrics.clone(),
    )
    .await?;
    let metrics_addr = boxoffice::metrics::server::serve(
        "127.0.0.1:0".parse()?,
        app.metrics.clone(),
        Arc::new(|| boxoffice::metrics::health::Health::Healthy),
    )
    .await?;
    let hook_url = format!(
        "http://{}/webhooks/qtickets/{}",
        listener.local_addr(),
        account.name
    );
    let metrics_url = format!("http://{metrics_addr}/metrics");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .build()?;
    let body_of = |id: u64| {
        let (client, base, token) = (client.clone(), base.clone(), sim.token());
        async move {
            let v: serde_json::Value = client
                .get(format!("{base}/orders/{id}"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(serde_json::to_vec(&v["data"])?)
        }
    };
    let post = |body: Vec<u8>| {
        let (client, url) = (client.clone(), hook_url.clone());
        async move {
            let sig = boxoffice_sim::qtickets::webhooks::sign(SECRET, &body);
            let status = client
                .post(url)
                .header("Content-Type", "application/json")
                .header("X-Event-Type", "created")
                .header("X-Signature", sig)
                .body(body)
                .send()
                .await?
                .status();
            anyhow::Ok(status.as_u16())
        }
    };
    let scrape = || {
        let (client, url) = (client.clone(), metrics_url.clone());
        async move { anyhow::Ok(sold_total(&client.get(url).send().await?.text().await?)) }
    };

    let mut latencies_ms = Vec::with_capacity(samples);
    for _ in 0..samples {
        let id = sim.sell(true).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let body = body_of(id).await?;
        let before = scrape().await?;
        let t0 = Instant::now();
        let status = post(body).await?;
        if status != 200 {
            bail!("webhook bench: delivery of order {id} answered {status}");
        }
        loop {
            if scrape().await? != before {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("webhook bench: order {id} not on /metrics 10 s after its 200");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    latencies_ms.sort_by(f64::total_cmp);

    let mut bodies = Vec::with_capacity(deliveries);
    for _ in 0..deliveries {
        let id = sim.sell(true).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        bodies.push(body_of(id).await?);
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let permit = slots.clone().acquire_owned().await?;
        let fut = post(body);
        tasks.spawn(async move {
            let r = fut.await;
            drop(permit);
            r
        });
    }
    let mut ok = 0u64;
    while let Some(r) = tasks.join_next().await {
        match r?? {
            200 => ok += 1,
            s => bail!("webhook bench: a concurrent delivery answered {s}"),
        }
    }
    let elapsed = t0.elapsed();
    check_figures(
        "qtickets, after the webhook bench",
        &ledger_figures(&app, "qtickets")?,
        &pipeline::qtickets_truth(&sim),
    )?;
    listener.shutdown(Duration::from_secs(5)).await;
    srv.shutdown().await;
    Ok(WebhookFigures {
        latencies_ms,
        deliveries: ok,
        concurrency,
        elapsed,
        rate_cap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let f = WebhookFigures {
            latencies_ms: (1..=200).map(f64::from).collect(),
            deliveries: 5_000,
            concurrency: 64,
            elapsed: Duration::from_secs(2),
            rate_cap: (1, 1),
        };
        assert_eq!(f.latency_ms(0.5), 100.0);
        assert_eq!(f.latency_ms(0.99), 198.0);
        assert_eq!(f.latency_ms(1.0), 200.0);
        assert_eq!(f.per_sec(), 2_500.0);
    }
}
