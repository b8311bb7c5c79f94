//! Installs pretix into its venv and migrates the template database, once (idempotent), so
//! the tests that start a pretix do not pay for it; prints the venv's path. `.ci/run` calls it
//! before the tests.

fn main() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let installed = boxoffice_testkit::pretix::ensure_installed()?.ok_or_else(|| {
        anyhow::anyhow!("no python3 with venv support (apt-get install python3 python3-venv)")
    })?;
    println!(
        "pretix {} ready: {} (template {}; {:.1?})",
        boxoffice_testkit::pretix::PRETIX_VERSION,
        boxoffice_testkit::pretix::venv_dir().display(),
        installed.template_db.display(),
        started.elapsed()
    );
    Ok(())
}
