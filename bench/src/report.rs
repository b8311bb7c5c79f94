//! A bench run's results: metrics with their targets, printed as a table and written as JSON
//! and CSV (`bench-<unix-ts>.json` / `.csv`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A target from issue 8: the value must be at least / at most this.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    pub fn met(self, value: f64) -> bool {
        match self {
            Self::AtLeast(t) => value >= t,
            Self::AtMost(t) => value <= t,
        }
    }

    pub fn text(self) -> String {
        match self {
            Self::AtLeast(t) => format!("≥ {}", number(t)),
            Self::AtMost(t) => format!("≤ {}", number(t)),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Stable key (`shotgun_pipeline_sqlite`, …), for scripts and the test.
    pub id: String,
    /// What was measured, for people.
    pub metric: String,
    pub value: f64,
    pub unit: String,
    pub target: Option<Target>,
    /// Whether the target is met; `None` when the metric has no target.
    pub met: Option<bool>,
    /// The size of the measurement (tickets, pages, repeats).
    pub note: String,
}

impl Metric {
    pub fn new(id: &str, metric: &str, value: f64, unit: &str, target: Option<Target>) -> Self {
        Self {
            id: id.to_string(),
            metric: metric.to_string(),
            value,
            unit: unit.to_string(),
            target,
            met: target.map(|t| t.met(value)),
            note: String::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// Where and on what the bench ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub os: String,
    pub arch: String,
    pub cpu_model: Option<String>,
    pub boxoffice_version: String,
}

impl Machine {
    pub fn this() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cpu_model,
            boxoffice_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub unix_ts: i64,
    /// UTC, ISO 8601 (`2026-11-25T06:48:28.000Z`).
    pub date: String,
    pub quick: bool,
    pub machine: Machine,
    /// The sizes asked for (tickets, orders, backfill tickets, pages).
    pub params: serde_json::Value,
    pub metrics: Vec<Metric>,
}

impl Report {
    /// Writes `bench-<ts>.json` and `bench-<ts>.csv` into `dir`; returns both paths.
    pub fn write(&self, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        use anyhow::Context;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = dir.join(format!("bench-{}.json", self.unix_ts));
        let csv = dir.join(format!("bench-{}.csv", self.unix_ts));
        std::fs::write(&json, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", json.display()))?;
        std::fs::write(&csv, self.csv()).with_context(|| format!("writing {}", csv.display()))?;
        Ok((json, csv))
    }

    pub fn csv(&self) -> String {
        let mut out = String::from("id,metric,value,unit,target,met,note\n");
        for m in &self.metrics {
            let fields = [
                m.id.clone(),
                m.metric.clone(),
                format!("{}", m.value),
                m.unit.clone(),
                m.target.map(Target::text).unwrap_or_default(),
                m.met.map(|b| b.to_string()).unwrap_or_default(),
                m.note.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// The table people read: metric, value, unit, target, met.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .metrics
            .iter()
            .map(|m| {
                [
                    m.metric.clone(),
                    number(m.value),
                    m.unit.clone(),
                    m.target.map(Target::text).unwrap_or_else(|| "—".into()),
                    match m.met {
                        Some(true) => "yes".into(),
                        Some(false) => "NO".into(),
                        None => "".into(),
                    },
                ]
            })
            .collect();
        let head = ["metric", "value", "unit", "target", "met"];
        let mut width = head.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let pad = |s: &str, w: usize, right: bool| {
                let fill = " ".repeat(w.saturating_sub(s.chars().count()));
                if right {
                    format!("{fill}{s}")
                } else {
                    format!("{s}{fill}")
                }
            };
            format!(
                "{}  {}  {}  {}  {}",
                pad(cells[0], width[0], false),
                pad(cells[1], width[1], true),
                pad(cells[2], width[2], false),
                pad(cells[3], width[3], false),
                cells[4]
            )
            .trim_end()
            .to_string()
        };
        let mut out = line(head) + "\n";
        out += &line(width.map(|w| "─".repeat(w)).each_ref().map(|s| s.as_str()));
        out.push('\n');
        for r in &rows {
            out += &line(r.each_ref().map(|s| s.as_str()));
            out.push('\n');
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A figure for people: thousands separated above 1,000, three significant digits below.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= 1000.0 {
        let n = v.round() as i64;
        let digits = n.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(65_000.0), "65,000");
        assert_eq!(number(1_234_567.4), "1,234,567");
        assert_eq!(number(123.4), "123");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(1.5), "1.50");
    }

    #[test]
    fn targets_and_csv() {
        let m = Metric::new(
            "x",
            "a, \"b\"",
            70_000.0,
            "tickets/s",
            Some(Target::AtLeast(65_000.0)),
        );
        assert_eq!(m.met, Some(true));
        assert_eq!(
            Metric::new("y", "y", 2.0, "x", Some(Target::AtMost(1.5))).met,
            Some(false)
        );
        let r = Report {
            unix_ts: 1,
            date: "1970-01-01T00:00:01Z".into(),
            quick: true,
            machine: Machine::this(),
            params: serde_json::json!({}),
            metrics: vec![m],
        };
        assert_eq!(
            r.csv().lines().nth(1).unwrap(),
            "x,\"a, \"\"b\"\"\",70000,tickets/s,\"≥ 65,000\",true,"
        );
        assert!(r.table().contains("70,000"));
    }
}
