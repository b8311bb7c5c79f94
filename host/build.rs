//! Builds the bundled connectors (and, not bundled, the misbehaving test connector and the
//! pretix drop-in) for wasm32-wasip2 with a nested cargo invocation, the way wasmtime builds
//! its guest test programs, and hands their paths to the crate through `BOXOFFICE_PLUGIN_DIR`.
//!
//! The nested build uses its own target directory (sharing the outer one would deadlock on its
//! lock) and drops flags meant for the host target.

use std::path::PathBuf;
use std::process::Command;

const PLUGINS: &[&str] = &[
    "boxoffice-plugin-shotgun",
    "boxoffice-plugin-qtickets",
    "boxoffice-plugin-testbed",
    // A drop-in, not bundled: tests copy the built `.wasm` into a plugin dir.
    "boxoffice-plugin-pretix",
];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    // `.cargo/config.toml` holds the wasm build's code-generation flags (inlining, see there).
    for p in [
        "plugins",
        "records",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let outer_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let target_dir = outer_target.join("plugins");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "plugin", "--target", TARGET])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for p in PLUGINS {
        cmd.args(["-p", p]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .expect("running the nested cargo build of the plugins");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            panic!(
                "the {TARGET} target is not installed; run `rustup target add {TARGET}` \
                 (RUSTUP_AUTO_INSTALL=0 is set on these machines)\n{stderr}"
            );
        }
        panic!("building the bundled plugins for {TARGET} failed:\n{stderr}");
    }
    let built = target_dir.join(TARGET).join("plugin");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("plugins");
    std::fs::create_dir_all(&out_dir).unwrap();
    for p in PLUGINS {
        let file = format!("{}.wasm", p.replace('-', "_"));
        std::fs::copy(built.join(&file), out_dir.join(&file))
            .unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    println!("cargo:rustc-env=BOXOFFICE_PLUGIN_DIR={}", out_dir.display());
}
