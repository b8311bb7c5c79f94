//! Criterion micro-benchmarks of the plugin transforms: each bundled connector as its WASM
//! component (what a sync runs) and as the same crate compiled natively, on the same pages
//! recorded from its simulator, so a regression on either side or in the sandbox's overhead
//! shows up in `cargo bench -p boxoffice-bench --bench transform`.
//!
//! One iteration transforms every recorded page once into host records; the throughput is in
//! pages. Both sides decode their records blob with the host's `decode_records` and real
//! `Pseudonymizer`. Before timing, the WASM and native outputs are compared record by record
//! (every field, pseudonyms included), so a fast wrong transform cannot pass unnoticed.

use std::hint::black_box;

use boxoffice::model::{Record, VendorResponse};
use boxoffice::plugin::output::decode_records;
use boxoffice::plugin::PluginInstance;
use boxoffice_bench::pages::{record, Recorded, Vendor};
use boxoffice_bench::transform::{native_inputs, NativeHost, NativeInput};
use boxoffice_bench::Scratch;
use boxoffice_plugin_sdk as sdk;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// Pages recorded per vendor: enough to cover every event and status of the simulators.
const PAGES: usize = 20;

type NativeHandle = fn(
    &mut NativeHost,
    &sdk::RunContext,
    &sdk::HttpRequest,
    &sdk::HttpResponse,
) -> Result<sdk::Page, sdk::PluginError>;

fn native_of(vendor: Vendor) -> NativeHandle {
    match vendor {
        Vendor::Shotgun => {
            |h, c, q, r| <boxoffice_plugin_shotgun::Shotgun as sdk::Connector>::handle(h, c, q, r)
        }
        Vendor::Qtickets => {
            |h, c, q, r| <boxoffice_plugin_qtickets::Qtickets as sdk::Connector>::handle(h, c, q, r)
        }
    }
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    rec: Recorded,
    native: Vec<NativeInput>,
    inst: PluginInstance,
    host: NativeHost,
    handle: NativeHandle,
}

impl Fixture {
    fn new(vendor: Vendor, scratch: &Scratch) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = scratch.sub(vendor.id()).expect("a scratch directory");
        let rec = rt
            .block_on(record(vendor, PAGES, &dir))
            .expect("recording pages from the simulator");
        let inst = rt
            .block_on(rec.plugin.instantiate(rec.pseudonyms.clone()))
            .expect("instantiating the component");
        let host = NativeHost;
        let native = native_inputs(&rec.pages);
        let mut f = Self {
            rt,
            rec,
            native,
            inst,
            host,
            handle: native_of(vendor),
        };
        f.check_same_output();
        f
    }

    fn wasm_pass(&mut self, responses: Vec<VendorResponse>) -> usize {
        let mut n = 0;
        for (p, resp) in self.rec.pages.iter().zip(responses) {
            let page = self
                .rt
                .block_on(self.inst.handle(&p.ctx, &p.req, resp))
                .expect("the component transforms a recorded page");
            self.inst.take_logs();
            n += page.records.len();
            black_box(page);
        }
        n
    }

    /// One page natively, into host records as the component's page is.
    fn native_page(&mut self, i: usize) -> Vec<Record> {
        let (ctx, req, resp) = &self.native[i];
        let page = (self.handle)(&mut self.host, ctx, req, resp)
            .expect("the native build transforms a recorded page");
        decode_records(page.records.blob(), &self.rec.pseudonyms)
            .expect("the native build's records decode")
    }

    fn native_pass(&mut self) -> usize {
        let mut n = 0;
        for i in 0..self.native.len() {
            let records = self.native_page(i);
            n += records.len();
            black_box(records);
        }
        n
    }

    fn responses(&self) -> Vec<VendorResponse> {
        self.rec.pages.iter().map(|p| p.resp.clone()).collect()
    }

    /// The component and the native build emit the same records on every page.
    fn check_same_output(&mut self) {
        for i in 0..self.native.len() {
            let p = &self.rec.pages[i];
            let wasm = self
                .rt
                .block_on(self.inst.handle(&p.ctx, &p.req, p.resp.clone()))
                .expect("the component transforms a recorded page");
            let native = self.native_page(i);
            assert!(!wasm.records.is_empty(), "page {i} produced no records");
            assert_eq!(
                wasm.records, native,
                "page {i}: WASM and native transforms disagree"
            );
        }
    }
}

fn transforms(c: &mut Criterion) {
    let scratch = Scratch::new().expect("a scratch directory");
    for vendor in [Vendor::Shotgun, Vendor::Qtickets] {
        let mut f = Fixture::new(vendor, &scratch);
        let mut g = c.benchmark_group(format!("transform/{}", vendor.id()));
        g.throughput(Throughput::Elements(f.rec.pages.len() as u64));
        let responses = f.responses();
        g.bench_function("wasm", |b| {
            b.iter_batched(
                || responses.clone(),
                |responses| f.wasm_pass(responses),
                BatchSize::LargeInput,
            )
        });
        g.bench_function("native", |b| b.iter(|| f.native_pass()));
        g.finish();
    }
}

criterion_group!(benches, transforms);
criterion_main!(benches);
