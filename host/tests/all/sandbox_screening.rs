//! Outbound and record screening, attacked end to end: the hostile `testbed` connector in the
//! real runtime, full sync runs against loopback vendors, a SQLite state and warehouse.
//!
//! - a buyer's e-mail read from a vendor page cannot leave in the next request's path, query,
//!   header or GET body: refused before any connection, counted, named by field;
//! - `Host` and `Cookie` headers are refused before any connection;
//! - look-alike e-mails, national phones, spaced cards, street addresses as `region` and
//!   absurd money are rejected and counted;
//! - a cursor holding an e-mail is not committed;
//! - a connector's error and log messages are redacted and cannot forge a log line;
//! - a vendor echoing the token in other encodings never lets the connector see it;
//! - extreme but accepted amounts sum in every dashboard view.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use boxoffice::http::{EgressGrant, OperatorGrants, Provenance, RequestBudget, Secrets};
use boxoffice::model::{Record, Ticket, TicketStatus};
use boxoffice::plugin::bounds::MAX_MONEY_MINOR;
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{RecordFirewall, RejectReason};
use boxoffice::sync::{sync_account, Account, RunOptions, RunSummary};
use common::{Captured, Pipeline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EMAIL: &str = "canary.name@example.invalid";

/// A loopback HTTP server answering every request with `body`, counting connections.
struct Loopback {
    base: String,
    connections: Arc<AtomicUsize>,
}

impl Loopback {
    async fn serve(body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                tokio::spawn(async move {
                    let (mut buf, mut got) = (vec![0u8; 8192], Vec::new());
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { base, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A `testbed` account named `name` in `mode`, reading its page from `vendor`; every origin in
/// `origins` is granted, so what stops a request is the screen, not the allow-list.
async fn testbed(
    name: &str,
    mode: &str,
    settings: &[(&str, &str)],
    origins: &[&str],
    secrets: Secrets,
) -> Account {
    let rt = common::runtime().await;
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    let plugin = rt.load("testbed", &bytes).await.unwrap();
    let mut all = vec![("mode".to_string(), mode.to_string())];
    all.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let grants = OperatorGrants {
        origins: origins.iter().map(|o| o.to_string()).collect(),
        hosts: vec![],
    };
    Account {
        egress: EgressGrant::new(&plugin.manifest, Provenance::DropIn, &grants).unwrap(),
        plugin,
        name: name.into(),
        settings: all,
        secrets,
        budget: RequestBudget::per_minute(0),
    }
}

async fn run(p: &Pipeline, account: &Account) -> RunSummary {
    let opts = RunOptions {
        now_ms: Some(1_780_000_000_000),
        ..Default::default()
    };
    sync_account(&p.deps, account, &opts).await.unwrap()
}

/// The value of one series in the exposition text (0 when absent).
fn series(metrics: &str, family: &str, labels: &str) -> f64 {
    let prefix = format!("{family}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

fn find(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file of the pipeline's state dir (state and warehouse, WAL included), as bytes.
fn stored(p: &Pipeline) -> Vec<(String, Vec<u8>)> {
    p.files()
        .into_iter()
        .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_buyer_email_read_from_a_page_cannot_leave_in_the_next_request() {
    let page = format!(r#"{{"buyer":"{EMAIL}"}}"#);
    let p = Pipeline::new();
    for (mode, field) in [
        ("exfil-path", "path"),
        ("exfil-query", "query parameter `q`"),
        ("exfil-header", "header `if-none-match`"),
        ("exfil-body", "body"),
    ] {
        let vendor = Loopback::serve(page.clone()).await;
        let exfil = Loopback::serve("{}".into()).await;
        let account = testbed(
            mode,
            mode,
            &[("base_url", &vendor.base), ("exfil_url", &exfil.base)],
            &[&vendor.base, &exfil.base],
            Secrets::new(),
        )
        .await;
        let s = run(&p, &account).await;
        assert_eq!(s.status, "failed", "{mode}: {s:?}");
        assert!(
            s.message.contains("plugin `testbed`") && s.message.contains(field),
            "{mode}: {}",
            s.message
        );
        assert!(!s.message.contains("canary"), "{mode}: {}", s.message);
        assert_eq!(vendor.connections(), 1, "{mode}: the vendor page was read");
        assert_eq!(
            exfil.connections(),
            0,
            "{mode}: the e-mail reached a listener"
        );
        let m = p.metrics.encode().unwrap();
        let labels = format!(r#"vendor="testbed",account="{mode}",reason="email""#);
        assert_eq!(
            series(&m, "boxoffice_requests_refused_total", &labels),
            1.0,
            "{m}"
        );
    }
}

#[tokio::test]
async fn host_and_cookie_headers_are_refused_before_any_connection() {
    let p = Pipeline::new();
    for (mode, header) in [("host-header", "host"), ("cookie-header", "cookie")] {
        let vendor = Loopback::serve("{}".into()).await;
        let account = testbed(
            mode,
            mode,
            &[("base_url", &vendor.base)],
            &[&vendor.base],
            Secrets::new(),
        )
        .await;
        let s = run(&p, &account).await;
        assert_eq!(s.status, "failed", "{mode}: {s:?}");
        assert!(
            s.message.contains(&format!("header `{header}`")),
            "{mode}: {}",
            s.message
        );
        assert!(!s.message.contains("stolen"), "{}", s.message);
        assert_eq!(vendor.connections(), 0, "{mode}: a connection was made");
        let m = p.metrics.encode().unwrap();
        let labels = format!(r#"vendor="testbed",account="{mode}",reason="header_not_allowed""#);
        assert_eq!(series(&m, "boxoffice_requests_refused_total", &labels), 1.0);
    }
}

#[tokio::test]
async fn look_alike_personal_data_and_absurd_money_are_rejected_and_counted() {
    let vendor = Loopback::serve("{}".into()).await;
    let p = Pipeline::new();
    let account = testbed(
        "main",
        "pii-lookalike",
        &[("base_url", &vendor.base)],
        &[&vendor.base],
        Secrets::new(),
    )
    .await;
    let s = run(&p, &account).await;
    assert!(s.ok(), "{s:?}");
    assert_eq!((s.records, s.rejected), (1, 11), "{s:?}");
    let m = p.metrics.encode().unwrap();
    for (reason, n) in [
        ("email", 3.0),
        ("phone", 4.0),
        ("card", 1.0),
        ("fine_region", 2.0),
        ("out_of_range", 1.0),
    ] {
        let labels = format!(r#"vendor="testbed",account="main",reason="{reason}""#);
        assert_eq!(
            series(&m, "boxoffice_records_rejected_total", &labels),
            n,
            "{reason}"
        );
    }
    for (file, bytes) in stored(&p) {
        for smuggled in [
            "canary",
            "CANARY",
            "56 78",
            "345-67-89",
            "4111 1111",
            "rue X",
            "Apt 4",
        ] {
            assert!(!find(&bytes, smuggled), "{smuggled:?} stored in {file}");
        }
    }
}

#[tokio::test]
async fn a_cursor_holding_an_email_is_not_committed() {
    let vendor = Loopback::serve("{}".into()).await;
    let p = Pipeline::new();
    let account = testbed(
        "main",
        "pii-cursor",
        &[("base_url", &vendor.base)],
        &[&vendor.base],
        Secrets::new(),
    )
    .await;
    let s = run(&p, &account).await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(
        s.message.contains("cursor") && s.message.contains("email"),
        "{}",
        s.message
    );
    assert!(!s.message.contains("canary"), "{}", s.message);
    assert_eq!(p.state.cursor("testbed", "main").unwrap(), None);
    assert_eq!(s.records, 0, "the page with the cursor is not stored");
    for (file, bytes) in stored(&p) {
        assert!(!find(&bytes, "canary"), "the cursor's e-mail is in {file}");
    }
}

#[tokio::test]
async fn error_and_log_messages_are_redacted_and_cannot_forge_a_log_line() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let vendor = Loopback::serve("{}".into()).await;
    let p = Pipeline::new();
    let account = testbed(
        "main",
        "pii-error",
        &[("base_url", &vendor.base)],
        &[&vendor.base],
        Secrets::new(),
    )
    .await;
    let s = run(&p, &account).await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(s.message.contains("plugin `testbed`"), "{}", s.message);
    assert!(s.message.contains("[redacted-email]"), "{}", s.message);
    assert!(!s.message.contains("canary") && !s.message.contains('\n'));

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("sync finished"), "{text}");
    assert!(
        text.contains("forged log line"),
        "the plugin's line is logged: {text}"
    );
    assert!(!text.to_lowercase().contains("canary"), "{text}");
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("level=ERROR"),
            "a plugin forged a log line: {line}"
        );
    }
    for (file, bytes) in stored(&p) {
        assert!(!find(&bytes, "canary"), "the e-mail is stored in {file}");
    }
}

#[tokio::test]
async fn a_vendor_echoing_the_token_in_other_encodings_never_reaches_the_connector() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    const TOKEN: &str = "ECHO/TOKEN+canary=0123456789";
    let pct_lower: String = TOKEN
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02x}"),
        })
        .collect();
    let json_u: String = TOKEN
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let mut forms = vec![
        TOKEN.to_string(),
        pct_lower,
        TOKEN.replace('/', "\\/"),
        json_u,
        STANDARD.encode(TOKEN),
        STANDARD_NO_PAD.encode(TOKEN),
        URL_SAFE.encode(TOKEN),
        URL_SAFE_NO_PAD.encode(TOKEN),
    ];
    for prefix in ["x", "xy", "xyz", "{\"key\":\""] {
        forms.push(STANDARD.encode(format!("{prefix}{TOKEN}\"}}")));
        forms.push(URL_SAFE_NO_PAD.encode(format!("{prefix}{TOKEN}")));
    }
    let body: String = forms.iter().map(|f| format!("echo {f}\n")).collect();
    let vendor = Loopback::serve(body).await;
    let p = Pipeline::new();
    let mut secrets = Secrets::new();
    secrets.insert("token", TOKEN);
    let account = testbed(
        "main",
        "echo-body",
        &[("base_url", &vendor.base)],
        &[&vendor.base],
        secrets,
    )
    .await;
    let s = run(&p, &account).await;
    assert!(s.ok(), "{s:?}");

    let mut haystacks = stored(&p);
    haystacks.push(("logs".into(), logs.0.lock().unwrap().clone()));
    haystacks.push(("metrics".into(), p.metrics.encode().unwrap().into_bytes()));
    // The 20-character heads of the base64 forms at each alignment.
    let heads: Vec<String> = ["", "x", "xy"]
        .iter()
        .map(|p| {
            let enc = STANDARD_NO_PAD.encode(format!("{p}{TOKEN}"));
            enc[4..24].to_string()
        })
        .collect();
    for (name, bytes) in &haystacks {
        for f in forms.iter().chain(&heads) {
            assert!(!find(bytes, f), "{f:?} found in {name}");
        }
        assert!(!find(bytes, "canary"), "the token found in {name}");
    }
    let logged = String::from_utf8_lossy(&haystacks[haystacks.len() - 2].1).into_owned();
    assert!(logged.contains("echo 0: echo [redacted]"), "{logged}");
    assert_eq!(
        s.records as usize,
        forms.len(),
        "one ticket per echoed line"
    );
}

fn extreme(id: &str, minor: i64, now_ms: i64) -> Record {
    Record::Ticket(Ticket {
        ticket_id: id.into(),
        order_id: id.into(),
        event_id: "e1".into(),
        category: "PHASE 1".into(),
        channel: "online".into(),
        status: TicketStatus::Valid,
        price_minor: minor,
        service_fee_minor: minor,
        buyer_fee_minor: minor,
        producer_cost_minor: minor,
        currency: "EUR".into(),
        ordered_at_ms: now_ms - 60_000,
        updated_at_ms: now_ms - 60_000,
        ..Ticket::BLANK
    })
}

#[tokio::test]
async fn extreme_but_accepted_amounts_sum_in_every_dashboard_view() {
    let p = Pipeline::new();
    let now = boxoffice::clock::now_ms();
    let screened = RecordFirewall::new().screen(vec![
        extreme("x1", MAX_MONEY_MINOR, now),
        extreme("x2", MAX_MONEY_MINOR, now),
        extreme("x3", i64::MAX / 2, now),
    ]);
    assert_eq!(screened.accepted.len(), 2);
    assert_eq!(screened.rejected.len(), 1);
    assert_eq!(screened.rejected[0].reason, RejectReason::OutOfRange);
    assert_eq!(screened.rejected[0].field, "price_minor");

    p.deps
        .sink
        .write("testbed", "main", &screened.accepted)
        .await
        .unwrap();
    p.state
        .commit_page("testbed", "main", &screened.accepted, None, now)
        .unwrap();

    let wh = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    let views: Vec<String> = wh
        .prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(views.len() >= 5, "{views:?}");
    for v in &views {
        let mut st = wh.prepare(&format!("SELECT * FROM \"{v}\"")).unwrap();
        let cols = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows
            .next()
            .unwrap_or_else(|e| panic!("view {v} fails: {e}"))
        {
            for i in 0..cols {
                let _: rusqlite::types::Value = row.get(i).unwrap();
            }
        }
    }
    let revenue: i64 = wh
        .query_row(
            "SELECT SUM(revenue_minor) FROM sales_daily WHERE vendor = 'testbed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(revenue, 2 * MAX_MONEY_MINOR);
    p.metrics.encode().unwrap();
}
