//! `boxoffice plan import FILE`: loads sales plans from a CSV into the configured warehouse's
//! `plan_sales` (ClickHouse when configured, else the SQLite warehouse), for `v_plan_vs_fact`
//! and `plan_vs_fact`. The whole file is validated first; one bad line and nothing is written.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::sink::plan::{parse_csv, PlanTable};
use crate::sink::{ClickhouseWarehouse, SqliteWarehouse};

#[derive(Debug, Subcommand)]
pub enum PlanCmd {
    /// Upsert plans from a CSV with the header `sales_date,event_id,city,plan_tickets,plan_revenue`
    /// (optionally `vendor`, default qtickets). Re-importing a file changes nothing.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8; dates YYYY-MM-DD, revenue in major units with a `.`).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
}

pub async fn run(cmd: PlanCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCmd::Import(args) => import(args).await,
    }
}

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.display();
    let text =
        std::fs::read(&args.file).with_context(|| format!("reading the plan file {file}"))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "{file}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let rows = parse_csv(&text).map_err(|e| anyhow::anyhow!("{file}: {e}; nothing was written"))?;
    let config = args.source.load()?;
    let (table, place): (Box<dyn PlanTable>, String) = match &config.clickhouse {
        Some(ch) => {
            let (w, _) = ClickhouseWarehouse::open(ch.clone(), config.zones())
                .await
                .with_context(|| format!("opening ClickHouse {}/{}", ch.url, ch.database))?;
            (Box::new(w), format!("ClickHouse {}", ch.database))
        }
        None => {
            let state = crate::app::open_state(&config)?;
            let w = SqliteWarehouse::open(state.path())?;
            (
                Box::new(w),
                format!("SQLite warehouse {}", state.path().display()),
            )
        }
    };
    table
        .upsert_plans(&rows, crate::clock::now_ms())
        .await
        .with_context(|| {
            format!(
                "writing {} plan row(s) to {place}; nothing was written",
                rows.len()
            )
        })?;
    let mut vendors: Vec<&str> = rows.iter().map(|r| r.vendor.as_str()).collect();
    vendors.sort_unstable();
    vendors.dedup();
    println!(
        "{place}: {} plan row(s) from {file} upserted into plan_sales (vendor {})",
        rows.len(),
        vendors.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
