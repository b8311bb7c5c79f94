//! `boxoffice migrate`: brings every configured store's schema up to date and says what it did.
//! The daemon and `sync` migrate at start-up too; this command is for deploy scripts that want
//! the schema ready (and a tampered migration reported) before anything runs.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::sink::{clickhouse, ClickhouseWarehouse, SqliteWarehouse};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = args.source.load()?;
    let state = crate::app::open_state(&config)?;
    println!("SQLite state {}: up to date", state.path().display());
    match &config.clickhouse {
        Some(ch) => {
            let cluster = config.clickhouse_cluster.as_deref();
            let (_, report) = ClickhouseWarehouse::open_on(ch.clone(), cluster, config.zones())
                .await
                .with_context(|| format!("migrating ClickHouse {}/{}", ch.url, ch.database))?;
            for name in &report.applied {
                println!("ClickHouse {}: applied {name}", ch.database);
            }
            println!(
                "ClickHouse {}: {} applied now, {} already applied, {} known",
                ch.database,
                report.applied.len(),
                report.already.len(),
                clickhouse::MIGRATIONS.len()
            );
        }
        None => {
            SqliteWarehouse::open(state.path())?;
            println!(
                "SQLite warehouse {}: up to date, in the state database (set CLICKHOUSE_HOST to \
                 use ClickHouse)",
                state.path().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
