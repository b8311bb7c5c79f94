//! `KEY=VALUE` env files as systemd's `EnvironmentFile=` and the old loader's `.env` read them:
//! `#` comments, blank lines, optional `export `, optional single or double quotes.

use std::collections::BTreeMap;
use std::path::Path;

use super::ConfigError;

pub fn parse(text: &str, path: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConfigError::EnvFile {
                path: path.into(),
                problem: format!("line {}: expected KEY=VALUE", n + 1),
            });
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(ConfigError::EnvFile {
                path: path.into(),
                problem: format!(
                    "line {}: `{}` is not a variable name",
                    n + 1,
                    k.chars().take(40).collect::<String>()
                ),
            });
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            .unwrap_or(v);
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

pub fn read(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::EnvFile {
        path: shown.clone(),
        problem: format!("cannot read the env file: {e}"),
    })?;
    parse(&text, &shown)
}
