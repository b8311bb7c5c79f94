//! A throwaway ClickHouse cluster on loopback: one standalone ZooKeeper and `shards × replicas`
//! Debian `clickhouse-server`s, each with its own temp dir and ports, its `{shard}`/`{replica}`
//! macros and one `remote_servers` definition naming them all (cluster [`CLUSTER`]).
//!
//! Owns the cluster's config (keeper, macros, remote servers, interserver port, the profile
//! settings the sharded warehouse relies on), parallel start-up, stopping and restarting one
//! replica, and teardown on drop. Schemas belong to the tests and to `boxoffice migrate`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use crate::clickhouse::{ClickhouseEndpoint, ClickhouseServer};
use crate::process::free_port;
use crate::zookeeper::ZookeeperServer;

/// The cluster's name in `remote_servers` (what `[clickhouse] cluster` names).
pub const CLUSTER: &str = "boxoffice";

/// One server of the cluster.
pub struct ClusterNode {
    /// 1-based, as in the `{shard}` macro (`01`, `02`, …).
    pub shard: usize,
    /// 1-based within the shard.
    pub replica: usize,
    pub server: ClickhouseServer,
}

impl ClusterNode {
    /// The `{shard}` macro's value.
    pub fn shard_macro(&self) -> String {
        format!("{:02}", self.shard)
    }

    /// The `{replica}` macro's value: unique in the whole cluster.
    pub fn replica_macro(&self) -> String {
        format!("s{:02}r{}", self.shard, self.replica)
    }
}

/// ZooKeeper plus `shards × replicas` ClickHouse servers; all stopped on drop (servers first).
pub struct ClickhouseCluster {
    nodes: Vec<ClusterNode>,
    zookeeper: ZookeeperServer,
    shards: usize,
    replicas: usize,
    started_in: Duration,
}

impl ClickhouseCluster {
    /// Starts the cluster, or `Ok(None)` when `clickhouse-server`, Java or ZooKeeper is not
    /// installed. The servers start in parallel; `started_in` says how long it all took.
    pub fn start(shards: usize, replicas: usize) -> anyhow::Result<Option<Self>> {
        anyhow::ensure!(
            shards >= 1 && replicas >= 1,
            "a cluster needs at least one shard and one replica (asked {shards}×{replicas})"
        );
        let t0 = Instant::now();
        let Some(zookeeper) = ZookeeperServer::start()? else {
            return Ok(None);
        };
        let zk_port = zookeeper.port();
        // Ports first: every server's remote_servers names every other server's TCP port.
        let layout: Vec<(usize, usize, u16, u16, u16)> = (1..=shards)
            .flat_map(|s| (1..=replicas).map(move |r| (s, r)))
            .map(|(s, r)| (s, r, free_port(), free_port(), free_port()))
            .collect();
        let remote = remote_servers(&layout, replicas);
        let handles: Vec<_> = layout
            .iter()
            .map(|&(shard, replica, http, tcp, inter)| {
                let remote = remote.clone();
                std::thread::spawn(move || {
                    ClickhouseServer::start_on(http, tcp, |dir| {
                        write_cluster_config(dir, shard, replica, inter, zk_port, &remote)
                    })
                    .map(|s| (shard, replica, s))
                })
            })
            .collect();
        let mut nodes = Vec::new();
        let mut first_err = None;
        for h in handles {
            match h
                .join()
                .map_err(|_| anyhow!("a server's start-up thread panicked"))?
            {
                Ok((shard, replica, Some(server))) => nodes.push(ClusterNode {
                    shard,
                    replica,
                    server,
                }),
                Ok((_, _, None)) => return Ok(None),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        if let Some(e) = first_err {
            return Err(e.context("starting the ClickHouse cluster"));
        }
        let mut cluster = Self {
            nodes,
            zookeeper,
            shards,
            replicas,
            started_in: Duration::ZERO,
        };
        // Ready means the keeper answers every server (the first replicated CREATE needs it).
        // As long as a server's and the keeper's own start may take (60 s): in the one test
        // binary the cluster starts while other tests hold the cores, and once a server took
        // longer than 30 s (a set-up wait, not a check of boxoffice).
        for n in &cluster.nodes {
            wait_for(Duration::from_secs(60), || {
                n.server
                    .endpoint()
                    .query("SELECT count() FROM system.zookeeper WHERE path = '/'")
                    .is_ok()
            })
            .with_context(|| {
                format!(
                    "server {} of the cluster never reached ZooKeeper",
                    n.replica_macro()
                )
            })?;
        }
        cluster.started_in = t0.elapsed();
        Ok(Some(cluster))
    }

    /// How long [`Self::start`] took, ZooKeeper included.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// The cluster's name for `ON CLUSTER` and `Distributed`.
    pub fn name(&self) -> &'static str {
        CLUSTER
    }

    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// The writer's endpoint on node `i` (shard-major: `i = (shard-1)·replicas + replica-1`).
    pub fn endpoint(&self, i: usize) -> ClickhouseEndpoint {
        self.nodes[i].server.endpoint()
    }

    /// Stops node `i` (SIGKILL, an outage).
    pub fn stop_node(&mut self, i: usize) {
        self.nodes[i].server.stop();
    }

    /// Starts node `i` again with its data.
    pub fn start_node(&mut self, i: usize) -> anyhow::Result<()> {
        self.nodes[i].server.restart()
    }

    pub fn zookeeper_port(&self) -> u16 {
        self.zookeeper.port()
    }
}

impl Drop for ClickhouseCluster {
    fn drop(&mut self) {
        // Servers before their keeper, so none spends its last seconds reconnecting.
        for n in &mut self.nodes {
            n.server.stop();
        }
        self.zookeeper.stop();
    }
}

fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            anyhow::bail!("not ready within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn remote_servers(layout: &[(usize, usize, u16, u16, u16)], replicas: usize) -> String {
    let mut x = format!("<remote_servers><{CLUSTER}>");
    for shard in layout.chunks(replicas) {
        x.push_str("<shard><internal_replication>true</internal_replication>");
        for &(_, _, _, tcp, _) in shard {
            x.push_str(&format!(
                "<replica><host>127.0.0.1</host><port>{tcp}</port></replica>"
            ));
        }
        x.push_str("</shard>");
    }
    x.push_str(&format!("</{CLUSTER}></remote_servers>"));
    x
}

fn write_cluster_config(
    dir: &Path,
    shard: usize,
    replica: usize,
    interserver_port: u16,
    zk_port: u16,
    remote_servers: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("config.d"))?;
    std::fs::create_dir_all(dir.join("users.d"))?;
    std::fs::write(
        dir.join("config.d/cluster.xml"),
        format!(
            r#"<?xml version="1.0"?>
<yandex>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>{interserver_port}</interserver_http_port>
    <zookeeper>
        <node><host>127.0.0.1</host><port>{zk_port}</port></node>
        <session_timeout_ms>6000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>{shard:02}</shard>
        <replica>s{shard:02}r{replica}</replica>
    </macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    {remote_servers}
</yandex>
"#
        ),
    )?;
    // The sharded warehouse's session settings (docs/scaling.md): a write through a Distributed
    // table returns once every shard has it (so the cursor commits after the data, as on one
    // server), and a view's JOIN subquery reads the shard-local table (the sharding key keeps an
    // account's tickets and events on one shard).
    std::fs::write(
        dir.join("users.d/cluster.xml"),
        r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <insert_distributed_sync>1</insert_distributed_sync>
            <distributed_product_mode>local</distributed_product_mode>
            <connect_timeout_with_failover_ms>200</connect_timeout_with_failover_ms>
        </default>
    </profiles>
</yandex>
"#,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_replicates_distributes_and_survives_a_stopped_replica() {
        let Some(mut c) = ClickhouseCluster::start(2, 2).unwrap() else {
            crate::skip_or_fail(
                "testkit cluster",
                "clickhouse-server, java or zookeeper is not installed",
            );
            return;
        };
        eprintln!("cluster 2x2 started in {:?}", c.started_in());
        let e = c.endpoint(0);
        e.query("CREATE DATABASE IF NOT EXISTS kit ON CLUSTER boxoffice")
            .unwrap();
        e.query(
            "CREATE TABLE kit.t_local ON CLUSTER boxoffice (k UInt32, v UInt32) \
             ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/kit/t_local', '{replica}') \
             ORDER BY k",
        )
        .unwrap();
        e.query(
            "CREATE TABLE kit.t ON CLUSTER boxoffice AS kit.t_local \
             ENGINE = Distributed(boxoffice, kit, t_local, k)",
        )
        .unwrap();
        // Node 1 (shard 1's second replica) is down while rows are written through node 2.
        c.stop_node(1);
        let w = c.endpoint(2);
        w.query("INSERT INTO kit.t VALUES (1, 10), (2, 20), (3, 30), (4, 40)")
            .unwrap();
        assert_eq!(w.query("SELECT sum(v) FROM kit.t").unwrap().trim(), "100");
        c.start_node(1).unwrap();
        // Both shards hold rows; the restarted replica catches up with its shard.
        let shard_rows = |i: usize| -> u64 {
            c.endpoint(i)
                .query("SELECT count() FROM kit.t_local")
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        let (s1, s2) = (shard_rows(0), shard_rows(2));
        assert!(s1 > 0 && s2 > 0 && s1 + s2 == 4, "{s1} + {s2}");
        wait_for(Duration::from_secs(30), || shard_rows(1) == s1).unwrap();
        assert_eq!(shard_rows(3), s2);
    }
}
