use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

use super::*;

const EXAMPLE_ORDERS: &str =
    include_str!("../../../tests/fixtures/vendors/qtickets_orders_page.json");
const EXAMPLE_EVENTS: &str =
    include_str!("../../../tests/fixtures/vendors/qtickets_events_page.json");

/// JSON keeping object keys in document order (this build's serde_json sorts them).
#[derive(Debug, Clone)]
enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    Leaf,
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("json")
            }
            fn visit_bool<E>(self, _: bool) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Leaf)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(J::Arr(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, J>()? {
                    v.push((k, x));
                }
                Ok(J::Obj(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl J {
    fn parse(text: &str) -> J {
        serde_json::from_str(text).unwrap()
    }
    fn keys(&self) -> Vec<&str> {
        match self {
            J::Obj(kv) => kv.iter().map(|(k, _)| k.as_str()).collect(),
            other => panic!("not an object: {other:?}"),
        }
    }
    fn at(&self, key: &str) -> &J {
        match self {
            J::Obj(kv) => &kv.iter().find(|(k, _)| k == key).unwrap().1,
            other => panic!("not an object: {other:?}"),
        }
    }
    fn idx(&self, i: usize) -> &J {
        match self {
            J::Arr(v) => &v[i],
            other => panic!("not an array: {other:?}"),
        }
    }
}

fn small(orders: u64) -> QticketsSim {
    QticketsSim::new(QticketsConfig {
        orders,
        ..Default::default()
    })
}

const TOKEN: &str = "sim-qtickets-token";

struct Resp {
    status: u16,
    content_type: String,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

/// A request with the query language in a JSON body (also on GET).
async fn call(
    method: &str,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let c = reqwest::Client::new();
    let url = format!("{base}/api/rest/v1{path}");
    let mut r = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "PUT" => c.put(url),
        m => panic!("{m}"),
    };
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(serde_json::to_vec(b).unwrap());
    }
    let res = r.send().await.unwrap();
    Resp {
        status: res.status().as_u16(),
        content_type: res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        text: res.text().await.unwrap(),
    }
}

/// Reads every page of a listing with the given filters; stops as the reference says.
async fn read_all(base: &str, path: &str, filters: Value) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let mut body = filters.clone();
        body["page"] = json!(page);
        let r = call("GET", base, path, Some(TOKEN), Some(&body)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        let data = v["data"].as_array().unwrap().clone();
        let per = v["paging"]["perPage"].as_u64().unwrap();
        assert_eq!(v["paging"]["currentPage"].as_u64().unwrap(), page);
        let total = v["paging"]["total"].as_u64().unwrap();
        assert!(data.len() as u64 <= per);
        let empty = data.is_empty();
        all.extend(data);
        if empty || page * per >= total {
            break;
        }
    }
    all
}

#[test]
fn orders_and_events_have_the_example_keys_in_order() {
    let sim = small(3_000);
    let ex = J::parse(EXAMPLE_ORDERS);
    let ex_order = ex.at("data").idx(0);
    let ex_basket = ex_order.at("baskets").idx(0);
    let ex_utm = ex.at("data").idx(1).at("utm");
    let s = sim.lock();
    let (mut utm_seen, mut fields_seen, mut custom_seen, mut roistat_seen) = (0, 0, 0, 0);
    for i in 0..s.orders.len() {
        let o = J::parse(&http::order_json(&s, i));
        assert_eq!(o.keys(), ex_order.keys(), "order {i}");
        assert_eq!(o.at("client").keys(), ex_order.at("client").keys());
        assert_eq!(
            o.at("client").at("details").keys(),
            ex_order.at("client").at("details").keys()
        );
        assert_eq!(o.at("site").keys(), ex_order.at("site").keys());
        let J::Arr(baskets) = o.at("baskets") else {
            panic!("baskets")
        };
        assert!((1..=4).contains(&baskets.len()));
        for b in baskets {
            assert_eq!(b.keys(), ex_basket.keys());
        }
        match o.at("utm") {
            J::Obj(_) => {
                utm_seen += 1;
                assert_eq!(o.at("utm").keys(), ex_utm.keys());
            }
            J::Arr(v) => assert!(v.is_empty()),
            J::Leaf => panic!("utm is [] or an object"),
        }
        if let J::Obj(_) = o.at("fields") {
            fields_seen += 1;
            assert_eq!(o.at("fields").keys(), ["company", "inn", "kpp"]);
        }
        if let J::Obj(_) = o.at("custom") {
            custom_seen += 1;
        }
        if let J::Obj(_) = o.at("integrations") {
            roistat_seen += 1;
            assert_eq!(o.at("integrations").keys(), ["roistat"]);
        }
    }
    assert!(utm_seen > 0 && fields_seen > 0 && custom_seen > 0 && roistat_seen > 0);

    let ex = J::parse(EXAMPLE_EVENTS);
    let ex_event = ex.at("data").idx(0);
    let ex_show = ex_event.at("shows").idx(0);
    for i in 0..s.events.len() {
        let e = J::parse(&http::event_json(&s, i));
        assert_eq!(e.keys(), ex_event.keys(), "event {i}");
        for k in ["city", "poster", "ticket", "mail_template"] {
            assert_eq!(e.at(k).keys(), ex_event.at(k).keys(), "{k}");
        }
        if let J::Arr(p) = e.at("payments") {
            for p in p {
                assert_eq!(p.keys(), ex_event.at("payments").idx(0).keys());
            }
        }
        let J::Arr(shows) = e.at("shows") else {
            panic!("shows")
        };
        assert!(!shows.is_empty());
        for sh in shows {
            assert_eq!(sh.keys(), ex_show.keys());
            assert_eq!(
                sh.at("prices").idx(0).keys(),
                ex_show.at("prices").idx(0).keys()
            );
        }
    }
    drop(s);
    // A PII field never carries anything but the canaries.
    let s = sim.lock();
    let o: Value = serde_json::from_str(&http::order_json(&s, 0)).unwrap();
    assert!(o["client"]["email"]
        .as_str()
        .unwrap()
        .ends_with("@example.invalid"));
    assert_eq!(o["client"]["details"]["phone"], crate::canary::PHONE);
    assert_eq!(o["baskets"][0]["client_name"], crate::canary::NAME);
    assert_eq!(o["baskets"][0]["barcode"].as_str().unwrap().len(), 12);
    let uid = o["uniqid"].as_str().unwrap();
    assert_eq!(uid.len(), 10);
    for k in ["payment_url", "cancel_url"] {
        assert!(o[k].as_str().unwrap().contains(uid));
    }
    assert!(o["baskets"][0]["pdf_url"].as_str().unwrap().contains(uid));
    assert!(o["created_at"].as_str().unwrap().ends_with("+03:00"));
}

#[tokio::test]
async fn envelope_key_order_and_errors() {
    let sim = small(500);
    let srv = sim.spawn().await.unwrap();
    let base = srv.base_url();
    let r = call("GET", &base, "/orders", Some(TOKEN), None).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("application/json"));
    let page = J::parse(&r.text);
    assert_eq!(page.keys(), ["data", "paging"]);
    assert_eq!(
        page.at("paging").keys(),
        ["perPage", "currentPage", "total"]
    );
    assert_eq!(
        r.json()["paging"],
        json!({"perPage": 50, "currentPage": 1, "total": 500})
    );
    let r = call("GET", &base, "/events", Some(TOKEN), None).await;
    assert_eq!(r.json()["paging"]["perPage"], 10);

    let unknown =
        json!({"error": "Unknown error", "status": 503, "code": "UNKNOWN_ERROR", "info": []});
    // payed_at in a filter or an order: 503, whatever else the body says.
    for body in [
        json!({"where": [{"column": "payed_at", "operator": ">=", "value": "2026-02-20T00:00:00+03:00"}]}),
        json!({"where": [{"column": "id", "operator": ">", "value": 1}, {"column": "payed_at", "operator": "not null"}]}),
        json!({"orderBy": {"payed_at": "desc"}}),
    ] {
        let r = call("GET", &base, "/orders", Some(TOKEN), Some(&body)).await;
        assert_eq!((r.status, r.json()), (503, unknown.clone()), "{body}");
        assert_eq!(
            J::parse(&r.text).keys(),
            ["error", "status", "code", "info"]
        );
    }
    let r = call("POST", &base, "/orders", Some(TOKEN), Some(&json!({}))).await;
    assert_eq!((r.status, r.json()), (503, unknown.clone()));

    for token in [Some("wrong"), None] {
        for path in [
            "/orders",
            "/orders/2000101",
            "/events",
            "/shows/95001/seats",
        ] {
            let r = call("GET", &base, path, token, None).await;
            assert_eq!(r.status, 403, "{path}");
            assert_eq!(r.json()["code"], "WRONG_AUTHORIZATION");
        }
    }
    for (method, path) in [
        ("GET", "/events/90001/seats"),
        ("GET", "/events/90001/seats/95001"),
        ("GET", "/barcodes"),
        ("GET", "/orders/filter"),
        ("GET", "/shows/95001/barcodes"),
        ("PUT", "/orders/2000101"),
        ("GET", "/nothing"),
    ] {
        let r = call(method, &base, path, Some(TOKEN), None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.content_type, "text/html; charset=UTF-8", "{path}");
        assert!(r.text.starts_with("<!DOCTYPE html>"));
    }
    let r = call("GET", &base, "/orders/1", Some(TOKEN), None).await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"error": "Resource \"Order\" not found", "status": 404, "code": "RESOURCE_NOT_FOUND", "info": {"id": 1, "resource": "Order"}})
        )
    );
    let r = call("GET", &base, "/orders/2000101", Some(TOKEN), None).await;
    assert_eq!(r.json()["data"]["id"], 2_000_101);
    assert_eq!(J::parse(&r.text).keys(), ["data"]);

    let c = reqwest::Client::new();
    let r = c
        .get(format!("{base}/api/rest/v1/orders"))
        .bearer_auth(TOKEN)
        .body("{\"where\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "BAD_REQUEST");

    let stats = sim.stats();
    assert!(stats.by_route_status[&("/orders".to_string(), 503)] >= 3);
    assert!(stats.by_route_status[&("404".to_string(), 404)] >= 7);
}

#[tokio::test]
async fn paging_filters_and_ignored_query_string() {
    let sim = small(1_234);
    let srv = sim.spawn().await.unwrap();
    let base = srv.base_url();
    let all = read_all(&base, "/orders", json!({})).await;
    let ids: Vec<u64> = all.iter().map(|o| o["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len() as u64, sim.order_count());
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "id asc, each once");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
    assert_eq!(ids[0], 2_000_101);

    // Past the end: empty data, the total still counted.
    let r = call(
        "GET",
        &base,
        "/orders",
        Some(TOKEN),
        Some(&json!({"page": 999})),
    )
    .await;
    let v = r.json();
    assert_eq!(v["data"], json!([]));
    assert_eq!(v["paging"]["total"], 1_234);
    assert_eq!(v["paging"]["currentPage"], 999);

    // Cursor by id.
    let x = ids[99];
    let after = read_all(
        &base,
        "/orders",
        json!({"where": [{"column": "id", "operator": ">", "value": x}], "orderBy": {"id": "asc"}}),
    )
    .await;
    assert_eq!(after.len(), ids.len() - 100);
    assert_eq!(after[0]["id"].as_u64().unwrap(), x + 1);

    // The query string is ignored entirely: same bytes as no filter at all.
    let plain = call("GET", &base, "/orders", Some(TOKEN), None).await;
    for q in ["?payed=1", "?payed=1&per_page=200&page=3", "?where=x"] {
        let r = call("GET", &base, &format!("/orders{q}"), Some(TOKEN), None).await;
        assert_eq!(r.text, plain.text, "{q}");
    }
    assert!(plain.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["payed"] == false));
    // perPage in the body is ignored too.
    let r = call(
        "GET",
        &base,
        "/orders",
        Some(TOKEN),
        Some(&json!({"perPage": 500})),
    )
    .await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 50);

    // Body filters work: payed, default operator `=`, timestamps as instants, null.
    let paid = read_all(
        &base,
        "/orders",
        json!({"where": [{"column": "payed", "value": 1}]}),
    )
    .await;
    assert!(paid.iter().all(|o| o["payed"] == true));
    let n_paid = all.iter().filter(|o| o["payed"] == true).count();
    assert_eq!(paid.len(), n_paid);
    assert!(n_paid < all.len());

    let t = all[600]["updated_at"].as_str().unwrap().to_string();
    let t_ms = model::parse_ts(&t).unwrap();
    // The same instant written in UTC selects the same rows.
    let utc = {
        let iso = model::fmt_msk(t_ms / 1000 - model::MSK_OFFSET);
        format!("{}Z", &iso[..19])
    };
    for value in [t.clone(), utc] {
        let since = read_all(
            &base,
            "/orders",
            json!({"where": [{"column": "updated_at", "operator": ">=", "value": value}],
                   "orderBy": {"updated_at": "asc"}}),
        )
        .await;
        let want = all
            .iter()
            .filter(|o| model::parse_ts(o["updated_at"].as_str().unwrap()).unwrap() >= t_ms)
            .count();
        assert_eq!(since.len(), want);
        let u: Vec<(i64, u64)> = since
            .iter()
            .map(|o| {
                (
                    model::parse_ts(o["updated_at"].as_str().unwrap()).unwrap(),
                    o["id"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(u.windows(2).all(|w| w[0] < w[1]), "updated_at asc, id asc");
    }
    let deleted = read_all(
        &base,
        "/orders",
        json!({"where": [{"column": "deleted_at", "operator": "not null"}]}),
    )
    .await;
    assert!(!deleted.is_empty());
    assert!(deleted.iter().all(|o| !o["deleted_at"].is_null()));
    let live = read_all(
        &base,
        "/orders",
        json!({"where": [{"column": "deleted_at", "operator": "null"}]}),
    )
    .await;
    assert_eq!(live.len() + deleted.len(), all.len());
    let two = read_all(
        &base,
        "/orders",
        json!({"where": [{"column": "event_id", "operator": "in", "value": [90001, 90002]},
                         {"column": "payed", "operator": "=", "value": false}],
               "orderBy": {"id": "desc"}}),
    )
    .await;
    assert!(!two.is_empty());
    assert!(two
        .iter()
        .all(|o| o["payed"] == false && [90001, 90002].contains(&o["event_id"].as_u64().unwrap())));
    assert!(two
        .windows(2)
        .all(|w| w[0]["id"].as_u64() > w[1]["id"].as_u64()));

    // Events page by 10 and ignore the query string as well, deleted events included.
    let events = read_all(&base, "/events", json!({})).await;
    assert_eq!(events.len(), 5);
    assert_eq!(
        events.iter().filter(|e| !e["deleted_at"].is_null()).count(),
        1
    );
    let r = call(
        "GET",
        &base,
        "/events?where=deleted_at&per_page=1",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 5);

    // Fault injection on the list route.
    let faulty = QticketsSim::new(QticketsConfig {
        orders: 100,
        fault_every: Some(3),
        ..Default::default()
    });
    let srv2 = faulty.spawn().await.unwrap();
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(
                call("GET", &srv2.base_url(), "/orders", Some(TOKEN), None)
                    .await
                    .status,
            );
        }
        v
    };
    assert_eq!(codes, [200, 200, 503, 200, 200, 503]);
}

type Key = (String, u64, String, String);

/// The connector's aggregation, written from the definitions in `truth.rs` over served JSON.
fn aggregate(orders: &[Value]) -> BTreeMap<Key, (u64, i64, u64)> {
    let mut m: BTreeMap<Key, (u64, i64, u64)> = BTreeMap::new();
    for o in orders {
        if o["payed"] != true || !o["deleted_at"].is_null() {
            continue;
        }
        let date =
            model::msk_date(model::parse_ts(o["payed_at"].as_str().unwrap()).unwrap() / 1000);
        assert_eq!(&date, &o["payed_at"].as_str().unwrap()[..10]);
        for b in o["baskets"].as_array().unwrap() {
            if !b["deleted_at"].is_null() {
                continue;
            }
            let cat = category(b["seat_id"].as_str().unwrap()).to_string();
            let e = m
                .entry((
                    date.clone(),
                    o["event_id"].as_u64().unwrap(),
                    cat,
                    o["currency_id"].as_str().unwrap().to_string(),
                ))
                .or_default();
            let price = b["price"].as_i64().unwrap() * 100;
            if b["refunded_at"].is_null() {
                e.0 += b["quantity"].as_u64().unwrap();
                e.1 += price;
            } else {
                e.2 += 1;
                e.1 += price - b["refunded_amount"].as_i64().unwrap() * 100;
            }
        }
    }
    m
}

fn truth_map(sim: &QticketsSim) -> BTreeMap<Key, (u64, i64, u64)> {
    sim.truth()
        .into_iter()
        .map(|r| {
            (
                (r.sales_date, r.event_id, r.category, r.currency),
                (r.tickets, r.revenue_minor, r.refunded),
            )
        })
        .collect()
}

#[tokio::test]
async fn served_orders_aggregate_to_the_truth_before_and_after_changes() {
    let sim = small(2_000);
    let srv = sim.spawn().await.unwrap();
    let base = srv.base_url();
    let before = read_all(&base, "/orders", json!({})).await;
    let truth = truth_map(&sim);
    assert_eq!(aggregate(&before), truth);
    assert!(truth.keys().any(|k| k.3 == "EUR") && truth.keys().any(|k| k.3 == "RUB"));
    assert!(truth.values().any(|v| v.2 > 0), "refunds in the history");
    for (k, v) in &truth {
        assert!(*v != (0, 0, 0), "no all-zero rows: {k:?}");
    }

    let start = model::fmt_msk(sim.now_ms() / 1000);
    let n_before = sim.order_count();
    sim.advance(600);
    assert!(sim.now_ms() / 1000 - 600 * 60 == model::parse_ts(&start).unwrap() / 1000);
    let after = read_all(&base, "/orders", json!({})).await;
    assert_eq!(after.len() as u64, sim.order_count());
    assert!(sim.order_count() > n_before + 1_000);
    let since = |v: &Value| v.as_str().is_some_and(|t| t >= start.as_str());
    let baskets = || after.iter().flat_map(|o| o["baskets"].as_array().unwrap());
    let refunds = baskets().filter(|b| since(&b["refunded_at"])).count();
    let scans = baskets().filter(|b| since(&b["checked_at"])).count();
    let cancels = after.iter().filter(|o| since(&o["deleted_at"])).count();
    let newly_paid = after
        .iter()
        .filter(|o| {
            o["id"].as_u64().unwrap() < 2_000_101 + n_before
                && since(&o["payed_at"])
                && o["created_at"].as_str().unwrap() < start.as_str()
        })
        .count();
    assert!(
        refunds > 10 && scans > 10 && cancels > 5 && newly_paid > 5,
        "{refunds} {scans} {cancels} {newly_paid}"
    );
    // A refund: amount = price − 10 %, deduction kept; a cancel nulls barcode and pdf.
    let rb = baskets().find(|b| since(&b["refunded_at"])).unwrap();
    let p = rb["price"].as_i64().unwrap();
    assert_eq!(
        rb["refunded_amount"].as_i64().unwrap() + rb["refunded_deduction_amount"].as_i64().unwrap(),
        p
    );
    let co = after.iter().find(|o| since(&o["deleted_at"])).unwrap();
    for b in co["baskets"].as_array().unwrap() {
        assert!(b["barcode"].is_null() && b["pdf_url"].is_null() && b["refunded_at"].is_null());
        assert_eq!(b["refunded_amount"], 0);
        assert!(!b["deleted_at"].is_null());
    }
    // Scans bump the basket, never the order; changes bump the order.
    let by_id: HashMap<u64, &Value> = before
        .iter()
        .map(|o| (o["id"].as_u64().unwrap(), o))
        .collect();
    let mut scan_only = 0;
    for o in &after {
        let Some(old) = by_id.get(&o["id"].as_u64().unwrap()) else {
            continue;
        };
        let old_b = old["baskets"].as_array().unwrap();
        let new_b = o["baskets"].as_array().unwrap();
        let scanned = new_b
            .iter()
            .zip(old_b)
            .any(|(n, o)| n["checked_at"] != o["checked_at"]);
        let other = new_b.iter().zip(old_b).any(|(n, o)| {
            n["refunded_at"] != o["refunded_at"] || n["deleted_at"] != o["deleted_at"]
        }) || o["payed"] != old["payed"];
        if other {
            assert_ne!(o["updated_at"], old["updated_at"]);
        } else if scanned && o["updated_at"] == old["updated_at"] {
            scan_only += 1;
        }
    }
    assert!(scan_only > 0);
    // Batch touches: some orders share one identical updated_at.
    let mut by_updated: HashMap<&str, u32> = HashMap::new();
    for o in &after {
        *by_updated
            .entry(o["updated_at"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(by_updated.values().any(|&n| n >= 3));

    let truth = truth_map(&sim);
    assert_eq!(aggregate(&after), truth);
    assert_ne!(aggregate(&before), truth);
}

#[derive(Default, Debug, PartialEq, Eq)]
struct Inv {
    capacity: u64,
    left: u64,
    sold: u64,
}

fn inventory_of(nodes: &[&Value]) -> (Inv, Inv) {
    let mut seen = BTreeSet::new();
    let mut good = Inv::default();
    let mut naive = Inv::default();
    for n in nodes {
        let q = |k: &str| n[k].as_u64().unwrap();
        naive.capacity += q("max_quantity");
        naive.left += q("free_quantity");
        naive.sold += q("payed_quantity");
        if n["disabled"] == true || !seen.insert(n["root_id"].as_str().unwrap().to_string()) {
            continue;
        }
        good.capacity += q("max_quantity");
        good.left += q("free_quantity");
        good.sold += q("payed_quantity");
    }
    (good, naive)
}

#[tokio::test]
async fn seats_aggregate_to_the_inventory_truth() {
    let sim = small(2_000);
    sim.advance(120);
    let srv = sim.spawn().await.unwrap();
    let base = srv.base_url();
    let events = read_all(&base, "/events", json!({})).await;
    let orders = read_all(&base, "/orders", json!({})).await;
    // Sold and held per show from the orders, to check the seat map follows them.
    let mut sold_by_show: HashMap<u64, u64> = HashMap::new();
    let mut held_by_show: HashMap<u64, u64> = HashMap::new();
    for o in &orders {
        if !o["deleted_at"].is_null() {
            continue;
        }
        for b in o["baskets"].as_array().unwrap() {
            if b["refunded_at"].is_null() && b["deleted_at"].is_null() {
                let m = if o["payed"] == true {
                    &mut sold_by_show
                } else {
                    &mut held_by_show
                };
                *m.entry(b["show_id"].as_u64().unwrap()).or_default() += 1;
            }
        }
    }
    let truth: BTreeMap<u64, ShowInventoryTruth> = sim
        .inventory_truth()
        .into_iter()
        .map(|r| (r.show_id, r))
        .collect();
    let mut checked = 0;
    let mut naive_differs = 0;
    let mut ga = 0;
    for e in &events {
        if !e["deleted_at"].is_null() {
            continue;
        }
        for sh in e["shows"].as_array().unwrap() {
            let id = sh["id"].as_u64().unwrap();
            let r = call(
                "GET",
                &base,
                &format!("/shows/{id}/seats"),
                Some(TOKEN),
                Some(&json!({"flat": true})),
            )
            .await;
            assert_eq!(r.status, 200);
            let v = r.json();
            let map = v["data"].as_object().unwrap();
            let nodes: Vec<&Value> = map.values().collect();
            for (k, n) in map {
                assert_eq!(n["id"].as_str().unwrap(), k);
                assert_eq!(
                    J::parse(&serde_json::to_string(n).unwrap()).keys().len(),
                    18
                );
            }
            ga += nodes.iter().any(|n| n["admission"] == true) as u32;
            let (good, naive) = inventory_of(&nodes);
            let t = &truth[&id];
            assert_eq!(t.event_id, e["id"].as_u64().unwrap());
            assert_eq!(
                good,
                Inv {
                    capacity: t.capacity,
                    left: t.left,
                    sold: t.sold
                },
                "show {id}"
            );
            assert_eq!(
                good.sold,
                sold_by_show.get(&id).copied().unwrap_or(0),
                "show {id}"
            );
            let held: u64 = {
                let mut seen = BTreeSet::new();
                nodes
                    .iter()
                    .filter(|n| n["disabled"] == false && seen.insert(n["root_id"].to_string()))
                    .map(|n| n["ordered_quantity"].as_u64().unwrap())
                    .sum()
            };
            assert_eq!(
                held,
                held_by_show.get(&id).copied().unwrap_or(0),
                "show {id}"
            );
            assert_eq!(good.capacity, good.left + good.sold + held);
            naive_differs += (naive != good) as u32;

            // The nested form and `select` carry the same figures.
            let r = call(
                "GET",
                &base,
                &format!("/shows/{id}/seats"),
                Some(TOKEN),
                Some(&json!({"select": ["root_id", "disabled", "max_quantity", "free_quantity", "payed_quantity"]})),
            )
            .await;
            let v = r.json();
            let mut nested = Vec::new();
            for (zid, z) in v["data"].as_object().unwrap() {
                assert_eq!(z["zone_id"].as_str().unwrap(), zid);
                for n in z["seats"].as_object().unwrap().values() {
                    assert_eq!(n.as_object().unwrap().len(), 5);
                    nested.push(n);
                }
            }
            assert_eq!(inventory_of(&nested).0, good);
            checked += 1;
        }
    }
    assert_eq!(checked, truth.len());
    assert!(naive_differs > 0, "tariff copies / disabled seats exist");
    assert!(ga > 0, "a general-admission show exists");
    let cities: BTreeSet<String> = sim.event_truth().into_iter().map(|e| e.city).collect();
    assert!(cities.contains("Новосибирск"));
    let r = call("GET", &base, "/shows/1/seats", Some(TOKEN), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["info"]["resource"], "Show");
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let page = |seed: u64| async move {
        let sim = QticketsSim::new(QticketsConfig {
            seed,
            orders: 800,
            ..Default::default()
        });
        sim.advance(30);
        let srv = sim.spawn().await.unwrap();
        let body = json!({"page": 3});
        let o = call("GET", &srv.base_url(), "/orders", Some(TOKEN), Some(&body)).await;
        let e = call("GET", &srv.base_url(), "/events", Some(TOKEN), None).await;
        (o.text, e.text, sim.truth())
    };
    let a = page(7).await;
    let b = page(7).await;
    let c = page(8).await;
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}

#[test]
fn a_hundred_thousand_orders_generate_quickly() {
    let t = std::time::Instant::now();
    let sim = small(100_000);
    let took = t.elapsed();
    assert_eq!(sim.order_count(), 100_000);
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    let s = sim.lock();
    let t = std::time::Instant::now();
    for i in (0..s.orders.len()).step_by(2_000) {
        http::order_json(&s, i);
    }
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    // Barcodes are unique.
    drop(s);
    let codes = sim.barcodes();
    assert_eq!(codes.len() as u64, sim.basket_count());
    assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), codes.len());
    assert!(codes.iter().all(|c| c.len() == 12));
}

#[test]
fn timestamps_parse_and_render_in_moscow_time() {
    let s = 1_772_323_200; // 2026-03-01T00:00:00Z
    assert_eq!(model::fmt_msk(s), "2026-03-01T03:00:00+03:00");
    assert_eq!(model::msk_date(s - 3 * 3600), "2026-03-01");
    assert_eq!(model::msk_date(s - 3 * 3600 - 1), "2026-02-28");
    for t in [
        "2026-03-01T03:00:00+03:00",
        "2026-03-01T00:00:00Z",
        "2026-03-01T00:00:00.000Z",
        "2026-03-01T07:00:00+0700",
        "2026-03-01 03:00:00",
        "2026-03-01T03:00",
    ] {
        assert_eq!(model::parse_ts(t), Some(s * 1000), "{t}");
    }
    assert_eq!(model::parse_ts("yesterday"), None);
}
