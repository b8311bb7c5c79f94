//! Business KPIs from the ledger, computed at scrape time.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::state::StateStore;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KpiLabels {
    vendor: String,
    account: String,
    event_id: String,
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevenueLabels {
    vendor: String,
    account: String,
    event_id: String,
    category: String,
    currency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventInfoLabels {
    vendor: String,
    account: String,
    event_id: String,
    name: String,
    city: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventStatusLabels {
    vendor: String,
    account: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeftLabels {
    vendor: String,
    account: String,
    event_id: String,
    show_id: String,
}

/// Old exporter label set for sold/refunded/revenue.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CompatLabels {
    event_id: String,
    event_name: String,
    ticket_title: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CompatEventLabels {
    event_id: String,
    event_name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CompatStatus {
    status: String,
}

#[derive(Debug)]
pub struct LedgerCollector {
    state: Arc<StateStore>,
    compat_shotgun: bool,
}

impl LedgerCollector {
    pub fn new(state: Arc<StateStore>, compat_shotgun: bool) -> Self {
        Self {
            state,
            compat_shotgun,
        }
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateStore")
    }
}

fn counter_family<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (L, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, v) in rows {
        ConstCounter::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge_family<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (L, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, v) in rows {
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for LedgerCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // A failing query must not break the scrape of health metrics: log and skip.
        let (kpis, events, inventory) = match (
            self.state.kpis(),
            self.state.events(),
            self.state.inventory(),
        ) {
            (Ok(k), Ok(e), Ok(i)) => (k, e, i),
            (k, e, i) => {
                let err = k.err().or(e.err()).or(i.err());
                tracing::error!("metrics: reading the ledger failed: {err:?}");
                return Ok(());
            }
        };
        let kl = |k: &crate::state::KpiRow| KpiLabels {
            vendor: k.vendor.clone(),
            account: k.account.clone(),
            event_id: k.event_id.clone(),
            category: k.category.clone(),
        };
        counter_family(
            &mut enc,
            "boxoffice_tickets_sold",
            "Tickets currently held by buyers (net of refunds, cancels and resales)",
            kpis.iter().map(|k| (kl(k), k.sold as f64)),
        )?;
        counter_family(
            &mut enc,
            "boxoffice_tickets_refunded",
            "Tickets refunded",
            kpis.iter().map(|k| (kl(k), k.refunded as f64)),
        )?;
        counter_family(
            &mut enc,
            "boxoffice_tickets_canceled",
            "Tickets canceled",
            kpis.iter().map(|k| (kl(k), k.canceled as f64)),
        )?;
        counter_family(
            &mut enc,
            "boxoffice_tickets_scanned",
            "Held tickets scanned at the door",
            kpis.iter().map(|k| (kl(k), k.scanned as f64)),
        )?;
        counter_family(
            &mut enc,
            "boxoffice_revenue",
            "Revenue kept, in major currency units (face price of held tickets plus amounts withheld on refunds)",
            kpis.iter().map(|k| {
                (
                    RevenueLabels {
                        vendor: k.vendor.clone(),
                        account: k.account.clone(),
                        event_id: k.event_id.clone(),
                        category: k.category.clone(),
                        currency: k.currency.clone(),
                    },
                    k.revenue_minor as f64 / 100.0,
                )
            }),
        )?;
        gauge_family(
            &mut enc,
            "boxoffice_event_info",
            "Event names and cities (join on event_id)",
            events.iter().map(|e| {
                (
                    EventInfoLabels {
                        vendor: e.vendor.clone(),
                        account: e.account.clone(),
                        event_id: e.event.event_id.clone(),
                        name: e.event.name.clone(),
                        city: e.event.city.clone().unwrap_or_default(),
                    },
                    1,
                )
            }),
        )?;
        let mut by_status: std::collections::BTreeMap<(String, String, &str), i64> =
            Default::default();
        for e in &events {
            let st = if e.event.canceled_at_ms.is_some() {
                "canceled"
            } else {
                "active"
            };
            *by_status
                .entry((e.vendor.clone(), e.account.clone(), st))
                .or_default() += 1;
        }
        gauge_family(
            &mut enc,
            "boxoffice_events",
            "Events known, by status",
            by_status.into_iter().map(|((vendor, account, status), n)| {
                (
                    EventStatusLabels {
                        vendor,
                        account,
                        status: status.into(),
                    },
                    n,
                )
            }),
        )?;
        gauge_family(
            &mut enc,
            "boxoffice_tickets_left",
            "Tickets still available per show, from the vendor's inventory",
            inventory.iter().filter_map(|(vendor, account, v)| {
                v.available.map(|a| {
                    (
                        LeftLabels {
                            vendor: vendor.clone(),
                            account: account.clone(),
                            event_id: v.event_id.clone(),
                            show_id: v.show_id.clone(),
                        },
                        a as i64,
                    )
                })
            }),
        )?;
        if self.compat_shotgun {
            let name_of = |vendor: &str, id: &str| {
                events
                    .iter()
                    .find(|e| e.vendor == vendor && e.event.event_id == id)
                    .map(|e| e.event.name.clone())
                    .unwrap_or_default()
            };
            let sg: Vec<_> = kpis.iter().filter(|k| k.vendor == "shotgun").collect();
            let cl = |k: &crate::state::KpiRow| CompatLabels {
                event_id: k.event_id.clone(),
                event_name: name_of(&k.vendor, &k.event_id),
                ticket_title: k.category.clone(),
            };
            counter_family(
                &mut enc,
                "shotgun_tickets_sold",
                "Tickets sold (compatibility name; net of refunds)",
                sg.iter().map(|k| (cl(k), k.sold as f64)),
            )?;
            counter_family(
                &mut enc,
                "shotgun_tickets_refunded",
                "Tickets refunded (compatibility name)",
                sg.iter().map(|k| (cl(k), k.refunded as f64)),
            )?;
            counter_family(
                &mut enc,
                "shotgun_tickets_revenue_euros",
                "Revenue in euros (compatibility name; EUR only)",
                sg.iter()
                    .filter(|k| k.currency == "EUR")
                    .map(|k| (cl(k), k.revenue_minor as f64 / 100.0)),
            )?;
            let mut scanned: std::collections::BTreeMap<String, u64> = Default::default();
            for k in &sg {
                *scanned.entry(k.event_id.clone()).or_default() += k.scanned;
            }
            counter_family(
                &mut enc,
                "shotgun_tickets_scanned",
                "Tickets scanned (compatibility name)",
                scanned.into_iter().map(|(id, n)| {
                    (
                        CompatEventLabels {
                            event_name: name_of("shotgun", &id),
                            event_id: id,
                        },
                        n as f64,
                    )
                }),
            )?;
            let mut st: std::collections::BTreeMap<&str, u64> = Default::default();
            for e in events.iter().filter(|e| e.vendor == "shotgun") {
                *st.entry(if e.event.canceled_at_ms.is_some() {
                    "canceled"
                } else {
                    "active"
                })
                .or_default() += 1;
            }
            counter_family(
                &mut enc,
                "shotgun_events",
                "Events by status (compatibility name)",
                st.into_iter().map(|(status, n)| {
                    (
                        CompatStatus {
                            status: status.into(),
                        },
                        n as f64,
                    )
                }),
            )?;
        }
        Ok(())
    }
}
