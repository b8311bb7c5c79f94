//! A SQLite ledger's or warehouse's ticket rows as text, one line per ticket in ticket order,
//! for tests that compare two stores (or a store before and after) row for row.

use std::path::Path;

/// Whether the rows keep the buyer column. It is a pseudonym keyed per installation, so rows
/// of two installations are compared without it.
#[derive(Clone, Copy)]
pub enum Buyer {
    Kept,
    Left,
}

/// Every `vendor` ticket row of `db` (of `order` only, when given), columns joined by `|`.
pub fn ticket_rows(db: &Path, vendor: &str, order: Option<u64>, buyer: Buyer) -> Vec<String> {
    let buyer_col = match buyer {
        Buyer::Kept => "buyer, ",
        Buyer::Left => "",
    };
    let sql = format!(
        "SELECT ticket_id, order_id, event_id, show_id, category, channel, status, price_minor,
                service_fee_minor, refunded_minor, currency, ordered_at_ms, updated_at_ms,
                scanned_at_ms, refunded_at_ms, {buyer_col}payment_method
         FROM tickets WHERE vendor = ?1 AND (?2 IS NULL OR order_id = ?2)
         ORDER BY ticket_id"
    );
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c.prepare(&sql).unwrap();
    let width = st.column_count();
    st.query_map(
        rusqlite::params![vendor, order.map(|o| o.to_string())],
        |r| {
            let cols: Vec<String> = (0..width)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<Result<_, _>>()?;
            Ok(cols.join("|"))
        },
    )
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}
