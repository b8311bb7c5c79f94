//! Starts a throwaway 2 shards × 2 replicas ClickHouse cluster with its ZooKeeper on loopback,
//! prints `BOXOFFICE_TEST_CLICKHOUSE_CLUSTER_URLS=…` (comma-separated, shard-major) and
//! `BOXOFFICE_TEST_CLICKHOUSE_CLUSTER=<name>`, and keeps it running until killed (the servers
//! die with it). For poking at the cluster schema by hand and for `.ci/run`-style sharing;
//! tests that stop a replica start their own cluster.

fn main() -> anyhow::Result<()> {
    let shards = arg("--shards", 2)?;
    let replicas = arg("--replicas", 2)?;
    let cluster = boxoffice_testkit::ClickhouseCluster::start(shards, replicas)?.ok_or_else(|| {
        anyhow::anyhow!(
            "clickhouse-server, java or zookeeper is not installed (apt-get install clickhouse-server zookeeper)"
        )
    })?;
    let urls: Vec<String> = (0..cluster.nodes().len())
        .map(|i| cluster.endpoint(i).url)
        .collect();
    let e = cluster.endpoint(0);
    println!("BOXOFFICE_TEST_CLICKHOUSE_CLUSTER_URLS={}", urls.join(","));
    println!("BOXOFFICE_TEST_CLICKHOUSE_CLUSTER={}", cluster.name());
    println!("BOXOFFICE_TEST_CLICKHOUSE_CLUSTER_USER={}", e.user);
    println!("BOXOFFICE_TEST_CLICKHOUSE_CLUSTER_PASSWORD={}", e.password);
    eprintln!(
        "cluster {shards}x{replicas} started in {:?}",
        cluster.started_in()
    );
    use std::io::Write;
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}

/// `--name N` from the command line, else `default`.
fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let v = args
                .get(i + 1)
                .ok_or_else(|| anyhow::anyhow!("{name} needs a number"))?;
            v.parse()
                .map_err(|_| anyhow::anyhow!("{name}: `{v}` is not a positive number"))
        }
    }
}
