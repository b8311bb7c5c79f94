//! The JSON-body query language of the list routes: `where` (column, operator, value),
//! `orderBy`, `page`, `select` and `flat`, parsed from the request body (the API reads filters
//! only from a JSON body, even on GET), compiled against a resource's columns, and applied to
//! pick one sorted page of record indexes.

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::responses::{bad_request, unknown_error};
use super::unconfirmed::{IN_ARRAY_IS_IN, UNKNOWN_COLUMN_IS_503};
use crate::qtickets::model::parse_ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
    Null,
    NotNull,
}

fn op_of(text: &str) -> Option<Op> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "=" | "==" => Op::Eq,
        "!=" | "<>" => Op::Ne,
        "<" => Op::Lt,
        ">" => Op::Gt,
        "<=" => Op::Le,
        ">=" => Op::Ge,
        "in" => Op::In,
        "not in" => Op::NotIn,
        "in array" if IN_ARRAY_IS_IN => Op::In,
        "not in array" if IN_ARRAY_IS_IN => Op::NotIn,
        "null" | "is null" => Op::Null,
        "not null" | "is not null" => Op::NotNull,
        _ => return None,
    })
}

/// A parsed request body. Empty body = no filters, page 1.
#[derive(Default)]
pub(super) struct Query {
    pub(super) wheres: Vec<(String, Op, Value)>,
    pub(super) order_by: Vec<(String, bool)>,
    pub(super) page: usize,
    pub(super) select: Option<Vec<String>>,
    pub(super) flat: bool,
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

pub(super) fn parse_query(body: &[u8]) -> Result<Query, Reject> {
    let mut q = Query {
        page: 1,
        ..Default::default()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(q);
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| Reject::BadRequest)?;
    let obj = match v {
        Value::Object(o) => o,
        Value::Null => return Ok(q),
        _ => return Err(Reject::BadRequest),
    };
    match obj.get("where") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for it in items {
                let Some(col) = it.get("column").and_then(Value::as_str) else {
                    return Err(Reject::BadRequest);
                };
                let op = match it.get("operator") {
                    None | Some(Value::Null) => Op::Eq,
                    Some(Value::String(o)) => op_of(o).ok_or(Reject::BadRequest)?,
                    Some(_) => return Err(Reject::BadRequest),
                };
                let value = it.get("value").cloned().unwrap_or(Value::Null);
                q.wheres.push((col.to_string(), op, value));
            }
        }
        Some(_) => return Err(Reject::BadRequest),
    }
    match obj.get("orderBy") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (col, dir) in o {
                let desc = match dir.as_str().map(|d| d.trim().to_ascii_lowercase()) {
                    Some(d) if d == "asc" => false,
                    Some(d) if d == "desc" => true,
                    _ => return Err(Reject::BadRequest),
                };
                q.order_by.push((col.clone(), desc));
            }
        }
        Some(Value::String(col)) => q.order_by.push((col.clone(), false)),
        Some(_) => return Err(Reject::BadRequest),
    }
    q.page = match obj.get("page") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1) as usize,
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 1,
    }
    .max(1);
    match obj.get("select") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            let mut sel = Vec::new();
            for k in a {
                sel.push(k.as_str().ok_or(Reject::BadRequest)?.to_string());
            }
            q.select = Some(sel);
        }
        Some(_) => return Err(Reject::BadRequest),
    }
    q.flat = match obj.get("flat") {
        None => false,
        Some(v) => truthy(v).ok_or(Reject::BadRequest)?,
    };
    Ok(q)
}

/// Why a query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reject {
    BadRequest,
    UnknownError,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::BadRequest => bad_request(),
            Reject::UnknownError => unknown_error(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Num,
    Bool,
    /// Cells in unix milliseconds; values are ISO strings.
    Time,
}

/// How a resource resolves a column name.
pub(super) enum Column {
    Known(u8, Kind),
    /// Answers 503 UNKNOWN_ERROR (observed for `payed_at` on `/orders`).
    Fails,
    Unknown,
}

pub(super) enum Pred {
    Cmp(u8, Op, i64),
    In(u8, Vec<i64>, bool),
    IsNull(u8, bool),
}

fn scalar(kind: Kind, v: &Value) -> Option<i64> {
    match kind {
        Kind::Num => match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        },
        Kind::Bool => truthy(v).map(i64::from),
        Kind::Time => v.as_str().and_then(parse_ts),
    }
}

fn resolve(name: &str, columns: &dyn Fn(&str) -> Column) -> Result<(u8, Kind), Reject> {
    match columns(name) {
        Column::Known(c, k) => Ok((c, k)),
        Column::Fails => Err(Reject::UnknownError),
        Column::Unknown if UNKNOWN_COLUMN_IS_503 => Err(Reject::UnknownError),
        Column::Unknown => Err(Reject::BadRequest),
    }
}

pub(super) fn compile(q: &Query, columns: &dyn Fn(&str) -> Column) -> Result<Vec<Pred>, Reject> {
    // A failing column anywhere fails the request before anything else is looked at.
    for (col, _, _) in &q.wheres {
        if let Column::Fails = columns(col) {
            return Err(Reject::UnknownError);
        }
    }
    let mut out = Vec::new();
    for (col, op, value) in &q.wheres {
        let (c, kind) = resolve(col, columns)?;
        out.push(match op {
            Op::Null => Pred::IsNull(c, false),
            Op::NotNull => Pred::IsNull(c, true),
            Op::Eq if value.is_null() => Pred::IsNull(c, false),
            Op::Ne if value.is_null() => Pred::IsNull(c, true),
            Op::In | Op::NotIn => {
                let items = match value {
                    Value::Array(a) => a.iter().collect::<Vec<_>>(),
                    other => vec![other],
                };
                let set = items
                    .into_iter()
                    .map(|v| scalar(kind, v).ok_or(Reject::BadRequest))
                    .collect::<Result<Vec<_>, _>>()?;
                Pred::In(c, set, *op == Op::NotIn)
            }
            _ => Pred::Cmp(c, *op, scalar(kind, value).ok_or(Reject::BadRequest)?),
        });
    }
    Ok(out)
}

pub(super) fn order_keys(
    q: &Query,
    columns: &dyn Fn(&str) -> Column,
) -> Result<Vec<(u8, bool)>, Reject> {
    q.order_by
        .iter()
        .map(|(col, desc)| resolve(col, columns).map(|(c, _)| (c, *desc)))
        .collect()
}

impl Pred {
    /// SQL semantics: any comparison with a NULL cell is false.
    fn test(&self, cell: &dyn Fn(u8) -> Option<i64>) -> bool {
        match self {
            Pred::IsNull(c, neg) => cell(*c).is_none() != *neg,
            Pred::In(c, set, neg) => cell(*c).is_some_and(|v| set.contains(&v) != *neg),
            Pred::Cmp(c, op, v) => cell(*c).is_some_and(|x| match op {
                Op::Eq => x == *v,
                Op::Ne => x != *v,
                Op::Lt => x < *v,
                Op::Gt => x > *v,
                Op::Le => x <= *v,
                Op::Ge => x >= *v,
                _ => false,
            }),
        }
    }
}

/// Filters `0..n`, sorts by the keys (then by id = index, ascending) and cuts one page.
pub(super) fn select_page(
    n: usize,
    preds: &[Pred],
    keys: &[(u8, bool)],
    cell: &dyn Fn(usize, u8) -> Option<i64>,
    page: usize,
    per_page: usize,
) -> (Vec<usize>, usize) {
    let mut hits: Vec<usize> = (0..n)
        .filter(|&i| preds.iter().all(|p| p.test(&|c| cell(i, c))))
        .collect();
    if !keys.is_empty() {
        hits.sort_by(|&a, &b| {
            for &(c, desc) in keys {
                // NULLs first ascending, as MySQL.
                let o = cell(a, c).cmp(&cell(b, c));
                let o = if desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            a.cmp(&b)
        });
    }
    let total = hits.len();
    let skip = (page - 1).saturating_mul(per_page).min(total);
    let end = (skip + per_page).min(total);
    (hits[skip..end].to_vec(), total)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
