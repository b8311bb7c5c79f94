//! The connectors compiled into this binary (built for wasm32-wasip2 by `build.rs`).

/// A connector shipped inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    pub name: &'static str,
    pub wasm: &'static [u8],
}

pub const SHOTGUN: BundledPlugin = BundledPlugin {
    name: "shotgun",
    wasm: include_bytes!(concat!(
        env!("BOXOFFICE_PLUGIN_DIR"),
        "/boxoffice_plugin_shotgun.wasm"
    )),
};

pub const QTICKETS: BundledPlugin = BundledPlugin {
    name: "qtickets",
    wasm: include_bytes!(concat!(
        env!("BOXOFFICE_PLUGIN_DIR"),
        "/boxoffice_plugin_qtickets.wasm"
    )),
};

/// Every connector the binary ships (the misbehaving test connector is not one of them).
pub const ALL: &[BundledPlugin] = &[SHOTGUN, QTICKETS];

/// Path of a built connector that is not bundled — the misbehaving `testbed`, the `pretix`
/// drop-in — for tests and `plugins inspect`.
pub fn test_plugin_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("BOXOFFICE_PLUGIN_DIR")).join(format!("boxoffice_plugin_{name}.wasm"))
}
