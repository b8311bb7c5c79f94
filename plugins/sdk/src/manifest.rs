//! Declaring a connector and reading its settings: the [`Setting`] constructors, the
//! [`ManifestBuilder`] (from [`Manifest::builder`]) and the typed [`Settings`] reader.
//!
//! Owns the rule that a setting's default is written once, in the manifest: [`Settings::get`]
//! answers the run's value, else the manifest's default. Hosts that fill defaults themselves
//! pass the same value, so the fallback only matters for native tests and older hosts. A run's
//! value that is empty or only spaces reads as absent.
//!
//! ```
//! use boxoffice_plugin_sdk::{Manifest, RunContext, Setting, Settings};
//!
//! let manifest = Manifest::builder("example", "Example Tickets")
//!     .version("1.2.0")
//!     .allowed_host("api.example.invalid")
//!     .secret("token")
//!     .setting(Setting::required("organizer", "the organizer id"))
//!     .setting(Setting::optional("base_url", "API base", "https://api.example.invalid"))
//!     .setting(Setting::optional_without_default("event", "read one event only"))
//!     .interval_secs(300)
//!     .max_requests_per_minute(60)
//!     .build();
//!
//! let ctx = RunContext {
//!     account: "demo".into(),
//!     settings: vec![("organizer".into(), "42".into())],
//!     cursor: None,
//!     since_ms: None,
//!     until_ms: None,
//!     now_ms: 0,
//! };
//! let s = Settings::new(&ctx, &manifest);
//! assert_eq!(s.require("organizer").unwrap(), "42");
//! assert_eq!(s.get("base_url"), Some("https://api.example.invalid"));
//! assert_eq!(s.get("event"), None);
//! ```

use std::fmt::Display;
use std::str::FromStr;

use crate::{Manifest, PluginError, RunContext, Setting, WebhookSignature, WebhookSpec};

impl Setting {
    /// A setting every account must give.
    pub fn required(name: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            required: true,
            default_value: None,
        }
    }

    /// A setting with a default, used when an account does not give it.
    pub fn optional(name: &str, description: &str, default: &str) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            required: false,
            default_value: Some(default.into()),
        }
    }

    /// A setting whose absence means something of its own (e.g. "every event").
    pub fn optional_without_default(name: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            required: false,
            default_value: None,
        }
    }
}

impl Manifest {
    /// Starts a manifest for connector `id` (lower case, e.g. `shotgun`) of `vendor` (its
    /// human name). Defaults: version `0.0.0`, a run every 300 s, 60 requests a minute.
    pub fn builder(id: &str, vendor: &str) -> ManifestBuilder {
        ManifestBuilder(Manifest {
            id: id.into(),
            vendor: vendor.into(),
            version: "0.0.0".into(),
            allowed_hosts: Vec::new(),
            secrets: Vec::new(),
            settings: Vec::new(),
            default_interval_secs: 300,
            max_requests_per_minute: 60,
            webhook: None,
        })
    }
}

/// Builds a [`Manifest`]; see the [module doc](self) for an example.
#[must_use = "call `.build()`"]
pub struct ManifestBuilder(Manifest);

impl ManifestBuilder {
    /// The connector's own version (semver), usually `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Self {
        self.0.version = version.into();
        self
    }

    /// A host the connector may address (anything else is refused by the host).
    pub fn allowed_host(mut self, host: &str) -> Self {
        self.0.allowed_hosts.push(host.into());
        self
    }

    /// A secret requests may reference in `auth` (its value lives in the host).
    pub fn secret(mut self, name: &str) -> Self {
        self.0.secrets.push(name.into());
        self
    }

    /// A setting (see [`Setting::required`], [`Setting::optional`]).
    pub fn setting(mut self, setting: Setting) -> Self {
        self.0.settings.push(setting);
        self
    }

    /// How often the host runs the connector unless the account says otherwise.
    pub fn interval_secs(mut self, secs: u32) -> Self {
        self.0.default_interval_secs = secs;
        self
    }

    /// The request budget the host enforces per account.
    pub fn max_requests_per_minute(mut self, n: u32) -> Self {
        self.0.max_requests_per_minute = n;
        self
    }

    /// The connector takes vendor webhooks signed this way (contract 0.4), e.g.
    /// `WebhookSignature::HmacSha1Hex("x-signature".into())`; implement
    /// [`Connector::webhook`](crate::Connector::webhook) too.
    pub fn webhook(mut self, signature: WebhookSignature) -> Self {
        self.0.webhook = Some(WebhookSpec { signature });
        self
    }

    /// The manifest, or what is wrong with it (an empty id, version or name, a setting
    /// declared twice, a required setting with a default, a zero interval or budget).
    pub fn try_build(self) -> Result<Manifest, String> {
        let m = self.0;
        let id_ok = !m.id.is_empty()
            && m.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(format!(
                "manifest id `{}`: use lower-case letters, digits, `-`, `_`",
                m.id
            ));
        }
        let field = |what: &str, v: &str| {
            if v.trim().is_empty() {
                Err(format!("manifest `{}`: empty {what}", m.id))
            } else {
                Ok(())
            }
        };
        field("vendor", &m.vendor)?;
        field("version", &m.version)?;
        for h in &m.allowed_hosts {
            field("allowed host", h)?;
        }
        for s in &m.secrets {
            field("secret name", s)?;
        }
        for (i, s) in m.settings.iter().enumerate() {
            field("setting name", &s.name)?;
            if m.settings[..i].iter().any(|o| o.name == s.name) {
                return Err(format!(
                    "manifest `{}`: setting `{}` declared twice",
                    m.id, s.name
                ));
            }
            if s.required && s.default_value.is_some() {
                return Err(format!(
                    "manifest `{}`: setting `{}` is required and has a default",
                    m.id, s.name
                ));
            }
        }
        if let Some(w) = &m.webhook {
            let (WebhookSignature::HmacSha1Hex(h) | WebhookSignature::HmacSha256Hex(h)) =
                &w.signature;
            field("webhook signature header", h)?;
            if h.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "manifest `{}`: webhook signature header `{h}`: use its lower-case name",
                    m.id
                ));
            }
        }
        if m.default_interval_secs == 0 || m.max_requests_per_minute == 0 {
            return Err(format!(
                "manifest `{}`: interval and request budget must be > 0",
                m.id
            ));
        }
        Ok(m)
    }

    /// The manifest.
    ///
    /// # Panics
    /// When [`try_build`](Self::try_build) refuses it: a mistake in the connector's own code,
    /// found by any test that calls its `manifest()`.
    pub fn build(self) -> Manifest {
        self.try_build().unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A run's settings read against the manifest's declarations: values fall back to the
/// declared default, required ones fail with the setting named, parsed ones name the setting
/// and the value they could not read. Errors are [`PluginError::Fatal`] (a configuration
/// mistake does not get better by retrying).
pub struct Settings<'a> {
    ctx: &'a RunContext,
    declared: &'a [Setting],
}

impl<'a> Settings<'a> {
    /// The settings of `ctx` as `manifest` declares them.
    pub fn new(ctx: &'a RunContext, manifest: &'a Manifest) -> Self {
        Self {
            ctx,
            declared: &manifest.settings,
        }
    }

    fn declared(&self, name: &str) -> &'a Setting {
        self.declared
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("setting `{name}` is not declared in the manifest"))
    }

    /// The run's value (trimmed; empty reads as absent), else the manifest's default.
    ///
    /// # Panics
    /// When `name` is not declared in the manifest: a typo in the connector, found by any
    /// test that reads it.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let declared = self.declared(name);
        self.ctx
            .settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .or(declared.default_value.as_deref())
    }

    /// [`get`](Self::get), or an error naming the setting and what it is for.
    pub fn require(&self, name: &str) -> Result<&'a str, PluginError> {
        self.get(name).ok_or_else(|| {
            PluginError::Fatal(format!(
                "setting `{name}` is required ({})",
                self.declared(name).description
            ))
        })
    }

    /// [`get`](Self::get) parsed as `T`; an unreadable value is an error naming the setting,
    /// the value and `what` was expected (e.g. "a whole number of seconds").
    pub fn parse<T: FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, PluginError> {
        self.get(name)
            .map(|v| v.parse::<T>().map_err(|_| invalid(name, what, v)))
            .transpose()
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, any case).
    pub fn flag(&self, name: &str) -> Result<Option<bool>, PluginError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(invalid(name, "true or false", v)),
            })
            .transpose()
    }
}

fn invalid(name: &str, what: impl Display, value: &str) -> PluginError {
    PluginError::Fatal(format!(
        "setting `{name}` must be {what}, got `{}`",
        crate::error::snippet(value.as_bytes(), 80)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::builder("demo", "Demo")
            .version("1.0.0")
            .allowed_host("api.example.invalid")
            .secret("token")
            .setting(Setting::required("org", "the organizer"))
            .setting(Setting::optional("every", "seconds between reads", "900"))
            .setting(Setting::optional("cohosted", "also co-hosted", "true"))
            .setting(Setting::optional_without_default("event", "one event"))
            .interval_secs(120)
            .max_requests_per_minute(30)
            .build()
    }

    fn ctx(settings: &[(&str, &str)]) -> RunContext {
        RunContext {
            account: "a".into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cursor: None,
            since_ms: None,
            until_ms: None,
            now_ms: 0,
        }
    }

    #[test]
    fn a_webhook_is_declared_with_its_signature_and_its_header_is_checked() {
        assert!(manifest().webhook.is_none(), "no webhook unless declared");
        let m = Manifest::builder("demo", "Demo")
            .version("1.0.0")
            .webhook(WebhookSignature::HmacSha1Hex("x-signature".into()))
            .build();
        assert!(matches!(
            m.webhook.map(|w| w.signature),
            Some(WebhookSignature::HmacSha1Hex(h)) if h == "x-signature"
        ));
        let upper = Manifest::builder("demo", "Demo")
            .version("1.0.0")
            .webhook(WebhookSignature::HmacSha256Hex("X-Sig".into()))
            .try_build()
            .unwrap_err();
        assert!(
            upper.contains("`X-Sig`") && upper.contains("lower-case"),
            "{upper}"
        );
        let empty = Manifest::builder("demo", "Demo")
            .version("1.0.0")
            .webhook(WebhookSignature::HmacSha1Hex(" ".into()))
            .try_build()
            .unwrap_err();
        assert!(empty.contains("webhook signature header"), "{empty}");
    }

    #[test]
    fn the_builder_fills_every_field() {
        let m = manifest();
        assert_eq!((m.id.as_str(), m.vendor.as_str()), ("demo", "Demo"));
        assert_eq!(m.version, "1.0.0");
        assert_eq!(m.allowed_hosts, ["api.example.invalid"]);
        assert_eq!(m.secrets, ["token"]);
        assert_eq!(m.settings.len(), 4);
        assert!(m.settings[0].required && m.settings[0].default_value.is_none());
        assert_eq!(m.settings[1].default_value.as_deref(), Some("900"));
        assert!(!m.settings[3].required && m.settings[3].default_value.is_none());
        assert_eq!(
            (m.default_interval_secs, m.max_requests_per_minute),
            (120, 30)
        );
    }

    #[test]
    fn the_builder_refuses_inconsistent_manifests() {
        let dup = Manifest::builder("demo", "Demo")
            .setting(Setting::optional_without_default("x", ""))
            .setting(Setting::required("x", ""))
            .try_build();
        assert!(dup.unwrap_err().contains("`x` declared twice"));
        let mut req = Setting::required("y", "");
        req.default_value = Some("1".into());
        let e = Manifest::builder("demo", "Demo")
            .setting(req)
            .try_build()
            .unwrap_err();
        assert!(e.contains("`y` is required and has a default"), "{e}");
        let e = Manifest::builder("Demo X", "Demo").try_build().unwrap_err();
        assert!(e.contains("`Demo X`"), "{e}");
        let e = Manifest::builder("demo", "Demo")
            .interval_secs(0)
            .try_build()
            .unwrap_err();
        assert!(e.contains("interval"), "{e}");
    }

    #[test]
    fn values_fall_back_to_the_declared_default() {
        let m = manifest();
        let c = ctx(&[("org", " 42 "), ("every", "  "), ("cohosted", "No")]);
        let s = Settings::new(&c, &m);
        assert_eq!(s.require("org").unwrap(), "42");
        assert_eq!(s.get("every"), Some("900"), "blank reads as absent");
        assert_eq!(s.parse::<u32>("every", "seconds").unwrap(), Some(900));
        assert_eq!(s.flag("cohosted").unwrap(), Some(false));
        assert_eq!(s.get("event"), None);
    }

    #[test]
    fn errors_name_the_setting_and_the_value() {
        let m = manifest();
        let c = ctx(&[("every", "soon"), ("cohosted", "maybe")]);
        let s = Settings::new(&c, &m);
        assert!(matches!(s.require("org"),
            Err(PluginError::Fatal(e)) if e.contains("`org` is required") && e.contains("the organizer")));
        assert!(matches!(s.parse::<u32>("every", "a number of seconds"),
            Err(PluginError::Fatal(e)) if e == "setting `every` must be a number of seconds, got `soon`"));
        assert!(matches!(s.flag("cohosted"),
            Err(PluginError::Fatal(e)) if e.contains("`cohosted`") && e.contains("`maybe`")));
    }

    #[test]
    #[should_panic(expected = "setting `evry` is not declared")]
    fn an_undeclared_name_is_a_bug_found_by_any_test() {
        let m = manifest();
        let c = ctx(&[]);
        Settings::new(&c, &m).get("evry");
    }
}
