//! The core business KPIs on `/metrics`, from one [`Snapshot`] of the ledger's aggregates:
//! sold, refunded, canceled, scanned, revenue, events, tickets left per show. The breakdowns
//! are [`super::breakdown`]'s, the old Shotgun names [`super::compat`]'s; the snapshot and the
//! collector that calls the three are [`super::scrape`]'s, the encoding helpers
//! [`super::exposition`]'s.

use std::collections::BTreeMap;

use prometheus_client::encoding::DescriptorEncoder;

use super::exposition::{counter_family, gauge_family, major, Labels};
use super::label::LabelValue;
use super::scrape::Snapshot;
use crate::state::KpiRow;

fn kpi_labels(k: &KpiRow) -> Labels {
    vec![
        ("vendor", LabelValue::from(&k.vendor)),
        ("account", LabelValue::from(&k.account)),
        ("event_id", LabelValue::from(&k.event_id)),
        ("category", LabelValue::from(&k.category)),
    ]
}

pub(super) fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let kpi = |f: fn(&KpiRow) -> u64| {
        s.kpis
            .iter()
            .map(move |k| (kpi_labels(k), f(k) as f64))
            .collect::<Vec<_>>()
    };
    counter_family(
        enc,
        "boxoffice_tickets_sold",
        "Tickets currently held by buyers (net of refunds, cancels and resales)",
        kpi(|k| k.sold),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_refunded",
        "Tickets refunded",
        kpi(|k| k.refunded),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_canceled",
        "Tickets canceled",
        kpi(|k| k.canceled),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_scanned",
        "Held tickets scanned at the door",
        kpi(|k| k.scanned),
    )?;
    counter_family(
        enc,
        "boxoffice_revenue",
        "Revenue kept, in major currency units (face price of held tickets plus amounts withheld on refunds)",
        s.kpis.iter().map(|k| {
            let mut l = kpi_labels(k);
            l.push(("currency", LabelValue::from(&k.currency)));
            (l, major(k.revenue_minor, &k.currency))
        }),
    )?;
    gauge_family(
        enc,
        "boxoffice_event_info",
        "Event names and cities (join on event_id)",
        s.events.iter().map(|e| {
            (
                vec![
                    ("vendor", LabelValue::from(&e.vendor)),
                    ("account", LabelValue::from(&e.account)),
                    ("event_id", LabelValue::from(&e.event.event_id)),
                    ("name", LabelValue::from(&e.event.name)),
                    (
                        "city",
                        LabelValue::from(e.event.city.as_deref().unwrap_or_default()),
                    ),
                ],
                1,
            )
        }),
    )?;
    let mut by_status: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for e in &s.events {
        let st = if e.event.canceled_at_ms.is_some() {
            "canceled"
        } else {
            "active"
        };
        *by_status.entry((&e.vendor, &e.account, st)).or_default() += 1;
    }
    gauge_family(
        enc,
        "boxoffice_events",
        "Events known, by status",
        by_status.into_iter().map(|((vendor, account, status), n)| {
            (
                vec![
                    ("vendor", LabelValue::from(vendor)),
                    ("account", LabelValue::from(account)),
                    ("status", LabelValue::from(status)),
                ],
                n as i64,
            )
        }),
    )?;
    gauge_family(
        enc,
        "boxoffice_tickets_left",
        "Tickets still available per show, from the vendor's inventory",
        s.inventory.iter().filter_map(|(vendor, account, v)| {
            v.available.map(|a| {
                (
                    vec![
                        ("vendor", LabelValue::from(vendor)),
                        ("account", LabelValue::from(account)),
                        ("event_id", LabelValue::from(&v.event_id)),
                        ("show_id", LabelValue::from(&v.show_id)),
                    ],
                    a as i64,
                )
            })
        }),
    )
}
