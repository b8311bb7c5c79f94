//! A throwaway standalone ZooKeeper (Debian's `zookeeper` package, run with its own `java` and
//! `/usr/share/java/zookeeper.jar`, no service scripts) on a loopback port with a temp data
//! dir: the keeper of [`crate::ClickhouseCluster`]'s replicated tables and `ON CLUSTER` queue.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::process::{find_binary, free_port, spawn_bound_keeping_output};

/// Debian's jar; its manifest's `Class-Path` names the dependencies in `/usr/share/java`.
const JAR: &str = "/usr/share/java/zookeeper.jar";

/// The jar to run: `BOXOFFICE_ZOOKEEPER_JAR` if set (what the skip/fail gating is checked
/// with: a path that does not exist is a missing ZooKeeper), else [`JAR`].
fn jar() -> PathBuf {
    std::env::var_os("BOXOFFICE_ZOOKEEPER_JAR").map_or_else(|| PathBuf::from(JAR), PathBuf::from)
}

/// A ZooKeeper this process started; stopped on drop.
pub struct ZookeeperServer {
    java: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl ZookeeperServer {
    /// Starts one, or `Ok(None)` when Java or the ZooKeeper jar is not installed.
    pub fn start() -> anyhow::Result<Option<Self>> {
        let Some(java) = find_binary("java") else {
            return Ok(None);
        };
        if !jar().is_file() {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("boxoffice-zookeeper-")
            .tempdir()?;
        let port = free_port();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data)?;
        std::fs::write(
            dir.path().join("zoo.cfg"),
            format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
                 clientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=0\n\
                 4lw.commands.whitelist=ruok,srvr\n",
                data.display()
            ),
        )?;
        let mut s = Self {
            java,
            dir,
            port,
            child: None,
        };
        s.launch()?;
        Ok(Some(s))
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.dir.path().join("zookeeper.log"))?;
        let mut cmd = Command::new(&self.java);
        cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-Xss512k"])
            .arg(format!("-Dzookeeper.log.dir={}", self.dir.path().display()))
            .args([
                "-cp",
                &jar().display().to_string(),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            ])
            .arg(self.dir.path().join("zoo.cfg"))
            .current_dir(self.dir.path())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(spawn_bound_keeping_output(cmd).context("starting ZooKeeper (java)")?);
        self.wait_ready(Duration::from_secs(60))
    }

    fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            // `ruok` answers `imok` as soon as the port listens, before the server takes
            // sessions; a ClickHouse 18.16 whose first session was refused then crashes on
            // its first replicated DDL (a null ZooKeeper in createImpl). So: a real session.
            if self.ruok() && self.accepts_a_session() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let log = std::fs::read_to_string(self.dir.path().join("zookeeper.log"))
                        .unwrap_or_default();
                    let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                    bail!("ZooKeeper exited with {status} while starting:\n{tail}");
                }
            }
            if Instant::now() > deadline {
                bail!("ZooKeeper did not answer `ruok` within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// ZooKeeper's four-letter health word.
    fn ruok(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut out = String::new();
        s.write_all(b"ruok").is_ok() && s.read_to_string(&mut out).is_ok() && out == "imok"
    }

    /// Whether a client handshake gets a session (what ClickHouse's first connection does):
    /// a `ConnectRequest` (protocol 0, no zxid, 6 s, no session, empty password) answered by
    /// a `ConnectResponse` with a non-zero session id. A server still loading closes the
    /// connection instead.
    fn accepts_a_session(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut req = Vec::with_capacity(48);
        req.extend_from_slice(&44i32.to_be_bytes());
        req.extend_from_slice(&0i32.to_be_bytes()); // protocol version
        req.extend_from_slice(&0i64.to_be_bytes()); // last zxid seen
        req.extend_from_slice(&6000i32.to_be_bytes()); // session timeout, ms
        req.extend_from_slice(&0i64.to_be_bytes()); // session id: a new one
        req.extend_from_slice(&16i32.to_be_bytes()); // password length
        req.extend_from_slice(&[0u8; 16]);
        if s.write_all(&req).is_err() {
            return false;
        }
        // length, protocol version, timeout, then the session id.
        let mut head = [0u8; 20];
        if s.read_exact(&mut head).is_err() {
            return false;
        }
        let session = i64::from_be_bytes(head[12..20].try_into().unwrap_or([0; 8]));
        // Close the session so it does not linger for its timeout (xid 1, opcode -11).
        let mut close = Vec::with_capacity(12);
        close.extend_from_slice(&8i32.to_be_bytes());
        close.extend_from_slice(&1i32.to_be_bytes());
        close.extend_from_slice(&(-11i32).to_be_bytes());
        let _ = s.write_all(&close);
        session != 0
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it (SIGKILL) and waits.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ZookeeperServer {
    fn drop(&mut self) {
        self.stop();
    }
}
