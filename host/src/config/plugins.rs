//! Per-connector operator settings: which file serves a connector id, the SHA-256 it must
//! have, and a lower request rate than its manifest asks for.
//!
//! Owns: reading and validating them from the TOML file (`[plugins.<id>]`) and the environment
//! (`BOXOFFICE_PLUGIN_FILE_<ID>`, `BOXOFFICE_PLUGIN_SHA256_<ID>`, which win field by field).
//! `<ID>` is the id in upper case with every other character than a letter or digit as `_`.
//! It does not own what is done with them (see `plugin::admission`, `plugin::ceilings`).
//!
//! ```toml
//! [plugins.shotgun]
//! file = "/etc/boxoffice/plugins/shotgun-fork.wasm"   # this file serves `shotgun`
//! sha256 = "3f5c…"                                      # and must have this hash
//! max_requests_per_minute = 30                          # lower than the manifest's ceiling
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, ConfigError};

/// `[plugins.<id>]` as written in the TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSection {
    pub file: Option<PathBuf>,
    pub sha256: Option<String>,
    pub max_requests_per_minute: Option<u32>,
}

/// The operator's settings for one connector id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginPin {
    /// The file that serves this id: a drop-in claiming the id is accepted only from here.
    pub file: Option<PathBuf>,
    /// Lower-case hex SHA-256 the connector serving this id must have.
    pub sha256: Option<String>,
    /// At most this many requests per minute (only ever lowers the manifest's ceiling).
    pub max_requests_per_minute: Option<u32>,
    /// Where it was configured, for messages (`plugins.shotgun`, `BOXOFFICE_PLUGIN_FILE_…`).
    pub configured_in: String,
}

/// Every connector's settings, by [`pin_key`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginPins(BTreeMap<String, PluginPin>);

const FILE_PREFIX: &str = "BOXOFFICE_PLUGIN_FILE_";
const SHA_PREFIX: &str = "BOXOFFICE_PLUGIN_SHA256_";

/// The environment-variable form of a connector id: `my-vendor` → `MY_VENDOR`.
pub fn pin_key(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl PluginPins {
    /// The settings for connector `id`, if the operator wrote any.
    pub fn get(&self, id: &str) -> Option<&PluginPin> {
        self.0.get(&pin_key(id))
    }

    pub fn iter(&self) -> impl Iterator<Item = &PluginPin> {
        self.0.values()
    }

    /// The file's `[plugins.*]` sections, then the environment's variables over them.
    pub fn load(
        file: &BTreeMap<String, PluginSection>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut pins: BTreeMap<String, PluginPin> = BTreeMap::new();
        for (id, s) in file {
            let at = format!("plugins.{id}");
            if id.trim().is_empty() {
                return Err(invalid("plugins", "an empty connector id", "name the id"));
            }
            let pin = pins.entry(pin_key(id)).or_default();
            pin.configured_in = at.clone();
            pin.file = s.file.clone();
            if let Some(h) = &s.sha256 {
                pin.sha256 = Some(sha256_hex(&format!("{at}.sha256"), h)?);
            }
            if let Some(n) = s.max_requests_per_minute {
                if n == 0 {
                    return Err(invalid(
                        &format!("{at}.max_requests_per_minute"),
                        "0 is not a rate",
                        "use a whole number of requests per minute from 1 (it only lowers the connector's own ceiling)",
                    ));
                }
                pin.max_requests_per_minute = Some(n);
            }
        }
        for (k, v) in env {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            if let Some(key) = k.strip_prefix(FILE_PREFIX).filter(|s| !s.is_empty()) {
                let pin = pins.entry(key.to_string()).or_default();
                pin.configured_in = k.clone();
                pin.file = Some(PathBuf::from(v));
            } else if let Some(key) = k.strip_prefix(SHA_PREFIX).filter(|s| !s.is_empty()) {
                let pin = pins.entry(key.to_string()).or_default();
                pin.sha256 = Some(sha256_hex(k, v)?);
                if pin.configured_in.is_empty() {
                    pin.configured_in = k.clone();
                }
            }
        }
        Ok(Self(pins))
    }
}

fn sha256_hex(key: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().to_ascii_lowercase();
    if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            key,
            "not a SHA-256 (64 hex digits)",
            "use the hash `boxoffice plugins inspect FILE` prints (or sha256sum FILE)",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sections_and_environment_pins_merge_with_the_environment_winning() {
        let hash_a = "a".repeat(64);
        let hash_b = "B".repeat(64);
        let file = BTreeMap::from([(
            "shotgun".to_string(),
            PluginSection {
                file: Some("/etc/a.wasm".into()),
                sha256: Some(hash_a.clone()),
                max_requests_per_minute: Some(10),
            },
        )]);
        let env = BTreeMap::from([
            (format!("{SHA_PREFIX}SHOTGUN"), hash_b.clone()),
            (format!("{FILE_PREFIX}MY_VENDOR"), "/opt/v.wasm".to_string()),
        ]);
        let pins = PluginPins::load(&file, &env).unwrap();
        let sg = pins.get("shotgun").unwrap();
        assert_eq!(
            sg.file.as_deref(),
            Some(std::path::Path::new("/etc/a.wasm"))
        );
        assert_eq!(sg.sha256.as_deref(), Some("b".repeat(64).as_str()));
        assert_eq!(sg.max_requests_per_minute, Some(10));
        assert_eq!(
            pins.get("my-vendor").unwrap().file.as_deref(),
            Some(std::path::Path::new("/opt/v.wasm"))
        );
        assert!(pins.get("qtickets").is_none());
    }

    #[test]
    fn bad_pins_name_the_key() {
        let env = BTreeMap::from([(format!("{SHA_PREFIX}SHOTGUN"), "abc".to_string())]);
        let e = PluginPins::load(&BTreeMap::new(), &env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("BOXOFFICE_PLUGIN_SHA256_SHOTGUN: not a SHA-256"),
            "{e}"
        );
        let file = BTreeMap::from([(
            "x".to_string(),
            PluginSection {
                max_requests_per_minute: Some(0),
                ..Default::default()
            },
        )]);
        let e = PluginPins::load(&file, &BTreeMap::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("plugins.x.max_requests_per_minute"),
            "{e}"
        );
    }
}
