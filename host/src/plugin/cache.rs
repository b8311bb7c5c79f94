//! The on-disk cache of precompiled plugins.
//!
//! Owns: turning component bytes into a `Component` as cheaply as possible. Entries are keyed
//! by the SHA-256 of the component bytes and a fingerprint of the engine (wasmtime version and
//! compilation settings), and carry a checksum of their own contents: a corrupt, truncated or
//! stale entry is detected, discarded and rebuilt, never trusted. `Component::deserialize` is
//! only ever called on bytes that pass that checksum, i.e. bytes this host wrote.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

const MAGIC: &[u8; 8] = b"BXOCWASM";

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Served from a valid cache entry.
    Hit,
    /// No entry: compiled and stored.
    Compiled,
    /// An entry existed but was corrupt or stale: compiled again and replaced.
    Rebuilt,
    /// No cache directory configured: compiled in memory.
    Uncached,
}

#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn engine_fingerprint(engine: &Engine) -> String {
    let mut h = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

impl ComponentCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// Path of the entry for these bytes on this engine.
    pub fn entry_path(&self, engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!(
            "{}-{}.cwasm",
            &sha256_hex(bytes)[..32],
            engine_fingerprint(engine)
        )))
    }

    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, CacheOutcome)> {
        let Some(path) = self.entry_path(engine, bytes) else {
            let c = Component::new(engine, bytes).map_err(anyhow::Error::from)?;
            return Ok((c, CacheOutcome::Uncached));
        };
        let existed = path.exists();
        if existed {
            if let Some(c) = read_entry(engine, &path) {
                return Ok((c, CacheOutcome::Hit));
            }
            tracing::warn!(path = %path.display(), "plugin cache entry corrupt or stale; rebuilding");
            let _ = std::fs::remove_file(&path);
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(anyhow::Error::from)
            .context("compiling plugin")?;
        write_entry(&path, &compiled)
            .with_context(|| format!("writing plugin cache entry {}", path.display()))?;
        // SAFETY: `compiled` was produced by this engine a moment ago.
        let c =
            unsafe { Component::deserialize(engine, &compiled) }.map_err(anyhow::Error::from)?;
        Ok((
            c,
            if existed {
                CacheOutcome::Rebuilt
            } else {
                CacheOutcome::Compiled
            },
        ))
    }
}

fn read_entry(engine: &Engine, path: &Path) -> Option<Component> {
    let data = std::fs::read(path).ok()?;
    if data.len() < 40 || &data[..8] != MAGIC {
        return None;
    }
    let (sum, payload) = data[8..].split_at(32);
    if Sha256::digest(payload).as_slice() != sum {
        return None;
    }
    // SAFETY: the checksum proves these are the bytes this host wrote after compiling with an
    // engine of the same fingerprint; wasmtime re-checks the engine compatibility itself.
    unsafe { Component::deserialize(engine, payload) }.ok()
}

fn write_entry(path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut data = Vec::with_capacity(compiled.len() + 40);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&Sha256::digest(compiled));
    data.extend_from_slice(compiled);
    // Write then rename: a crash never leaves a half-written entry under the final name. The
    // temporary name is this writer's own (process and sequence number): two threads loading
    // the same plugin into a cold cache each write and rename their own file, and the entry
    // is whichever rename came last (both are the same bytes).
    static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests in one process load the same plugins at once; a cold cache must not make any of
    /// them fail (they shared one temporary file name, and all but one rename failed).
    #[test]
    fn concurrent_writers_of_one_entry_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache").join("entry.cwasm");
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..10 {
                        write_entry(&path, &payload).unwrap();
                    }
                });
            }
        });
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[..8], MAGIC);
        assert_eq!(&data[40..], &payload[..]);
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "temporary files left behind: {left:?}");
    }
}
