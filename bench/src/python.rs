//! The Python pretix connector (`plugins/pretix-py`, componentize-py) beside its Rust twin
//! (`plugins/pretix`): compile, instantiate + first call, and the cost per page of the pretix
//! fixture's pages (`plugins/pretix/fixtures/first-sync`), replayed from memory through each
//! component under the same default limits. Information only, no target.
//!
//! Owns: finding both components (the Python one at `BOXOFFICE_PRETIX_PY_WASM`, else
//! `target/plugins/pretix-py.wasm` of the working directory or of the source tree), and the
//! timed replay (only `handle` calls are timed; both must emit the same number of records).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use boxoffice::model::VendorResponse;
use boxoffice::plugin::replay::Fixture;
use boxoffice::plugin::{bundled, LoadedPlugin, PluginLimits, PluginRuntime, Pseudonymizer};

/// The fixed and per-page costs of one component.
#[derive(Debug, Clone)]
pub struct ComponentCosts {
    pub size_bytes: usize,
    pub compile: Duration,
    /// Median of `repeats` fresh instances + `manifest()` calls (cached component).
    pub first_call: Duration,
    /// Median over rounds of the mean `handle` time per page.
    pub per_page: Duration,
    pub pages: usize,
    pub records: usize,
    pub repeats: usize,
}

/// Both twins, or why the Python one is not measured.
#[derive(Debug, Clone)]
pub enum PythonBench {
    Measured {
        python: ComponentCosts,
        rust: ComponentCosts,
    },
    Skipped(String),
}

/// Where the Python component is looked for, in order.
pub fn python_component_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("BOXOFFICE_PRETIX_PY_WASM") {
        out.push(PathBuf::from(p));
    }
    out.push(PathBuf::from("target/plugins/pretix-py.wasm"));
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/pretix-py.wasm"));
    out
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/pretix/fixtures/first-sync")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The fixture replayed once through `plugin`'s instance: (time in `handle`, pages, records).
async fn timed_replay(
    inst: &mut boxoffice::plugin::PluginInstance,
    fixture: &Fixture,
) -> anyhow::Result<(Duration, usize, usize)> {
    let mut ctx = fixture.context.clone();
    let mut queue: std::collections::VecDeque<_> = inst.begin(&ctx).await?.into();
    let (mut spent, mut pages, mut records) = (Duration::ZERO, 0, 0);
    while let Some(req) = queue.pop_front() {
        if pages > 1000 {
            bail!("more than 1000 pages: the plugin does not stop paging");
        }
        let Some((i, x)) = fixture.find(&req) else {
            bail!(
                "no recorded response for {}",
                boxoffice::plugin::replay::describe(&req)
            );
        };
        let resp = VendorResponse {
            status: x.response.status,
            headers: x.response.headers.clone(),
            body: fixture.body(i, x)?,
        };
        let started = Instant::now();
        let page = inst.handle(&ctx, &req, resp).await?;
        spent += started.elapsed();
        inst.take_logs();
        pages += 1;
        records += page.records.len();
        if let Some(c) = page.cursor {
            ctx.cursor = Some(c);
        }
        queue.extend(page.next);
    }
    Ok((spent, pages, records))
}

async fn costs(
    name: &str,
    bytes: &[u8],
    fixture: &Fixture,
    cache_dir: &Path,
    rounds: usize,
) -> anyhow::Result<ComponentCosts> {
    let uncached = PluginRuntime::new(PluginLimits::default(), None)?;
    let compiled = uncached.load(name, bytes).await?;
    let rt = PluginRuntime::new(PluginLimits::default(), Some(cache_dir.to_path_buf()))?;
    let cached: LoadedPlugin = rt.load(name, bytes).await?;
    let repeats = 5;
    let mut firsts = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        let mut inst = cached
            .instantiate(Arc::new(Pseudonymizer::new(rand::random())))
            .await?;
        inst.manifest().await?;
        firsts.push(started.elapsed());
    }
    // One instance for every round, as a sync run uses one instance for all its pages.
    let mut inst = cached
        .instantiate(Arc::new(Pseudonymizer::new(rand::random())))
        .await?;
    let (_, pages, records) = timed_replay(&mut inst, fixture).await?; // warm-up
    let mut per_page = Vec::new();
    for _ in 0..rounds.max(1) {
        let (spent, p, r) = timed_replay(&mut inst, fixture).await?;
        if (p, r) != (pages, records) {
            bail!("{name}: a replay gave {p} pages / {r} records, the first {pages} / {records}");
        }
        per_page.push(spent / p.max(1) as u32);
    }
    Ok(ComponentCosts {
        size_bytes: bytes.len(),
        compile: compiled.load_time,
        first_call: median(firsts),
        per_page: median(per_page),
        pages,
        records,
        repeats,
    })
}

/// Measures both twins, or says why the Python one is skipped.
pub async fn python_vs_rust(cache_dir: &Path, rounds: usize) -> anyhow::Result<PythonBench> {
    let candidates = python_component_candidates();
    let Some(py_path) = candidates.iter().find(|p| p.is_file()) else {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Ok(PythonBench::Skipped(format!(
            "no Python component (looked at {}; build it with plugins/pretix-py/build.sh)",
            looked.join(", ")
        )));
    };
    let rust_path = bundled::test_plugin_path("pretix");
    let rust_bytes = match std::fs::read(&rust_path) {
        Ok(b) => b,
        Err(e) => {
            return Ok(PythonBench::Skipped(format!(
                "no Rust pretix component at {} ({e}): run from the source tree's build",
                rust_path.display()
            )))
        }
    };
    let py_bytes =
        std::fs::read(py_path).with_context(|| format!("reading {}", py_path.display()))?;
    let fixture = Fixture::load(&fixture_dir())?;
    let python = costs(
        "pretix-py",
        &py_bytes,
        &fixture,
        &cache_dir.join("py"),
        rounds,
    )
    .await?;
    let rust = costs(
        "pretix",
        &rust_bytes,
        &fixture,
        &cache_dir.join("rust"),
        rounds,
    )
    .await?;
    if python.records != rust.records || python.pages != rust.pages {
        bail!(
            "the twins disagree on {}: Python {} pages / {} records, Rust {} / {}",
            fixture.dir.display(),
            python.pages,
            python.records,
            rust.pages,
            rust.records
        );
    }
    Ok(PythonBench::Measured { python, rust })
}
