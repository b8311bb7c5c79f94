//! The cost of the sandbox: the Shotgun transform as the bundled WASM component against the
//! same crate compiled natively, on the same recorded pages; and the runtime's fixed costs
//! (compile, cached load, instantiate + first call), measured as `plugins inspect` does, from
//! `LoadedPlugin::load_time`.
//!
//! Pages are recorded once from the simulator through the host's own HTTP executor (so the
//! bodies are exactly what the plugin sees in a sync), then replayed from memory: no I/O is
//! timed. Both sides end where a sync needs them, in the host's records: the component's page
//! is decoded by `PluginInstance::handle`, the native page by the same `decode_records` with
//! the same real `Pseudonymizer` (HMAC-SHA-256). So the ratio is the sandbox's overhead
//! (copying the body in and the records out, the guest's own code generation), not a cheaper
//! stand-in on the native side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::pages::{record, RecordedPage, Vendor};
use boxoffice::model::{PlannedRequest, Record, RequestAuth, RunContext, VendorResponse};
use boxoffice::plugin::output::decode_records;
use boxoffice::plugin::{bundled, CacheOutcome, PluginLimits, PluginRuntime, Pseudonymizer};
use boxoffice_plugin_sdk as sdk;

/// Compile / cached load / instantiate + first call of the bundled Shotgun component.
#[derive(Debug, Clone, Copy)]
pub struct FixedCosts {
    pub compile: Duration,
    /// Median of `repeats` loads from the on-disk cache.
    pub cached_load: Duration,
    /// Median of `repeats` fresh instances + `manifest()` calls.
    pub first_call: Duration,
    pub repeats: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn fixed_costs(cache_dir: &std::path::Path) -> anyhow::Result<FixedCosts> {
    let b = bundled::SHOTGUN;
    // Compile without a cache for the real compile time, then load from a cache, as
    // `plugins inspect` does.
    let uncached = PluginRuntime::new(PluginLimits::default(), None)?;
    let compiled = uncached.load(b.name, b.wasm).await?;
    let rt = PluginRuntime::new(PluginLimits::default(), Some(cache_dir.to_path_buf()))?;
    rt.load(b.name, b.wasm).await?;
    let repeats = 5;
    let (mut loads, mut firsts) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let cached = rt.load(b.name, b.wasm).await?;
        if cached.cache != CacheOutcome::Hit {
            bail!(
                "the plugin cache in {} did not serve the component ({:?})",
                cache_dir.display(),
                cached.cache
            );
        }
        loads.push(cached.load_time);
        let started = Instant::now();
        let mut inst = cached
            .instantiate(Arc::new(Pseudonymizer::new(rand::random())))
            .await?;
        inst.manifest().await?;
        firsts.push(started.elapsed());
    }
    Ok(FixedCosts {
        compile: compiled.load_time,
        cached_load: median(loads),
        first_call: median(firsts),
        repeats,
    })
}

/// WASM vs native on the same pages.
#[derive(Debug, Clone)]
pub struct TransformRun {
    pub pages: usize,
    pub records: usize,
    /// One entry per round: the WASM pass, the native pass and the decoding alone, timed back
    /// to back so that a change in the machine's speed (it is shared) hits all three alike.
    pub rounds: Vec<Round>,
}

/// Time per page of each pass of one round.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub wasm: Duration,
    pub native: Duration,
    /// Decoding one page's records blob into host records, pseudonyms included (in both the
    /// WASM and the native time).
    pub decode: Duration,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.wasm.as_secs_f64() / self.native.as_secs_f64().max(1e-12)
    }

    fn ratio_without_decode(&self) -> f64 {
        let d = self.decode.as_secs_f64();
        (self.wasm.as_secs_f64() - d).max(0.0) / (self.native.as_secs_f64() - d).max(1e-12)
    }
}

fn median_f64(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl TransformRun {
    fn median_of(&self, f: impl Fn(&Round) -> Duration) -> Duration {
        median(self.rounds.iter().map(f).collect())
    }

    pub fn wasm_per_page(&self) -> Duration {
        self.median_of(|r| r.wasm)
    }

    pub fn native_per_page(&self) -> Duration {
        self.median_of(|r| r.native)
    }

    pub fn decode_per_page(&self) -> Duration {
        self.median_of(|r| r.decode)
    }

    /// Median over rounds of each round's WASM / native (pair by pair, not a ratio of medians
    /// taken at different moments).
    pub fn ratio(&self) -> f64 {
        median_f64(self.rounds.iter().map(Round::ratio).collect())
    }

    /// The same without the decoding both sides do with the same host code.
    pub fn ratio_without_decode(&self) -> f64 {
        median_f64(
            self.rounds
                .iter()
                .map(Round::ratio_without_decode)
                .collect(),
        )
    }

    /// The smallest and largest per-round ratio.
    pub fn ratio_spread(&self) -> (f64, f64) {
        let r: Vec<f64> = self.rounds.iter().map(Round::ratio).collect();
        (
            r.iter().copied().fold(f64::INFINITY, f64::min),
            r.iter().copied().fold(0.0, f64::max),
        )
    }
}

/// Records `pages` pages of 100 tickets from a Shotgun simulator, then times them through the
/// bundled component and the native crate, `rounds` rounds after one warm-up pass each.
pub async fn wasm_vs_native(pages: usize, rounds: usize) -> anyhow::Result<TransformRun> {
    let scratch = super::Scratch::new()?;
    let rec = record(Vendor::Shotgun, pages, scratch.path()).await?;
    let (plugin, pseudonyms, recorded) = (&rec.plugin, &rec.pseudonyms, &rec.pages);

    // WASM: one instance, as a sync run uses one instance for all its pages.
    let mut inst = plugin.instantiate(pseudonyms.clone()).await?;
    let mut wasm_out = Vec::new();
    for p in recorded {
        let page = inst.handle(&p.ctx, &p.req, p.resp.clone()).await?;
        inst.take_logs();
        wasm_out.push(page.records);
    }
    // Native: the same crate, the same pages, the same decoding and pseudonymizer.
    let native_in = native_inputs(recorded);
    let native_page = |(ctx, req, resp): &NativeInput| -> anyhow::Result<Vec<u8>> {
        let page = <boxoffice_plugin_shotgun::Shotgun as boxoffice_plugin_sdk::Connector>::handle(
            &mut NativeHost,
            ctx,
            req,
            resp,
        )
        .map_err(|e| anyhow::anyhow!("native transform failed: {e:?}"))?;
        Ok(page.records.into_blob())
    };
    let mut native_out = Vec::new();
    let mut blobs = Vec::new();
    for input in &native_in {
        let blob = native_page(input)?;
        native_out.push(decode_records(&blob, pseudonyms)?);
        blobs.push(blob);
    }
    // Timed rounds: WASM, native and the decoding alone, back to back in each round.
    let mut timed = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let responses: Vec<VendorResponse> = recorded.iter().map(|p| p.resp.clone()).collect();
        let started = Instant::now();
        for (p, resp) in recorded.iter().zip(responses) {
            let page = inst.handle(&p.ctx, &p.req, resp).await?;
            inst.take_logs();
            std::hint::black_box(page);
        }
        let wasm = started.elapsed() / recorded.len() as u32;

        let started = Instant::now();
        for input in &native_in {
            let records = decode_records(&native_page(input)?, pseudonyms)?;
            std::hint::black_box(records);
        }
        let native = started.elapsed() / native_in.len() as u32;

        let started = Instant::now();
        for blob in &blobs {
            std::hint::black_box(decode_records(blob, pseudonyms)?);
        }
        let decode = started.elapsed() / blobs.len() as u32;
        timed.push(Round {
            wasm,
            native,
            decode,
        });
    }

    let records = same_output(&wasm_out, &native_out)?;
    Ok(TransformRun {
        pages: recorded.len(),
        records,
        rounds: timed,
    })
}

/// Both sides emitted the same records, page by page, pseudonyms included; returns the number
/// of records.
fn same_output(wasm: &[Vec<Record>], native: &[Vec<Record>]) -> anyhow::Result<usize> {
    let mut n = 0;
    for (i, (w, nat)) in wasm.iter().zip(native).enumerate() {
        if w != nat {
            bail!(
                "page {i}: the WASM and native transforms disagree ({} vs {} records)",
                w.len(),
                nat.len()
            );
        }
        n += w.len();
    }
    if n == 0 {
        bail!("the recorded pages produced no records");
    }
    Ok(n)
}

/// The SDK's `HostApi` for the native build: logs go nowhere (the component's go to the host's
/// filter, which the WASM side's time includes; the Shotgun transform logs nothing per page).
pub struct NativeHost;

/// A recorded page as the native build of a plugin takes it.
pub type NativeInput = (sdk::RunContext, sdk::HttpRequest, sdk::HttpResponse);

pub fn native_inputs(pages: &[RecordedPage]) -> Vec<NativeInput> {
    pages
        .iter()
        .map(|p| (sdk_ctx(&p.ctx), sdk_request(&p.req), sdk_response(&p.resp)))
        .collect()
}

impl sdk::HostApi for NativeHost {
    fn log(&mut self, _level: sdk::Level, _message: &str) {}
}

fn sdk_ctx(c: &RunContext) -> sdk::RunContext {
    sdk::RunContext {
        account: c.account.clone(),
        settings: c.settings.clone(),
        cursor: c.cursor.clone(),
        since_ms: c.since_ms,
        until_ms: c.until_ms,
        now_ms: c.now_ms,
    }
}

fn sdk_request(r: &PlannedRequest) -> sdk::HttpRequest {
    sdk::HttpRequest {
        id: r.id.clone(),
        method: r.method.clone(),
        url: r.url.clone(),
        query: r.query.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
        auth: match &r.auth {
            RequestAuth::None => sdk::Auth::None,
            RequestAuth::BearerHeader { secret } => sdk::Auth::BearerHeader(secret.clone()),
            RequestAuth::QueryParam { param, secret } => {
                sdk::Auth::QueryParam((param.clone(), secret.clone()))
            }
            RequestAuth::AuthorizationHeader { scheme, secret } => {
                sdk::Auth::AuthorizationHeader((scheme.clone(), secret.clone()))
            }
        },
    }
}

fn sdk_response(r: &VendorResponse) -> sdk::HttpResponse {
    sdk::HttpResponse {
        status: r.status,
        headers: r.headers.clone(),
        body: r.body.clone(),
    }
}
