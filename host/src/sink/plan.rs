//! Sales plans: the CSV that `boxoffice plan import FILE` reads, its validation, and the
//! warehouse side ([`PlanTable`], implemented by both warehouses) that stores the rows in
//! `plan_sales` for the `plan_vs_fact` / `v_plan_vs_fact` views.
//!
//! The file is validated whole before anything is written: one bad line and nothing is
//! stored. Rows are upserts on (vendor, sales_date, city, event_id), so importing the same
//! file again changes nothing and a corrected file replaces the old figures; a key missing
//! from a later file keeps its earlier plan (set it to 0 to clear it).

use std::collections::BTreeMap;

use rusqlite::params;
use thiserror::Error;

use super::{ClickhouseWarehouse, SinkFuture, SqliteWarehouse};

/// The vendor of a file without a `vendor` column.
pub const DEFAULT_VENDOR: &str = "qtickets";
const REQUIRED: [&str; 5] = [
    "sales_date",
    "event_id",
    "city",
    "plan_tickets",
    "plan_revenue",
];
const OPTIONAL: [&str; 1] = ["vendor"];
/// Bad values are quoted in errors up to this many characters.
const SHOW_MAX: usize = 40;

/// One planned day for an event in a city.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub vendor: String,
    /// `YYYY-MM-DD`, a real date.
    pub sales_date: String,
    pub event_id: String,
    /// Lower-cased, as the sales facts report cities.
    pub city: String,
    pub plan_tickets: u32,
    /// Major units (roubles, euros), like the facts' `revenue`.
    pub plan_revenue: f64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("the plan file is empty: expected a header line `sales_date,event_id,city,plan_tickets,plan_revenue[,vendor]`")]
    Empty,
    #[error("header (line 1): {0}")]
    Header(String),
    #[error("line {line}, column `{column}`: {problem}")]
    Value {
        line: usize,
        column: String,
        problem: PlanFieldError,
    },
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("the plan file has a header but no rows")]
    NoRows,
}

/// What is wrong with one value of a plan row. A value is quoted as [`show`] does it (in
/// backticks, cut after [`SHOW_MAX`] characters); `what` names a text column ("the city").
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlanFieldError {
    #[error("{0} is not a date: use YYYY-MM-DD, e.g. 2026-03-01")]
    NotADate(String),
    #[error("{0} is not a calendar date")]
    NoSuchDate(String),
    #[error("{0} is not a whole number of tickets (0 or more, digits only)")]
    NotTickets(String),
    #[error("{0} is too large (at most {max})", max = u32::MAX)]
    TooManyTickets(String),
    #[error("{0} is not an amount: use digits with an optional `.` and up to 2 decimals, e.g. 150000.50")]
    NotAnAmount(String),
    #[error("{0} is too large")]
    AmountTooLarge(String),
    #[error("{what} is empty")]
    EmptyText { what: &'static str },
    #[error("{what} holds a control character")]
    ControlCharacter { what: &'static str },
    #[error("{what} is longer than 200 characters")]
    TooLong { what: &'static str },
    #[error(
        "{0} is not a vendor name (lower-case letters, digits, `_`, `-`; e.g. qtickets, shotgun)"
    )]
    NotAVendor(String),
}

fn show(v: &str) -> String {
    let cut: String = v.chars().take(SHOW_MAX).collect();
    if cut.len() < v.len() {
        format!("`{cut}…`")
    } else {
        format!("`{cut}`")
    }
}

fn parse_date(v: &str) -> Result<String, PlanFieldError> {
    let bad = || PlanFieldError::NotADate(show(v));
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|_| s.bytes().all(|c| c.is_ascii_digit()))
    };
    let (Some(y), Some(m), Some(d)) = (num(&v[..4]), num(&v[5..7]), num(&v[8..])) else {
        return Err(bad());
    };
    crate::clock::days_from_civil(y as i64, m, d)
        .map(|_| v.to_string())
        .ok_or_else(|| PlanFieldError::NoSuchDate(show(v)))
}

fn parse_tickets(v: &str) -> Result<u32, PlanFieldError> {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(PlanFieldError::NotTickets(show(v)));
    }
    v.parse()
        .map_err(|_| PlanFieldError::TooManyTickets(show(v)))
}

fn parse_revenue(v: &str) -> Result<f64, PlanFieldError> {
    let bad = || PlanFieldError::NotAnAmount(show(v));
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 2 || v.ends_with('.') {
        return Err(bad());
    }
    // 15 significant digits survive a Float64 exactly.
    if int.trim_start_matches('0').len() > 13 {
        return Err(PlanFieldError::AmountTooLarge(show(v)));
    }
    v.parse().map_err(|_| bad())
}

/// A non-empty name without control characters. A quoted value spanning lines (a spreadsheet
/// cell with a line break) is one name: its lines are joined with a space.
fn parse_text(v: &str, what: &'static str) -> Result<String, PlanFieldError> {
    let joined;
    let v = if v.contains(['\n', '\r']) {
        joined = v
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        joined.as_str()
    } else {
        v
    };
    if v.is_empty() {
        return Err(PlanFieldError::EmptyText { what });
    }
    if v.chars().any(char::is_control) {
        return Err(PlanFieldError::ControlCharacter { what });
    }
    if v.chars().count() > 200 {
        return Err(PlanFieldError::TooLong { what });
    }
    Ok(v.to_string())
}

fn parse_vendor(v: &str) -> Result<String, PlanFieldError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(PlanFieldError::NotAVendor(show(v)))
    }
}

/// One CSV record: the line it starts on (1 = the first line of the file) and its fields,
/// trimmed, quotes undone.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits the file into records (RFC 4180, by the `csv` crate: `"a,b"`, `""` for a quote,
/// quoted fields across lines, CRLF or LF). The crate reads a stray or unclosed quote as text;
/// both are refused here, from the quote count of the record's raw text (each quoted field
/// holds an even number), so a typo cannot swallow the rest of the file into one value.
fn records(text: &str) -> Result<Vec<Record>, PlanError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    // Line numbers come from the byte offsets: the crate's own count is off after CRLF ends.
    let lines = LineIndex::new(text);
    let mut out: Vec<(usize, usize, csv::StringRecord)> = Vec::new();
    for result in reader.records() {
        let record = result.map_err(|e| PlanError::Line {
            line: e
                .position()
                .map_or(0, |p| lines.line_of(text, p.byte() as usize)),
            message: e.to_string(),
        })?;
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        out.push((lines.line_of(text, byte), byte, record));
    }
    let mut records = Vec::with_capacity(out.len());
    for (i, (line, start, record)) in out.iter().enumerate() {
        let end = out.get(i + 1).map_or(text.len(), |next| next.1);
        let raw = &text[*start..end];
        if raw.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
            return Err(PlanError::Line {
                line: *line,
                message: "an odd number of quotes: a quoted field is not closed, or a value holds \
                          a `\"` without being quoted (quote the value and double the `\"`)"
                    .into(),
            });
        }
        // A line of only spaces is a blank line, as an empty one is.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        records.push(Record {
            line: *line,
            fields: record.iter().map(str::to_string).collect(),
        });
    }
    Ok(records)
}

/// Where each line starts, for the line number of a byte offset. A line ends at `\n`, `\r\n`
/// or a lone `\r` (the three ends the CSV reader accepts).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let b = text.as_bytes();
        let mut starts = vec![0];
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 1-based line of the first character at or after `byte` that is not a line end (the
    /// reader reports a record after CRLF as starting at its `\n`).
    fn line_of(&self, text: &str, byte: usize) -> usize {
        let skipped = text.as_bytes()[byte.min(text.len())..]
            .iter()
            .take_while(|&&c| c == b'\r' || c == b'\n')
            .count();
        self.starts.partition_point(|&s| s <= byte + skipped)
    }
}

/// Parses and validates a whole plan file. Every record is checked; the first problem is
/// returned with the line its record starts on (1 = the header) and its column.
pub fn parse_csv(text: &str) -> Result<Vec<PlanRow>, PlanError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = records(text)?.into_iter();
    let Some(header) = records.next() else {
        return Err(PlanError::Empty);
    };
    if header.line != 1 {
        return Err(PlanError::Line {
            line: header.line,
            message: "blank lines before the header".into(),
        });
    }
    let names = header.fields;
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        if !REQUIRED.contains(&n.as_str()) && !OPTIONAL.contains(&n.as_str()) {
            return Err(PlanError::Header(format!(
                "unknown column {}: the columns are {} and optionally vendor",
                show(n),
                REQUIRED.join(", ")
            )));
        }
        if index.insert(n.as_str(), i).is_some() {
            return Err(PlanError::Header(format!("column `{n}` appears twice")));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !index.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::Header(format!(
            "missing column(s) {} (expected {}[,vendor])",
            missing.join(", "),
            REQUIRED.join(",")
        )));
    }

    let mut rows = Vec::new();
    let mut seen: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for Record { line: n, fields } in records {
        if fields.len() != names.len() {
            return Err(PlanError::Line {
                line: n,
                message: format!(
                    "{} field(s), the header has {} (a comma inside a value needs quotes)",
                    fields.len(),
                    names.len()
                ),
            });
        }
        let value = |c: &str| index.get(c).map(|&i| fields[i].as_str());
        let at = |column: &str| {
            let column = column.to_string();
            move |problem: PlanFieldError| PlanError::Value {
                line: n,
                column,
                problem,
            }
        };
        let row = PlanRow {
            vendor: match value("vendor") {
                Some(v) => parse_vendor(v).map_err(at("vendor"))?,
                None => DEFAULT_VENDOR.to_string(),
            },
            sales_date: parse_date(value("sales_date").unwrap_or_default())
                .map_err(at("sales_date"))?,
            event_id: parse_text(value("event_id").unwrap_or_default(), "the event id")
                .map_err(at("event_id"))?,
            city: parse_text(value("city").unwrap_or_default(), "the city")
                .map_err(at("city"))?
                .to_lowercase(),
            plan_tickets: parse_tickets(value("plan_tickets").unwrap_or_default())
                .map_err(at("plan_tickets"))?,
            plan_revenue: parse_revenue(value("plan_revenue").unwrap_or_default())
                .map_err(at("plan_revenue"))?,
        };
        let key = (
            row.vendor.clone(),
            row.sales_date.clone(),
            row.city.clone(),
            row.event_id.clone(),
        );
        if let Some(first) = seen.insert(key, n) {
            return Err(PlanError::Line {
                line: n,
                message: format!(
                    "the same vendor, sales_date, city and event_id as line {first} (one plan per key)"
                ),
            });
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(PlanError::NoRows);
    }
    Ok(rows)
}

/// `YYYY-MM-DD HH:MM:SS` in Moscow time (the old loader's naive DateTime convention).
fn moscow_datetime(ms: i64) -> String {
    crate::zone::Zone::default().local_datetime(ms)
}

/// Where plans are stored. `upsert_plans` writes all rows or none.
pub trait PlanTable: Send + Sync {
    fn name(&self) -> &'static str;
    /// Upserts `rows` on their key; `loaded_at_ms` becomes `_ver` and `_loaded_at`.
    fn upsert_plans<'a>(&'a self, rows: &'a [PlanRow], loaded_at_ms: i64) -> SinkFuture<'a>;
}

impl PlanTable for SqliteWarehouse {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn upsert_plans<'a>(&'a self, rows: &'a [PlanRow], loaded_at_ms: i64) -> SinkFuture<'a> {
        Box::pin(async move {
            let mut conn = self.connection();
            let tx = conn.transaction()?;
            let loaded_at = moscow_datetime(loaded_at_ms);
            {
                let mut st = tx.prepare(
                    "INSERT INTO plan_sales (vendor, sales_date, event_id, city, plan_tickets,
                         plan_revenue, _ver, _loaded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (vendor, sales_date, city, event_id) DO UPDATE SET
                         plan_tickets = excluded.plan_tickets,
                         plan_revenue = excluded.plan_revenue,
                         _ver = excluded._ver, _loaded_at = excluded._loaded_at",
                )?;
                for r in rows {
                    st.execute(params![
                        r.vendor,
                        r.sales_date,
                        r.event_id,
                        r.city,
                        r.plan_tickets,
                        r.plan_revenue,
                        loaded_at_ms,
                        loaded_at
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

#[derive(serde::Serialize)]
struct PlanLine<'a> {
    vendor: &'a str,
    sales_date: &'a str,
    event_id: &'a str,
    city: &'a str,
    plan_tickets: u32,
    plan_revenue: f64,
    _ver: u64,
    _loaded_at: &'a str,
}

impl PlanTable for ClickhouseWarehouse {
    fn name(&self) -> &'static str {
        "clickhouse"
    }

    /// One INSERT: ClickHouse writes a block (far more rows than any plan file) atomically.
    fn upsert_plans<'a>(&'a self, rows: &'a [PlanRow], loaded_at_ms: i64) -> SinkFuture<'a> {
        Box::pin(async move {
            let loaded_at = moscow_datetime(loaded_at_ms);
            let lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    serde_json::to_string(&PlanLine {
                        vendor: &r.vendor,
                        sales_date: &r.sales_date,
                        event_id: &r.event_id,
                        city: &r.city,
                        plan_tickets: r.plan_tickets,
                        plan_revenue: r.plan_revenue,
                        _ver: loaded_at_ms.max(0) as u64,
                        _loaded_at: &loaded_at,
                    })
                })
                .collect::<Result<_, _>>()?;
            self.client()
                .insert_json_lines("plan_sales", &lines.join("\n"), lines.len())
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sales_date,event_id,city,plan_tickets,plan_revenue";

    fn err(text: &str) -> String {
        parse_csv(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_plan_with_and_without_vendor() {
        let rows = parse_csv(&format!(
            "\u{feff}{HEADER}\r\n2026-03-01,90001,Москва,120,150000.5\r\n\r\n\"2026-03-02\", 90001 ,\"Санкт-Петербург, центр\",0,0\n"
        ))
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].vendor, "qtickets");
        assert_eq!(rows[0].city, "москва");
        assert_eq!(rows[0].plan_revenue, 150000.5);
        assert_eq!(rows[1].city, "санкт-петербург, центр");
        assert_eq!(rows[1].event_id, "90001");
        let rows = parse_csv("vendor,city,event_id,sales_date,plan_revenue,plan_tickets\nshotgun,Lyon,200001,2026-02-28,10,1\n").unwrap();
        assert_eq!(
            rows[0],
            PlanRow {
                vendor: "shotgun".into(),
                sales_date: "2026-02-28".into(),
                event_id: "200001".into(),
                city: "lyon".into(),
                plan_tickets: 1,
                plan_revenue: 10.0,
            }
        );
    }

    #[test]
    fn bad_files_name_the_line_and_column() {
        let ok = "2026-03-01,1,Paris,1,1";
        assert!(err("").contains("empty"));
        assert!(err("sales_date,event_id,city,plan_tickets\n")
            .contains("missing column(s) plan_revenue"));
        assert!(err(&format!("{HEADER},price\n{ok},1\n")).contains("unknown column `price`"));
        assert!(err(&format!("{HEADER},city\n")).contains("`city` appears twice"));
        assert!(err(&format!("{HEADER}\n")).contains("no rows"));
        let cases = [
            ("2026-02-30,1,Paris,1,1", "sales_date", "calendar date"),
            ("01.03.2026,1,Paris,1,1", "sales_date", "YYYY-MM-DD"),
            ("2026-03-01,,Paris,1,1", "event_id", "empty"),
            ("2026-03-01,1,,1,1", "city", "empty"),
            ("2026-03-01,1,Paris,-1,1", "plan_tickets", "whole number"),
            ("2026-03-01,1,Paris,1.5,1", "plan_tickets", "whole number"),
            (
                "2026-03-01,1,Paris,99999999999,1",
                "plan_tickets",
                "too large",
            ),
            ("2026-03-01,1,Paris,1,abc", "plan_revenue", "not an amount"),
            ("2026-03-01,1,Paris,1,-5", "plan_revenue", "not an amount"),
            (
                "2026-03-01,1,Paris,1,1.005",
                "plan_revenue",
                "not an amount",
            ),
            ("2026-03-01,1,Paris,1,NaN", "plan_revenue", "not an amount"),
        ];
        for (line, column, what) in cases {
            let e = err(&format!("{HEADER}\n{ok}\n{line}\n"));
            assert!(
                e.starts_with(&format!("line 3, column `{column}`:")) && e.contains(what),
                "{line}: {e}"
            );
        }
        let e = err(&format!("{HEADER}\n{ok}\n2026-03-01,1,Paris,1\n"));
        assert!(e.starts_with("line 3:") && e.contains("4 field(s)"), "{e}");
        let e = err(&format!("{HEADER}\n{ok}\n2026-03-01,1,\"Paris,1,1\n"));
        assert!(e.starts_with("line 3:") && e.contains("not closed"), "{e}");
        let e = err(&format!("{HEADER}\n2026-03-01,1,Pa\"ris,1,1\n{ok}\n"));
        assert!(
            e.starts_with("line 2:") && e.contains("odd number of quotes"),
            "{e}"
        );
        let e = err(&format!("{HEADER}\n{ok}\n2026-03-01,1,PARIS,2,2\n"));
        assert!(e.starts_with("line 3:") && e.contains("as line 2"), "{e}");
        let e = err(&format!("vendor,{HEADER}\nShotgun,{ok}\n"));
        assert!(e.starts_with("line 2, column `vendor`:"), "{e}");
    }

    #[test]
    fn a_bad_value_is_a_typed_field_error_in_its_line_and_column() {
        let e = parse_csv(&format!("{HEADER}\n2026-02-30,1,Paris,1,1\n")).unwrap_err();
        assert_eq!(
            e,
            PlanError::Value {
                line: 2,
                column: "sales_date".into(),
                problem: PlanFieldError::NoSuchDate("`2026-02-30`".into()),
            }
        );
        assert_eq!(
            e.to_string(),
            "line 2, column `sales_date`: `2026-02-30` is not a calendar date"
        );
        let e = parse_csv(&format!("{HEADER}\n2026-03-01,1,Paris,99999999999,1\n")).unwrap_err();
        assert!(
            matches!(
                &e,
                PlanError::Value {
                    problem: PlanFieldError::TooManyTickets(_),
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "line 2, column `plan_tickets`: `99999999999` is too large (at most 4294967295)"
        );
        assert_eq!(
            parse_text("", "the city"),
            Err(PlanFieldError::EmptyText { what: "the city" })
        );
        assert_eq!(
            parse_text("a\u{7}b", "the event id"),
            Err(PlanFieldError::ControlCharacter {
                what: "the event id"
            })
        );
        assert_eq!(
            parse_text(&"x".repeat(201), "the city"),
            Err(PlanFieldError::TooLong { what: "the city" })
        );
        assert_eq!(
            parse_revenue(&"9".repeat(14)),
            Err(PlanFieldError::AmountTooLarge(format!(
                "`{}`",
                "9".repeat(14)
            )))
        );
        assert_eq!(
            parse_vendor("Shotgun"),
            Err(PlanFieldError::NotAVendor("`Shotgun`".into()))
        );
        let long = "1".repeat(50);
        assert_eq!(
            parse_date(&long),
            Err(PlanFieldError::NotADate(format!("`{}…`", "1".repeat(40))))
        );
    }

    #[test]
    fn quoted_fields_hold_commas_and_doubled_quotes() {
        let rows = parse_csv(&format!(
            "{HEADER}\n2026-03-01,\"A-1,b\",\"Club \"\"Moon\"\", Paris\",1,1\n"
        ))
        .unwrap();
        assert_eq!(rows[0].event_id, "A-1,b");
        assert_eq!(rows[0].city, "club \"moon\", paris");
    }

    #[test]
    fn a_quoted_field_may_span_lines_and_later_lines_keep_their_numbers() {
        let text =
            format!("{HEADER}\n2026-03-01,1,\"Saint-\nPetersburg\",1,1\n2026-03-02,1,Paris,1,1\n");
        let rows = parse_csv(&text).unwrap();
        assert_eq!(rows[0].city, "saint- petersburg");
        assert_eq!(rows[1].city, "paris");
        // The record after the two-line one starts on line 4.
        let e = err(&format!(
            "{HEADER}\n2026-03-01,1,\"Saint-\nPetersburg\",1,1\n2026-03-02,1,Paris,x,1\n"
        ));
        assert!(e.starts_with("line 4, column `plan_tickets`:"), "{e}");
        // A bad value in a multi-line record names the line the record starts on.
        let e = err(&format!(
            "{HEADER}\n2026-03-01,1,Paris,1,1\n2026-03-02,1,\"Saint-\nPetersburg\",x,1\n"
        ));
        assert!(e.starts_with("line 3, column `plan_tickets`:"), "{e}");
        // A line break is no way into a number.
        let e = err(&format!("{HEADER}\n2026-03-01,1,Paris,\"1\n2\",1\n"));
        assert!(e.starts_with("line 2, column `plan_tickets`:"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_text() {
        let text = format!(
            "\u{feff}{HEADER}\r\n2026-03-01,1,Paris,1,1.5\r\n\r\n2026-03-02,1,Lyon,2,2\r\n"
        );
        let rows = parse_csv(&text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].sales_date, "2026-03-01");
        assert_eq!(rows[0].plan_revenue, 1.5);
        assert_eq!(rows[1].plan_revenue, 2.0);
        // The BOM is not part of the first column's name, and CRLF counts as one line end.
        let e = err(&format!(
            "\u{feff}{HEADER}\r\n2026-03-01,1,Paris,1,1\r\n2026-03-02,1,Lyon,1,x\r\n"
        ));
        assert!(e.starts_with("line 3, column `plan_revenue`:"), "{e}");
        assert!(err("\u{feff}\r\n").contains("empty"));
        // Old Mac line ends (a lone CR) count as lines too.
        let e = err(&format!(
            "{HEADER}\r2026-03-01,1,Paris,1,1\r2026-03-02,1,Lyon,1,x\r"
        ));
        assert!(e.starts_with("line 3, column `plan_revenue`:"), "{e}");
    }

    #[test]
    fn load_time_is_moscow_wall_time() {
        // 2026-03-01T21:30:05Z is 2026-03-02 00:30:05 in Moscow.
        assert_eq!(moscow_datetime(1_772_400_605_000), "2026-03-02 00:30:05");
    }
}
