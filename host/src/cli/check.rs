//! `boxoffice check`: validates the configuration, reaches the warehouse (migrating it) and
//! makes one real request per account through its plugin, printing one line per check (an
//! account's settings against its connector's manifest among them: one line per problem). Exits
//! non-zero when anything failed. Nothing is written except the schema.

use std::process::ExitCode;

use clap::Args;

use crate::app::App;
use crate::config::settings::SettingsError;
use crate::sync::probe_account;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
}

pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = match args.source.load() {
        Ok(c) => c,
        Err(e) => {
            println!("FAIL config: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!(
        "ok   config: {} account(s), state in {}",
        config.accounts.len(),
        config.state_dir.display()
    );
    // Which zone cuts whose sales days: a wrong `tz` shows here before it shows in the data.
    let mut by_zone: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for a in &config.accounts {
        by_zone
            .entry(config.zone_of(a).name())
            .or_default()
            .push(format!("{}/{}", a.vendor, a.name));
    }
    for (zone, accounts) in &by_zone {
        println!("ok   sales days in {zone}: {}", accounts.join(", "));
    }
    if config.accounts.is_empty() {
        println!("FAIL config: no accounts (set SHOTGUN_TOKEN + SHOTGUN_ORGANIZER_ID, QTICKETS_TOKEN, or [[account]] in a config file)");
        return Ok(ExitCode::FAILURE);
    }
    let warehouse = match &config.clickhouse {
        Some(ch) => format!("ClickHouse {}/{}", ch.url, ch.database),
        None => "SQLite warehouse".to_string(),
    };
    let app = match App::open(config).await {
        Ok(a) => a,
        Err(e) => {
            println!("FAIL {warehouse}: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("ok   {warehouse}: reachable, schema up to date");
    let mut failed = 0;
    for a in &app.config.accounts {
        let label = format!("{}/{}", a.vendor, a.name);
        // The settings against the connector's manifest: one line per problem.
        match app.settings(a) {
            Ok(r) if !r.undeclared.is_empty() => println!(
                "warn {label}: its connector declares no settings; {} passed through unchecked",
                r.undeclared.join(", ")
            ),
            Ok(r) => println!("ok   {label}: settings {}", shown(&r.settings)),
            Err(e) => {
                match e.downcast_ref::<SettingsError>() {
                    Some(problems) => problems
                        .0
                        .iter()
                        .for_each(|p| println!("FAIL {label}: {p}")),
                    None => println!("FAIL {label}: {e:#}"),
                }
                failed += 1;
                continue;
            }
        }
        let account = match app.account(a) {
            Ok(acc) => acc,
            Err(e) => {
                println!("FAIL {label}: {e:#}");
                failed += 1;
                continue;
            }
        };
        match probe_account(&app.deps, &account).await {
            Ok(seen) => println!("ok   {label}: {seen}"),
            Err(problem) => {
                println!("FAIL {label}: {problem}");
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Settings as `check` shows them: `key=value` in the manifest's order (they are not secrets).
fn shown(settings: &[(String, String)]) -> String {
    if settings.is_empty() {
        return "none".into();
    }
    settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
