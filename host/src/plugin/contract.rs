//! What makes a component a connector this host can run, read from its type before anything is
//! linked or run: `boxoffice:connector` imports or exports naming one version inside the
//! host's window ([`SUPPORTED`]), and that version's entry points (`manifest`, `begin`,
//! `handle`: top-level exports in 0.2, the `connector` interface's from 0.3) with their shapes.
//!
//! Owns: the window, the contract check and the message a refused component gets (what it is,
//! what the host supports). It does not own linking (a full structural type check still happens when
//! `runtime` pre-instantiates) or what a connector may do once loaded.

use thiserror::Error;
use wasmtime::component::types::{self, ComponentItem, Type};
use wasmtime::Engine;

use super::bindings::{Contract, WIT_PACKAGE};
use super::error::PluginError;

/// One export of the contract: its name, the record fields of each parameter, and the kind
/// (with the record fields, for a record) of its result.
struct ExportShape {
    name: &'static str,
    signature: &'static str,
    params: &'static [&'static [&'static str]],
    result: ResultShape,
}

enum ResultShape {
    Record(&'static [&'static str]),
    Result,
}

const RUN_CONTEXT: &[&str] = &[
    "account", "settings", "cursor", "since-ms", "until-ms", "now-ms",
];
const HTTP_REQUEST: &[&str] = &["id", "method", "url", "query", "headers", "body", "auth"];
const HTTP_RESPONSE: &[&str] = &["status", "headers", "body"];
const MANIFEST: &[&str] = &[
    "id",
    "vendor",
    "version",
    "allowed-hosts",
    "secrets",
    "settings",
    "default-interval-secs",
    "max-requests-per-minute",
];

/// 0.4's manifest: 0.3's and `webhook`.
const MANIFEST_V0_4: &[&str] = &[
    "id",
    "vendor",
    "version",
    "allowed-hosts",
    "secrets",
    "settings",
    "default-interval-secs",
    "max-requests-per-minute",
    "webhook",
];
const WEBHOOK_DELIVERY: &[&str] = &["headers", "body", "received-ms"];

/// 0.2's and 0.3's entry points.
const EXPORTS: [ExportShape; 3] = [MANIFEST_EXPORT, BEGIN_EXPORT, HANDLE_EXPORT];

/// 0.4's: the manifest with `webhook`, and the `webhook` entry point (required: a connector
/// that takes no webhooks declares `webhook: none` and returns an error from it).
const EXPORTS_V0_4: [ExportShape; 4] = [
    ExportShape {
        name: "manifest",
        signature: "func() -> manifest",
        params: &[],
        result: ResultShape::Record(MANIFEST_V0_4),
    },
    BEGIN_EXPORT,
    HANDLE_EXPORT,
    ExportShape {
        name: "webhook",
        signature: "func(ctx: run-context, delivery: webhook-delivery) -> result<webhook-outcome, plugin-error>",
        params: &[RUN_CONTEXT, WEBHOOK_DELIVERY],
        result: ResultShape::Result,
    },
];

/// The entry points `contract` requires.
fn exports_of(contract: Contract) -> &'static [ExportShape] {
    match contract {
        Contract::V0_2 | Contract::V0_3 => &EXPORTS,
        Contract::V0_4 => &EXPORTS_V0_4,
    }
}

const MANIFEST_EXPORT: ExportShape = ExportShape {
    name: "manifest",
    signature: "func() -> manifest",
    params: &[],
    result: ResultShape::Record(MANIFEST),
};

const BEGIN_EXPORT: ExportShape = ExportShape {
    name: "begin",
    signature: "func(ctx: run-context) -> result<list<http-request>, plugin-error>",
    params: &[RUN_CONTEXT],
    result: ResultShape::Result,
};

const HANDLE_EXPORT: ExportShape = ExportShape {
    name: "handle",
    signature: "func(ctx: run-context, request: http-request, response: http-response) -> result<page, plugin-error>",
    params: &[RUN_CONTEXT, HTTP_REQUEST, HTTP_RESPONSE],
    result: ResultShape::Result,
};

/// Names listed in a refusal before "and N more".
const LISTED_NAMES: usize = 8;

/// The window: every contract version this host loads, oldest first. A version enters when
/// its bindings do (`bindings::Contract`) and leaves by being removed here and there
/// (docs/wit-versioning.md). Nothing else in the host lists versions.
pub const SUPPORTED: [Contract; 3] = [Contract::V0_2, Contract::V0_3, Contract::V0_4];

/// The exported interface holding the entry points from 0.3 on
/// (`boxoffice:connector/connector@0.3.0`); before 0.3 they are top-level exports.
const ENTRY_INTERFACE: &str = "connector";

/// Where a version's entry points are, as a refusal says it.
fn entry_points(contract: Contract) -> String {
    match contract {
        Contract::V0_2 => "exports manifest, begin, handle".to_string(),
        Contract::V0_3 => format!(
            "exports {WIT_PACKAGE}/{ENTRY_INTERFACE}@{} with manifest, begin, handle",
            Contract::V0_3.version()
        ),
        c => format!(
            "exports {WIT_PACKAGE}/{ENTRY_INTERFACE}@{} with manifest, begin, handle, webhook",
            c.version()
        ),
    }
}

/// What this host runs, as a refusal says it.
pub fn supported() -> String {
    SUPPORTED
        .iter()
        .map(|&c| {
            let v = version_of(c);
            format!(
                "{WIT_PACKAGE}@{}.{} components ({})",
                v.major,
                v.minor,
                entry_points(c)
            )
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The versions of the window, as an incompatibility names them: `0.2.x, 0.3.x`.
pub fn supported_versions() -> String {
    SUPPORTED
        .iter()
        .map(|&c| {
            let v = version_of(c);
            format!("{}.{}.x", v.major, v.minor)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn version_of(contract: Contract) -> semver::Version {
    semver::Version::parse(contract.version())
        .expect("contract versions are semver versions (a test checks)")
}

/// The window's version a component built against `found` runs as, if any: the same
/// major.minor (see [`compatible`]).
pub fn in_window(found: &str) -> Option<Contract> {
    SUPPORTED
        .iter()
        .copied()
        .find(|c| compatible(found, c.version()))
}

/// The contract `component` was built against and its exact version, once it is known to be a
/// connector of a version in the window; otherwise the refusal, naming what the component is
/// instead and what the host supports. Runs on the component's type only: nothing is linked,
/// instantiated or run.
pub fn check(
    plugin: &str,
    engine: &Engine,
    component: &types::Component,
) -> Result<(Contract, String), PluginError> {
    let imports: Vec<String> = component
        .imports(engine)
        .map(|(n, _)| n.to_string())
        .collect();
    let exports: Vec<(String, ComponentItem)> = component
        .exports(engine)
        .map(|(n, item)| (n.to_string(), item.ty))
        .collect();
    let refuse = |problem: String| PluginError::NotAConnector {
        plugin: plugin.to_string(),
        found: format!(
            "{problem} (it exports {}; it imports {})",
            listing(exports.iter().map(|(n, _)| n.as_str())),
            listing(imports.iter().map(String::as_str)),
        ),
        supported: supported(),
    };
    let prefix = format!("{WIT_PACKAGE}/");
    // Every contract name it imports or exports: they must all name one version.
    let contract_names: Vec<&str> = imports
        .iter()
        .map(String::as_str)
        .chain(exports.iter().map(|(n, _)| n.as_str()))
        .filter(|n| n.starts_with(&prefix))
        .collect();
    let Some(version) = wit_version_of(&contract_names) else {
        return Err(refuse(format!(
            "it imports nothing from {WIT_PACKAGE} and exports no {WIT_PACKAGE} interface, \
             so its contract version is unknown"
        )));
    };
    let mut contract = None;
    for name in &contract_names {
        let found = name.split_once('@').map_or("none", |(_, v)| v);
        let refusal = match semver::Version::parse(found) {
            Err(e) => Some(format!("`{found}` (not a semver version: {e})")),
            Ok(_) if found != version => Some(format!(
                "{found} in `{name}` beside {version} (one component, one contract version)"
            )),
            Ok(_) => match in_window(found) {
                None => Some(found.to_string()),
                Some(c) => {
                    contract = Some(c);
                    None
                }
            },
        };
        if let Some(found) = refusal {
            return Err(PluginError::IncompatibleWit {
                plugin: plugin.to_string(),
                found,
                expected: supported_versions(),
            });
        }
    }
    let contract = contract.expect("a contract name was found above");
    // Where the entry points are: top-level before 0.3, in the `connector` interface after.
    let (entries, place): (Vec<(String, ComponentItem)>, String) = match contract {
        Contract::V0_2 => (exports.clone(), String::new()),
        c => {
            let name = format!("{WIT_PACKAGE}/{ENTRY_INTERFACE}@{version}");
            match exports.iter().find(|(n, _)| *n == name).map(|(_, i)| i) {
                Some(ComponentItem::ComponentInstance(inst)) => (
                    inst.exports(engine)
                        .map(|(n, i)| (n.to_string(), i.ty))
                        .collect(),
                    format!(" of `{name}`"),
                ),
                Some(other) => {
                    return Err(refuse(format!(
                        "its export `{name}` is {}, not an instance",
                        item_kind(other)
                    )))
                }
                None => {
                    return Err(refuse(format!(
                        "it imports contract {version} but does not export `{name}` \
                         (where {}.{} connectors keep manifest, begin, handle)",
                        version_of(c).major,
                        version_of(c).minor
                    )))
                }
            }
        }
    };
    for shape in exports_of(contract) {
        let item = entries
            .iter()
            .find(|(n, _)| n == shape.name)
            .map(|(_, i)| i);
        if let Err(problem) = check_export(shape, item) {
            return Err(refuse(format!(
                "its export `{}`{place} {problem}, the contract's is {}",
                shape.name, shape.signature
            )));
        }
    }
    Ok((contract, version))
}

/// Why an item is not the export of the contract it should be; the refusal puts it between
/// the export's name and the contract's signature ("its export `begin` {this}, the
/// contract's is …").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
enum ExportMismatch {
    #[error("is missing")]
    Missing,
    /// Something other than a function (`a type`, `an instance`, …).
    #[error("is {0}, not a function")]
    NotAFunction(&'static str),
    /// A function of another shape: the kinds of its parameters and of its result.
    #[error("is func({params}) -> {result}")]
    Signature {
        params: String,
        result: &'static str,
    },
}

/// Why `item` is not the export `shape` describes.
fn check_export(shape: &ExportShape, item: Option<&ComponentItem>) -> Result<(), ExportMismatch> {
    let func = match item {
        None => return Err(ExportMismatch::Missing),
        Some(ComponentItem::ComponentFunc(f)) => f,
        Some(other) => return Err(ExportMismatch::NotAFunction(item_kind(other))),
    };
    let params: Vec<Type> = func.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = func.results().collect();
    let found = || ExportMismatch::Signature {
        params: params.iter().map(type_kind).collect::<Vec<_>>().join(", "),
        result: results.first().map_or("nothing", type_kind),
    };
    if params.len() != shape.params.len() || results.len() != 1 {
        return Err(found());
    }
    let fields_match = |ty: &Type, fields: &[&str]| match ty {
        Type::Record(r) => r.fields().map(|f| f.name).eq(fields.iter().copied()),
        _ => false,
    };
    let params_match = params
        .iter()
        .zip(shape.params)
        .all(|(ty, fields)| fields_match(ty, fields));
    let result_matches = match (&shape.result, &results[0]) {
        (ResultShape::Record(fields), ty) => fields_match(ty, fields),
        (ResultShape::Result, Type::Result(_)) => true,
        (ResultShape::Result, _) => false,
    };
    if params_match && result_matches {
        Ok(())
    } else {
        Err(found())
    }
}

fn item_kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "a function",
        ComponentItem::CoreFunc(_) => "a core function",
        ComponentItem::Module(_) => "a core module",
        ComponentItem::Component(_) => "a component",
        ComponentItem::ComponentInstance(_) => "an instance",
        ComponentItem::Type(_) => "a type",
        ComponentItem::Resource(_) => "a resource",
    }
}

fn type_kind(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) | Type::FixedLengthList(_) => "a list",
        Type::Map(_) => "a map",
        Type::Record(_) => "a record",
        Type::Tuple(_) => "a tuple",
        Type::Variant(_) => "a variant",
        Type::Enum(_) => "an enum",
        Type::Option(_) => "an option",
        Type::Result(_) => "a result",
        Type::Flags(_) => "flags",
        Type::Own(_) | Type::Borrow(_) => "a resource",
        Type::Future(_) => "a future",
        Type::Stream(_) => "a stream",
        Type::ErrorContext => "an error-context",
    }
}

/// `[a, b, c]`, at most [`LISTED_NAMES`] of them, or `nothing`.
fn listing<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    if total == 0 {
        return "nothing".into();
    }
    let shown: Vec<&str> = names.take(LISTED_NAMES).collect();
    let more = total - shown.len();
    if more > 0 {
        format!("[{}, and {more} more]", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// The `@version` of the first `boxoffice:connector/...` name (import or export), if any.
pub fn wit_version_of<S: AsRef<str>>(imports: &[S]) -> Option<String> {
    imports.iter().find_map(|name| {
        let rest = name.as_ref().strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
        Some(rest.split_once('@')?.1.to_string())
    })
}

/// Whether a component built against contract version `found` runs on a host implementing
/// `expected`: both semver versions with the same major.minor (under 1.0 a minor is a breaking
/// change, and the host adds functions in minors, so an older or newer minor is refused either
/// way); the patch level is free. A pre-release matches only itself. A malformed version
/// (`0.2`, `v0.2.0`, `0.2.x`, empty) is never compatible.
pub fn compatible(found: &str, expected: &str) -> bool {
    match (
        semver::Version::parse(found),
        semver::Version::parse(expected),
    ) {
        (Ok(found), Ok(expected)) => same_contract(&found, &expected),
        _ => false,
    }
}

fn same_contract(found: &semver::Version, expected: &semver::Version) -> bool {
    let pre_ok = if found.pre.is_empty() && expected.pre.is_empty() {
        true
    } else {
        found.pre == expected.pre && found.patch == expected.patch
    };
    found.major == expected.major && found.minor == expected.minor && pre_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wit_versions() {
        let imports = vec![
            "wasi:cli/environment@0.2.6".to_string(),
            "boxoffice:connector/host@0.1.0".to_string(),
        ];
        assert_eq!(wit_version_of(&imports).as_deref(), Some("0.1.0"));
        assert!(compatible("0.1.3", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.1.0", "0.1.0"));
        assert_eq!(wit_version_of(&["wasi:io/poll@0.2.0".to_string()]), None);
    }

    #[test]
    fn contract_versions_compare_as_semver() {
        assert!(compatible("0.2.0", "0.2.0"));
        assert!(compatible("0.2.7", "0.2.0"));
        assert!(compatible("0.2.0", "0.2.7"));
        assert!(
            compatible("0.2.1+build.5", "0.2.0"),
            "build metadata is ignored"
        );
        assert!(!compatible("0.3.0", "0.2.0"));
        assert!(!compatible("0.1.9", "0.2.0"));
        assert!(!compatible("1.2.0", "0.2.0"));
        assert!(compatible("1.2.3", "1.2.0"));
        assert!(!compatible("1.3.0", "1.2.0"));
        assert!(!compatible("0.2.0-rc.1", "0.2.0"));
        assert!(compatible("0.2.0-rc.1", "0.2.0-rc.1"));
        assert!(!compatible("0.2.0-rc.1", "0.2.0-rc.2"));
        // A numeric comparison, not a text one: 0.10 is not 0.1.
        assert!(!compatible("0.10.0", "0.1.0"));
    }

    #[test]
    fn malformed_contract_versions_are_never_compatible() {
        for bad in [
            "", "0.2", "v0.2.0", "0.2.x", "0.2.0.1", "02.0.0", "0.2.0 ", " 0.2.0", "0.-2.0",
            "none", "0.2.0-", "0.2.0+", "ü.2.0",
        ] {
            assert!(!compatible(bad, "0.2.0"), "{bad:?} accepted");
            assert!(!compatible("0.2.0", bad), "host version {bad:?} accepted");
        }
    }

    #[test]
    fn the_window_s_versions_are_plain_semver() {
        for c in SUPPORTED {
            let v = version_of(c);
            assert_eq!(v.to_string(), c.version());
            assert!(v.pre.is_empty() && v.build.is_empty());
        }
    }

    #[test]
    fn the_supported_contracts_are_named_by_major_minor() {
        assert_eq!(
            supported(),
            "boxoffice:connector@0.2 components (exports manifest, begin, handle) and \
             boxoffice:connector@0.3 components (exports boxoffice:connector/connector@0.3.0 \
             with manifest, begin, handle) and \
             boxoffice:connector@0.4 components (exports boxoffice:connector/connector@0.4.0 \
             with manifest, begin, handle, webhook)"
        );
        assert_eq!(supported_versions(), "0.2.x, 0.3.x, 0.4.x");
    }

    #[test]
    fn the_window_holds_0_2_0_3_and_0_4_and_nothing_around_them() {
        assert_eq!(in_window("0.2.0"), Some(Contract::V0_2));
        assert_eq!(in_window("0.2.9"), Some(Contract::V0_2));
        assert_eq!(in_window("0.3.0"), Some(Contract::V0_3));
        assert_eq!(in_window("0.3.4"), Some(Contract::V0_3));
        assert_eq!(in_window("0.4.0"), Some(Contract::V0_4));
        assert_eq!(in_window("0.4.2"), Some(Contract::V0_4));
        for outside in ["0.1.0", "0.5.0", "1.3.0", "0.3.0-rc.1", "0.4.0-rc.1", "0.3"] {
            assert_eq!(in_window(outside), None, "{outside}");
        }
    }

    #[test]
    fn listings_are_bounded() {
        assert_eq!(listing(std::iter::empty()), "nothing");
        let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        assert_eq!(
            listing(names.iter().map(String::as_str)),
            "[n0, n1, n2, n3, n4, n5, n6, n7, and 2 more]"
        );
    }

    #[test]
    fn an_absent_export_is_missing_and_mismatches_read_as_the_refusal_quotes_them() {
        for contract in [Contract::V0_2, Contract::V0_3, Contract::V0_4] {
            for shape in exports_of(contract) {
                let e = check_export(shape, None).unwrap_err();
                assert_eq!(e, ExportMismatch::Missing, "{}", shape.name);
                assert_eq!(e.to_string(), "is missing");
            }
        }
        assert_eq!(
            ExportMismatch::NotAFunction("an instance").to_string(),
            "is an instance, not a function"
        );
        assert_eq!(
            ExportMismatch::Signature {
                params: "a record, string".into(),
                result: "nothing",
            }
            .to_string(),
            "is func(a record, string) -> nothing"
        );
    }
}
