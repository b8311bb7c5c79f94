//! Issue 19's bench row: the Shotgun pipeline into a local sharded, replicated ClickHouse
//! cluster (ZooKeeper + 2 shards × 2 replicas of Debian's clickhouse-server, started by
//! `boxoffice_testkit::ClickhouseCluster`) beside the same pipeline into one local server, in
//! the same run, each checked against the simulator's truth like every pipeline row.
//!
//! Skipped, saying why, when clickhouse-server, Java or ZooKeeper is not installed.

use std::path::Path;

use boxoffice::sink::clickhouse::client::REQUEST_TIMEOUT;
use boxoffice::sink::clickhouse::ClickhouseEncoding;
use boxoffice::sink::ClickhouseConfig;
use boxoffice_testkit::clickhouse::ClickhouseEndpoint;
use boxoffice_testkit::{ClickhouseCluster, ClickhouseServer};

use crate::pipeline::{self, PipelineRun, Warehouse};

/// The two runs, or why there are none.
pub enum ClusterBench {
    Skipped(String),
    Measured {
        cluster: Box<PipelineRun>,
        single: Box<PipelineRun>,
        /// Shards × replicas.
        shape: (usize, usize),
    },
}

fn warehouse(ep: &ClickhouseEndpoint) -> Warehouse {
    Warehouse::Clickhouse(
        ClickhouseConfig {
            url: ep.url.clone(),
            user: ep.user.clone(),
            password: ep.password.clone(),
            database: "boxoffice_bench".into(),
            encoding: ClickhouseEncoding::default(),
            timeout: REQUEST_TIMEOUT,
        },
        None,
    )
}

/// `tickets` Shotgun tickets into a 2×2 cluster, then into one server (both throwaway).
pub async fn cluster_vs_single(tickets: u64, scratch: &Path) -> anyhow::Result<ClusterBench> {
    let Some(cluster) = tokio::task::spawn_blocking(|| ClickhouseCluster::start(2, 2)).await??
    else {
        return Ok(ClusterBench::Skipped(
            "clickhouse-server, Java or ZooKeeper is not installed".into(),
        ));
    };
    let Some(single) = tokio::task::spawn_blocking(ClickhouseServer::start).await?? else {
        return Ok(ClusterBench::Skipped(
            "clickhouse-server is not installed".into(),
        ));
    };
    let shape = (cluster.shards(), cluster.replicas());
    let c = pipeline::shotgun_into(
        tickets,
        &scratch.join("cluster"),
        &warehouse(&cluster.endpoint(0)),
        Some(cluster.name()),
    )
    .await?;
    let s = pipeline::shotgun(
        tickets,
        &scratch.join("single"),
        &warehouse(&single.endpoint()),
    )
    .await?;
    tokio::task::spawn_blocking(move || {
        drop(cluster);
        drop(single);
    })
    .await?;
    Ok(ClusterBench::Measured {
        cluster: Box::new(c),
        single: Box::new(s),
        shape,
    })
}
