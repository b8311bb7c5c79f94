//! The seam between transform code and the host's imports.
//!
//! Transform code takes `&mut impl HostApi` instead of calling the WIT imports directly, so the
//! same code runs natively in unit tests and benchmarks (with [`FakeHost`]) and inside the
//! component (with [`WasmHost`]).

pub use crate::bindings::boxoffice::connector::host::Level;

/// What a connector may ask of the host.
pub trait HostApi {
    /// A stable keyed pseudonym for a personal identifier.
    fn pseudonymize(&mut self, kind: &str, value: &str) -> String;
    /// A log line (the host filters it for personal data).
    fn log(&mut self, level: Level, message: &str);
}

/// The real host, through the component's imports. Only callable inside wasm.
pub struct WasmHost;

impl HostApi for WasmHost {
    fn pseudonymize(&mut self, kind: &str, value: &str) -> String {
        crate::bindings::boxoffice::connector::host::pseudonymize(kind, value)
    }
    fn log(&mut self, level: Level, message: &str) {
        crate::bindings::boxoffice::connector::host::log(level, message)
    }
}

/// A deterministic stand-in for native tests and benchmarks: pseudonyms are a hash of
/// (kind, value), so tests can tell buyers apart without seeing identifiers.
#[derive(Default)]
pub struct FakeHost {
    pub logs: Vec<String>,
}

impl HostApi for FakeHost {
    fn pseudonymize(&mut self, kind: &str, value: &str) -> String {
        // FNV-1a: stable across platforms, good enough to distinguish test buyers.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in kind.bytes().chain([0u8]).chain(value.bytes()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("fake-{h:016x}")
    }
    fn log(&mut self, _level: Level, message: &str) {
        self.logs.push(message.to_string());
    }
}
