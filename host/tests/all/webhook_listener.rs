//! The inbound webhook listener over real HTTP on loopback, with a recording handler: what
//! reaches the handler (the exact raw body, the headers without the signature), what is refused
//! before it (forged, oversize, over the rate), the status each handler answer becomes, that the
//! 200 waits for the handler, that the secret shows up nowhere; and the `[webhooks]` / `webhook`
//! configuration keys and their errors.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice::config::{Config, Vars};
use boxoffice::metrics::Metrics;
use boxoffice::model::WebhookSignature;
use boxoffice::state::StateStore;
use boxoffice::webhook::handler::DeliveryFuture;
use boxoffice::webhook::verify::sign;
use boxoffice::webhook::{
    serve, DeliveryError, DeliveryHandler, DeliveryObserver, DeliveryOutcome, ListenerConfig,
    Outcome, VerifiedDelivery, WebhookAccount, WebhookSecret, WebhookServer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "whsec-canary-7f3a9c1e";

fn qtickets_sig() -> WebhookSignature {
    WebhookSignature::HmacSha1Hex {
        header: "X-Signature".into(),
    }
}

// ---------------------------------------------------------------- log capture

#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of the calling test's thread at trace level, while the guard lives. A scoped
/// subscriber, not a global one: the other tests of this binary share the process. The
/// listener's tasks run on the test's thread (`#[tokio::test]` is a current-thread runtime).
fn logs() -> (LogBuf, tracing::subscriber::DefaultGuard) {
    let buf = LogBuf::default();
    let w = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Other tests hit the same call sites from threads without a subscriber; an interest they
    // cached while this one was being set up would silence it.
    tracing::callsite::rebuild_interest_cache();
    (buf, guard)
}

// ---------------------------------------------------------------- test handler and observer

#[derive(Clone, Copy)]
enum Answer {
    Stored,
    Duplicate,
    Rejected,
    Unavailable,
    Unknown,
}

struct Recorder {
    seen: Mutex<Vec<VerifiedDelivery>>,
    answer: Answer,
    /// When set, each delivery waits for a message before answering.
    gate: Option<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>>,
    finished: std::sync::atomic::AtomicUsize,
}

impl Recorder {
    fn new(answer: Answer) -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            answer,
            gate: None,
            finished: Default::default(),
        })
    }
    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl DeliveryHandler for Recorder {
    fn deliver(&self, d: VerifiedDelivery) -> DeliveryFuture<'_> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(d);
            if let Some(gate) = &self.gate {
                gate.lock().await.recv().await;
            }
            self.finished
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match self.answer {
                Answer::Stored => Ok(DeliveryOutcome::Stored { records: 1 }),
                Answer::Duplicate => Ok(DeliveryOutcome::Duplicate),
                Answer::Rejected => Err(DeliveryError::Rejected("not an order".into())),
                Answer::Unavailable => Err(DeliveryError::Unavailable("warehouse down".into())),
                Answer::Unknown => Err(DeliveryError::UnknownAccount("qtickets/main".into())),
            }
        })
    }
}

#[derive(Default)]
struct Counts {
    by: Mutex<HashMap<(String, String, &'static str), u64>>,
    handled: Mutex<u64>,
}

impl Counts {
    fn get(&self, vendor: &str, account: &str, o: Outcome) -> u64 {
        *self
            .by
            .lock()
            .unwrap()
            .get(&(vendor.to_string(), account.to_string(), o.as_str()))
            .unwrap_or(&0)
    }
}

impl DeliveryObserver for Counts {
    fn delivery(&self, vendor: &str, account: &str, outcome: Outcome) {
        *self
            .by
            .lock()
            .unwrap()
            .entry((vendor.into(), account.into(), outcome.as_str()))
            .or_default() += 1;
    }
    fn handled(&self, _: &str, _: &str, seconds: f64) {
        assert!(seconds >= 0.0);
        *self.handled.lock().unwrap() += 1;
    }
}

fn account(name: &str, secret: &str) -> WebhookAccount {
    WebhookAccount {
        vendor: "qtickets".into(),
        account: name.into(),
        secret: WebhookSecret::new(secret),
        signature: qtickets_sig(),
    }
}

fn loopback(cfg: ListenerConfig) -> ListenerConfig {
    ListenerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..cfg
    }
}

async fn start(
    cfg: ListenerConfig,
    handler: Arc<dyn DeliveryHandler>,
    observer: Arc<dyn DeliveryObserver>,
) -> WebhookServer {
    serve(
        &loopback(cfg),
        vec![account("main", SECRET)],
        handler,
        observer,
    )
    .await
    .unwrap()
}

// ---------------------------------------------------------------- a raw HTTP/1.1 client

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn read_reply(s: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    parse(&raw)
}

/// Sends one request (headers as given, `Content-Length` added) and reads the reply.
async fn post(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    read_reply(&mut s).await
}

/// Request headers: name, value.
type Headers = Vec<(&'static str, String)>;

fn signed(body: &[u8]) -> Headers {
    vec![
        (
            "X-Signature",
            sign(&qtickets_sig(), SECRET.as_bytes(), body),
        ),
        ("Content-Type", "application/json".into()),
        ("X-Event-Type", "order.paid".into()),
    ]
}

const BODY: &[u8] =
    br#"{"event":"order.paid","order":{"id":4242,"email":"canary.name@example.invalid"}}"#;

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_valid_signature_reaches_the_handler_with_the_exact_raw_body() {
    let rec = Recorder::new(Answer::Stored);
    let counts = Arc::new(Counts::default());
    let srv = start(ListenerConfig::default(), rec.clone(), counts.clone()).await;
    // Bytes a JSON parser would normalise: the handler must get them exactly as signed.
    let body: &[u8] = b"{ \"id\" : 1,\n  \"n\":\"\\u00e9\xc3\xa9\" }  ";
    let r = post(
        srv.local_addr(),
        "/webhooks/qtickets/main",
        &signed(body),
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "stored\n");
    // The per-type form QTickets uses (one URL per event type), upper-case hex.
    let mut h = signed(BODY);
    h[0].1 = h[0].1.to_ascii_uppercase();
    let r = post(
        srv.local_addr(),
        "/webhooks/qtickets/main/order.paid",
        &h,
        BODY,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let seen = rec.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, body);
    assert_eq!(seen[1].body, BODY);
    assert_eq!(
        (seen[0].vendor.as_str(), seen[0].account.as_str()),
        ("qtickets", "main")
    );
    assert!(seen[0].received_ms > 1_600_000_000_000);
    let names: Vec<&str> = seen[0].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"x-event-type"), "{names:?}");
    assert!(
        names.iter().all(|n| *n == n.to_ascii_lowercase()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"x-signature"),
        "the signature header is handed on: {names:?}"
    );
    assert_eq!(counts.get("qtickets", "main", Outcome::Stored), 2);
    assert_eq!(*counts.handled.lock().unwrap(), 2);
    assert!(srv.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn forged_deliveries_get_401_and_never_reach_the_handler() {
    let rec = Recorder::new(Answer::Stored);
    let counts = Arc::new(Counts::default());
    let srv = start(ListenerConfig::default(), rec.clone(), counts.clone()).await;
    let addr = srv.local_addr();
    let good = sign(&qtickets_sig(), SECRET.as_bytes(), BODY);
    let wrong_secret = sign(&qtickets_sig(), b"not-the-secret-at-all", BODY);
    let mut altered = BODY.to_vec();
    altered[10] ^= 1;
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        (
            "wrong secret",
            vec![("X-Signature", wrong_secret)],
            BODY.to_vec(),
        ),
        (
            "truncated hex",
            vec![("X-Signature", good[..38].to_string())],
            BODY.to_vec(),
        ),
        (
            "odd-length hex",
            vec![("X-Signature", good[..39].to_string())],
            BODY.to_vec(),
        ),
        (
            "not hex",
            vec![("X-Signature", "z".repeat(40))],
            BODY.to_vec(),
        ),
        ("missing header", vec![], BODY.to_vec()),
        (
            "empty header",
            vec![("X-Signature", String::new())],
            BODY.to_vec(),
        ),
        (
            "body altered by one byte",
            vec![("X-Signature", good.clone())],
            altered,
        ),
        (
            "signature for an empty body",
            vec![("X-Signature", sign(&qtickets_sig(), SECRET.as_bytes(), b""))],
            BODY.to_vec(),
        ),
    ];
    let n = cases.len() as u64;
    for (what, headers, body) in cases {
        let r = post(addr, "/webhooks/qtickets/main", &headers, &body).await;
        assert_eq!(r.status, 401, "{what}: {r:?}");
    }
    assert_eq!(rec.calls(), 0, "a forged delivery reached the handler");
    assert_eq!(counts.get("qtickets", "main", Outcome::Forged), n);
    // The same body correctly signed goes through: the refusals were the signature's.
    let r = post(
        addr,
        "/webhooks/qtickets/main",
        &[("X-Signature", good)],
        BODY,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(rec.calls(), 1);
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unknown_accounts_and_routes_get_404_counted_without_their_names() {
    let rec = Recorder::new(Answer::Stored);
    let counts = Arc::new(Counts::default());
    let srv = start(ListenerConfig::default(), rec.clone(), counts.clone()).await;
    let addr = srv.local_addr();
    for path in [
        "/webhooks/qtickets/other",
        "/webhooks/acme/main",
        "/hooks/qtickets/main",
    ] {
        let r = post(addr, path, &signed(BODY), BODY).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
    }
    assert_eq!(rec.calls(), 0);
    // A known vendor keeps its label; nothing from the path becomes one otherwise.
    assert_eq!(
        counts.get("qtickets", "(unknown)", Outcome::UnknownAccount),
        1
    );
    assert_eq!(
        counts.get("(unknown)", "(unknown)", Outcome::UnknownAccount),
        2
    );
    assert!(!counts
        .by
        .lock()
        .unwrap()
        .keys()
        .any(|(v, a, _)| v == "acme" || a == "other"));
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn oversize_bodies_get_413_without_being_read_or_handed_on() {
    let rec = Recorder::new(Answer::Stored);
    let counts = Arc::new(Counts::default());
    let cfg = ListenerConfig {
        max_body_bytes: 1000,
        ..ListenerConfig::default()
    };
    let srv = start(cfg, rec.clone(), counts.clone()).await;
    let addr = srv.local_addr();

    // Exactly the cap is fine.
    let at_cap = vec![b'x'; 1000];
    let r = post(addr, "/webhooks/qtickets/main", &signed(&at_cap), &at_cap).await;
    assert_eq!(r.status, 200, "{r:?}");

    // A declared length over the cap: 413 before a byte of the body is sent.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let sig = sign(&qtickets_sig(), SECRET.as_bytes(), b"");
    s.write_all(
        format!("POST /webhooks/qtickets/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Signature: {sig}\r\nContent-Length: 50000000\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 413, "{r:?}");

    // Chunked, no Content-Length: refused as soon as the chunks pass the cap, while the
    // sender still has not finished (no terminating chunk is ever sent).
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /webhooks/qtickets/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nX-Signature: 00\r\n\r\n")
        .await
        .unwrap();
    let chunk = [b'y'; 600];
    for _ in 0..2 {
        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(&chunk).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    }
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 413, "{r:?}");

    // A chunked body under the cap is read and verified as usual.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let sig = sign(&qtickets_sig(), SECRET.as_bytes(), BODY);
    s.write_all(format!("POST /webhooks/qtickets/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nX-Signature: {sig}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (a, b) = BODY.split_at(20);
    for part in [a, b] {
        s.write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(part).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 200, "{r:?}");

    assert_eq!(
        rec.calls(),
        2,
        "only the two bodies within the cap reach the handler"
    );
    assert_eq!(rec.seen.lock().unwrap()[1].body, BODY);
    assert_eq!(counts.get("qtickets", "main", Outcome::Oversize), 2);
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn over_the_rate_cap_gets_429_with_retry_after_and_forged_calls_spend_nothing() {
    let rec = Recorder::new(Answer::Duplicate);
    let counts = Arc::new(Counts::default());
    let cfg = ListenerConfig {
        max_per_second: 1,
        burst: 3,
        ..ListenerConfig::default()
    };
    let srv = serve(
        &loopback(cfg),
        vec![account("main", SECRET), account("second", SECRET)],
        rec.clone(),
        counts.clone(),
    )
    .await
    .unwrap();
    let addr = srv.local_addr();
    // Forged calls first: they must not use up the allowance.
    for _ in 0..5 {
        let r = post(
            addr,
            "/webhooks/qtickets/main",
            &[("X-Signature", "0".repeat(40))],
            BODY,
        )
        .await;
        assert_eq!(r.status, 401);
    }
    for i in 0..3 {
        let r = post(addr, "/webhooks/qtickets/main", &signed(BODY), BODY).await;
        assert_eq!(r.status, 200, "delivery {i} within the burst: {r:?}");
        assert_eq!(r.body, "duplicate\n");
    }
    let r = post(addr, "/webhooks/qtickets/main", &signed(BODY), BODY).await;
    assert_eq!(r.status, 429, "{r:?}");
    let retry = r
        .head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no Retry-After in {}", r.head));
    assert_eq!(retry, "1");
    // Per account: the other one still has its burst.
    let r = post(addr, "/webhooks/qtickets/second", &signed(BODY), BODY).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(rec.calls(), 4);
    assert_eq!(counts.get("qtickets", "main", Outcome::RateLimited), 1);
    assert_eq!(counts.get("qtickets", "main", Outcome::Duplicate), 3);
    // After the advertised wait, one more goes through.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = post(addr, "/webhooks/qtickets/main", &signed(BODY), BODY).await;
    assert_eq!(r.status, 200, "{r:?}");
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn each_handler_answer_becomes_its_status() {
    for (answer, status, outcome) in [
        (Answer::Unavailable, 503, Outcome::Unavailable),
        (Answer::Rejected, 400, Outcome::Rejected),
        (Answer::Unknown, 404, Outcome::UnknownAccount),
        (Answer::Duplicate, 200, Outcome::Duplicate),
    ] {
        let rec = Recorder::new(answer);
        let counts = Arc::new(Counts::default());
        let srv = start(ListenerConfig::default(), rec.clone(), counts.clone()).await;
        let r = post(
            srv.local_addr(),
            "/webhooks/qtickets/main",
            &signed(BODY),
            BODY,
        )
        .await;
        assert_eq!(r.status, status, "{:?}: {r:?}", outcome);
        assert_eq!(rec.calls(), 1);
        assert_eq!(counts.get("qtickets", "main", outcome), 1, "{outcome:?}");
        // The handler's own words stay in the log, not in the answer.
        assert!(
            !r.body.contains("warehouse down") && !r.body.contains("not an order"),
            "{r:?}"
        );
        srv.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn the_200_arrives_only_after_the_handler_completes() {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let rec = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        answer: Answer::Stored,
        gate: Some(tokio::sync::Mutex::new(rx)),
        finished: Default::default(),
    });
    let srv = start(
        ListenerConfig::default(),
        rec.clone(),
        Arc::new(Counts::default()),
    )
    .await;
    let addr = srv.local_addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST /webhooks/qtickets/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        BODY.len()
    );
    for (k, v) in signed(BODY) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(BODY).await.unwrap();
    // The handler has it, and is held: no byte of an answer may arrive.
    for _ in 0..100 {
        if rec.calls() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rec.calls(), 1);
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), s.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "an answer arrived while the handler was still storing: {early:?}"
    );
    assert_eq!(rec.finished.load(std::sync::atomic::Ordering::SeqCst), 0);
    tx.send(()).await.unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(rec.finished.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A caller that hangs up mid-store does not cut the handler short.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(BODY).await.unwrap();
    for _ in 0..100 {
        if rec.calls() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(()).await.unwrap();
    // Shutdown waits for the handler that is still storing.
    assert!(srv.shutdown(Duration::from_secs(5)).await);
    assert_eq!(rec.finished.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_secret_appears_in_no_log_metric_or_response() {
    let (logs, _scoped) = logs();
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(StateStore::open(&dir.path().join("state.db")).unwrap());
    let metrics = Metrics::new(state, false);
    let rec = Recorder::new(Answer::Stored);
    let cfg = ListenerConfig {
        max_body_bytes: 4096,
        max_per_second: 1,
        burst: 2,
        ..ListenerConfig::default()
    };
    let srv = start(cfg, rec.clone(), metrics.clone()).await;
    let addr = srv.local_addr();
    let mut replies = Vec::new();
    let path = "/webhooks/qtickets/main";
    replies.push(post(addr, path, &signed(BODY), BODY).await);
    replies.push(
        post(
            addr,
            path,
            &[(
                "X-Signature",
                sign(&qtickets_sig(), b"wrong-secret-1234", BODY),
            )],
            BODY,
        )
        .await,
    );
    replies.push(post(addr, path, &[], BODY).await);
    let big = vec![b'z'; 5000];
    replies.push(post(addr, path, &signed(&big), &big).await);
    replies.push(post(addr, path, &signed(BODY), BODY).await);
    replies.push(post(addr, path, &signed(BODY), BODY).await);
    replies.push(post(addr, "/webhooks/qtickets/nope", &signed(BODY), BODY).await);
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 401, 413, 200, 429, 404]);
    srv.shutdown(Duration::from_secs(5)).await;

    let text = metrics.encode().unwrap();
    for (outcome, n) in [
        ("stored", 2),
        ("forged", 2),
        ("oversize", 1),
        ("rate_limited", 1),
        ("unavailable", 0),
    ] {
        let line = format!(
            "boxoffice_webhook_deliveries_total{{vendor=\"qtickets\",account=\"main\",outcome=\"{outcome}\"}} {n}"
        );
        assert!(text.contains(&line), "missing `{line}` in\n{text}");
    }
    assert!(text.contains("boxoffice_webhook_handle_duration_seconds_count{vendor=\"qtickets\",account=\"main\"} 2"), "{text}");
    // What curl (and promtool) get is clean with the webhook series in it.
    let test = "the_secret_appears_in_no_log_metric_or_response";
    if boxoffice_testkit::promtool::installed(test) {
        let plain = metrics
            .encode_as(boxoffice::metrics::exposition::Format::PrometheusText)
            .unwrap();
        let (ok, said) = boxoffice_testkit::promtool::check_metrics(&plain);
        assert!(ok && said.trim().is_empty(), "promtool: {said}\n{plain}");
    }
    let hex_secret = hex::encode(SECRET);
    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log.contains("webhook refused"),
        "the log was not captured:\n{log}"
    );
    for (what, hay) in [
        ("metrics", text.clone()),
        ("log", log),
        ("responses", format!("{replies:?}")),
        ("handler input", format!("{:?}", rec.seen.lock().unwrap())),
    ] {
        assert!(!hay.contains(SECRET), "the secret is in the {what}");
        assert!(
            !hay.contains(&hex_secret),
            "the secret's hex is in the {what}"
        );
    }
}

// ---------------------------------------------------------------- configuration

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load(file: &std::path::Path, envfile: Option<&std::path::Path>) -> Result<Config, String> {
    let envfiles: Vec<_> = envfile.into_iter().map(|p| p.to_path_buf()).collect();
    Vars::load(Some(file), &envfiles)
        .and_then(|v| Config::from_vars(&v))
        .map_err(|e| e.to_string())
}

#[test]
fn webhook_keys_are_read_from_the_file_with_the_secret_apart_from_request_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("qt_main_webhook"), format!("{SECRET}\n")).unwrap();
    std::fs::write(creds.join("qt_main_token"), "qt-token-canary-123\n").unwrap();
    let env = write(
        dir.path(),
        "env",
        &format!("CREDENTIALS_DIRECTORY={}\n", creds.display()),
    );
    let file = write(
        dir.path(),
        "boxoffice.toml",
        r#"
[webhooks]
bind = "127.0.0.1:9555"
max_body_bytes = 65536
max_per_second = 50
burst = 100

[[account]]
vendor = "qtickets"
name = "main"
secrets = { token = { credential = "qt_main_token" } }
webhook = { secret = { credential = "qt_main_webhook" } }

[[account]]
vendor = "qtickets"
name = "polled"
secrets = { token = { credential = "qt_main_token" } }
"#,
    );
    let c = load(&file, Some(&env)).unwrap();
    let l = &c.webhooks.listener;
    assert_eq!(l.bind, "127.0.0.1:9555".parse().unwrap());
    assert_eq!(
        (l.max_body_bytes, l.max_per_second, l.burst),
        (65536, 50, 100)
    );
    assert_eq!(c.webhooks.accounts.len(), 1);
    let w = &c.webhooks.accounts[0];
    assert_eq!(
        (w.vendor.as_str(), w.account.as_str()),
        ("qtickets", "main")
    );
    assert_eq!(w.secret, WebhookSecret::new(SECRET));
    assert!(
        w.source
            .contains("account[0] (qtickets/main).webhook.secret"),
        "{}",
        w.source
    );
    // Not among what a connector's requests can be given (http::Secrets is built from these).
    for a in &c.accounts {
        assert!(
            !a.secrets.values().any(|v| v.contains(SECRET)),
            "{}/{}",
            a.vendor,
            a.name
        );
        assert_eq!(a.secrets.keys().collect::<Vec<_>>(), ["token"]);
    }
    assert!(
        !format!("{c:?}").contains(SECRET),
        "Debug prints the webhook secret"
    );
}

#[test]
fn defaults_are_loopback_one_mebibyte_and_a_generous_rate() {
    let c = Config::from_vars(&Vars::from_pairs([])).unwrap();
    let l = &c.webhooks.listener;
    assert!(l.bind.ip().is_loopback(), "{}", l.bind);
    assert_ne!(l.bind.port(), c.listen.port(), "shares the /metrics port");
    assert_eq!(
        (l.max_body_bytes, l.max_per_second, l.burst),
        (1 << 20, 200, 1000)
    );
    assert!(c.webhooks.accounts.is_empty());
}

#[test]
fn env_twins_set_the_listener_and_the_environment_accounts_secret() {
    let v = Vars::from_pairs([
        ("QTICKETS_TOKEN", "qt-token-canary-123"),
        ("QTICKETS_WEBHOOK_SECRET", SECRET),
        ("BOXOFFICE_WEBHOOK_BIND", "[::1]:9402"),
        ("BOXOFFICE_WEBHOOK_MAX_BODY_BYTES", "2048"),
        ("BOXOFFICE_WEBHOOK_MAX_PER_SECOND", "7"),
        ("BOXOFFICE_WEBHOOK_BURST", "9"),
    ]);
    let c = Config::from_vars(&v).unwrap();
    let l = &c.webhooks.listener;
    assert_eq!(l.bind, "[::1]:9402".parse().unwrap());
    assert_eq!((l.max_body_bytes, l.max_per_second, l.burst), (2048, 7, 9));
    let w = &c.webhooks.accounts[0];
    assert_eq!(
        (w.vendor.as_str(), w.account.as_str(), w.source.as_str()),
        ("qtickets", "default", "QTICKETS_WEBHOOK_SECRET")
    );
    assert_eq!(w.secret, WebhookSecret::new(SECRET));
    assert_eq!(c.accounts[0].secrets.keys().collect::<Vec<_>>(), ["token"]);
    // An env file (like the environment) overrides the file's [webhooks], key by key.
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "b.toml",
        "[webhooks]\nbind = \"127.0.0.1:9600\"\nburst = 5\n",
    );
    let c = load(&file, None).unwrap();
    assert_eq!(c.webhooks.listener.bind.port(), 9600);
    assert_eq!(c.webhooks.listener.burst, 5);
    let env = write(dir.path(), "env", "BOXOFFICE_WEBHOOK_BURST=6\n");
    let c = load(&file, Some(&env)).unwrap();
    assert_eq!(c.webhooks.listener.bind.port(), 9600);
    assert_eq!(c.webhooks.listener.burst, 6);
}

#[test]
fn bad_webhook_values_are_refused_naming_the_file_or_variable_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let short = write(dir.path(), "short", "abc\n");
    let cases = [
        ("[webhooks]\nbind = \"localhost\"\n", "webhooks.bind: `localhost` is not an IP address and port"),
        ("[webhooks]\nmax_body_bytes = 0\n", "webhooks.max_body_bytes: 0 would refuse every delivery"),
        ("[webhooks]\nmax_per_second = 0\n", "webhooks.max_per_second: 0"),
        ("[webhooks]\nburst = 0\n", "webhooks.burst: 0"),
        ("[webhooks]\nmax_body_bytes = 999999999999\n", "webhooks.max_body_bytes: 999999999999 is above the limit"),
        (
            "[[account]]\nvendor = \"qtickets\"\nname = \"main\"\nwebhook = {}\n",
            "account[0] (qtickets/main).webhook.secret: missing",
        ),
        (
            "[[account]]\nvendor = \"qtickets\"\nname = \"main\"\nwebhook = { secret = { env = \"BOXOFFICE_TEST_UNSET_WEBHOOK\" } }\n",
            "account[0] (qtickets/main).webhook.secret: $BOXOFFICE_TEST_UNSET_WEBHOOK is not set",
        ),
    ];
    for (i, (toml, want)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("c{i}.toml"), toml);
        let e = load(&file, None).unwrap_err();
        assert!(
            e.starts_with(&format!("{}: ", file.display())),
            "names the file: {e}"
        );
        assert!(e.contains(want), "want `{want}` in: {e}");
    }
    // A short secret: refused, and its value is not in the message.
    let file = write(
        dir.path(),
        "s.toml",
        &format!("[[account]]\nvendor = \"qtickets\"\nname = \"main\"\nwebhook = {{ secret = {{ file = \"{}\" }} }}\n", short.display()),
    );
    let e = load(&file, None).unwrap_err();
    assert!(
        e.contains("webhook.secret: the webhook secret is shorter than 8"),
        "{e}"
    );
    assert!(!e.contains("abc"), "{e}");
    // An unknown key in [webhooks] is a TOML error naming the file.
    let file = write(dir.path(), "u.toml", "[webhooks]\nport = 1\n");
    let e = load(&file, None).unwrap_err();
    assert!(
        e.starts_with(&file.display().to_string()) && e.contains("port"),
        "{e}"
    );

    for (pairs, want) in [
        (
            vec![("BOXOFFICE_WEBHOOK_BIND", "0.0.0.0")],
            "BOXOFFICE_WEBHOOK_BIND: `0.0.0.0` is not an IP address and port",
        ),
        (
            vec![("BOXOFFICE_WEBHOOK_BURST", "0")],
            "BOXOFFICE_WEBHOOK_BURST: 0 would refuse",
        ),
        (
            vec![("BOXOFFICE_WEBHOOK_MAX_PER_SECOND", "fast")],
            "BOXOFFICE_WEBHOOK_MAX_PER_SECOND: `fast` is not a whole number",
        ),
        (
            vec![("QTICKETS_WEBHOOK_SECRET", SECRET)],
            "QTICKETS_WEBHOOK_SECRET: set, but the environment defines no qtickets account",
        ),
        (
            vec![
                ("QTICKETS_TOKEN", "qt-token-canary-123"),
                ("QTICKETS_WEBHOOK_SECRET", "abc"),
            ],
            "QTICKETS_WEBHOOK_SECRET: the webhook secret is shorter",
        ),
    ] {
        let e = Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(want), "want `{want}`, got: {e}");
        assert!(!e.contains(SECRET));
    }
}

#[test]
fn an_account_with_a_secret_whose_connector_takes_no_webhooks_is_an_error() {
    let v = Vars::from_pairs([
        ("QTICKETS_TOKEN", "qt-token-canary-123"),
        ("QTICKETS_WEBHOOK_SECRET", SECRET),
    ]);
    let c = Config::from_vars(&v).unwrap();
    let ok = boxoffice::config::webhook_accounts::accounts(&c.webhooks, |v, a| {
        (v == "qtickets" && a == "default").then(qtickets_sig)
    })
    .unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].signature, qtickets_sig());
    let e = boxoffice::config::webhook_accounts::accounts(&c.webhooks, |_, _| None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("QTICKETS_WEBHOOK_SECRET: account qtickets/default has a webhook secret, but its connector declares no webhook signing"), "{e}");
    assert!(!e.contains(SECRET));
}

#[test]
fn hmac_sha1_and_sha256_sign_as_the_rfcs_say() {
    // RFC 2202 case 2 (SHA-1), RFC 4231 case 2 (SHA-256).
    let data = b"what do ya want for nothing?";
    assert_eq!(
        sign(&qtickets_sig(), b"Jefe", data),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    let s256 = WebhookSignature::HmacSha256Hex {
        header: "X-Hub-Signature".into(),
    };
    assert_eq!(
        sign(&s256, b"Jefe", data),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
