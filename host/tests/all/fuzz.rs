//! Fuzzing on stable (issue 15, item 5): a seeded, bounded mutation loop over every parser
//! that reads outside input — each connector's response parsing (the native build of the
//! same code: Shotgun, QTickets and pretix `Connector::handle`; pretix's pages are the ones its
//! two replay fixtures hold, each with the context the connector had when it read it), the
//! record blob decoders (the
//! records crate's and the host's `decode_records`, which pseudonymizes), the env-file
//! parser, the TOML config (parse, then its variables and accounts), the `plan import` CSV
//! parser and the replay fixture loader. Seeds are the vendors' example pages, the plugin
//! fixtures and the documented config and plan examples; mutations are byte-level (flips,
//! cuts, splices, repeats, odd tokens) and, for JSON, structural (a node replaced by another
//! type, an extreme number, a long or odd string; a key removed; a list element repeated).
//!
//! Property: never panics; an error is an error value whose text is not empty. A connector
//! page that parses must have a records blob that decodes.
//!
//! Cases per target: 400 by default (a few thousand in all, well under a minute);
//! `BOXOFFICE_FUZZ_CASES=N` or `PROPTEST_CASES=N` for a long run, `BOXOFFICE_FUZZ_SEED` to
//! change the seed. A failing input is written to `target/fuzz-crashes/` and its path
//! printed; copy it into `host/tests/fuzz_regressions/<target>/` and it is replayed by
//! `regressions_stay_fixed` on every run.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{
    decode_records, Connector, HttpRequest, HttpResponse, Page, PluginError, RunContext,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn cases() -> usize {
    ["BOXOFFICE_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or(400)
}

fn seed() -> u64 {
    std::env::var("BOXOFFICE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_b0c5)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

// ---------------------------------------------------------------------------------------------
// Mutations

const TOKENS: &[&str] = &[
    "null",
    "true",
    "-1",
    "0",
    "1e999",
    "-9223372036854775809",
    "18446744073709551616",
    "1.5",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "[[[[[[[[",
    "]]]]",
    "\"",
    ",",
    ":",
    "\n",
    "\u{feff}",
    "=",
    "\"\"\"",
    "[[account]]",
    "'",
    "\\",
    "\r\n",
    "\u{0}",
    "é",
    "+03:00",
    "2026-13-45T25:61:61Z",
    "canary.name@example.invalid",
];

fn byte_mutation(rng: &mut StdRng, data: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let len = data.len();
    match rng.random_range(0..8) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] = rng.random();
        }
        2 => data.truncate(rng.random_range(0..=len)),
        3 if len > 0 => {
            let a = rng.random_range(0..len);
            let b = rng.random_range(a..=len.min(a + 64));
            let i = rng.random_range(0..=len);
            let chunk = data[a..b].to_vec();
            data.splice(i..i, chunk);
        }
        4 if len > 0 => {
            let a = rng.random_range(0..len);
            let b = rng.random_range(a..=len.min(a + 256));
            data.drain(a..b);
        }
        5 => {
            let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
            let i = rng.random_range(0..=len);
            data.splice(i..i, t.iter().copied());
        }
        6 if !pool.is_empty() => {
            // Splice in part of another seed.
            let other = &pool[rng.random_range(0..pool.len())];
            if !other.is_empty() {
                let a = rng.random_range(0..other.len());
                let b = rng.random_range(a..=other.len());
                let i = rng.random_range(0..=len);
                data.splice(i..i, other[a..b].iter().copied());
            }
        }
        _ if len > 0 => {
            // Repeat a byte many times (long strings, deep nesting).
            let i = rng.random_range(0..len);
            let n = rng.random_range(1..2000);
            let b = data[i];
            data.splice(i..i, std::iter::repeat_n(b, n));
        }
        _ => data.extend_from_slice(b"{}"),
    }
}

fn odd_value(rng: &mut StdRng) -> serde_json::Value {
    use serde_json::{json, Value};
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(i64::MAX),
        4 => json!(u64::MAX),
        5 => json!(1e300),
        6 => json!(-0.000001),
        7 => json!(""),
        8 => json!("x".repeat(rng.random_range(1..100_000))),
        9 => json!([]),
        10 => json!({}),
        11 => json!("2026-02-30T24:00:00+99:00"),
        12 => json!("\u{0}\u{202e}é\u{1F600}"),
        _ => json!(rng.random::<i64>().to_string()),
    }
}

/// Replaces, removes or repeats one node of `v` (a random walk from the root, `depth` steps
/// at most).
fn json_mutation(rng: &mut StdRng, v: &mut serde_json::Value) {
    let depth = rng.random_range(0..12);
    walk(rng, v, depth);
}

fn walk(rng: &mut StdRng, node: &mut serde_json::Value, depth: u32) {
    use serde_json::Value;
    if depth > 0 {
        match node {
            Value::Array(a) if !a.is_empty() => {
                let i = rng.random_range(0..a.len());
                if rng.random_bool(0.1) {
                    let dup = a[i].clone();
                    a.insert(i, dup);
                } else {
                    walk(rng, &mut a[i], depth - 1);
                }
                return;
            }
            Value::Object(o) if !o.is_empty() => {
                let k = o.keys().nth(rng.random_range(0..o.len())).unwrap().clone();
                if rng.random_bool(0.15) {
                    o.remove(&k);
                } else {
                    walk(rng, o.get_mut(&k).unwrap(), depth - 1);
                }
                return;
            }
            _ => {}
        }
    }
    // A string stays a string half the time: the page still deserializes and the odd value
    // reaches the mapping (a timestamp, an amount, a code) instead of stopping at serde.
    *node = match node {
        Value::String(_) if rng.random_bool(0.5) => odd_string(rng),
        _ => odd_value(rng),
    };
}

/// A string a field's parser may not expect: empty, long, a near-miss timestamp or amount,
/// control and bidi characters, a number as text.
fn odd_string(rng: &mut StdRng) -> serde_json::Value {
    let s = match rng.random_range(0..10) {
        0 => String::new(),
        1 => "x".repeat(rng.random_range(1..10_000)),
        2 => "2026-02-30T24:00:00+99:00".into(),
        3 => "2026-12-07T03:26:00".into(),
        4 => "2026-12-07T03:26:00.1234567890123Z".into(),
        5 => "-0.000".into(),
        6 => "1e400".into(),
        7 => "\u{0}\u{202e}é\u{1F600}".into(),
        8 => "12,50".into(),
        _ => rng.random::<i64>().to_string(),
    };
    serde_json::Value::String(s)
}

/// One mutated input from `seed` (1–4 stacked mutations; JSON seeds also structurally).
fn mutate(rng: &mut StdRng, seed: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    if rng.random_bool(0.5) {
        if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&data) {
            for _ in 0..rng.random_range(1..4) {
                json_mutation(rng, &mut v);
            }
            data = serde_json::to_vec(&v).unwrap();
            if rng.random_bool(0.7) {
                return data;
            }
        }
    }
    for _ in 0..rng.random_range(1..5) {
        byte_mutation(rng, &mut data, pool);
    }
    data
}

/// Runs `check` on the seeds and on `cases()` mutations of them; a panic saves the input and
/// fails with its path. Returns the executions.
fn fuzz(target: &str, seeds: &[Vec<u8>], check: impl Fn(&[u8])) -> usize {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let mut rng = StdRng::seed_from_u64(seed() ^ target.len() as u64 ^ target.as_bytes()[0] as u64);
    let n = cases();
    let mut runs = 0;
    for i in 0..seeds.len() + n {
        let input = if i < seeds.len() {
            seeds[i].clone()
        } else {
            let s = &seeds[rng.random_range(0..seeds.len())];
            mutate(&mut rng, s, seeds)
        };
        runs += 1;
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
            let dir = root().join("target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{target}-{i}.bin"));
            std::fs::write(&path, &input).unwrap();
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{target}: case {i} failed ({msg}); input saved to {}",
                path.display()
            );
        }
    }
    println!("fuzz {target}: {runs} executions, 0 crashes");
    runs
}

fn error_is_clean(what: &str, e: &dyn std::fmt::Display) {
    assert!(
        !e.to_string().trim().is_empty(),
        "{what}: an error without a message"
    );
}

// ---------------------------------------------------------------------------------------------
// Targets

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(root().join(p.as_ref()))
        .unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn ctx(settings: &[(&str, &str)]) -> RunContext {
    RunContext {
        account: "fuzz".into(),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cursor: None,
        since_ms: None,
        until_ms: None,
        now_ms: 1_772_600_000_000,
    }
}

fn response(body: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
    }
}

/// A connector's `handle` on one (request, body): no panic, a clean error, or a page
/// whose blob decodes.
fn page_is_clean(what: &str, r: Result<Page, PluginError>) {
    match r {
        Ok(page) => {
            if let Err(e) = decode_records(page.records.blob()) {
                panic!("{what}: the page's own records do not decode: {e}");
            }
        }
        Err(e) => {
            let text = match &e {
                PluginError::BadResponse(m) | PluginError::Fatal(m) => m.clone(),
                other => format!("{other:?}"),
            };
            assert!(
                !text.trim().is_empty(),
                "{what}: an error without a message"
            );
        }
    }
}

type Pair = (RunContext, HttpRequest, Vec<u8>);

fn shotgun_pairs() -> Vec<Pair> {
    use boxoffice_plugin_shotgun::plan;
    let c = ctx(&[
        ("organizer_id", "100001"),
        ("base_url", "http://127.0.0.1:9"),
    ]);
    let s = plan::settings(&c).unwrap();
    let tickets = plan::tickets_request(&s, None);
    let mut events = plan::events_request(&s, plan::EVENTS_UPCOMING, 0);
    let events_body = br#"{"data":[{"id":1,"name":"E","startTime":"2026-03-01T20:00:00.000Z","endTime":"2026-03-02T04:00:00.000Z","leftTicketsCount":3,"cancelledAt":null,"geolocation":{"city":"Lyon","zipCode":"69007","countryIsoCode":"FR"},"deals":[{"name":"Early","product_id":7,"quantity":10,"price":12.5,"sales_channel":"online"}]}]}"#;
    events.id = plan::EVENTS_UPCOMING.into();
    vec![
        (
            c.clone(),
            tickets,
            read("tests/fixtures/vendors/shotgun_tickets_page.json"),
        ),
        (c, events, events_body.to_vec()),
    ]
}

fn qtickets_pairs() -> Vec<Pair> {
    use boxoffice_plugin_qtickets::plan;
    let c = ctx(&[("base_url", "http://127.0.0.1:9/api/rest/v1")]);
    let s = plan::settings(&c).unwrap();
    vec![
        (
            c.clone(),
            plan::orders_request(&s, 0, 1),
            read("tests/fixtures/vendors/qtickets_orders_page.json"),
        ),
        (
            c.clone(),
            plan::events_request(&s, 1),
            read("tests/fixtures/vendors/qtickets_events_page.json"),
        ),
        (
            c,
            plan::seats_request(&s, 1, 1),
            br#"{"data":{"PARTERRE-1;1":{"zone_id":"PARTERRE","row":"1","place":"1","price":1500,"free_quantity":1,"ordered_quantity":0,"in_basket_quantity":0,"disabled":false}}}"#.to_vec(),
        ),
    ]
}

type Handle =
    fn(&mut FakeHost, &RunContext, &HttpRequest, &HttpResponse) -> Result<Page, PluginError>;

/// pretix's (context, request, body) of every page of its replay fixtures
/// (`plugins/pretix/fixtures/*`), by driving the native connector through each as the host's
/// replay does: `begin`, then each planned request answered by the recorded exchange with the
/// same method, URL and query, the page's cursor carried into the context of the next. One pair
/// per request id (the first page of each kind and event).
fn pretix_pairs() -> Vec<Pair> {
    use boxoffice_plugin_pretix::Pretix;
    use serde_json::Value;
    let mut out: Vec<Pair> = Vec::new();
    for fixture in ["first-sync", "after-changes"] {
        let dir = root().join("plugins/pretix/fixtures").join(fixture);
        let json = |name: &str| -> Value {
            serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap())
                .unwrap_or_else(|e| panic!("{fixture}/{name}: {e}"))
        };
        let c = json("context.json");
        let pairs = |v: &Value| -> Vec<(String, String)> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        // As the host's replay matches: the query in any order.
        let sorted = |mut q: Vec<(String, String)>| {
            q.sort();
            q
        };
        let mut ctx = RunContext {
            account: c["account"].as_str().unwrap().into(),
            settings: pairs(&c["settings"]),
            cursor: c["cursor"].as_str().map(String::from),
            since_ms: None,
            until_ms: None,
            now_ms: c["now_ms"].as_i64().unwrap(),
        };
        let exchanges = json("exchanges.json");
        let exchanges = exchanges.as_array().unwrap();
        let mut queue: std::collections::VecDeque<HttpRequest> =
            <Pretix as Connector>::begin(&mut FakeHost::default(), &ctx)
                .unwrap()
                .into();
        while let Some(req) = queue.pop_front() {
            let x = exchanges
                .iter()
                .find(|x| {
                    x["request"]["method"] == req.method.as_str()
                        && x["request"]["url"] == req.url.as_str()
                        && sorted(pairs(&x["request"]["query"])) == sorted(req.query.clone())
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{fixture}: no exchange for {} {} {:?}",
                        req.id, req.url, req.query
                    )
                });
            let body =
                std::fs::read(dir.join(x["response"]["body_file"].as_str().unwrap())).unwrap();
            // The recorded headers too: the last page of a full scan dates the stream by its
            // `x-page-generated`.
            let recorded = HttpResponse {
                status: x["response"]["status"].as_u64().unwrap() as u16,
                headers: pairs(&x["response"]["headers"]),
                body: body.clone(),
            };
            let page =
                <Pretix as Connector>::handle(&mut FakeHost::default(), &ctx, &req, &recorded)
                    .unwrap_or_else(|e| panic!("{fixture}: {}: {e:?}", req.id));
            if !out.iter().any(|p| p.1.id == req.id) {
                out.push((ctx.clone(), req.clone(), body));
            }
            if let Some(cursor) = page.cursor {
                ctx.cursor = Some(cursor);
            }
            queue.extend(page.next);
        }
    }
    assert!(out.len() >= 4, "pretix seeds: {}", out.len());
    out
}

fn fuzz_connector(name: &str, pairs: Vec<Pair>, handle: Handle) -> usize {
    let mut total = 0;
    let pool: Vec<Vec<u8>> = pairs.iter().map(|p| p.2.clone()).collect();
    for (i, (c, req, body)) in pairs.iter().enumerate() {
        // The seed itself must parse: otherwise the harness would only test error paths.
        let first = handle(&mut FakeHost::default(), c, req, &response(body));
        assert!(first.is_ok(), "{name} seed {i} ({}): {first:?}", req.id);
        let mut seeds = vec![body.clone()];
        seeds.extend(pool.iter().filter(|p| *p != body).take(1).cloned());
        total += fuzz(
            &format!("{name}-{}", req.id.replace(':', "_")),
            &seeds,
            |input| {
                page_is_clean(
                    name,
                    handle(&mut FakeHost::default(), c, req, &response(input)),
                );
            },
        );
    }
    total
}

#[test]
fn shotgun_response_parsing() {
    fuzz_connector(
        "shotgun",
        shotgun_pairs(),
        <boxoffice_plugin_shotgun::Shotgun as Connector>::handle,
    );
}

#[test]
fn qtickets_response_parsing() {
    fuzz_connector(
        "qtickets",
        qtickets_pairs(),
        <boxoffice_plugin_qtickets::Qtickets as Connector>::handle,
    );
}

#[test]
fn pretix_response_parsing() {
    fuzz_connector(
        "pretix",
        pretix_pairs(),
        <boxoffice_plugin_pretix::Pretix as Connector>::handle,
    );
}

/// Record blobs as the connectors write them, from every seed page.
fn blob_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (c, req, body) in shotgun_pairs() {
        if let Ok(p) = <boxoffice_plugin_shotgun::Shotgun as Connector>::handle(
            &mut FakeHost::default(),
            &c,
            &req,
            &response(&body),
        ) {
            out.push(p.records.into_blob());
        }
    }
    for (c, req, body) in qtickets_pairs() {
        if let Ok(p) = <boxoffice_plugin_qtickets::Qtickets as Connector>::handle(
            &mut FakeHost::default(),
            &c,
            &req,
            &response(&body),
        ) {
            out.push(p.records.into_blob());
        }
    }
    for (c, req, body) in pretix_pairs() {
        if let Ok(p) = <boxoffice_plugin_pretix::Pretix as Connector>::handle(
            &mut FakeHost::default(),
            &c,
            &req,
            &response(&body),
        ) {
            out.push(p.records.into_blob());
        }
    }
    out.retain(|b| !b.is_empty());
    assert!(out.len() >= 3);
    out
}

#[test]
fn record_blob_decoders() {
    let seeds = blob_seeds();
    fuzz("records-decode", &seeds, |blob| {
        if let Err(e) = boxoffice_records::decode(blob) {
            error_is_clean("records", &e);
        }
    });
    let pseudonyms = boxoffice::plugin::pseudonym::Pseudonymizer::new([3; 32]);
    fuzz("host-decode-records", &seeds, |blob| {
        if let Err(e) = boxoffice::plugin::output::decode_records(blob, &pseudonyms) {
            error_is_clean("host records", &e);
        }
    });
}

#[test]
fn env_file_parser() {
    let seeds = vec![
        read("deploy/boxoffice.env.sample"),
        b"A=1\nexport B=\"two words\"\n# c\nC='x#y' # note\nD=\"line\\nbreak\"\n".to_vec(),
    ];
    fuzz("envfile", &seeds, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Err(e) = boxoffice::config::envfile::parse(&text, "fuzz.env") {
            error_is_clean("envfile", &e);
        }
    });
}

const TOML_SEED: &str = r#"state_dir = "/var/lib/boxoffice"
listen_host = "127.0.0.1"
listen_port = 9400
tz = "Europe/Moscow"
max_requests_per_minute = 60
shotgun_compat_metrics = false

[clickhouse]
host = "127.0.0.1"
port = 8123
user = "etl_writer"
password = { credential = "clickhouse_password" }
database = "boxoffice"

[[account]]
vendor = "shotgun"
name = "paris"
tz = "Europe/Paris"
interval_secs = 300
settings = { organizer_id = "123456", include_cohosted_events = "true" }
secrets = { token = { credential = "shotgun_paris_token" } }

[[account]]
vendor = "qtickets"
name = "moscow"
interval_secs = 900
settings = { lookback_hours = "72" }
secrets = { token = { file = "/nonexistent/qtickets_moscow" } }
"#;

#[test]
fn toml_config() {
    let env: BTreeMap<String, String> = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boxoffice.toml");
    let seeds = vec![TOML_SEED.as_bytes().to_vec()];
    fuzz("toml-config", &seeds, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        match boxoffice::config::file::read(&path) {
            Ok(cfg) => {
                if let Err(e) = cfg.as_vars(&env) {
                    error_is_clean("toml vars", &e);
                }
                if let Err(e) = cfg.accounts(&path, &env) {
                    error_is_clean("toml accounts", &e);
                }
            }
            Err(e) => error_is_clean("toml", &e),
        }
    });
}

#[test]
fn plan_csv_parser() {
    let seeds = vec![
        b"sales_date,event_id,city,plan_tickets,plan_revenue\n2026-03-01,E1,Moscow,10,1500.50\n2026-03-02,\"E,2\",\"St \"\"P\"\"\",0,0\n".to_vec(),
        "\u{feff}sales_date,event_id,city,plan_tickets,plan_revenue,vendor\r\n2026-03-01,42,Казань,5,99.9,qtickets\r\n".as_bytes().to_vec(),
    ];
    fuzz("plan-csv", &seeds, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Err(e) = boxoffice::sink::plan::parse_csv(&text) {
            error_is_clean("plan csv", &e);
        }
    });
}

#[test]
fn fixture_loader() {
    let src = root().join("plugins/pretix/fixtures/first-sync");
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    // Each case mutates one of the two files the loader parses (a tag byte says which).
    let ctx_seed = std::fs::read(src.join("context.json")).unwrap();
    let ex_seed = std::fs::read(src.join("exchanges.json")).unwrap();
    let seeds = vec![
        [b"c".to_vec(), ctx_seed.clone()].concat(),
        [b"x".to_vec(), ex_seed.clone()].concat(),
    ];
    fuzz("fixture-loader", &seeds, |input| {
        let (tag, body) = input.split_first().unwrap_or((&b'c', &[]));
        let (target, other, other_seed) = if *tag == b'x' {
            ("exchanges.json", "context.json", &ctx_seed)
        } else {
            ("context.json", "exchanges.json", &ex_seed)
        };
        std::fs::write(dir.path().join(target), body).unwrap();
        std::fs::write(dir.path().join(other), other_seed).unwrap();
        if let Err(e) = boxoffice::plugin::replay::Fixture::load(dir.path()) {
            error_is_clean("fixture", &format!("{e:#}"));
        }
    });
}

/// Every saved crash input stays fixed (inputs under `host/tests/fuzz_regressions/<target>/`).
#[test]
fn regressions_stay_fixed() {
    let dir = root().join("host/tests/fuzz_regressions");
    let Ok(targets) = std::fs::read_dir(&dir) else {
        return;
    };
    let pseudonyms = boxoffice::plugin::pseudonym::Pseudonymizer::new([3; 32]);
    let mut replayed = 0;
    for t in targets {
        let t = t.unwrap();
        let name = t.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(t.path()).unwrap() {
            let input = std::fs::read(f.unwrap().path()).unwrap();
            replayed += 1;
            match name.as_str() {
                "records-decode" => {
                    let _ = boxoffice_records::decode(&input);
                }
                "host-decode-records" => {
                    let _ = boxoffice::plugin::output::decode_records(&input, &pseudonyms);
                }
                "envfile" => {
                    let _ =
                        boxoffice::config::envfile::parse(&String::from_utf8_lossy(&input), "r");
                }
                "plan-csv" => {
                    let _ = boxoffice::sink::plan::parse_csv(&String::from_utf8_lossy(&input));
                }
                n if n.starts_with("shotgun-")
                    || n.starts_with("qtickets-")
                    || n.starts_with("pretix-") =>
                {
                    let (pairs, handle): (Vec<Pair>, Handle) = match &n[..n.find('-').unwrap()] {
                        "shotgun" => (
                            shotgun_pairs(),
                            <boxoffice_plugin_shotgun::Shotgun as Connector>::handle,
                        ),
                        "pretix" => (
                            pretix_pairs(),
                            <boxoffice_plugin_pretix::Pretix as Connector>::handle,
                        ),
                        _ => (
                            qtickets_pairs(),
                            <boxoffice_plugin_qtickets::Qtickets as Connector>::handle,
                        ),
                    };
                    let id = &n[n.find('-').unwrap() + 1..];
                    for (c, req, _) in pairs.iter().filter(|p| p.1.id.replace(':', "_") == id) {
                        page_is_clean(
                            n,
                            handle(&mut FakeHost::default(), c, req, &response(&input)),
                        );
                    }
                }
                other => panic!("fuzz_regressions/{other}: no such target"),
            }
        }
    }
    println!("fuzz regressions: {replayed} replayed");
}

/// The harness itself fails on a target that panics (and saves the input).
#[test]
#[should_panic(expected = "input saved to")]
fn the_harness_reports_a_panicking_target() {
    let seeds = vec![b"{\"a\":[1,2,3]}".to_vec()];
    fuzz("self-test", &seeds, |input| {
        assert!(input.len() == 13, "a planted crash on any mutation");
    });
}
