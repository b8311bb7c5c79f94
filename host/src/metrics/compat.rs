//! The old Shotgun exporter's metric families (`shotgun.md` §8), served when
//! `BOXOFFICE_SHOTGUN_COMPAT_METRICS` / `shotgun_compat_metrics` is on, so its dashboards and
//! alerts keep working. Same family names, same label names; the values come from the ledger
//! at scrape time, so refunds make sold and revenue fall (the old exporter only ever added).
//!
//! Where §8 leaves room, the choice is made here and only here ([`FAMILIES`] and the
//! constants below), following what the old exporter served:
//! - sold / refunded / revenue carry `event_id, event_name, ticket_title`; scanned and every
//!   `tickets_by_*` family carry `event_id, event_name` (+ the dimension's own label); fees
//!   carry `event_id, event_name, fee_type`.
//! - `ticket_title` = the ledger's category (`deal_title`; the old exporter's fallback to the
//!   sub-category for titles starting with three digits is not reproduced: the ledger does not
//!   keep the sub-category).
//! - refunded = tickets now `refunded` or `canceled` (the old restart path's definition; a
//!   resale is not a refund: the seat is held again by the new ticket).
//! - scanned = tickets with a door scan whatever their status now (as the old exporter).
//! - `*_euros` families: EUR tickets only (the old exporter summed every currency as euros).
//! - `fee_type` = `service_fee` (`deal_service_fee`) and `user_service_fee`
//!   (`deal_user_service_fee`), the old values; producer cost had no old series.
//! - A missing channel, payment method or UTM tag is [`UNKNOWN`]; a deal without visibility
//!   has no visibility series; values beyond the breakdown cap are `other`, as on the neutral
//!   families (see `state::breakdown`).
//! - `shotgun_events_total{status}`: `cancelled` (canceled at), `past` (started before now),
//!   `active` (the rest, also events without a start time); all three always present. It is
//!   typed counter here (the old one was a gauge named `…_total`, which lints reject); the
//!   series name is the same.
//! - `event_name` of an event the ledger has no name for: [`UNKNOWN_EVENT`].
//! - `shotgun_api_requests_total{endpoint,status}`: every attempt to Shotgun (retries
//!   included) by route name (`tickets`, `events`; never the URL or query) and outcome
//!   `success` (2xx), `timeout`, or `error` (anything else). It counts since the process
//!   started, as the old one did.
//! - `shotgun_last_scrape_timestamp`: when the last successful Shotgun sync finished, in unix
//!   seconds, from the job runs (survives restarts); absent until one succeeded.
//! - Several Shotgun accounts are summed into one set of series (the old exporter had one).

use std::collections::BTreeMap;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};

use super::exposition::{counter_family, gauge_f64_family, gauge_family, major, Labels};
use super::label::LabelValue;
use super::scrape::Snapshot;
use crate::http::executor::AttemptOutcome;
use crate::state::breakdown::{Dimension, FeeType, NONE_VALUE};

/// The vendor whose data the old names describe.
pub const VENDOR: &str = "shotgun";
/// The old exporter's label for a missing value.
pub const UNKNOWN: &str = "unknown";
/// The old exporter's name for an event it could not name.
pub const UNKNOWN_EVENT: &str = "Unknown Event";
/// The only currency the `*_euros` families count.
pub const EUROS: &str = "EUR";
/// Fee types served, with their old label values.
pub const FEE_TYPES: [(FeeType, &str); 2] = [
    (FeeType::ServiceFee, "service_fee"),
    (FeeType::BuyerFee, "user_service_fee"),
];
/// The `tickets_by_*` families: (dimension, family name); the label is the dimension's name.
pub const BY_DIMENSION: [(Dimension, &str); 5] = [
    (Dimension::Channel, "shotgun_tickets_by_channel"),
    (
        Dimension::PaymentMethod,
        "shotgun_tickets_by_payment_method",
    ),
    (Dimension::UtmSource, "shotgun_tickets_by_utm_source"),
    (Dimension::UtmMedium, "shotgun_tickets_by_utm_medium"),
    (Dimension::Visibility, "shotgun_tickets_by_visibility"),
];

/// One family of the old exporter as served: exposition name and label names.
#[derive(Debug, Clone, Copy)]
pub struct CompatFamily {
    pub name: &'static str,
    pub labels: &'static [&'static str],
}

const EVENT_TITLE: &[&str] = &["event_id", "event_name", "ticket_title"];

/// Every family of the old exporter, by the name its samples carry.
pub const FAMILIES: [CompatFamily; 14] = [
    CompatFamily {
        name: "shotgun_tickets_sold_total",
        labels: EVENT_TITLE,
    },
    CompatFamily {
        name: "shotgun_tickets_refunded_total",
        labels: EVENT_TITLE,
    },
    CompatFamily {
        name: "shotgun_tickets_revenue_euros_total",
        labels: EVENT_TITLE,
    },
    CompatFamily {
        name: "shotgun_tickets_scanned_total",
        labels: &["event_id", "event_name"],
    },
    CompatFamily {
        name: "shotgun_tickets_fees_euros_total",
        labels: &["event_id", "event_name", "fee_type"],
    },
    CompatFamily {
        name: "shotgun_tickets_by_channel_total",
        labels: &["event_id", "event_name", "channel"],
    },
    CompatFamily {
        name: "shotgun_tickets_by_payment_method_total",
        labels: &["event_id", "event_name", "payment_method"],
    },
    CompatFamily {
        name: "shotgun_tickets_by_utm_source_total",
        labels: &["event_id", "event_name", "utm_source"],
    },
    CompatFamily {
        name: "shotgun_tickets_by_utm_medium_total",
        labels: &["event_id", "event_name", "utm_medium"],
    },
    CompatFamily {
        name: "shotgun_tickets_by_visibility_total",
        labels: &["event_id", "event_name", "visibility"],
    },
    CompatFamily {
        name: "shotgun_events_total",
        labels: &["status"],
    },
    CompatFamily {
        name: "shotgun_event_tickets_left",
        labels: &["event_id", "event_name"],
    },
    CompatFamily {
        name: "shotgun_api_requests_total",
        labels: &["endpoint", "status"],
    },
    CompatFamily {
        name: "shotgun_last_scrape_timestamp",
        labels: &[],
    },
];

/// Labels of `shotgun_api_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    pub endpoint: LabelValue,
    pub status: LabelValue,
}

/// The old `status` value of one attempt.
pub fn api_status(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Status(s) if (200..300).contains(&s) => "success",
        AttemptOutcome::Timeout => "timeout",
        _ => "error",
    }
}

fn event_labels(id: &str, name: &str) -> Labels {
    vec![
        ("event_id", LabelValue::from(id)),
        ("event_name", LabelValue::from(name)),
    ]
}

/// Sums rows into one series per label set (accounts and currencies merge).
fn summed<T: Copy + std::ops::AddAssign + Default>(
    rows: impl Iterator<Item = (Labels, T)>,
) -> BTreeMap<Labels, T> {
    let mut m: BTreeMap<Labels, T> = BTreeMap::new();
    for (l, v) in rows {
        *m.entry(l).or_default() += v;
    }
    m
}

/// The old families from `s`; `now_ms` splits past from active events.
pub(super) fn encode(
    enc: &mut DescriptorEncoder,
    s: &Snapshot,
    now_ms: i64,
) -> Result<(), std::fmt::Error> {
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for e in s.events.iter().filter(|e| e.vendor == VENDOR) {
        if !e.event.name.is_empty() {
            names.entry(&e.event.event_id).or_insert(&e.event.name);
        }
    }
    let name = |id: &str| names.get(id).copied().unwrap_or(UNKNOWN_EVENT);
    let ev = |id: &str| event_labels(id, name(id));

    let kpis: Vec<_> = s.kpis.iter().filter(|k| k.vendor == VENDOR).collect();
    let titled = |k: &crate::state::KpiRow| {
        let mut l = ev(&k.event_id);
        l.push(("ticket_title", LabelValue::from(&k.category)));
        l
    };
    let count = |v: u64| v as f64;
    counter_family(
        enc,
        "shotgun_tickets_sold",
        "Tickets sold and still held (compatibility name; net of refunds, cancels and resales)",
        summed(kpis.iter().map(|k| (titled(k), k.sold)))
            .into_iter()
            .map(|(l, v)| (l, count(v))),
    )?;
    counter_family(
        enc,
        "shotgun_tickets_refunded",
        "Tickets refunded or canceled (compatibility name)",
        summed(kpis.iter().map(|k| (titled(k), k.refunded + k.canceled)))
            .into_iter()
            .map(|(l, v)| (l, count(v))),
    )?;
    counter_family(
        enc,
        "shotgun_tickets_revenue_euros",
        "Revenue kept in euros (compatibility name; EUR tickets only, net of refunds)",
        summed(
            kpis.iter()
                .filter(|k| k.currency == EUROS)
                .map(|k| (titled(k), k.revenue_minor)),
        )
        .into_iter()
        .map(|(l, v)| (l, major(v, EUROS))),
    )?;
    counter_family(
        enc,
        "shotgun_tickets_scanned",
        "Tickets scanned at the door, whatever their status now (compatibility name)",
        summed(
            s.breakdowns
                .scans
                .iter()
                .filter(|x| x.vendor == VENDOR)
                .map(|x| (ev(&x.event_id), x.scanned)),
        )
        .into_iter()
        .map(|(l, v)| (l, count(v))),
    )?;
    counter_family(
        enc,
        "shotgun_tickets_fees_euros",
        "Fees on held tickets in euros, by type (compatibility name; EUR tickets only)",
        summed(s.breakdowns.fees.iter().filter_map(|f| {
            let (_, old) = FEE_TYPES.iter().find(|(t, _)| *t == f.fee_type)?;
            (f.vendor == VENDOR && f.currency == EUROS).then(|| {
                let mut l = ev(&f.event_id);
                l.push(("fee_type", LabelValue::from(*old)));
                (l, f.amount_minor)
            })
        }))
        .into_iter()
        .map(|(l, v)| (l, major(v, EUROS))),
    )?;
    for (dim, family) in BY_DIMENSION {
        let label = dim.as_str();
        let rows = s
            .breakdowns
            .rows
            .iter()
            .filter(|r| r.vendor == VENDOR && r.dimension == dim)
            .filter_map(|r| {
                let value = match r.value.as_str() {
                    NONE_VALUE if dim == Dimension::Visibility => return None,
                    NONE_VALUE => LabelValue::from(UNKNOWN),
                    v => LabelValue::from(v),
                };
                let mut l = ev(&r.event_id);
                l.push((label, value));
                Some((l, r.tickets))
            });
        counter_family(
            enc,
            family,
            &format!("Tickets held by {label} (compatibility name)"),
            summed(rows).into_iter().map(|(l, v)| (l, count(v))),
        )?;
    }
    let mut statuses: BTreeMap<&str, u64> = ["active", "past", "cancelled"]
        .into_iter()
        .map(|st| (st, 0))
        .collect();
    for e in s.events.iter().filter(|e| e.vendor == VENDOR) {
        let st = if e.event.canceled_at_ms.is_some() {
            "cancelled"
        } else if e.event.starts_at_ms.is_some_and(|t| t < now_ms) {
            "past"
        } else {
            "active"
        };
        *statuses.entry(st).or_default() += 1;
    }
    counter_family(
        enc,
        "shotgun_events",
        "Events by status: active, past, cancelled (compatibility name)",
        statuses
            .into_iter()
            .map(|(st, n)| (vec![("status", LabelValue::from(st))], count(n))),
    )?;
    gauge_family(
        enc,
        "shotgun_event_tickets_left",
        "Tickets left per event, from the events listing (compatibility name)",
        summed(
            s.event_left
                .iter()
                .filter(|e| e.vendor == VENDOR)
                .map(|e| (ev(&e.event_id), e.left as i64)),
        ),
    )?;
    let last = s
        .health
        .iter()
        .filter(|h| h.vendor == VENDOR)
        .filter_map(|h| h.last_success_ms)
        .max();
    gauge_f64_family(
        enc,
        "shotgun_last_scrape_timestamp",
        "When the last successful Shotgun sync finished, unix seconds (compatibility name)",
        last.map(|ms| (Labels::new(), ms as f64 / 1000.0)),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::http::executor::RequestObserver;
    use crate::metrics::Metrics;
    use crate::model::{Event, Inventory, Record, Ticket, TicketStatus};
    use crate::state::{RunFigures, StateStore};
    use crate::sync::RunKind;

    fn ledger() -> (tempfile::TempDir, Arc<StateStore>) {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
        let ticket = Ticket {
            ticket_id: "1".into(),
            order_id: "1".into(),
            event_id: "7".into(),
            category: "EARLY".into(),
            channel: "online".into(),
            status: TicketStatus::Valid,
            price_minor: 1000,
            service_fee_minor: 100,
            buyer_fee_minor: 30,
            currency: "EUR".into(),
            ordered_at_ms: 1,
            updated_at_ms: 1,
            scanned_at_ms: Some(2),
            payment_method: Some("card".into()),
            visibility: vec!["public".into()],

            ..Ticket::BLANK
        };
        let records = [
            Record::Ticket(ticket),
            Record::Event(Event {
                event_id: "7".into(),
                name: "Fest".into(),
                city: None,
                venue: None,
                starts_at_ms: Some(1),
                ends_at_ms: None,
                canceled_at_ms: None,
                updated_at_ms: 1,
            }),
            Record::Inventory(Inventory {
                event_id: "7".into(),
                show_id: "7".into(),
                captured_at_ms: 1,
                capacity: Some(10),
                available: Some(9),
                sold: None,
            }),
        ];
        state
            .commit_page(VENDOR, "main", &records, None, 1)
            .unwrap();
        let run = state
            .begin_run(VENDOR, "main", RunKind::Sync, 1_000)
            .unwrap();
        let ok = RunFigures {
            status: "ok".into(),
            ..Default::default()
        };
        state.finish_run(run, &ok, 2_500).unwrap();
        (dir, state)
    }

    #[test]
    fn the_table_is_what_a_scrape_serves() {
        let (_dir, state) = ledger();
        let m = Metrics::new(state.clone(), true);
        m.attempt(VENDOR, "tickets", AttemptOutcome::Status(200));
        m.attempt(VENDOR, "tickets", AttemptOutcome::Status(503));
        m.attempt("qtickets", "orders", AttemptOutcome::Status(200));
        let text = m.encode().unwrap();
        for f in FAMILIES {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with(&format!("{}{{", f.name))
                        || l.starts_with(&format!("{} ", f.name))
                })
                .collect();
            assert!(!lines.is_empty(), "{} missing:\n{text}", f.name);
            for l in lines {
                let names: Vec<&str> = l
                    .split_once('{')
                    .map(|(_, rest)| {
                        rest.split("\",")
                            .filter_map(|kv| {
                                kv.split_once('=').map(|(k, _)| k.trim_start_matches(','))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(names, f.labels, "{l}");
            }
        }
        assert!(
            text.contains("shotgun_api_requests_total{endpoint=\"tickets\",status=\"success\"} 1")
        );
        assert!(
            text.contains("shotgun_api_requests_total{endpoint=\"tickets\",status=\"error\"} 1")
        );
        assert!(
            !text.contains("endpoint=\"orders\""),
            "only Shotgun's requests"
        );
        assert!(text.contains("shotgun_last_scrape_timestamp 2.5"), "{text}");
        assert!(
            text.contains("shotgun_events_total{status=\"past\"} 1"),
            "{text}"
        );

        let off = Metrics::new(state, false);
        off.attempt(VENDOR, "tickets", AttemptOutcome::Status(200));
        assert!(!off.encode().unwrap().contains("shotgun_"));
    }
}
