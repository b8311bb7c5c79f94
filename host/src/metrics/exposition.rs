//! Which exposition format a `/metrics` scrape gets, and the conversion between the two.
//!
//! The registry encodes OpenMetrics. Prometheus asks for it in its `Accept` header and gets it.
//! Anything else — curl, `promtool check metrics`, vmagent, a browser — gets the Prometheus text
//! format 0.0.4, as Go's client does: fed OpenMetrics, promtool (which reads 0.0.4) sees a
//! counter's samples `x_total` under a `# TYPE x counter` it does not connect them to, and warns
//! "no help text" for every counter family.
//!
//! The two formats differ for our families only in the descriptors: a counter family is named
//! `x_total` in 0.0.4, 0.0.4 has no `# UNIT` line and no `# EOF`, and OpenMetrics' `unknown`
//! is 0.0.4's `untyped`. Samples and label escaping are the same (see [`super::label`]). It does
//! not own what the families are (see [`super::Metrics`]).
//!
//! Also the encoding helpers every collector of the ledger's families uses ([`Labels`],
//! [`counter_family`], [`gauge_family`], [`gauge_f64_family`], [`major`]): the collectors
//! (`ledger`, `breakdown`, `compat`) and the history (`history`, `import`) depend on this
//! module, not on each other.

use std::collections::HashSet;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::label::LabelValue;

/// A label set: names in the order they are printed, values escaped when printed.
pub(super) type Labels = Vec<(&'static str, LabelValue)>;

/// A counter family (the encoder appends `_total` to `name`).
pub(super) fn counter_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, v) in rows {
        ConstCounter::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge family of whole numbers (printed without a fraction).
pub(super) fn gauge_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, v) in rows {
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge family of fractional values (timestamps in seconds). A series without labels is
/// printed bare (`name 1.5`, not `name{} 1.5`), as the old exporter printed it.
pub(super) fn gauge_f64_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstGauge::new(0f64).metric_type())?;
    for (labels, v) in rows {
        if labels.is_empty() {
            ConstGauge::new(v).encode(fam)?;
            return Ok(());
        }
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Minor units → major units of the row's currency (JPY has no minor digits, KWD three).
pub(super) fn major(minor: i64, currency: &str) -> f64 {
    boxoffice_records::currency::to_major(minor, currency)
}

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    /// The Prometheus text format 0.0.4.
    PrometheusText,
}

const OPENMETRICS: &str = "application/openmetrics-text";
const TEXT: &str = "text/plain";

impl Format {
    /// OpenMetrics when the `Accept` header prefers it to `text/plain`; the text format
    /// otherwise (no header, `*/*`, or `text/plain` first).
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::PrometheusText;
        };
        let (mut om, mut text) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                OPENMETRICS => om = om.max(q),
                TEXT => text = text.max(q),
                _ => {}
            }
        }
        if om > 0.0 && om >= text {
            Self::OpenMetrics
        } else {
            Self::PrometheusText
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// OpenMetrics text (as prometheus-client encodes it) → the Prometheus text format 0.0.4.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match descriptor {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(if prefix == "# TYPE " && tail == "unknown" {
                    "untyped"
                } else {
                    tail
                });
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_the_text_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        for other in [
            None,
            Some("*/*"),
            Some("text/plain;version=0.0.4;q=1,*/*;q=0.1"),
            Some("text/plain, application/openmetrics-text;q=0.5"),
            Some("application/openmetrics-text;q=0"),
        ] {
            assert_eq!(
                Format::negotiate(other),
                Format::PrometheusText,
                "{other:?}"
            );
        }
    }

    #[test]
    fn counters_are_named_with_total_and_units_and_eof_go() {
        let om = "# HELP c Things.\n# TYPE c counter\nc_total{a=\"x\\\"y\"} 1\n\
                  # HELP d_seconds Time.\n# TYPE d_seconds gauge\n# UNIT d_seconds seconds\n\
                  d_seconds 1.5\n# HELP u U.\n# TYPE u unknown\nu 1\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP c_total Things.\n# TYPE c_total counter\nc_total{a=\"x\\\"y\"} 1\n\
             # HELP d_seconds Time.\n# TYPE d_seconds gauge\nd_seconds 1.5\n\
             # HELP u U.\n# TYPE u untyped\nu 1\n"
        );
    }
}
