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
