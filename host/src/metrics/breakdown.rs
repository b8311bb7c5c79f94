//! The vendor-neutral breakdown families on `/metrics`: held tickets and kept revenue per event
//! and value of each dimension, fees of held tickets by type, tickets left per event. Values
//! come capped from [`crate::state::breakdown`] (`other` / `none` buckets); naming follows the
//! core families (`boxoffice_tickets_sold_total`, `boxoffice_revenue_total` with `currency`).

use std::collections::BTreeMap;

use prometheus_client::encoding::DescriptorEncoder;

use super::exposition::{counter_family, gauge_family, major, Labels};
use super::label::LabelValue;
use super::scrape::Snapshot;
use crate::state::breakdown::Dimension;

fn event_labels(vendor: &str, account: &str, event_id: &str) -> Labels {
    vec![
        ("vendor", LabelValue::from(vendor)),
        ("account", LabelValue::from(account)),
        ("event_id", LabelValue::from(event_id)),
    ]
}

pub(super) fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let rows = &s.breakdowns.rows;
    for dim in Dimension::ALL {
        let name = dim.as_str();
        // Tickets are summed over currencies; revenue never is.
        let mut tickets: BTreeMap<Labels, u64> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.dimension == dim) {
            let mut l = event_labels(&r.vendor, &r.account, &r.event_id);
            l.push((name, LabelValue::from(&r.value)));
            *tickets.entry(l).or_default() += r.tickets;
        }
        counter_family(
            enc,
            &format!("boxoffice_tickets_sold_by_{name}"),
            &format!("Tickets currently held, by {}", dim_help(dim)),
            tickets.into_iter().map(|(l, n)| (l, n as f64)),
        )?;
        counter_family(
            enc,
            &format!("boxoffice_revenue_by_{name}"),
            &format!("Revenue kept in major currency units, by {}", dim_help(dim)),
            rows.iter().filter(|r| r.dimension == dim).map(|r| {
                let mut l = event_labels(&r.vendor, &r.account, &r.event_id);
                l.push((name, LabelValue::from(&r.value)));
                l.push(("currency", LabelValue::from(&r.currency)));
                (l, major(r.revenue_minor, &r.currency))
            }),
        )?;
    }
    counter_family(
        enc,
        "boxoffice_fees",
        "Fees on held tickets in major currency units, by type (service_fee, buyer_fee, producer_cost)",
        s.breakdowns.fees.iter().map(|f| {
            let mut l = event_labels(&f.vendor, &f.account, &f.event_id);
            l.push(("fee_type", LabelValue::from(f.fee_type.as_str())));
            l.push(("currency", LabelValue::from(&f.currency)));
            (l, major(f.amount_minor, &f.currency))
        }),
    )?;
    gauge_family(
        enc,
        "boxoffice_event_tickets_left",
        "Tickets still available per event: the latest inventory of its shows, summed",
        s.event_left.iter().map(|e| {
            (
                event_labels(&e.vendor, &e.account, &e.event_id),
                e.left as i64,
            )
        }),
    )
}

fn dim_help(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Channel => "sales channel",
        Dimension::PaymentMethod => "payment method",
        Dimension::UtmSource => "UTM source",
        Dimension::UtmMedium => "UTM medium",
        Dimension::UtmCampaign => "UTM campaign",
        Dimension::Visibility => {
            "deal visibility (a ticket counts once per visibility of its deal)"
        }
    }
}
