//! The rooms of the host and the one direction of imports between them.
//!
//! A room is a top-level module of the crate (`host/src/<room>/` or `host/src/<room>.rs`).
//! [`ALLOWED`] lists every edge "room A may name room B" (`use crate::b…` or a `crate::b::`
//! path in A's code); the test below reads every file of every room, refuses an edge not in
//! the list (naming the file, the line and the edge) and refuses a list with a cycle, so the
//! imports stay one-way. Inside `metrics`, the collectors ([`METRICS_COLLECTORS`]) may use the
//! shared modules ([`super`]-level `exposition`, `label`, `scrape`) but not one another.
//!
//! It owns no behaviour: a new edge is added here, with a reason when it is not obvious.

/// `(from, to)`: `from` may import from `to`. Kept acyclic (the test checks).
pub const ALLOWED: &[(&str, &str)] = &[
    // Leaves: clock, model, run_record, names, crash_point, malloc_tuning, blocking, migrate, sqlite_file,
    // retry import nothing of the crate but each other as listed.
    ("zone", "clock"),
    // The migration runner records when each migration was applied and has a crash point
    // between applying and recording (the crash tests).
    ("migrate", "clock"),
    ("migrate", "crash_point"),
    // The sandbox: canonical model, names, the clock; `config` for the operator's plugin pins
    // and an account's settings (`plugin::admission`, `plugin::replay`).
    ("plugin", "model"),
    ("plugin", "clock"),
    ("plugin", "names"),
    ("plugin", "config"),
    // The screen of planned requests (`plugin::outbound`) uses the executor's wire rules
    // (`http::request_rules`). Until issue 18 the rules lived in `plugin` and `http` imported
    // them: with `plugin` → `config` → `http` that was a cycle.
    ("plugin", "http"),
    ("http", "model"),
    ("http", "retry"),
    // Configuration names hosts, secrets and warehouse settings the way their rooms define
    // them (`http::host_rules`, `http::secrets::MIN_SECRET_CHARS`, `sink::ClickhouseConfig`).
    ("config", "http"),
    ("config", "model"),
    ("config", "names"),
    ("config", "sink"),
    ("config", "zone"),
    // The typed run record (status, kind, figures) that state, sink and sync share.
    ("state", "run_record"),
    ("sink", "run_record"),
    ("sync", "run_record"),
    ("state", "crash_point"),
    ("state", "model"),
    ("state", "migrate"),
    ("state", "sqlite_file"),
    // The embedded warehouse's `sales_date` is written with each ticket, in the account's zone.
    ("state", "zone"),
    ("sink", "clock"),
    ("sink", "crash_point"),
    ("sink", "model"),
    ("sink", "zone"),
    ("sink", "blocking"),
    ("sink", "migrate"),
    ("sink", "sqlite_file"),
    ("sink", "retry"),
    ("sync", "blocking"),
    ("sync", "clock"),
    ("sync", "crash_point"),
    ("sync", "http"),
    ("sync", "model"),
    ("sync", "plugin"),
    ("sync", "sink"),
    ("sync", "state"),
    // Metrics reads the ledger (`state`), implements the observers of `http` and `sync`, and
    // pre-creates the series of the reasons `plugin` and `sync::degraded` define.
    ("metrics", "clock"),
    ("metrics", "http"),
    ("metrics", "model"),
    ("metrics", "plugin"),
    ("metrics", "state"),
    ("metrics", "sync"),
    ("metrics", "zone"),
    ("metrics", "retry"),
    // `Metrics` implements the listener's `DeliveryObserver`; the shard gauge shows a
    // `config::shard::Shard`.
    ("metrics", "webhook"),
    ("metrics", "config"),
    // The listener: it verifies and counts; what a delivery becomes is `sync`'s (through the
    // `DeliveryHandler` trait it defines), so it names no other room but these.
    ("webhook", "model"),
    ("webhook", "clock"),
    // `sync::webhook::WebhookIngest` implements `webhook::DeliveryHandler`.
    ("sync", "webhook"),
    // `config::webhooks` builds the listener's `ListenerConfig` and secrets.
    ("config", "webhook"),
    // Wiring: `app` opens every room.
    ("app", "config"),
    ("app", "http"),
    ("app", "metrics"),
    ("app", "plugin"),
    ("app", "sink"),
    ("app", "state"),
    ("app", "sync"),
    // The benchmarks are the crate `bench/` (binary `boxoffice-bench`): not a room of the host.
    // The command line: everything, nothing imports it.
    ("cli", "app"),
    ("cli", "clock"),
    ("cli", "config"),
    ("cli", "http"),
    ("cli", "metrics"),
    ("cli", "model"),
    ("cli", "plugin"),
    ("cli", "sink"),
    ("cli", "state"),
    ("cli", "sync"),
    ("cli", "zone"),
    ("cli", "webhook"),
];

/// The collectors of `metrics`: none may import another. `import` writes what `history`
/// computes (it streams `history`'s series into VictoriaMetrics), so `import` → `history` is
/// the one edge between them.
pub const METRICS_COLLECTORS: &[&str] = &["breakdown", "compat", "history", "import", "ledger"];

/// Edges between collectors that are allowed, with the reason in [`METRICS_COLLECTORS`].
pub const METRICS_COLLECTOR_EDGES: &[(&str, &str)] = &[("import", "history")];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::*;

    /// A named module reached from a file: where, and which.
    #[derive(Debug)]
    struct Use {
        line: usize,
        target: String,
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The source with comments and string literals blanked (newlines kept), so a path in a
    /// doc comment or an error message is not an import.
    fn code_only(src: &str) -> String {
        let b = src.as_bytes();
        let mut out = String::with_capacity(src.len());
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'/' && b.get(i + 1) == Some(&b'/') {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if b[i] == b'\n' {
                            out.push('\n');
                        }
                        i += 1;
                    }
                }
            } else if c == b'r' && matches!(b.get(i + 1), Some(b'"') | Some(b'#')) && {
                let prev = i.checked_sub(1).map(|p| b[p]);
                !prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == b'_')
            } {
                // A raw string: r"…", r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    if b[j] == b'\n' {
                        out.push('\n');
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j + close.len();
            } else if c == b'"' {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if b.get(i) == Some(&b'\n') {
                        out.push('\n');
                    }
                    i += 1;
                }
                out.push_str("\"\"");
                i += 1;
            } else if c == b'\'' {
                // A char literal ('x', '\n', '"') or a lifetime ('a): skip a literal whole.
                let lit = if b.get(i + 1) == Some(&b'\\') {
                    (i + 2..b.len().min(i + 12)).find(|&j| b[j] == b'\'')
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    None
                };
                match lit {
                    Some(end) => {
                        out.push_str("' '");
                        i = end + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            } else {
                let ch = src[i..].chars().next().unwrap();
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out
    }

    fn ident_at(s: &str, at: usize) -> &str {
        let end = s[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(s.len(), |e| at + e);
        &s[at..end]
    }

    /// Every module named through `prefix` (`crate::` or `super::`): `prefix x…` gives `x`,
    /// `prefix {a, b::c, self}` gives `a` and `b` (a group may span lines).
    fn uses(code: &str, prefix: &str) -> Vec<Use> {
        let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = code[from..].find(prefix) {
            let at = from + found;
            from = at + prefix.len();
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue; // `foo::crate::` or `xcrate::`: not a path from the root
            }
            let rest = &code[from..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let mut item_start = true;
                for (k, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => item_start = true,
                        c if item_start && depth == 1 && !c.is_whitespace() => {
                            item_start = false;
                            let name = ident_at(group, k);
                            if !name.is_empty() && name != "self" {
                                let pos = from + 1 + k;
                                out.push(Use {
                                    line: line_of(pos),
                                    target: name.to_string(),
                                });
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                let name = ident_at(code, from);
                if !name.is_empty() {
                    out.push(Use {
                        line: line_of(at),
                        target: name.to_string(),
                    });
                }
            }
        }
        out
    }

    fn src_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// `(room, file relative to src/, code)` of every file of the crate.
    fn rooms() -> Vec<(String, String, String)> {
        let src = src_dir();
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files
            .into_iter()
            .map(|p| {
                let rel = p.strip_prefix(&src).unwrap();
                let first = rel.components().next().unwrap().as_os_str();
                let room = Path::new(first)
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let code = code_only(&std::fs::read_to_string(&p).unwrap());
                (room, rel.display().to_string(), code)
            })
            .collect()
    }

    fn room_names() -> BTreeSet<String> {
        rooms().into_iter().map(|(room, _, _)| room).collect()
    }

    #[test]
    fn rooms_import_only_along_the_allowed_edges() {
        let allowed: BTreeSet<(&str, &str)> = ALLOWED.iter().copied().collect();
        let known = room_names();
        let mut offending = Vec::new();
        let mut found: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (room, file, code) in rooms() {
            // The crate root's files (`lib.rs`, `main.rs`) declare the rooms.
            if room == "lib" || room == "main" {
                continue;
            }
            for u in uses(&code, "crate::") {
                if u.target == room || !known.contains(&u.target) {
                    continue; // inside the room, or a macro/keyword path like `crate::x!`
                }
                *found.entry((room.clone(), u.target.clone())).or_default() += 1;
                if !allowed.contains(&(room.as_str(), u.target.as_str())) {
                    offending.push(format!(
                        "host/src/{file}:{}: {room} -> {}",
                        u.line, u.target
                    ));
                }
            }
        }
        for ((from, to), n) in &found {
            eprintln!("edge {from} -> {to} ({n} uses)");
        }
        assert!(
            offending.is_empty(),
            "imports outside the allowed edges of `host/src/rooms.rs` ({}):\n{}",
            offending.len(),
            offending.join("\n")
        );
    }

    #[test]
    fn the_allowed_edges_point_one_way() {
        // Depth-first search for a cycle in ALLOWED.
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &(a, b) in ALLOWED {
            assert_ne!(a, b, "an edge from {a} to itself");
            next.entry(a).or_default().push(b);
        }
        fn visit<'a>(
            n: &'a str,
            next: &BTreeMap<&'a str, Vec<&'a str>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if let Some(at) = path.iter().position(|p| *p == n) {
                panic!(
                    "a cycle in rooms::ALLOWED: {} -> {n}",
                    path[at..].join(" -> ")
                );
            }
            if !done.insert(n) {
                return;
            }
            path.push(n);
            for m in next.get(n).into_iter().flatten() {
                visit(m, next, path, done);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for &(a, _) in ALLOWED {
            visit(a, &next, &mut Vec::new(), &mut done);
        }
        let known = room_names();
        for &(a, b) in ALLOWED {
            for r in [a, b] {
                assert!(
                    known.contains(r),
                    "rooms::ALLOWED names `{r}`, which is not a room of host/src"
                );
            }
        }
    }

    #[test]
    fn metrics_collectors_do_not_import_one_another() {
        let allowed: BTreeSet<(&str, &str)> = METRICS_COLLECTOR_EDGES.iter().copied().collect();
        let mut offending = Vec::new();
        for (room, file, code) in rooms() {
            let Some(stem) = file
                .strip_prefix("metrics/")
                .and_then(|f| f.strip_suffix(".rs"))
            else {
                continue;
            };
            if room != "metrics" || !METRICS_COLLECTORS.contains(&stem) {
                continue;
            }
            let named = uses(&code, "super::")
                .into_iter()
                .chain(uses(&code, "crate::metrics::"));
            for u in named {
                let t = u.target.as_str();
                if t != stem && METRICS_COLLECTORS.contains(&t) && !allowed.contains(&(stem, t)) {
                    offending.push(format!(
                        "host/src/{file}:{}: metrics::{stem} -> {t}",
                        u.line
                    ));
                }
            }
        }
        assert!(
            offending.is_empty(),
            "collectors importing collectors:\n{}",
            offending.join("\n")
        );
    }

    #[test]
    fn the_reader_finds_grouped_and_inline_paths_and_skips_comments_and_strings() {
        let src = "use crate::{\n    a::X,\n    b,\n    self,\n};\n// crate::c::Y\nlet s = \"crate::d\";\nlet r = r#\"crate::e\"#;\nlet c = '\"';\nfn f() { crate::g::h(); }\nuse super::{i::J, k};\n";
        let code = code_only(src);
        let got: Vec<(usize, String)> = uses(&code, "crate::")
            .into_iter()
            .map(|u| (u.line, u.target))
            .collect();
        assert_eq!(
            got,
            vec![(2, "a".into()), (3, "b".into()), (10, "g".into())]
        );
        let sup: Vec<String> = uses(&code, "super::")
            .into_iter()
            .map(|u| u.target)
            .collect();
        assert_eq!(sup, vec!["i".to_string(), "k".to_string()]);
    }
}
