use super::*;

#[test]
fn old_exporter_names_are_accepted() {
    let v = Vars::from_pairs([
        ("SHOTGUN_API_KEY", "jwt-value"),
        ("SHOTGUN_ORGANIZER_ID", "100001"),
        ("EXPORTER_PORT", "9123"),
        ("SCRAPE_INTERVAL", "60"),
        ("INCLUDE_COHOSTED_EVENTS", "false"),
    ]);
    let c = Config::from_vars(&v).unwrap();
    assert_eq!(c.listen.port(), 9123);
    let a = &c.accounts[0];
    assert_eq!(a.vendor, "shotgun");
    assert_eq!(a.interval_secs, Some(60));
    assert_eq!(a.secrets["token"], "jwt-value");
    assert!(a
        .settings
        .contains(&("include_cohosted_events".into(), "false".into())));
    assert!(
        !format!("{a:?}").contains("jwt-value"),
        "Debug must not print secrets"
    );
}

#[test]
fn errors_name_the_key_and_the_fix_without_the_secret() {
    let e = Config::from_vars(&Vars::from_pairs([("SHOTGUN_TOKEN", "s3cret-canary")])).unwrap_err();
    let m = e.to_string();
    assert!(m.starts_with("SHOTGUN_ORGANIZER_ID: missing"), "{m}");
    assert!(!m.contains("s3cret-canary"));
    let e = Config::from_vars(&Vars::from_pairs([("EXPORTER_PORT", "http")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("EXPORTER_PORT: `http` is not a port"),
        "{e}"
    );
    let e = Config::from_vars(&Vars::from_pairs([("TZ", "Mars/Olympus")])).unwrap_err();
    assert!(e.to_string().starts_with("TZ:"), "{e}");
}

#[test]
fn env_files_parse_and_report_bad_lines() {
    let m = envfile::parse("# c\nexport A=1\nB=\"two words\"\nC='x'\n\n", "f").unwrap();
    assert_eq!(m["A"], "1");
    assert_eq!(m["B"], "two words");
    assert_eq!(m["C"], "x");
    let e = envfile::parse("A=1\nnot a line\n", "f.env").unwrap_err();
    assert_eq!(e.to_string(), "f.env: line 2: expected KEY=VALUE");
    let e = envfile::read(std::path::Path::new("/nonexistent/x.env")).unwrap_err();
    assert!(e.to_string().contains("cannot read the env file"));
}

#[test]
fn secrets_come_from_files_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tok");
    std::fs::write(&f, "from-file\n").unwrap();
    let fs = f.to_str().unwrap();
    let v = Vars::from_pairs([("SHOTGUN_TOKEN_FILE", fs), ("SHOTGUN_ORGANIZER_ID", "1")]);
    let c = Config::from_vars(&v).unwrap();
    assert_eq!(c.accounts[0].secrets["token"], "from-file");
    let creds = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("shotgun_token"), "from-credentials").unwrap();
    let v = Vars::from_pairs([
        ("CREDENTIALS_DIRECTORY", creds),
        ("SHOTGUN_ORGANIZER_ID", "1"),
    ]);
    assert_eq!(
        Config::from_vars(&v).unwrap().accounts[0].secrets["token"],
        "from-credentials"
    );
}

#[test]
fn old_qtickets_loader_names_are_accepted() {
    let v = Vars::from_pairs([
        ("QTICKETS_API_TOKEN", "qt-secret-canary"),
        ("QTICKETS_API_BASE_URL", "https://qtickets.ru/api/rest/v1/"),
        ("CLICKHOUSE_HOST", "ch.internal"),
        ("CLICKHOUSE_USER", "etl_writer"),
        ("CLICKHOUSE_PASSWORD", "ch-secret-canary"),
        ("CLICKHOUSE_DATABASE", "zakaz"),
        ("ORG_NAME", "acme"),
        ("TZ", "Europe/Moscow"),
    ]);
    let c = Config::from_vars(&v).unwrap();
    let a = &c.accounts[0];
    assert_eq!((a.vendor.as_str(), a.name.as_str()), ("qtickets", "acme"));
    assert_eq!(a.secrets["token"], "qt-secret-canary");
    assert!(a
        .settings
        .contains(&("base_url".into(), "https://qtickets.ru/api/rest/v1".into())));
    let ch = c.clickhouse.as_ref().unwrap();
    assert_eq!(ch.url, "http://ch.internal:8123");
    assert_eq!(ch.database, "zakaz");
    assert_eq!(ch.password, "ch-secret-canary");
    assert_eq!(c.tz.name(), "Europe/Moscow");
    let printed = format!("{c:?}");
    assert!(!printed.contains("qt-secret-canary") && !printed.contains("ch-secret-canary"));
}

#[test]
fn clickhouse_misconfigurations_are_named() {
    let native = Config::from_vars(&Vars::from_pairs([
        ("CLICKHOUSE_HOST", "localhost"),
        ("CLICKHOUSE_PORT", "9000"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        native.starts_with("CLICKHOUSE_PORT") && native.contains("8123"),
        "{native}"
    );
    let db = Config::from_vars(&Vars::from_pairs([
        ("CLICKHOUSE_HOST", "localhost"),
        ("CLICKHOUSE_DATABASE", "x; DROP"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(db.starts_with("CLICKHOUSE_DATABASE"), "{db}");
    let no_token = Config::from_vars(&Vars::from_pairs([(
        "QTICKETS_BASE_URL",
        "https://qtickets.ru/api/rest/v1",
    )]))
    .unwrap_err()
    .to_string();
    assert!(no_token.starts_with("QTICKETS_TOKEN"), "{no_token}");
}

#[test]
fn config_file_adds_accounts_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("paris_token");
    std::fs::write(&token, "paris-secret-canary\n").unwrap();
    let cfg = dir.path().join("boxoffice.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
listen_port = 9500
tz = "UTC"
[[account]]
vendor = "shotgun"
name = "paris"
settings = {{ organizer_id = "1" }}
secrets = {{ token = {{ file = "{}" }} }}
[[account]]
vendor = "shotgun"
name = "lyon"
interval_secs = 60
settings = {{ organizer_id = "2", base_url = "http://127.0.0.1:9" }}
secrets = {{ token = {{ env = "LYON_TOKEN_FOR_TEST" }} }}
"#,
            token.display()
        ),
    )
    .unwrap();
    std::env::set_var("LYON_TOKEN_FOR_TEST", "lyon-secret-canary");
    let mut v = Vars::load(Some(&cfg), &[]).unwrap();
    v.vars.insert("TZ".into(), "+02:00".into()); // as if exported: the environment wins
    let c = Config::from_vars(&v).unwrap();
    assert_eq!(c.listen.port(), 9500);
    assert_eq!(c.tz.name(), "+02:00");
    let names: Vec<_> = c.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["paris", "lyon"]);
    assert_eq!(c.accounts[0].secrets["token"], "paris-secret-canary");
    assert_eq!(c.accounts[1].secrets["token"], "lyon-secret-canary");
    assert_eq!(c.accounts[1].extra_origins, ["http://127.0.0.1:9"]);
    assert!(!format!("{c:?}").contains("secret-canary"));

    std::fs::write(&cfg, "listen_prot = 1\n").unwrap();
    let e = Vars::load(Some(&cfg), &[]).err().unwrap().to_string();
    assert!(
        e.contains("boxoffice.toml") && e.contains("listen_prot"),
        "{e}"
    );

    std::fs::write(
        &cfg,
        "[[account]]\nvendor = \"shotgun\"\nname = \"a\"\n[[account]]\nvendor = \"shotgun\"\nname = \"a\"\n",
    )
    .unwrap();
    let e = Config::from_vars(&Vars::load(Some(&cfg), &[]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("shotgun/a") && e.contains("twice"), "{e}");
}

/// A secret too short to scrub from responses safely is refused where it is configured, by
/// key, without its value.
#[test]
fn short_secrets_are_refused_naming_the_key() {
    for (key, other) in [
        ("SHOTGUN_TOKEN", ("SHOTGUN_ORGANIZER_ID", "1")),
        ("SHOTGUN_API_KEY", ("SHOTGUN_ORGANIZER_ID", "1")),
        ("QTICKETS_TOKEN", ("QTICKETS_ACCOUNT", "a")),
    ] {
        let e = Config::from_vars(&Vars::from_pairs([(key, "shrt-7c"), other]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(key) && e.contains("8 characters"), "{e}");
        assert!(!e.contains("shrt-7c"), "{e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boxoffice.toml");
    std::fs::write(
        &cfg,
        "[[account]]\nvendor = \"shotgun\"\nname = \"paris\"\nsecrets = { token = { env = \"SHORT_TOKEN_FOR_TEST\" } }\n",
    )
    .unwrap();
    std::env::set_var("SHORT_TOKEN_FOR_TEST", "abc123");
    let e = Vars::load(Some(&cfg), &[]).err().unwrap().to_string();
    assert!(e.contains("(shotgun/paris).secrets.token"), "{e}");
    assert!(!e.contains("abc123"), "{e}");
}

#[test]
fn any_iana_zone_in_tz_and_per_account() {
    for (tz, name) in [
        ("Europe/Paris", "Europe/Paris"),
        (
            "America/Argentina/Buenos_Aires",
            "America/Argentina/Buenos_Aires",
        ),
        ("+05:30", "+05:30"),
        ("UTC", "UTC"),
    ] {
        let c = Config::from_vars(&Vars::from_pairs([("TZ", tz)])).unwrap();
        assert_eq!(c.tz.name(), name);
    }
    let e = Config::from_vars(&Vars::from_pairs([("TZ", "Europe/Pariss")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("TZ:") && e.contains("`Europe/Pariss`") && e.contains("Europe/Paris"),
        "{e}"
    );

    // A Paris Shotgun account and a Moscow QTickets account in one daemon; a third account
    // without `tz` takes the global one.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boxoffice.toml");
    let account = |vendor: &str, name: &str, tz: &str| {
        format!(
            "[[account]]\nvendor = \"{vendor}\"\nname = \"{name}\"\n{tz}\nsecrets = {{ token = {{ env = \"TZ_TEST_TOKEN\" }} }}\n"
        )
    };
    std::env::set_var("TZ_TEST_TOKEN", "tz-secret-canary");
    std::fs::write(
        &cfg,
        format!(
            "tz = \"Asia/Novosibirsk\"\n{}{}{}",
            account("shotgun", "paris", "tz = \"Europe/Paris\""),
            account("qtickets", "msk", "tz = \"Europe/Moscow\""),
            account("qtickets", "nsk", ""),
        ),
    )
    .unwrap();
    let c = Config::from_vars(&Vars::load(Some(&cfg), &[]).unwrap()).unwrap();
    let zones = c.zones();
    assert_eq!(zones.of("shotgun", "paris").name(), "Europe/Paris");
    assert_eq!(zones.of("qtickets", "msk").name(), "Europe/Moscow");
    assert_eq!(zones.of("qtickets", "nsk").name(), "Asia/Novosibirsk");
    assert_eq!(c.zone_of(&c.accounts[0]).name(), "Europe/Paris");
    assert_eq!(c.zone_of(&c.accounts[2]).name(), "Asia/Novosibirsk");

    std::fs::write(
        &cfg,
        format!(
            "{}{}",
            account("shotgun", "paris", "tz = \"Europe/Paris\""),
            account("qtickets", "msk", "tz = \"Moscow\""),
        ),
    )
    .unwrap();
    let e = Vars::load(Some(&cfg), &[]).err().unwrap().to_string();
    assert!(
        e.starts_with("account[1] (qtickets/msk).tz:") && e.contains("`Moscow`"),
        "{e}"
    );
    assert!(!e.contains("tz-secret-canary"));

    std::fs::write(&cfg, "tz = \"Paris\"\n").unwrap();
    let e = Vars::load(Some(&cfg), &[]).err().unwrap().to_string();
    assert!(e.starts_with("tz: `Paris`"), "{e}");
}

#[test]
fn the_clickhouse_timeout_comes_from_the_file_or_the_environment_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boxoffice.toml");
    std::fs::write(
        &cfg,
        "[clickhouse]\nhost = \"127.0.0.1\"\ntimeout_secs = 7\n",
    )
    .unwrap();
    let c = Config::from_vars(&Vars::load(Some(&cfg), &[]).unwrap()).unwrap();
    assert_eq!(
        c.clickhouse.unwrap().timeout,
        std::time::Duration::from_secs(7)
    );
    let default = Config::from_vars(&Vars::from_pairs([("CLICKHOUSE_HOST", "localhost")]))
        .unwrap()
        .clickhouse
        .unwrap();
    assert_eq!(default.timeout, std::time::Duration::from_secs(60));
    let zero = Config::from_vars(&Vars::from_pairs([
        ("CLICKHOUSE_HOST", "localhost"),
        ("CLICKHOUSE_TIMEOUT_SECS", "0"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(zero.starts_with("CLICKHOUSE_TIMEOUT_SECS: 0 s"), "{zero}");
    let word = Config::from_vars(&Vars::from_pairs([
        ("CLICKHOUSE_HOST", "localhost"),
        ("CLICKHOUSE_TIMEOUT_SECS", "soon"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(word.starts_with("CLICKHOUSE_TIMEOUT_SECS"), "{word}");
}
