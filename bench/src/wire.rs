//! A loopback TCP relay in front of the bench's ClickHouse that counts the bytes boxoffice
//! sends (HTTP headers and bodies, compressed or not), so the two row encodings can be compared
//! on what actually crosses the wire. Plain `http://` servers only: TLS would need the server's
//! own name, which a relay on 127.0.0.1 does not have.
//!
//! Every ClickHouse run of the bench goes through it, whatever its encoding, so they pay the
//! same extra hop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes sent to the server so far (all connections through the relay).
#[derive(Debug, Clone, Default)]
pub struct WireMeter(Arc<AtomicU64>);

impl WireMeter {
    pub fn sent(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A running relay: its URL (`http://127.0.0.1:<port>`) and meter. Stops when dropped.
pub struct WireRelay {
    pub url: String,
    pub meter: WireMeter,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WireRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a relay to the server of `url`, or `None` for an `https://` one.
pub async fn relay(url: &str) -> anyhow::Result<Option<WireRelay>> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("ClickHouse URL {url}"))?;
    if parsed.scheme() != "http" {
        return Ok(None);
    }
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port_or_known_default().unwrap_or(8123)
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let meter = WireMeter::default();
    let counted = meter.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, counted) = (upstream.clone(), counted.clone());
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    let _ = pipe(client, server, counted).await;
                }
            });
        }
    });
    Ok(Some(WireRelay {
        url: format!("http://127.0.0.1:{port}"),
        meter,
        task,
    }))
}

/// Copies both ways until either side closes, counting client → server bytes.
async fn pipe(client: TcpStream, server: TcpStream, meter: WireMeter) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            meter.0.fetch_add(n as u64, Ordering::Relaxed);
            sw.write_all(&buf[..n]).await?;
        }
        sw.shutdown().await
    };
    let down = async {
        tokio::io::copy(&mut sr, &mut cw).await?;
        cw.shutdown().await
    };
    tokio::try_join!(up, down).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_what_the_client_sends_and_relays_the_answer() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = server.accept().await.unwrap();
            let mut got = vec![0u8; 5];
            s.read_exact(&mut got).await.unwrap();
            s.write_all(b"ok").await.unwrap();
        });
        let r = relay(&format!("http://{addr}")).await.unwrap().unwrap();
        let mut c = TcpStream::connect(r.url.trim_start_matches("http://"))
            .await
            .unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut answer = vec![0u8; 2];
        c.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ok");
        assert_eq!(r.meter.sent(), 5);
        assert!(relay("https://example.invalid").await.unwrap().is_none());
    }
}
