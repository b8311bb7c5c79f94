//! Where a command reads its configuration from: the `--envfile`/`--config` pair every command
//! that touches accounts takes (flattened into each command's arguments), and loading it.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Config, Vars};

#[derive(Debug, Args)]
pub struct ConfigSource {
    /// KEY=VALUE files read before the environment (which wins).
    #[arg(long = "envfile")]
    pub envfiles: Vec<PathBuf>,
    /// TOML config file (accounts, sink, limits); env files and the environment override it.
    #[arg(long, env = "BOXOFFICE_CONFIG")]
    pub config: Option<PathBuf>,
}

impl ConfigSource {
    /// The file, then the env files, then the environment, validated.
    pub fn load(&self) -> anyhow::Result<Config> {
        let vars = Vars::load(self.config.as_deref(), &self.envfiles)?;
        Ok(Config::from_vars(&vars)?)
    }
}
