//! Starts a throwaway ClickHouse on a loopback port, prints `BOXOFFICE_TEST_CLICKHOUSE_URL=…`
//! and keeps it running until this process is killed (the server dies with it). `.ci/run`
//! uses it so all test binaries share one server; developers use it to poke at the schema.

fn main() -> anyhow::Result<()> {
    let server = boxoffice_testkit::ClickhouseServer::start()?.ok_or_else(|| {
        anyhow::anyhow!("clickhouse-server is not installed (apt-get install clickhouse-server)")
    })?;
    let e = server.endpoint();
    println!("BOXOFFICE_TEST_CLICKHOUSE_URL={}", e.url);
    println!("BOXOFFICE_TEST_CLICKHOUSE_USER={}", e.user);
    println!("BOXOFFICE_TEST_CLICKHOUSE_PASSWORD={}", e.password);
    use std::io::Write;
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
