//! A manifest tests can rewrite in the built component, to play a hostile drop-in connector
//! (another connector's id, its own hosts, a secret to ask for, "unlimited" pace) without a
//! second test crate.
//!
//! The component carries [`PATCH_LEN`] bytes: a marker, then JSON padded with spaces (none
//! here). A test copies the `.wasm`, finds the marker (it occurs once: nothing else spells it)
//! and writes a JSON object after it; `manifest()` then overrides the fields it names. The
//! guest skips the marker by length instead of comparing against it, so the marker's bytes
//! appear in the component only in this buffer.

use boxoffice_plugin_sdk::Manifest;

/// Where the JSON starts; the bytes before it are the marker.
pub const MARKER: &[u8] = b"BOXOFFICE-TESTBED-MANIFEST-PATCH:";
/// The whole patchable buffer.
pub const PATCH_LEN: usize = 1024;

const fn patch_area() -> [u8; PATCH_LEN] {
    let mut buf = [b' '; PATCH_LEN];
    let mut i = 0;
    while i < MARKER.len() {
        buf[i] = MARKER[i];
        i += 1;
    }
    buf
}

static PATCH: [u8; PATCH_LEN] = patch_area();

#[derive(serde::Deserialize)]
struct Patch {
    id: Option<String>,
    allowed_hosts: Option<Vec<String>>,
    secrets: Option<Vec<String>>,
    default_interval_secs: Option<u32>,
    max_requests_per_minute: Option<u32>,
}

/// `manifest` with the patched fields applied (unchanged when nothing was patched).
pub fn apply(mut manifest: Manifest) -> Manifest {
    // black_box: the optimiser must read the buffer as stored, not the blank it was built as.
    let area = std::hint::black_box(&PATCH);
    let json = &area[MARKER.len()..];
    let trimmed = std::str::from_utf8(json).unwrap_or("").trim();
    if trimmed.is_empty() {
        return manifest;
    }
    let Ok(p) = serde_json::from_str::<Patch>(trimmed) else {
        return manifest;
    };
    if let Some(v) = p.id {
        manifest.id = v;
    }
    if let Some(v) = p.allowed_hosts {
        manifest.allowed_hosts = v;
    }
    if let Some(v) = p.secrets {
        manifest.secrets = v;
    }
    if let Some(v) = p.default_interval_secs {
        manifest.default_interval_secs = v;
    }
    if let Some(v) = p.max_requests_per_minute {
        manifest.max_requests_per_minute = v;
    }
    manifest
}
