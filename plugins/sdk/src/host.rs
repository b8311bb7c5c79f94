//! The seam between transform code and the host's imports.
//!
//! Transform code takes `&mut impl HostApi` instead of calling the WIT imports directly, so the
//! same code runs natively in unit tests and benchmarks (with [`FakeHost`]) and inside the
//! component (with [`WasmHost`]). Buyers need no host call: a record carries the vendor's
//! identifier as a `PersonalId` and the host pseudonymizes it while decoding the page.

pub use crate::bindings::boxoffice::connector::host::Level;

/// What a connector may ask of the host.
pub trait HostApi {
    /// A log line (the host filters it for personal data).
    fn log(&mut self, level: Level, message: &str);
}

/// The real host, through the component's imports. Only callable inside wasm.
pub struct WasmHost;

impl HostApi for WasmHost {
    fn log(&mut self, level: Level, message: &str) {
        crate::bindings::boxoffice::connector::host::log(level, message)
    }
}

/// A stand-in for native tests and benchmarks that keeps what was logged.
#[derive(Default)]
pub struct FakeHost {
    pub logs: Vec<String>,
}

impl HostApi for FakeHost {
    fn log(&mut self, _level: Level, message: &str) {
        self.logs.push(message.to_string());
    }
}
