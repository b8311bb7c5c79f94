//! Account settings checked by the host against the loaded connector's manifest: defaults
//! filled into what the connector receives, an explicit value winning over its default, and
//! `check` / `sync` refusing a missing required setting or an unknown key, naming the file, the
//! account and the key.

use std::path::{Path, PathBuf};
use std::process::Command;

use boxoffice::app::App;
use boxoffice::config::{Config, Vars};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

/// A config file in `dir` with `accounts` (TOML `[[account]]` sections) and a state dir there.
fn write_config(dir: &Path, accounts: &str) -> PathBuf {
    let file = dir.join("boxoffice.toml");
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{}\"\nmax_requests_per_minute = 0\n{accounts}",
            dir.join("state").display()
        ),
    )
    .unwrap();
    file
}

fn token_file(dir: &Path, token: &str) -> PathBuf {
    let p = dir.join("token");
    std::fs::write(&p, token).unwrap();
    p
}

fn account(vendor: &str, name: &str, settings: &str, token: &Path) -> String {
    format!(
        "\n[[account]]\nvendor = \"{vendor}\"\nname = \"{name}\"\nsettings = {{ {settings} }}\nsecrets = {{ token = {{ file = \"{}\" }} }}\n",
        token.display()
    )
}

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"));
    c
}

fn output(mut c: Command) -> (bool, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connector_receives_the_manifest_defaults_and_explicit_values_win() {
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path(), "settings-test-token-canary");
    let file = write_config(
        dir.path(),
        &format!(
            "{}{}",
            account(
                "shotgun",
                "paris",
                r#"organizer_id = "42", base_url = "http://127.0.0.1:9""#,
                &token
            ),
            account("qtickets", "msk", r#"lookback_hours = "5""#, &token),
        ),
    );
    let config = Config::from_vars(&Vars::load(Some(&file), &[]).unwrap()).unwrap();
    let app = App::open(config).await.unwrap();
    for (a, given) in app.config.accounts.iter().zip([
        vec![("organizer_id", "42"), ("base_url", "http://127.0.0.1:9")],
        vec![("lookback_hours", "5")],
    ]) {
        let account = app.account(a).unwrap();
        let manifest = &account.plugin.manifest;
        // What `sync_account` puts in the run context (`RunContext.settings`) verbatim.
        let got = &account.settings;
        let mut filled = 0;
        for spec in &manifest.settings {
            let value = got.iter().find(|(k, _)| *k == spec.name).map(|(_, v)| v);
            match given.iter().find(|(k, _)| *k == spec.name) {
                Some((_, v)) => assert_eq!(value.map(String::as_str), Some(*v), "{spec:?}"),
                None => {
                    assert_eq!(value, spec.default_value.as_ref(), "{spec:?}");
                    filled += usize::from(value.is_some());
                }
            }
        }
        assert!(
            filled >= 2,
            "{}/{}: no default filled: {got:?}",
            a.vendor,
            a.name
        );
        assert_eq!(
            got.len(),
            given.len() + filled,
            "{}/{}: {got:?}",
            a.vendor,
            a.name
        );
    }
    // The bundled Shotgun manifest's own defaults, spelled out once.
    let sg = app.account(&app.config.accounts[0]).unwrap();
    assert!(sg
        .settings
        .contains(&("include_cohosted_events".into(), "true".into())));
    assert!(sg.settings.contains(&(
        "events_base_url".into(),
        "https://smartboard-api.shotgun.live".into()
    )));
    assert!(sg
        .settings
        .contains(&("base_url".into(), "http://127.0.0.1:9".into())));
}

#[test]
fn check_names_the_file_the_account_and_each_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path(), "settings-test-token-canary");
    let file = write_config(
        dir.path(),
        &format!(
            "{}{}",
            account(
                "shotgun",
                "paris",
                r#"organiser_id = "42", base_url = "http://127.0.0.1:9""#,
                &token
            ),
            account("qtickets", "msk", r#"lookback_hour = "5""#, &token),
        ),
    );
    let mut c = bin(dir.path());
    c.arg("check").arg("--config").arg(&file);
    let (ok, out) = output(c);
    assert!(!ok, "{out}");
    let f = file.display();
    for want in [
        format!("FAIL shotgun/paris: {f}: account[0] (shotgun/paris).settings.organiser_id: the connector `shotgun` has no setting `organiser_id`; did you mean `organizer_id`?"),
        format!("FAIL shotgun/paris: {f}: account[0] (shotgun/paris).settings.organizer_id: the connector `shotgun` requires this setting"),
        format!("FAIL qtickets/msk: {f}: account[1] (qtickets/msk).settings.lookback_hour: the connector `qtickets` has no setting `lookback_hour`; did you mean `lookback_hours`?"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    // Refused before any request: no probe line for either account.
    assert!(!out.contains("ok   shotgun/paris"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_shows_the_complete_settings_and_sync_refuses_before_running_any_account() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 50,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path(), &sim.token());
    let good = account(
        "shotgun",
        "good",
        &format!(
            r#"organizer_id = "{}", base_url = "{b}", events_base_url = "{b}""#,
            sim.organizer_id(),
            b = srv.base_url()
        ),
        &token,
    );
    // The good account alone: check passes and shows the defaults the connector will get.
    let file = write_config(dir.path(), &good);
    let mut c = bin(dir.path());
    c.arg("check").arg("--config").arg(&file);
    let (ok, out) = output(c);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "ok   shotgun/good: settings organizer_id={}, include_cohosted_events=true, base_url={b}, events_base_url={b}, events_every_secs=900",
            sim.organizer_id(),
            b = srv.base_url()
        )),
        "{out}"
    );
    // A second account with a misspelt key: sync refuses up front, the good one does not run.
    let bad = account(
        "shotgun",
        "bad",
        &format!(
            r#"organizer_id = "1", base_url = "{b}", events_base_url = "{b}", event-id = "7""#,
            b = srv.base_url()
        ),
        &token,
    );
    let file = write_config(dir.path(), &format!("{good}{bad}"));
    let mut c = bin(dir.path());
    c.arg("sync").arg("--config").arg(&file);
    let (ok, out) = output(c);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "{}: account[1] (shotgun/bad).settings.event-id: the connector `shotgun` has no setting `event-id`; did you mean `event_id`?",
            file.display()
        )),
        "{out}"
    );
    // `sync` prints `shotgun/good: <status> — …` once that account ran: it must not have.
    assert!(!out.contains("shotgun/good:"), "{out}");
}

#[test]
fn plugins_test_checks_a_fixtures_settings_like_an_accounts() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/pretix/fixtures/first-sync");
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let context = dir.path().join("context.json");
    let mut ctx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&context).unwrap()).unwrap();
    ctx["settings"] = serde_json::json!([
        ["base_url", "https://pretix.example"],
        ["organiser", "canary"]
    ]);
    std::fs::write(&context, ctx.to_string()).unwrap();
    let mut c = bin(dir.path());
    c.args(["plugins", "test"])
        .arg(boxoffice::plugin::bundled::test_plugin_path("pretix"))
        .arg(dir.path());
    let (ok, out) = output(c);
    assert!(!ok, "{out}");
    let at = context.display();
    for want in [
        format!("{at}: settings.organiser: the connector `pretix` has no setting `organiser`; did you mean `organizer`?"),
        format!("{at}: settings.organizer: the connector `pretix` requires this setting"),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn plugins_inspect_shows_each_accounts_settings_against_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(dir.path(), "settings-test-token-canary");
    let file = write_config(
        dir.path(),
        &format!(
            "{}{}",
            account("shotgun", "paris", r#"organizer_id = "42""#, &token),
            account(
                "shotgun",
                "lyon",
                r#"organizer_id = "43", include_cohosted = "false""#,
                &token
            ),
        ),
    );
    let mut c = bin(dir.path());
    c.args(["plugins", "inspect", "shotgun", "--config"])
        .arg(&file);
    let (ok, out) = output(c);
    assert!(ok, "{out}");
    assert!(
        out.contains("settings     shotgun/paris: organizer_id=42, include_cohosted_events=true, base_url=https://api.shotgun.live, events_base_url=https://smartboard-api.shotgun.live, events_every_secs=900"),
        "{out}"
    );
    assert!(
        out.contains(&format!("settings     shotgun/lyon: REFUSED {}: account[1] (shotgun/lyon).settings.include_cohosted: the connector `shotgun` has no setting `include_cohosted`; did you mean `include_cohosted_events`?", file.display())),
        "{out}"
    );
}
