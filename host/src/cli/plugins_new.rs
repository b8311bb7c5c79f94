//! `boxoffice plugins new NAME`: scaffolds a connector crate from `plugins/template/`, which is
//! embedded in the binary, so the scaffold needs nothing but the SDK.
//!
//! Owns the name rules and the placeholder substitution. The template is a real crate
//! (tested in this repository); its placeholders are its own names: the package
//! `boxoffice-connector-template`, the library `boxoffice_connector_template`, the type
//! `TemplateConnector`, the id line `const ID: &str = "template";` and the SDK's path
//! dependency `path = "../sdk"`. The SDK is found by path: `--sdk-path`, by default the SDK of
//! the checkout this binary was built from (`CARGO_MANIFEST_DIR/../plugins/sdk`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The template's files: (path inside the new crate, contents).
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../plugins/template/Cargo.toml"),
    ),
    (
        "Cargo.lock",
        include_str!("../../../plugins/template/Cargo.lock"),
    ),
    (
        ".gitignore",
        include_str!("../../../plugins/template/.gitignore"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../plugins/template/src/lib.rs"),
    ),
    (
        "src/tests.rs",
        include_str!("../../../plugins/template/src/tests.rs"),
    ),
    (
        "fixtures/sample/context.json",
        include_str!("../../../plugins/template/fixtures/sample/context.json"),
    ),
    (
        "fixtures/sample/exchanges.json",
        include_str!("../../../plugins/template/fixtures/sample/exchanges.json"),
    ),
    (
        "fixtures/sample/orders-1.json",
        include_str!("../../../plugins/template/fixtures/sample/orders-1.json"),
    ),
    (
        "fixtures/sample/orders-2.json",
        include_str!("../../../plugins/template/fixtures/sample/orders-2.json"),
    ),
    (
        "fixtures/sample/golden.json",
        include_str!("../../../plugins/template/fixtures/sample/golden.json"),
    ),
];

/// The SDK of the checkout this binary was built from.
pub fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
}

/// A connector name: 2 to 32 of lower-case ASCII letters, digits and single `-`, starting with
/// a letter and not ending with `-` (it becomes the manifest id and the crate name).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        bail!(
            "connector name `{name}`: use 2 to 32 lower-case letters, digits and single `-`, \
             starting with a letter (e.g. `my-vendor`)"
        );
    }
    Ok(())
}

/// `my-vendor` → `MyVendor`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The template's `contents` with its placeholders replaced for connector `name`.
pub fn render(contents: &str, name: &str, sdk: &str) -> String {
    contents
        .replace(
            "boxoffice-connector-template",
            &format!("boxoffice-connector-{name}"),
        )
        .replace(
            "boxoffice_connector_template",
            &format!("boxoffice_connector_{}", name.replace('-', "_")),
        )
        .replace("TemplateConnector", &camel(name))
        .replace(
            "const ID: &str = \"template\";",
            &format!("const ID: &str = \"{name}\";"),
        )
        .replace("path = \"../sdk\"", &format!("path = '{sdk}'"))
}

/// Writes a new connector `name` into `dir` (which must not exist) against the SDK at `sdk`.
/// Returns the files written.
pub fn scaffold(name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<Vec<PathBuf>> {
    check_name(name)?;
    if dir.exists() {
        bail!(
            "{} already exists: `plugins new` writes a new directory only (choose another --dir)",
            dir.display()
        );
    }
    let manifest = sdk.join("Cargo.toml");
    let sdk_toml = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "no SDK at {} (reading {}); pass --sdk-path to the SDK's directory (plugins/sdk of a boxoffice checkout)",
            sdk.display(),
            manifest.display()
        )
    })?;
    if !sdk_toml.contains("name = \"boxoffice-plugin-sdk\"") {
        bail!(
            "{} is not the boxoffice connector SDK (its package is not `boxoffice-plugin-sdk`)",
            manifest.display()
        );
    }
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("resolving the SDK path {}", sdk.display()))?;
    let sdk = sdk
        .to_str()
        .filter(|s| !s.contains('\''))
        .with_context(|| format!("the SDK path {} is not UTF-8 or holds a `'`", sdk.display()))?;
    let mut written = Vec::with_capacity(FILES.len());
    for (rel, contents) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, render(contents, name, sdk))
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// What to type next, printed after scaffolding. The built component's path follows
/// `CARGO_TARGET_DIR` when the operator's shell sets it (cargo would put it there, not under
/// the new crate), and the component is built `--release` (what `plugins test` should load).
pub fn next_steps(name: &str, dir: &Path, target_dir: Option<&Path>) -> String {
    let lib = format!("boxoffice_connector_{}", name.replace('-', "_"));
    let target = target_dir.map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let wasm = target.join(format!("wasm32-wasip2/release/{lib}.wasm"));
    format!(
        "Next:\n  cd {}\n  cargo test\n  cargo build --release --target wasm32-wasip2\n  boxoffice plugins test {} fixtures/sample",
        dir.display(),
        wasm.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_point_at_the_component_cargo_will_build() {
        let plain = next_steps("acme-tix", Path::new("acme-tix"), None);
        assert!(
            plain.contains(
                "plugins test target/wasm32-wasip2/release/boxoffice_connector_acme_tix.wasm"
            ),
            "{plain}"
        );
        let moved = next_steps(
            "acme-tix",
            Path::new("acme-tix"),
            Some(Path::new("/tmp/shared-target")),
        );
        assert!(
            moved.contains("plugins test /tmp/shared-target/wasm32-wasip2/release/boxoffice_connector_acme_tix.wasm"),
            "{moved}"
        );
        assert!(!moved.contains(" target/wasm32"), "{moved}");
    }

    #[test]
    fn names_are_checked() {
        for ok in ["my-vendor", "ab", "v2-tickets"] {
            check_name(ok).unwrap();
        }
        for bad in [
            "", "a", "My", "-x", "x-", "a--b", "a_b", "a b", "../x", "1abc", "ünï",
        ] {
            let e = check_name(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
        check_name(&"a".repeat(33)).unwrap_err();
    }

    #[test]
    fn every_placeholder_is_replaced() {
        for (rel, contents) in FILES {
            let out = render(contents, "my-vendor", "/sdk");
            assert!(
                !out.to_ascii_lowercase().contains("template"),
                "{rel} still names the template:\n{out}"
            );
        }
        let lib = render(FILES[3].1, "my-vendor", "/sdk");
        assert!(lib.contains("pub struct MyVendor;"));
        assert!(lib.contains("const ID: &str = \"my-vendor\";"));
        let toml = render(FILES[0].1, "my-vendor", "/sdk");
        assert!(toml.contains("name = \"boxoffice-connector-my-vendor\""));
        assert!(toml.contains("path = '/sdk'"));
    }

    #[test]
    fn an_existing_dir_or_a_missing_sdk_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let e = scaffold("demo", t.path(), &default_sdk_path()).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        let e = scaffold("demo", &t.path().join("new"), &t.path().join("nosdk")).unwrap_err();
        assert!(format!("{e:#}").contains("--sdk-path"), "{e:#}");
        assert!(!t.path().join("new").exists());
        let e = scaffold("Demo", &t.path().join("new"), &default_sdk_path()).unwrap_err();
        assert!(e.to_string().contains("`Demo`"), "{e}");
    }
}
