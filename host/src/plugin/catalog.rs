//! Finding plugins by name: the bundled connectors, or a `.wasm` file.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::bundled;
use super::runtime::{LoadedPlugin, PluginRuntime};

/// Where precompiled plugins are cached: `$BOXOFFICE_CACHE_DIR`, systemd's `$CACHE_DIRECTORY`,
/// `$XDG_CACHE_HOME/boxoffice`, or `~/.cache/boxoffice`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("BOXOFFICE_CACHE_DIR")
        .or_else(|| env("CACHE_DIRECTORY"))
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("boxoffice")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("boxoffice")))
        .map(|p| p.join("plugins"))
}

/// The bytes of a plugin given as a bundled name (`shotgun`) or a path to a `.wasm` file.
pub fn plugin_bytes(spec: &str) -> anyhow::Result<(String, Vec<u8>)> {
    if let Some(b) = bundled::ALL.iter().find(|b| b.name == spec) {
        return Ok((b.name.to_string(), b.wasm.to_vec()));
    }
    let path = Path::new(spec);
    if path.extension().is_some_and(|e| e == "wasm") || path.exists() {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading plugin file {}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_string());
        return Ok((name, bytes));
    }
    let names: Vec<&str> = bundled::ALL.iter().map(|b| b.name).collect();
    anyhow::bail!(
        "unknown plugin `{spec}`: not a bundled plugin ({}) and not a .wasm file",
        names.join(", ")
    )
}

pub async fn load(runtime: &PluginRuntime, spec: &str) -> anyhow::Result<LoadedPlugin> {
    let (name, bytes) = plugin_bytes(spec)?;
    Ok(runtime.load(&name, &bytes).await?)
}
