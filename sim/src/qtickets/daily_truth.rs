//! Ground truth for the warehouse's daily views: sales per day and event (what plans are
//! compared with), per day, event and UTM tag (the old loader's UTM fact), per day, event and
//! breakdown value, and one dashboard row per live event. Computed from the simulator's state
//! with the rules of [`super::truth`]:
//!
//! - Only paid, not deleted orders count; their not-deleted baskets are **sold** (no
//!   `refunded_at`: one ticket, `price` kept) or **refunded** (no ticket, `price −
//!   refunded_amount` kept). The day is the Moscow date of the order's `payed_at`.
//! - `city` = the event's `city.name`, lower-cased (as the old loader stored cities).
//! - UTM tags are the order's `utm` object as served (`http::UTMS`), `""` when the
//!   order has `[]`. `payment_method` = `payment_type_id`. `channel` = `online`: the simulator
//!   serves `backend_user_id: null` on every order (box-office sales would carry one).
//! - Dashboard: "today" is the Moscow date of `now`; the 14-day window is today and the 14
//!   days before it (the old view's `sales_date >= today() - 14`); the rolling windows count
//!   orders paid in the last 24 hours / 14 × 24 hours before `now`. Seats are
//!   [`super::truth::inventory`] summed over the event's shows; start/end are the Moscow dates
//!   of its first show's `start_date` and its last show's `finish_date`.

use std::collections::BTreeMap;

use super::model::{msk_date, variant, DAY};
use super::State;

/// Sales of one Moscow day and event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTruth {
    pub sales_date: String,
    pub event_id: u64,
    pub city: String,
    pub tickets: u64,
    pub revenue_minor: i64,
}

/// Sales of one Moscow day, event and UTM tag triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtmDailyTruth {
    pub sales_date: String,
    pub event_id: u64,
    pub city: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub tickets: u64,
    pub revenue_minor: i64,
}

/// Sales of one Moscow day and event with one value of one dimension (`channel`,
/// `payment_method`, `utm_source`, `utm_medium`, `utm_campaign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionTruth {
    pub sales_date: String,
    pub event_id: u64,
    pub dimension: &'static str,
    pub value: String,
    pub tickets: u64,
    pub revenue_minor: i64,
}

/// One live event on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardTruth {
    pub event_id: u64,
    pub name: String,
    pub city: String,
    pub tickets_today: u64,
    pub revenue_today_minor: i64,
    pub tickets_14d: u64,
    pub revenue_14d_minor: i64,
    /// Paid in the 24 hours before `now`.
    pub tickets_24h: u64,
    pub revenue_24h_minor: i64,
    /// Paid in the 14 × 24 hours before `now`.
    pub tickets_rolling_14d: u64,
    pub revenue_rolling_14d_minor: i64,
    pub tickets_total: u64,
    pub tickets_left: u64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// Everything above at one moment, rows sorted by their keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTruthSet {
    /// The `now` the dashboard was computed for (unix ms).
    pub now_ms: i64,
    /// Moscow date of `now`.
    pub today: String,
    pub daily: Vec<DailyTruth>,
    pub utm_daily: Vec<UtmDailyTruth>,
    pub by_dimension: Vec<DimensionTruth>,
    pub dashboard: Vec<DashboardTruth>,
}

/// One held basket: what it adds to a row.
struct Held {
    ticket: u64,
    kept_minor: i64,
}

type Key4 = (String, String, String);

pub fn compute(s: &State, now_ms: i64) -> DailyTruthSet {
    let now_s = now_ms.div_euclid(1000);
    let today = msk_date(now_s);
    let window_from = msk_date(now_s - 14 * DAY);
    let city = |ev: usize| super::model::CITIES[s.events[ev].city].name.to_lowercase();

    let mut daily: BTreeMap<(String, u64), (u64, i64)> = BTreeMap::new();
    let mut utm: BTreeMap<(String, u64, Key4), (u64, i64)> = BTreeMap::new();
    let mut dims: BTreeMap<(String, u64, &'static str, String), (u64, i64)> = BTreeMap::new();
    // event index → [today, 14 days, 24 h, rolling 14 d] × (tickets, revenue)
    let mut dash: BTreeMap<usize, [(u64, i64); 4]> = BTreeMap::new();

    for o in &s.orders {
        let (Some(payed), None) = (o.payed_s, o.deleted_s) else {
            continue;
        };
        let date = msk_date(payed);
        let ev = o.event as usize;
        let event_id = s.events[ev].id;
        let tags = if o.variant & variant::UTM != 0 {
            let u = &super::http::UTMS[o.client as usize % super::http::UTMS.len()];
            (
                u.utm_source.to_string(),
                u.utm_medium.to_string(),
                u.utm_campaign.to_string(),
            )
        } else {
            Default::default()
        };
        let values = [
            ("channel", "online".to_string()),
            ("payment_method", o.payment_type().to_string()),
            ("utm_source", tags.0.clone()),
            ("utm_medium", tags.1.clone()),
            ("utm_campaign", tags.2.clone()),
        ];
        for b in &s.baskets[o.baskets()] {
            if b.deleted_s.is_some() {
                continue;
            }
            let price = b.price as i64 * 100;
            let h = match b.refunded_s {
                None => Held {
                    ticket: 1,
                    kept_minor: price,
                },
                Some(_) => Held {
                    ticket: 0,
                    kept_minor: price - b.refunded_amount.unwrap_or(0) as i64 * 100,
                },
            };
            let add = |row: &mut (u64, i64)| {
                row.0 += h.ticket;
                row.1 += h.kept_minor;
            };
            add(daily.entry((date.clone(), event_id)).or_default());
            add(utm
                .entry((date.clone(), event_id, tags.clone()))
                .or_default());
            for (dim, value) in &values {
                add(dims
                    .entry((date.clone(), event_id, *dim, value.clone()))
                    .or_default());
            }
            let d = dash.entry(ev).or_default();
            let in_window = [
                date == today,
                date >= window_from,
                payed * 1000 >= now_ms - DAY * 1000,
                payed * 1000 >= now_ms - 14 * DAY * 1000,
            ];
            for (slot, hit) in d.iter_mut().zip(in_window) {
                if hit {
                    add(slot);
                }
            }
        }
    }

    let inventory = super::truth::inventory(s);
    let dashboard = s
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.deleted_s.is_none())
        .map(|(i, e)| {
            let [today_, d14, h24, r14] = dash.get(&i).copied().unwrap_or_default();
            let shows = inventory.iter().filter(|v| v.event_id == e.id);
            let (total, left) = shows.fold((0, 0), |(t, l), v| (t + v.capacity, l + v.left));
            let starts = e.shows.iter().map(|&sh| s.shows[sh].start_s).min();
            let ends = e
                .shows
                .iter()
                .map(|&sh| s.shows[sh].start_s + s.shows[sh].duration_s)
                .max();
            DashboardTruth {
                event_id: e.id,
                name: e.name.clone(),
                city: city(i),
                tickets_today: today_.0,
                revenue_today_minor: today_.1,
                tickets_14d: d14.0,
                revenue_14d_minor: d14.1,
                tickets_24h: h24.0,
                revenue_24h_minor: h24.1,
                tickets_rolling_14d: r14.0,
                revenue_rolling_14d_minor: r14.1,
                tickets_total: total,
                tickets_left: left,
                start_date: starts.map(msk_date),
                end_date: ends.map(msk_date),
            }
        })
        .collect();

    let city_of = |event_id: u64| {
        let i = s.events.iter().position(|e| e.id == event_id);
        i.map(city).unwrap_or_default()
    };
    DailyTruthSet {
        now_ms,
        today,
        daily: daily
            .into_iter()
            .map(
                |((sales_date, event_id), (tickets, revenue_minor))| DailyTruth {
                    sales_date,
                    event_id,
                    city: city_of(event_id),
                    tickets,
                    revenue_minor,
                },
            )
            .collect(),
        utm_daily: utm
            .into_iter()
            .map(
                |((sales_date, event_id, (utm_source, utm_medium, utm_campaign)), (t, r))| {
                    UtmDailyTruth {
                        sales_date,
                        event_id,
                        city: city_of(event_id),
                        utm_source,
                        utm_medium,
                        utm_campaign,
                        tickets: t,
                        revenue_minor: r,
                    }
                },
            )
            .collect(),
        by_dimension: dims
            .into_iter()
            .map(
                |((sales_date, event_id, dimension, value), (tickets, revenue_minor))| {
                    DimensionTruth {
                        sales_date,
                        event_id,
                        dimension,
                        value,
                        tickets,
                        revenue_minor,
                    }
                },
            )
            .collect(),
        dashboard,
    }
}

#[cfg(test)]
mod tests {
    use crate::qtickets::{QticketsConfig, QticketsSim};

    #[test]
    fn every_view_of_the_day_adds_up_to_the_sales_truth() {
        let sim = QticketsSim::new(QticketsConfig {
            orders: 1_500,
            ..Default::default()
        });
        sim.advance(600);
        let sales = sim.truth();
        let t = sim.daily_truth(sim.now_ms());
        let total = |it: &mut dyn Iterator<Item = (u64, i64)>| {
            it.fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
        };
        let want = total(&mut sales.iter().map(|r| (r.tickets, r.revenue_minor)));
        assert!(want.0 > 0);
        assert_eq!(
            total(&mut t.daily.iter().map(|r| (r.tickets, r.revenue_minor))),
            want
        );
        assert_eq!(
            total(&mut t.utm_daily.iter().map(|r| (r.tickets, r.revenue_minor))),
            want
        );
        for dim in [
            "channel",
            "payment_method",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        ] {
            let rows = t.by_dimension.iter().filter(|r| r.dimension == dim);
            assert_eq!(
                total(&mut rows.map(|r| (r.tickets, r.revenue_minor))),
                want,
                "{dim}"
            );
        }
        // Some orders carry UTM tags and some do not; payment types vary.
        assert!(t.utm_daily.iter().any(|r| r.utm_source.is_empty()));
        assert!(t.utm_daily.iter().any(|r| !r.utm_source.is_empty()));
        let methods: std::collections::BTreeSet<_> = t
            .by_dimension
            .iter()
            .filter(|r| r.dimension == "payment_method")
            .map(|r| r.value.as_str())
            .collect();
        assert!(methods.len() > 1, "{methods:?}");
        // The 14-day window holds today, the rolling one the last 24 hours.
        let dash = total(
            &mut t
                .dashboard
                .iter()
                .map(|r| (r.tickets_14d, r.revenue_14d_minor)),
        );
        let today = total(
            &mut t
                .dashboard
                .iter()
                .map(|r| (r.tickets_today, r.revenue_today_minor)),
        );
        assert!(dash.0 >= today.0 && dash.0 <= want.0);
        assert!(t
            .dashboard
            .iter()
            .all(|r| r.tickets_left <= r.tickets_total));
        assert!(t.dashboard.iter().all(|r| r.start_date <= r.end_date));
    }
}
