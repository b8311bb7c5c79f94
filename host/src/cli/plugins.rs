//! `boxoffice plugins list | inspect | test | new` (`new` in `plugins_new`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;

use crate::plugin::catalog::{default_cache_dir, load, plugin_bytes};
use crate::plugin::contract::supported_versions;
use crate::plugin::replay::{bless, compare, replay, Fixture};
use crate::plugin::{bundled, PluginLimits, PluginRuntime, Pseudonymizer};

#[derive(Debug, Subcommand)]
pub enum PluginsCmd {
    /// The plugins this binary can run.
    List,
    /// Manifest, WIT version, imports/exports, size and timings of a plugin; what it asks
    /// for (hosts, secrets, budget) and what the current configuration grants it.
    Inspect {
        /// A bundled plugin name or a path to a .wasm component.
        plugin: String,
        #[command(flatten)]
        source: super::config_source::ConfigSource,
    },
    /// Replay recorded responses through a plugin and compare with golden output.
    Test {
        /// A bundled plugin name or a path to a .wasm component.
        plugin: String,
        /// A fixture directory (context.json, exchanges.json, golden.json).
        fixtures: PathBuf,
        /// Rewrite golden.json with what the plugin emits now.
        #[arg(long)]
        bless: bool,
    },
    /// Scaffold a new connector crate from the template: builds for wasm32-wasip2 and passes
    /// `plugins test` on its sample fixture as it is.
    New {
        /// The connector's name and manifest id: lower-case letters, digits, `-`.
        name: String,
        /// Where to write it (must not exist); default `./NAME`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The connector SDK (`plugins/sdk`) the new crate depends on by path; default: the
        /// SDK of the checkout this binary was built from.
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
}

fn runtime() -> anyhow::Result<PluginRuntime> {
    PluginRuntime::new(PluginLimits::default(), default_cache_dir())
}

pub async fn run(cmd: PluginsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginsCmd::New {
            name,
            dir,
            sdk_path,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = sdk_path.unwrap_or_else(super::plugins_new::default_sdk_path);
            let files = super::plugins_new::scaffold(&name, &dir, &sdk)?;
            let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
            println!(
                "created {} ({} files). {}",
                dir.display(),
                files.len(),
                super::plugins_new::next_steps(&name, &dir, target_dir.as_deref())
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginsCmd::List => {
            let rt = runtime()?;
            println!(
                "{:<10} {:<10} {:<8} {:<6} {:>9}  sha256",
                "id", "vendor", "version", "wit", "bytes"
            );
            let mut failed = false;
            for b in bundled::ALL {
                let p = match rt.load(b.name, b.wasm).await {
                    Ok(p) => p,
                    Err(e) => {
                        println!("{:<10} unusable: {e}", b.name);
                        failed = true;
                        continue;
                    }
                };
                println!(
                    "{:<10} {:<10} {:<8} {:<6} {:>9}  {}",
                    p.manifest.id,
                    p.manifest.vendor,
                    p.manifest.version,
                    p.wit_version.as_deref().unwrap_or("?"),
                    p.size_bytes,
                    &p.sha256[..16]
                );
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        PluginsCmd::Inspect { plugin, source } => {
            let (name, bytes) = plugin_bytes(&plugin)?;
            // Compile without the cache to report the real compile time, then load cached.
            let cold = PluginRuntime::new(PluginLimits::default(), None)?;
            let compiled = cold.load(&name, &bytes).await?;
            let rt = runtime()?;
            rt.load(&name, &bytes).await?;
            let cached = rt.load(&name, &bytes).await?;
            let started = Instant::now();
            let mut inst = cached
                .instantiate(std::sync::Arc::new(Pseudonymizer::new(rand::random())))
                .await?;
            inst.manifest().await?;
            let first_call = started.elapsed();
            let m = &cached.manifest;
            println!("plugin       {} ({}) {}", m.id, m.vendor, m.version);
            println!(
                "wit          {} (host supports {})",
                cached.wit_version.as_deref().unwrap_or("unknown"),
                supported_versions()
            );
            let (shape, ceiling) = (cached.shape, cached.limits().store);
            println!(
                "shape        {} core instances, {} memories, {} tables (its store caps; \
                 ceiling {}, {}, {})",
                shape.instances,
                shape.memories,
                shape.tables,
                ceiling.max_instances,
                ceiling.max_memories,
                ceiling.max_tables
            );
            println!(
                "size         {} bytes, sha256 {}",
                cached.size_bytes, cached.sha256
            );
            println!("compile      {:.1} ms", ms(compiled.load_time));
            println!(
                "cached load  {:.2} ms ({:?})",
                ms(cached.load_time),
                cached.cache
            );
            println!("instantiate+first call {:.3} ms", ms(first_call));
            let provenance = if bundled::ALL.iter().any(|b| b.name == plugin) {
                crate::http::Provenance::Bundled
            } else {
                crate::http::Provenance::DropIn
            };
            let config = source.load();
            super::plugin_grants::print(m, provenance, &cached.sha256, &config);
            for s in &m.settings {
                println!(
                    "setting      {}{} = {}  — {}",
                    s.name,
                    if s.required { " (required)" } else { "" },
                    s.default_value.as_deref().unwrap_or("-"),
                    s.description
                );
            }
            // Each configured account of this id, its settings held to this manifest.
            for a in config.iter().flat_map(|c| &c.accounts) {
                if a.vendor != m.id {
                    continue;
                }
                let label = format!("{}/{}", a.vendor, a.name);
                match crate::config::settings::resolve(
                    &m.id,
                    &m.settings,
                    &a.vendor,
                    &a.name,
                    &a.origin,
                    &a.settings,
                ) {
                    Ok(r) => println!(
                        "settings     {label}: {}",
                        r.settings
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Err(e) => {
                        e.0.iter()
                            .for_each(|p| println!("settings     {label}: REFUSED {p}"))
                    }
                }
            }
            println!("imports      {}", cached.imports.join(", "));
            println!("exports      {}", cached.exports.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        PluginsCmd::Test {
            plugin,
            fixtures,
            bless: do_bless,
        } => {
            let rt = runtime()?;
            let loaded = load(&rt, &plugin).await?;
            let fixture = Fixture::load(&fixtures)?;
            let outcome = replay(&loaded, &fixture).await?;
            if do_bless {
                bless(&fixture, &outcome)?;
                println!(
                    "blessed {}: {} requests, {} records",
                    fixture.golden_path().display(),
                    outcome.requests.len(),
                    outcome.records.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            match compare(&fixture, &outcome) {
                Ok(()) => {
                    println!(
                        "ok: {} matches {} ({} requests, {} records)",
                        plugin,
                        fixture.golden_path().display(),
                        outcome.requests.len(),
                        outcome.records.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(diff) => {
                    eprintln!("{diff:#}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
