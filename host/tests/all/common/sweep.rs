//! The PII sweep's scanner (issue 15, item 6): needles — canary personal data, per-ticket
//! codes, secrets — in the encodings a leak would take (raw, JSON-escaped, URL-encoded,
//! compacted phone; matched ASCII-case-insensitively, which covers lowercase), searched at once
//! (Aho-Corasick) in every byte of a file tree, a text, or every table of a ClickHouse database.
//! A hit names its place, byte offset (and row and column for a table) and the needle's label,
//! never the bytes around it. Used by `host/tests/all/pii_sweep.rs`, which also tests it on planted
//! canaries.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anyhow::Context;
use boxoffice_testkit::clickhouse::ClickhouseEndpoint;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Shorter needles would match ordinary numbers and words.
pub const MIN_NEEDLE: usize = 6;

/// RFC 3986's unreserved characters stay, everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone)]
struct Needle {
    /// What it is and in which encoding, e.g. `qtickets barcode 871234567890 (raw)`.
    label: String,
    /// A digit needle inside a longer digit run does not count (`0000000000` inside a number).
    bounded: bool,
}

/// The needles of one sweep, deduplicated (case-insensitively) as they are added.
#[derive(Default)]
pub struct Needles {
    patterns: Vec<Vec<u8>>,
    needles: Vec<Needle>,
    index: HashMap<Vec<u8>, usize>,
}

impl Needles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// One pattern, as given. Panics on a needle shorter than [`MIN_NEEDLE`] (it would match
    /// noise and hide real hits among false ones).
    pub fn exact(&mut self, label: &str, pattern: &[u8], bounded: bool) {
        assert!(
            pattern.len() >= MIN_NEEDLE,
            "needle `{label}` is {} bytes, under the {MIN_NEEDLE}-byte minimum",
            pattern.len()
        );
        let key = pattern.to_ascii_lowercase();
        if self.index.contains_key(&key) {
            return;
        }
        self.index.insert(key, self.patterns.len());
        self.patterns.push(pattern.to_vec());
        self.needles.push(Needle {
            label: label.to_string(),
            bounded,
        });
    }

    /// `value` (a canary, a code, a URL, a secret) in its raw form and every encoding a leak
    /// would take: JSON-escaped (as `serde_json` writes it, with `\/`, and with every
    /// punctuation character as `\u00XX`), URL-encoded (every non-alphanumeric byte, or all
    /// but `-._~`, and form-style with `+` for spaces) and, for anything phone-like, compacted
    /// (punctuation and spaces removed, with and without a leading `+`). Lowercase needs no
    /// form of its own: matching is ASCII-case-insensitive.
    pub fn value(&mut self, kind: &str, value: &str) {
        let mut forms: Vec<(&str, String)> = vec![("raw", value.to_string())];
        let json = serde_json::to_string(value).unwrap();
        forms.push(("json", json[1..json.len() - 1].to_string()));
        forms.push(("json \\/", json[1..json.len() - 1].replace('/', "\\/")));
        // `\u00XX` for every punctuation character, or only for the symbols (`@`, `+`, `/`,
        // `<`…: what HTML-safe and ASCII-only encoders escape), dots, dashes and underscores kept.
        let escape = |keep: &dyn Fn(char) -> bool| -> String {
            value
                .chars()
                .map(|c| {
                    if (c.is_ascii_punctuation() || c == ' ') && !keep(c) {
                        format!("\\u{:04x}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        };
        forms.push(("json \\u", escape(&|_| false)));
        forms.push((
            "json \\u symbols",
            escape(&|c| matches!(c, '.' | '-' | '_')),
        ));
        forms.push((
            "url-encoded",
            utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        ));
        forms.push((
            "url-encoded component",
            utf8_percent_encode(value, COMPONENT).to_string(),
        ));
        forms.push((
            "form-encoded",
            utf8_percent_encode(value, COMPONENT)
                .to_string()
                .replace("%20", "+"),
        ));
        if value.starts_with('+') || kind.contains("phone") {
            let compact: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
            forms.push(("compact", format!("+{compact}")));
            forms.push(("compact", compact.clone()));
            let digits: String = compact.chars().filter(char::is_ascii_digit).collect();
            // All-digit forms of a canary phone are too short to be told from any number.
            if digits.len() >= 8 {
                forms.push(("digits only", digits));
            }
        }
        for (how, form) in forms {
            self.exact(&format!("{kind} `{value}` ({how})"), form.as_bytes(), false);
        }
    }

    /// A per-ticket code (scan code, barcode): digits, matched anywhere, even inside a longer
    /// run of digits (a code glued to another number is still the code).
    pub fn code(&mut self, kind: &str, code: &str) {
        self.exact(&format!("{kind} `{code}`"), code.as_bytes(), false);
    }

    pub fn build(self) -> Scanner {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&self.patterns)
            .expect("the needles build an automaton");
        Scanner {
            ac,
            needles: self.needles,
            patterns: self.patterns,
            bytes: 0,
            places: 0,
            hits: Vec::new(),
        }
    }
}

/// Where a needle was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// A file path, `metrics`, or `clickhouse db.table`.
    pub place: String,
    /// Byte offset of the needle in the place.
    pub offset: usize,
    /// For a table: `row R, column C`.
    pub cell: Option<String>,
    /// Which needle (its label: kind, the needle itself, the encoding).
    pub needle: String,
}

impl fmt::Display for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.place, self.offset)?;
        if let Some(c) = &self.cell {
            write!(f, " ({c})")?;
        }
        write!(f, ": {}", self.needle)
    }
}

/// What [`Scanner::scan_clickhouse`] read.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClickhouseScan {
    /// Tables and views dumped.
    pub tables: usize,
    /// Bytes of their TSV dumps.
    pub dump_bytes: u64,
    /// Bytes of data part files read from the server's disk (0 when not readable).
    pub part_bytes: u64,
}

pub struct Scanner {
    ac: AhoCorasick,
    needles: Vec<Needle>,
    patterns: Vec<Vec<u8>>,
    /// Bytes scanned so far.
    pub bytes: u64,
    /// Places (files, texts, tables) scanned so far.
    pub places: u64,
    pub hits: Vec<Hit>,
}

impl Scanner {
    pub fn needles(&self) -> usize {
        self.patterns.len()
    }

    /// Scans one place; returns its hits (also kept in `self.hits`).
    pub fn scan(&mut self, place: &str, hay: &[u8]) -> Vec<Hit> {
        self.scan_with(place, hay, |_| None)
    }

    fn scan_with(
        &mut self,
        place: &str,
        hay: &[u8],
        cell: impl Fn(usize) -> Option<String>,
    ) -> Vec<Hit> {
        self.bytes += hay.len() as u64;
        self.places += 1;
        let digit = |i: Option<usize>| i.and_then(|i| hay.get(i)).is_some_and(u8::is_ascii_digit);
        let mut spans: Vec<(usize, usize, usize)> = self
            .ac
            .find_overlapping_iter(hay)
            .filter(|m| {
                let n = &self.needles[m.pattern().as_usize()];
                !(n.bounded && (digit(m.start().checked_sub(1)) || digit(Some(m.end()))))
            })
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        // One hit per leak: a needle inside a longer one found at the same place (`canary`
        // inside a whole e-mail) is not reported again.
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut found = Vec::new();
        let mut covered = 0;
        for (start, end, pattern) in spans {
            if end <= covered {
                continue;
            }
            covered = end;
            found.push(Hit {
                place: place.to_string(),
                offset: start,
                cell: cell(start),
                needle: self.needles[pattern].label.clone(),
            });
        }
        self.hits.extend(found.iter().cloned());
        found
    }

    /// Every regular file under `root`, recursively (symlinks are not followed), read whole.
    pub fn scan_tree(&mut self, root: &Path) -> anyhow::Result<Vec<Hit>> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries =
                std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
            let mut paths: Vec<_> = entries
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("listing {}", dir.display()))?;
            paths.sort();
            for p in paths {
                let meta = std::fs::symlink_metadata(&p)
                    .with_context(|| format!("reading {}", p.display()))?;
                if meta.is_dir() {
                    stack.push(p);
                } else if meta.is_file() {
                    let bytes =
                        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    found.extend(self.scan(&p.display().to_string(), &bytes));
                }
            }
        }
        Ok(found)
    }

    /// A `TSVWithNames` dump of one table: hits carry their row (1 = first data row) and column.
    pub fn scan_tsv(&mut self, place: &str, tsv: &str) -> Vec<Hit> {
        let header: Vec<&str> = tsv.lines().next().unwrap_or_default().split('\t').collect();
        let bytes = tsv.as_bytes();
        self.scan_with(place, bytes, |offset| {
            let before = &bytes[..offset];
            let row = before.iter().filter(|b| **b == b'\n').count();
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            let col = before[line_start..].iter().filter(|b| **b == b'\t').count();
            let name = header.get(col).copied().unwrap_or("?");
            Some(format!("row {row}, column {name}"))
        })
    }

    /// Every table and view of `database` as `SELECT * … FORMAT TSVWithNames`, then the data
    /// parts' files on the server's disk when this process may read them.
    pub fn scan_clickhouse(
        &mut self,
        ch: &ClickhouseEndpoint,
        database: &str,
    ) -> anyhow::Result<ClickhouseScan> {
        let tables = ch.query(&format!(
            "SELECT name FROM system.tables WHERE database = '{database}' ORDER BY name"
        ))?;
        let mut scan = ClickhouseScan::default();
        for t in tables.lines().filter(|t| !t.is_empty()) {
            let tsv = ch
                .query_in(
                    database,
                    &format!("SELECT * FROM `{t}` FORMAT TSVWithNames"),
                )
                .with_context(|| format!("dumping ClickHouse table {database}.{t}"))?;
            self.scan_tsv(&format!("clickhouse {database}.{t}"), &tsv);
            scan.tables += 1;
            scan.dump_bytes += tsv.len() as u64;
        }
        let parts = ch.query(&format!(
            "SELECT DISTINCT path FROM system.parts WHERE database = '{database}'"
        ))?;
        let before = self.bytes;
        for p in parts.lines().filter(|p| !p.is_empty()) {
            let path = Path::new(p);
            // Another user's server (CI may run it so): its files are out of reach, the SELECTs
            // above are not.
            if std::fs::read_dir(path).is_ok() {
                self.scan_tree(path)?;
            }
        }
        scan.part_bytes = self.bytes - before;
        Ok(scan)
    }

    /// `bytes scanned, places, needles, hits` on one line.
    pub fn summary(&self) -> String {
        format!(
            "PII sweep: {} bytes scanned in {} places for {} needles: {} hits",
            self.bytes,
            self.places,
            self.patterns.len(),
            self.hits.len()
        )
    }

    /// The hits by place (a count each), then up to `max` of them, one per line, at most 3 per
    /// place so that one leaking file does not hide the others.
    pub fn report(&self, max: usize) -> String {
        let mut places: Vec<(&str, usize)> = Vec::new();
        for h in &self.hits {
            match places.iter_mut().find(|(p, _)| *p == h.place) {
                Some((_, n)) => *n += 1,
                None => places.push((&h.place, 1)),
            }
        }
        let mut out = vec![format!("hits in {} places:", places.len())];
        out.extend(places.iter().map(|(p, n)| format!("  {n:>7}  {p}")));
        let mut shown = 0;
        for (place, _) in &places {
            for h in self.hits.iter().filter(|h| h.place == *place).take(3) {
                if shown == max {
                    out.push(format!("… {} hits not shown", self.hits.len() - shown));
                    return out.join("\n");
                }
                out.push(h.to_string());
                shown += 1;
            }
        }
        out.join("\n")
    }
}
