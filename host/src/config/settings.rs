//! An account's settings checked against its connector's manifest: every required setting
//! present and non-empty, the manifest's defaults filled in, unknown keys refused (with the
//! closest known key as a suggestion).
//!
//! Owns: [`resolve`] and where each setting was written ([`AccountOrigin`]), so an error names
//! the config file or the environment variable, the account and the key. It does not own when
//! it runs: the host calls it wherever an account meets its connector's manifest
//! (`App::account`, used by `run`, `sync`, `check`, `demo` and the benches; the replay behind
//! `boxoffice plugins test`, for a fixture's run context), because only a
//! loaded component's manifest says which settings exist — a pinned fork serving `shotgun` may
//! declare others than the bundled one.
//!
//! A blank value counts as not given (the default, if any, is filled in). A manifest that
//! declares no settings at all is a legacy shape: its account's settings pass through as
//! written, each listed in [`Resolved::undeclared`] so the host can warn about them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

use crate::model::SettingSpec;

/// Where an account was defined, to name where each of its settings was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AccountOrigin {
    /// `[[account]]` number `index` (from 0) of the TOML file at `path`.
    File { path: PathBuf, index: usize },
    /// The environment (and env files); `vars` maps a setting's name to the variable it came
    /// from (`organizer_id` → `SHOTGUN_ORGANIZER_ID`).
    Env { vars: BTreeMap<String, String> },
    /// The run context of a replay fixture (`boxoffice plugins test`), at `path`.
    Fixture { path: PathBuf },
    /// Built by the program itself (the demo's accounts, tests).
    #[default]
    Code,
}

impl AccountOrigin {
    /// Where setting `key` of account `vendor/name` is (or would be) written.
    pub fn key_of(&self, vendor: &str, name: &str, key: &str) -> String {
        match self {
            Self::File { path, index } => format!(
                "{}: account[{index}] ({vendor}/{name}).settings.{key}",
                path.display()
            ),
            Self::Env { vars } => match vars.get(key) {
                Some(var) => format!("{var} (account {vendor}/{name}, setting `{key}`)"),
                None => format!("environment account {vendor}/{name}, setting `{key}`"),
            },
            Self::Fixture { path } => format!("{}: settings.{key}", path.display()),
            Self::Code => format!("account {vendor}/{name}, setting `{key}`"),
        }
    }

    /// How the operator sets a missing setting `key` here.
    fn how_to_set(&self, key: &str) -> String {
        match self {
            Self::File { .. } => format!("add {key} = \"…\" to the account's settings"),
            Self::Env { .. } => format!(
                "the environment has no variable for `{key}`: define the account in a config file ([[account]] … settings = {{ {key} = \"…\" }})"
            ),
            Self::Fixture { .. } => format!("add [\"{key}\", \"…\"] to its settings"),
            Self::Code => format!("give the account a `{key}` setting"),
        }
    }
}

/// One thing wrong with an account's settings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingProblem {
    #[error("{at}: the connector `{connector}` requires this setting ({description}) and it is missing or empty; {fix}")]
    Missing {
        at: String,
        connector: String,
        key: String,
        description: String,
        fix: String,
    },
    #[error("{at}: the connector `{connector}` has no setting `{key}`; {hint}")]
    Unknown {
        at: String,
        connector: String,
        key: String,
        /// The closest declared key, if one is close enough to be a likely typo.
        suggestion: Option<String>,
        hint: String,
    },
}

/// Every problem of one account's settings (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct SettingsError(pub Vec<SettingProblem>);

/// An account's complete settings, as its connector receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// In the manifest's order; defaults filled in; settings with neither value nor default
    /// left out.
    pub settings: Vec<(String, String)>,
    /// Keys passed through unchecked because the manifest declares no settings at all.
    pub undeclared: Vec<String>,
}

/// Checks `given` (account `vendor/name`, defined at `origin`) against the connector's
/// declared `specs` and returns the settings the connector is to receive.
pub fn resolve(
    connector: &str,
    specs: &[SettingSpec],
    vendor: &str,
    name: &str,
    origin: &AccountOrigin,
    given: &[(String, String)],
) -> Result<Resolved, SettingsError> {
    // Later entries win, as a file or the environment would layer them.
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for (k, v) in given {
        values.insert(k, v);
    }
    if specs.is_empty() {
        return Ok(Resolved {
            settings: given.to_vec(),
            undeclared: values.keys().map(|k| k.to_string()).collect(),
        });
    }
    let mut problems = Vec::new();
    let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for key in values.keys() {
        if !known.contains(key) {
            let suggestion = closest(key, &known).map(str::to_string);
            let hint = match &suggestion {
                Some(s) => format!("did you mean `{s}`? (it knows: {})", known.join(", ")),
                None => format!("it knows: {}", known.join(", ")),
            };
            problems.push(SettingProblem::Unknown {
                at: origin.key_of(vendor, name, key),
                connector: connector.to_string(),
                key: key.to_string(),
                suggestion,
                hint,
            });
        }
    }
    let mut settings = Vec::new();
    for spec in specs {
        let given = values
            .get(spec.name.as_str())
            .copied()
            .filter(|v| !v.trim().is_empty());
        match (given, spec.default_value.as_deref()) {
            (Some(v), _) => settings.push((spec.name.clone(), v.to_string())),
            (None, Some(d)) if !d.trim().is_empty() => {
                settings.push((spec.name.clone(), d.to_string()))
            }
            _ if spec.required => problems.push(SettingProblem::Missing {
                at: origin.key_of(vendor, name, &spec.name),
                connector: connector.to_string(),
                key: spec.name.clone(),
                description: spec.description.clone(),
                fix: origin.how_to_set(&spec.name),
            }),
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(Resolved {
            settings,
            undeclared: Vec::new(),
        })
    } else {
        Err(SettingsError(problems))
    }
}

/// The declared key `key` was most likely meant as: the same once case and `-`/`_` are
/// folded, else the nearest by edit distance when it is at most a third of the key's length
/// (at least 1, at most 3), else one that contains the other (e.g. `organizer` for
/// `organizer_id`).
pub fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| s.trim().to_ascii_lowercase().replace(['-', ' ', '.'], "_");
    let k = fold(key);
    if k.is_empty() {
        return None;
    }
    if let Some(hit) = known.iter().find(|n| fold(n) == k) {
        return Some(hit);
    }
    let limit = (k.chars().count() / 3).clamp(1, 3);
    let best = known
        .iter()
        .map(|n| (edit_distance(&k, &fold(n)), *n))
        .min_by_key(|(d, _)| *d);
    if let Some((d, n)) = best {
        if d <= limit {
            return Some(n);
        }
    }
    if k.len() >= 4 {
        return known
            .iter()
            .find(|n| {
                let f = fold(n);
                f.contains(&k) || k.contains(&f)
            })
            .copied();
    }
    None
}

/// Levenshtein distance over chars (transpositions count 2).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, required: bool, default: Option<&str>) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            description: format!("the {name}"),
            required,
            default_value: default.map(Into::into),
        }
    }

    /// Shaped like the bundled Shotgun connector's manifest.
    fn shotgun() -> Vec<SettingSpec> {
        vec![
            spec("organizer_id", true, None),
            spec("include_cohosted_events", false, Some("true")),
            spec("event_id", false, None),
            spec("base_url", false, Some("https://api.shotgun.live")),
        ]
    }

    fn file() -> AccountOrigin {
        AccountOrigin::File {
            path: "/etc/boxoffice/boxoffice.toml".into(),
            index: 1,
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_filled_in_and_explicit_values_override_them() {
        let r = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "paris",
            &file(),
            &pairs(&[
                ("base_url", "http://127.0.0.1:9"),
                ("organizer_id", "123456"),
            ]),
        )
        .unwrap();
        assert_eq!(
            r.settings,
            pairs(&[
                ("organizer_id", "123456"),
                ("include_cohosted_events", "true"),
                ("base_url", "http://127.0.0.1:9"),
            ])
        );
        assert!(r.undeclared.is_empty());
    }

    #[test]
    fn a_blank_value_takes_the_default() {
        let r = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "paris",
            &file(),
            &pairs(&[("organizer_id", "1"), ("base_url", "  ")]),
        )
        .unwrap();
        assert!(r
            .settings
            .contains(&("base_url".into(), "https://api.shotgun.live".into())));
    }

    #[test]
    fn a_missing_required_setting_names_the_file_the_account_and_the_key() {
        let e = resolve("shotgun", &shotgun(), "shotgun", "paris", &file(), &[]).unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        let m = e.to_string();
        assert!(
            m.starts_with(
                "/etc/boxoffice/boxoffice.toml: account[1] (shotgun/paris).settings.organizer_id: the connector `shotgun` requires this setting (the organizer_id)"
            ),
            "{m}"
        );
        assert!(m.contains("add organizer_id = \"…\""), "{m}");
        // Blank is missing too.
        let e = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "paris",
            &file(),
            &pairs(&[("organizer_id", " ")]),
        )
        .unwrap_err();
        assert!(matches!(&e.0[0], SettingProblem::Missing { key, .. } if key == "organizer_id"));
    }

    #[test]
    fn an_unknown_key_is_refused_with_the_closest_known_one() {
        let e = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "paris",
            &file(),
            &pairs(&[("organiser_id", "1")]),
        )
        .unwrap_err();
        // Both: the typo is unknown, and so the required key is missing.
        assert_eq!(e.0.len(), 2, "{e}");
        let m = e.to_string();
        assert!(
            m.contains("/etc/boxoffice/boxoffice.toml: account[1] (shotgun/paris).settings.organiser_id: the connector `shotgun` has no setting `organiser_id`; did you mean `organizer_id`?"),
            "{m}"
        );
        assert!(matches!(
            &e.0[0],
            SettingProblem::Unknown { suggestion: Some(s), .. } if s == "organizer_id"
        ));
        // Nothing close: no guess, but the known keys are listed.
        let e = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "paris",
            &file(),
            &pairs(&[("organizer_id", "1"), ("colour", "blue")]),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(!m.contains("did you mean"), "{m}");
        assert!(
            m.ends_with("it knows: organizer_id, include_cohosted_events, event_id, base_url"),
            "{m}"
        );
    }

    #[test]
    fn environment_accounts_name_the_variable() {
        let origin = AccountOrigin::Env {
            vars: BTreeMap::from([("bse_url".to_string(), "SHOTGUN_BASE_URL".to_string())]),
        };
        let e = resolve(
            "shotgun",
            &shotgun(),
            "shotgun",
            "default",
            &origin,
            &pairs(&[("bse_url", "https://x.example")]),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("SHOTGUN_BASE_URL (account shotgun/default, setting `bse_url`): the connector `shotgun` has no setting `bse_url`; did you mean `base_url`?"),
            "{m}"
        );
        assert!(
            m.contains("environment account shotgun/default, setting `organizer_id`: the connector `shotgun` requires this setting"),
            "{m}"
        );
        assert!(m.contains("define the account in a config file"), "{m}");
    }

    #[test]
    fn a_manifest_without_settings_passes_them_through_and_lists_them() {
        let given = pairs(&[("mode", "ok"), ("base_url", "http://127.0.0.1:9")]);
        let r = resolve("testbed", &[], "testbed", "a", &file(), &given).unwrap();
        assert_eq!(r.settings, given);
        assert_eq!(r.undeclared, vec!["base_url", "mode"]);
    }

    #[test]
    fn closest_keys() {
        let known = [
            "organizer_id",
            "base_url",
            "events_base_url",
            "lookback_hours",
        ];
        assert_eq!(closest("Organizer-ID", &known), Some("organizer_id"));
        assert_eq!(closest("organizerid", &known), Some("organizer_id"));
        assert_eq!(closest("organizer", &known), Some("organizer_id"));
        assert_eq!(closest("lookback", &known), Some("lookback_hours"));
        assert_eq!(closest("event_base_url", &known), Some("events_base_url"));
        assert_eq!(closest("xyz", &known), None);
        assert_eq!(closest("", &known), None);
    }
}
