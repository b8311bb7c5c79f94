//! Which loaded connector serves each id: a drop-in cannot take over another connector's id
//! (and with it that vendor's accounts and tokens) unless the operator says so.
//!
//! Owns: the decision, given every loaded connector (bundled and drop-in, with its id and
//! SHA-256) and the operator's per-id settings ([`PluginPins`]):
//! - an id claimed by one connector only goes to it;
//! - a drop-in claiming a bundled connector's id, or an id another drop-in also claims, is
//!   refused (the bundled one keeps the id; rival drop-ins all lose it) — unless the config
//!   names a file for that id, in which case that file, and only it, serves the id;
//! - a configured SHA-256 must match the connector that would serve the id, or the id is
//!   refused (fail closed: no fallback to another connector).
//!
//! Ids are compared in their configuration-key form ([`pin_key`]): `Shotgun` and `shotgun`
//! collide. It does not own loading files (see `app`) or what a connector may reach
//! (`http::grant`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::config::plugins::pin_key;
use crate::config::PluginPins;

/// Where a candidate connector came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into this binary, by name.
    Bundled(String),
    /// A file (canonical path): the plugin directory or a configured file.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bundled(name) => write!(f, "the bundled `{name}` connector"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A loaded connector waiting for its id.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub origin: Origin,
    /// The manifest's id.
    pub id: String,
    pub sha256: String,
}

/// Why a connector does not serve the id it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// A drop-in claims a bundled connector's id.
    BundledId { bundled: Origin },
    /// Several drop-ins claim the id and the config names none of them.
    RivalDropIns { rivals: Vec<Origin> },
    /// The config names another file for the id.
    NotTheConfiguredFile {
        configured: PathBuf,
        configured_in: String,
    },
    /// The config names a file for the id, and no connector loaded from it claims the id.
    ConfiguredFileMissing {
        configured: PathBuf,
        configured_in: String,
    },
    /// The configured SHA-256 does not match.
    Sha256Mismatch {
        expected: String,
        found: String,
        configured_in: String,
    },
}

/// A connector refused an id, with the files involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRefusal {
    pub id: String,
    /// The refused connector (for `ConfiguredFileMissing`, the configured file).
    pub origin: Origin,
    pub reason: RefusalReason,
}

fn prefix(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

impl fmt::Display for PluginRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = &self.id;
        let key = pin_key(id);
        match &self.reason {
            RefusalReason::BundledId { bundled } => write!(
                f,
                "connector {} declares id `{id}`, which {bundled} already has: refused \
                 (to replace it, name the file for the id: [plugins.{id}] file = \"{}\" \
                 or BOXOFFICE_PLUGIN_FILE_{key})",
                self.origin, self.origin
            ),
            RefusalReason::RivalDropIns { rivals } => {
                let others: Vec<String> = rivals.iter().map(|o| o.to_string()).collect();
                write!(
                    f,
                    "connector {} declares id `{id}`, as {} also does: refused \
                     (name the file to use: [plugins.{id}] file = \"…\" or BOXOFFICE_PLUGIN_FILE_{key})",
                    self.origin,
                    others.join(" and ")
                )
            }
            RefusalReason::NotTheConfiguredFile {
                configured,
                configured_in,
            } => write!(
                f,
                "connector {} declares id `{id}`, but {configured_in} names {} for it: refused",
                self.origin,
                configured.display()
            ),
            RefusalReason::ConfiguredFileMissing {
                configured,
                configured_in,
            } => write!(
                f,
                "{configured_in} names {} for `{id}`, but no connector loaded from it declares \
                 that id: `{id}` is refused",
                configured.display()
            ),
            RefusalReason::Sha256Mismatch {
                expected,
                found,
                configured_in,
            } => write!(
                f,
                "connector `{id}` ({}): SHA-256 {}… does not match {}… pinned in {configured_in}: refused",
                self.origin,
                prefix(found),
                prefix(expected)
            ),
        }
    }
}

/// The outcome: which candidate (by index) serves each id, and every refusal.
#[derive(Debug, Default)]
pub struct Admission {
    /// Manifest id → index into the candidates.
    pub admitted: BTreeMap<String, usize>,
    pub refused: Vec<PluginRefusal>,
}

/// Decides which candidate serves each id. Candidates' file origins and the pins' files must
/// be comparable paths (the caller canonicalises both).
pub fn admit(candidates: &[Candidate], pins: &PluginPins) -> Admission {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_key.entry(pin_key(&c.id)).or_default().push(i);
    }
    let mut out = Admission::default();
    for group in by_key.values() {
        let id = candidates[group[0]].id.clone();
        let pin = pins.get(&id);
        let configured = pin.and_then(|p| p.file.clone().map(|f| (f, p.configured_in.clone())));
        let chosen = match configured {
            Some((file, configured_in)) => {
                let chosen = group
                    .iter()
                    .copied()
                    .find(|&i| candidates[i].origin == Origin::File(file.clone()));
                for &i in group.iter().filter(|&&i| Some(i) != chosen) {
                    out.refused.push(PluginRefusal {
                        id: candidates[i].id.clone(),
                        origin: candidates[i].origin.clone(),
                        reason: RefusalReason::NotTheConfiguredFile {
                            configured: file.clone(),
                            configured_in: configured_in.clone(),
                        },
                    });
                }
                if chosen.is_none() {
                    out.refused.push(PluginRefusal {
                        id: id.clone(),
                        origin: Origin::File(file.clone()),
                        reason: RefusalReason::ConfiguredFileMissing {
                            configured: file,
                            configured_in,
                        },
                    });
                }
                chosen
            }
            None if group.len() == 1 => Some(group[0]),
            None => {
                let bundled = group
                    .iter()
                    .copied()
                    .find(|&i| matches!(candidates[i].origin, Origin::Bundled(_)));
                for &i in group.iter().filter(|&&i| Some(i) != bundled) {
                    let reason = match bundled {
                        Some(b) => RefusalReason::BundledId {
                            bundled: candidates[b].origin.clone(),
                        },
                        None => RefusalReason::RivalDropIns {
                            rivals: group
                                .iter()
                                .filter(|&&j| j != i)
                                .map(|&j| candidates[j].origin.clone())
                                .collect(),
                        },
                    };
                    out.refused.push(PluginRefusal {
                        id: candidates[i].id.clone(),
                        origin: candidates[i].origin.clone(),
                        reason,
                    });
                }
                bundled
            }
        };
        let Some(chosen) = chosen else { continue };
        let c = &candidates[chosen];
        if let Some((expected, configured_in)) =
            pin.and_then(|p| p.sha256.clone().map(|h| (h, p.configured_in.clone())))
        {
            if !c.sha256.eq_ignore_ascii_case(&expected) {
                out.refused.push(PluginRefusal {
                    id: c.id.clone(),
                    origin: c.origin.clone(),
                    reason: RefusalReason::Sha256Mismatch {
                        expected,
                        found: c.sha256.clone(),
                        configured_in,
                    },
                });
                continue;
            }
        }
        out.admitted.insert(c.id.clone(), chosen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn bundled(id: &str) -> Candidate {
        Candidate {
            origin: Origin::Bundled(id.into()),
            id: id.into(),
            sha256: "b".repeat(64),
        }
    }

    fn file(path: &str, id: &str) -> Candidate {
        Candidate {
            origin: Origin::File(path.into()),
            id: id.into(),
            sha256: "f".repeat(64),
        }
    }

    fn pins(toml_like: &[(&str, Option<&str>, Option<String>)]) -> PluginPins {
        let file = toml_like
            .iter()
            .map(|(id, f, sha)| {
                (
                    id.to_string(),
                    crate::config::plugins::PluginSection {
                        file: f.map(PathBuf::from),
                        sha256: sha.clone(),
                        max_requests_per_minute: None,
                    },
                )
            })
            .collect();
        PluginPins::load(&file, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn a_drop_in_cannot_take_a_bundled_id() {
        let c = [
            bundled("shotgun"),
            file("/p/evil.wasm", "shotgun"),
            file("/p/x.wasm", "x"),
        ];
        let a = admit(&c, &PluginPins::default());
        assert_eq!(a.admitted["shotgun"], 0);
        assert_eq!(a.admitted["x"], 2);
        assert_eq!(a.refused.len(), 1);
        let msg = a.refused[0].to_string();
        assert!(msg.contains("/p/evil.wasm"), "{msg}");
        assert!(msg.contains("bundled `shotgun`"), "{msg}");
        assert!(msg.contains("[plugins.shotgun] file"), "{msg}");
    }

    #[test]
    fn ids_differing_only_in_case_collide() {
        let c = [bundled("shotgun"), file("/p/evil.wasm", "Shotgun")];
        let a = admit(&c, &PluginPins::default());
        assert_eq!(a.admitted.len(), 1);
        assert_eq!(a.admitted["shotgun"], 0);
    }

    #[test]
    fn rival_drop_ins_both_lose_the_id() {
        let c = [file("/p/a.wasm", "v"), file("/p/b.wasm", "v")];
        let a = admit(&c, &PluginPins::default());
        assert!(a.admitted.is_empty());
        assert_eq!(a.refused.len(), 2);
        assert!(a.refused[0].to_string().contains("/p/b.wasm"));
    }

    #[test]
    fn the_configured_file_serves_the_id() {
        let c = [
            bundled("shotgun"),
            file("/p/fork.wasm", "shotgun"),
            file("/p/other.wasm", "shotgun"),
        ];
        let a = admit(&c, &pins(&[("shotgun", Some("/p/fork.wasm"), None)]));
        assert_eq!(a.admitted["shotgun"], 1);
        assert_eq!(a.refused.len(), 2);
        assert!(a
            .refused
            .iter()
            .all(|r| matches!(r.reason, RefusalReason::NotTheConfiguredFile { .. })));
    }

    #[test]
    fn a_configured_file_that_is_not_there_refuses_the_id() {
        let c = [bundled("shotgun")];
        let a = admit(&c, &pins(&[("shotgun", Some("/p/missing.wasm"), None)]));
        assert!(a.admitted.is_empty());
        assert!(a
            .refused
            .iter()
            .any(|r| matches!(r.reason, RefusalReason::ConfiguredFileMissing { .. })));
    }

    #[test]
    fn a_sha256_pin_must_match() {
        let c = [bundled("shotgun")];
        let a = admit(&c, &pins(&[("shotgun", None, Some("b".repeat(64)))]));
        assert_eq!(a.admitted["shotgun"], 0);
        let a = admit(&c, &pins(&[("shotgun", None, Some("c".repeat(64)))]));
        assert!(a.admitted.is_empty());
        let msg = a.refused[0].to_string();
        assert!(msg.contains("`shotgun`"), "{msg}");
        assert!(msg.contains(&"c".repeat(12)), "expected prefix: {msg}");
        assert!(msg.contains(&"b".repeat(12)), "found prefix: {msg}");
    }
}
