//! A real pretix (the open-source ticket shop, from PyPI) on a loopback port, seeded with canary
//! data, for the pretix connector's end-to-end tests.
//!
//! Owns: the venv (`BOXOFFICE_PRETIX_VENV`, default `target/pretix-venv`, made with
//! `python3 -m venv` + `pip install pretix==PRETIX_VERSION` when missing), a migrated template
//! database cached beside it per pretix version (a migrate takes 1–2.5 min; a start copies the
//! template instead), a throwaway data dir and config per server, seeding through pretix's own
//! models (`pretix/seed.py`), `runserver --noreload` with readiness by the 401 of
//! `/api/v1/organizers/`, and the test-side API scripts: changes made after a first sync
//! (`pretix/mutate.py`) and what pretix says the connector must report (`pretix/truth.py`).
//! The server is killed on drop. It does not own the connector's mapping: `truth.py` is an
//! independent reading of the rules in `docs/pretix.md`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::process::{find_binary, free_port, spawn_bound_keeping_output};

/// The pretix release the tests run against (`pip install pretix==…`).
pub const PRETIX_VERSION: &str = "2026.8.0";

/// Where the venv lives: `BOXOFFICE_PRETIX_VENV`, else `target/pretix-venv` of this workspace.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os("BOXOFFICE_PRETIX_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pretix-venv"),
    }
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pretix")
}

/// A usable pretix installation: its python and a migrated, empty database to copy.
#[derive(Debug, Clone)]
pub struct Installation {
    pub python: PathBuf,
    pub template_db: PathBuf,
}

/// Makes sure the venv holds [`PRETIX_VERSION`] and a migrated template database exists;
/// idempotent, serialised across processes by a lock file. `Ok(None)` when there is no
/// `python3` with `venv` support (the caller skips or fails, see `skip_or_fail`).
pub fn ensure_installed() -> anyhow::Result<Option<Installation>> {
    let Some(system_python) = find_binary("python3") else {
        return Ok(None);
    };
    let venv_ok = Command::new(&system_python)
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !venv_ok {
        return Ok(None);
    }
    let venv = venv_dir();
    std::fs::create_dir_all(venv.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("creating the parent of {}", venv.display()))?;
    let _lock = FileLock::acquire(&venv.with_extension("lock"))?;
    let python = venv.join("bin/python");
    if installed_version(&python).as_deref() != Some(PRETIX_VERSION) {
        let started = Instant::now();
        eprintln!(
            "installing pretix {PRETIX_VERSION} into {} (once; ~30–70 s)",
            venv.display()
        );
        run(
            Command::new(&system_python).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
        run(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("pretix=={PRETIX_VERSION}"),
            ]),
            "pip install pretix",
        )?;
        eprintln!("pretix installed in {:.0?}", started.elapsed());
    }
    let template_db = venv.join(format!("boxoffice-template-{PRETIX_VERSION}.sqlite3"));
    if !template_db.is_file() {
        let started = Instant::now();
        eprintln!("migrating a template pretix database (once per pretix version; ~1–2.5 min)");
        let dir = tempfile::Builder::new()
            .prefix("boxoffice-pretix-migrate-")
            .tempdir()?;
        let config = write_config(dir.path(), 1)?;
        run(
            Command::new(&python)
                .args(["-m", "pretix", "migrate", "-v0"])
                .env("PRETIX_CONFIG_FILE", &config),
            "pretix migrate",
        )?;
        let partial = template_db.with_extension("partial");
        std::fs::copy(dir.path().join("data/db.sqlite3"), &partial)?;
        std::fs::rename(&partial, &template_db)?;
        eprintln!("template database migrated in {:.0?}", started.elapsed());
    }
    Ok(Some(Installation {
        python,
        template_db,
    }))
}

fn installed_version(python: &Path) -> Option<String> {
    let out = Command::new(python)
        .args(["-c", "import pretix; print(pretix.__version__)"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(25).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{what} failed ({}):\n{}", out.status, tail.join("\n"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An exclusive `flock` held until drop: one installer at a time across test processes.
struct FileLock {
    _file: File,
}

impl FileLock {
    fn acquire(path: &Path) -> anyhow::Result<Self> {
        use std::os::fd::AsRawFd;
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor we own; released when the file closes.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            bail!(
                "locking {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(Self { _file: f })
    }
}

fn write_config(dir: &Path, port: u16) -> anyhow::Result<PathBuf> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let config = dir.join("pretix.cfg");
    std::fs::write(
        &config,
        format!(
            "[pretix]\ninstance_name=boxoffice test\nurl=http://127.0.0.1:{port}\n\
             currency=EUR\ndatadir={}\n\n[database]\nbackend=sqlite3\n\n\
             [mail]\nfrom=pretix@example.invalid\n",
            data.display()
        ),
    )?;
    Ok(config)
}

/// What `seed.py` created.
#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    pub organizer: String,
    /// Event slugs.
    pub events: Vec<String>,
    pub checkin_lists: BTreeMap<String, u64>,
    /// The team's API token (pretix wants it as `Authorization: Token …`).
    pub token: String,
    /// An OAuth access token of a team member (pretix takes it as `Authorization: Bearer …`).
    pub oauth_token: String,
    /// Every order and position secret, for leak sweeps.
    pub secrets: Vec<String>,
}

/// Changes to make after a first sync: each a count per event (see `pretix/mutate.py`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mutation {
    pub refund: u32,
    pub partial_refund: u32,
    pub checkin: u32,
    pub cancel: u32,
    pub pay: u32,
    pub new: u32,
}

/// What `mutate.py` did: order codes per kind of change, and the secrets of new orders.
#[derive(Debug, Clone, Deserialize)]
pub struct MutationReport {
    pub done: BTreeMap<String, Vec<String>>,
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StatusTruth {
    pub count: u64,
    pub price_minor: i64,
    pub refunded_minor: i64,
}

/// One event as pretix reports it, through the mapping of `docs/pretix.md`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventTruth {
    pub currency: String,
    /// By canonical status name (`valid`, `refunded`, `canceled`, `pending`).
    pub statuses: BTreeMap<String, StatusTruth>,
    pub kept_minor: i64,
    /// Tickets with an entry check-in.
    pub scanned: u64,
    /// Of those, the valid ones (what `/metrics` counts as scanned).
    pub scanned_held: u64,
    pub buyer_fee_minor: i64,
    pub tickets: u64,
    pub orders: u64,
    pub buyers: u64,
}

/// By event slug.
pub type Truth = BTreeMap<String, EventTruth>;

/// How long each step of a start took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Startup {
    /// Checking (or doing) the install and the template.
    pub install: Duration,
    pub seed: Duration,
    /// From spawning `runserver` to the first 401.
    pub ready: Duration,
}

impl Startup {
    pub fn total(&self) -> Duration {
        self.install + self.seed + self.ready
    }
}

/// A pretix this process started; killed on drop.
pub struct PretixServer {
    python: PathBuf,
    dir: tempfile::TempDir,
    config: PathBuf,
    port: u16,
    child: Option<Child>,
    seed: Seed,
    startup: Startup,
}

impl PretixServer {
    /// Installs if needed, seeds `orders` orders and starts the server; `Ok(None)` when there is
    /// no `python3` with `venv`.
    pub fn start(orders: usize) -> anyhow::Result<Option<Self>> {
        let t0 = Instant::now();
        let Some(inst) = ensure_installed()? else {
            return Ok(None);
        };
        let install = t0.elapsed();
        let dir = tempfile::Builder::new()
            .prefix("boxoffice-pretix-")
            .tempdir()?;
        let t1 = Instant::now();
        // The URL in the config only shapes links pretix prints; the port is settled below.
        let config = write_config(dir.path(), 0)?;
        std::fs::copy(&inst.template_db, dir.path().join("data/db.sqlite3"))
            .context("copying the template pretix database")?;
        let out = run(
            Command::new(&inst.python)
                .arg(scripts_dir().join("seed.py"))
                .args(["--orders", &orders.to_string()])
                .env("PRETIX_CONFIG_FILE", &config),
            "seeding pretix (seed.py)",
        )?;
        let seed: Seed = serde_json::from_str(out.trim()).context("reading seed.py's output")?;
        let seed_time = t1.elapsed();
        let mut s = Self {
            python: inst.python,
            dir,
            config,
            port: 0,
            child: None,
            seed,
            startup: Startup {
                install,
                seed: seed_time,
                ready: Duration::ZERO,
            },
        };
        // A free port is released before pretix binds it; retry on a new one if taken.
        let mut last = None;
        for _ in 0..3 {
            s.port = free_port();
            let t2 = Instant::now();
            match s.launch() {
                Ok(()) => {
                    s.startup.ready = t2.elapsed();
                    return Ok(Some(s));
                }
                Err(e) => {
                    s.stop();
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("pretix did not start")))
    }

    /// [`start`](Self::start) for a test: `None` after a skip line (or a panic under
    /// `BOXOFFICE_REQUIRE_SERVERS=1`) when python3 is missing; a panic when pretix fails.
    pub fn for_test(test: &str, orders: usize) -> Option<Self> {
        match Self::start(orders) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                crate::skip_or_fail(test, "no python3 with venv support to install pretix into");
                None
            }
            Err(e) => panic!("{test}: could not start pretix: {e:#}"),
        }
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        write_config(self.dir.path(), self.port)?;
        let log = File::create(self.log_path())?;
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pretix", "runserver"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--noreload")
            .env("PRETIX_CONFIG_FILE", &self.config)
            .current_dir(self.dir.path())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(spawn_bound_keeping_output(cmd).context("starting pretix runserver")?);
        self.wait_ready(Duration::from_secs(120))
    }

    fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let probe = format!("{}/api/v1/organizers/", self.base_url());
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        loop {
            // /healthcheck/ answers 503 without Celery; an unauthenticated API call answers
            // 401 as soon as Django serves requests.
            if let Ok(r) = client.get(&probe).send() {
                if r.status().as_u16() == 401 {
                    return Ok(());
                }
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    bail!(
                        "pretix runserver exited with {status} while starting:\n{}",
                        self.log_tail(30)
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "pretix did not answer {probe} with 401 within {limit:?}:\n{}",
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    pub fn startup(&self) -> Startup {
        self.startup
    }

    /// The server's own log (requests, errors).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// pretix's SQLite database (for tests that look at what pretix stored).
    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("data/db.sqlite3")
    }

    fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn script(&self, name: &str, extra: &[&str]) -> anyhow::Result<String> {
        run(
            Command::new(&self.python)
                .arg(scripts_dir().join(name))
                .arg(self.base_url())
                .arg(&self.seed.organizer)
                .arg(&self.seed.token)
                .args(extra)
                .env("PRETIX_CONFIG_FILE", &self.config),
            name,
        )
    }

    /// Makes the changes through pretix's REST API (see [`Mutation`]).
    pub fn mutate(&self, m: &Mutation) -> anyhow::Result<MutationReport> {
        let plan = serde_json::to_string(m)?;
        let out = self.script("mutate.py", &[&plan])?;
        serde_json::from_str(out.trim()).context("reading mutate.py's output")
    }

    /// What pretix reports now, per event.
    pub fn truth(&self) -> anyhow::Result<Truth> {
        let out = self.script("truth.py", &[])?;
        serde_json::from_str(out.trim()).context("reading truth.py's output")
    }

    /// Stops the server (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PretixServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_seeded_and_reports_every_state() {
        let Some(s) = PretixServer::for_test("testkit pretix", 240) else {
            return;
        };
        eprintln!("pretix start: {:?}", s.startup());
        let client = reqwest::blocking::Client::new();
        let url = format!(
            "{}/api/v1/organizers/{}/events/",
            s.base_url(),
            s.seed.organizer
        );
        let team = client
            .get(&url)
            .header("Authorization", format!("Token {}", s.seed.token))
            .send()
            .unwrap();
        assert_eq!(team.status().as_u16(), 200);
        // pretix reads `Bearer` only as an OAuth token: the team token is refused that way.
        let as_bearer = client
            .get(&url)
            .header("Authorization", format!("Bearer {}", s.seed.token))
            .send()
            .unwrap();
        assert_eq!(as_bearer.status().as_u16(), 401);
        let oauth = client
            .get(&url)
            .header("Authorization", format!("Bearer {}", s.seed.oauth_token))
            .send()
            .unwrap();
        assert_eq!(oauth.status().as_u16(), 200);

        let before = s.truth().unwrap();
        assert_eq!(before.len(), 2);
        for (slug, e) in &before {
            for st in ["valid", "pending", "canceled", "refunded"] {
                assert!(
                    e.statuses.get(st).is_some_and(|x| x.count > 0),
                    "{slug}: no {st} tickets in the seed: {e:?}"
                );
            }
            assert!(e.scanned > 0 && e.buyers < e.orders, "{slug}: {e:?}");
        }
        let report = s
            .mutate(&Mutation {
                refund: 1,
                partial_refund: 1,
                checkin: 1,
                cancel: 1,
                pay: 1,
                new: 2,
            })
            .unwrap();
        assert_eq!(report.done["new"].len(), 4);
        let after = s.truth().unwrap();
        for slug in &s.seed.events {
            assert_eq!(after[slug].orders, before[slug].orders + 2);
            assert!(after[slug].scanned > before[slug].scanned);
        }
    }
}
