//! Where a replay fixture may read a response body from: a regular file inside its own
//! directory, nothing else.
//!
//! A fixture directory is often someone else's (a connector author's test data, handed to
//! `boxoffice plugins test`), and the body it names is fed to the connector, whose output the
//! replay prints. So `body_file` is refused when it is absolute, when it climbs with `..`, and
//! when it resolves (through symbolic links) outside the directory; the file read is the
//! resolved one that was checked. It does not own the fixture format (see `replay`).

use std::path::{Component, Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FixturePathError {
    #[error("is an absolute path; give a path relative to the fixture directory")]
    Absolute,
    #[error("climbs out with `..`; give a path inside the fixture directory")]
    ParentDir,
    #[error("resolves outside the fixture directory (through a symbolic link)")]
    Outside,
    #[error("is not a regular file")]
    NotAFile,
    #[error("cannot be resolved: {0}")]
    Unresolvable(String),
}

/// The canonical path of `rel` inside `dir`, if it stays inside (see the module doc).
pub fn confined(dir: &Path, rel: &str) -> Result<PathBuf, FixturePathError> {
    let path = Path::new(rel);
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(FixturePathError::Absolute),
            Component::ParentDir => return Err(FixturePathError::ParentDir),
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    let unresolvable = |e: std::io::Error| FixturePathError::Unresolvable(e.kind().to_string());
    let root = dir.canonicalize().map_err(unresolvable)?;
    let resolved = root.join(path).canonicalize().map_err(unresolvable)?;
    if !resolved.starts_with(&root) {
        return Err(FixturePathError::Outside);
    }
    if !resolved.metadata().map_err(unresolvable)?.is_file() {
        return Err(FixturePathError::NotAFile);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("fixture");
        std::fs::create_dir_all(dir.join("bodies")).unwrap();
        std::fs::write(dir.join("bodies/page.json"), "[]").unwrap();
        std::fs::write(t.path().join("outside.txt"), "secret").unwrap();
        let inside = dir.canonicalize().unwrap().join("bodies/page.json");
        assert_eq!(confined(&dir, "bodies/page.json"), Ok(inside.clone()));
        assert_eq!(confined(&dir, "./bodies/page.json"), Ok(inside));
        assert_eq!(
            confined(&dir, "/etc/passwd"),
            Err(FixturePathError::Absolute)
        );
        assert_eq!(
            confined(&dir, "../outside.txt"),
            Err(FixturePathError::ParentDir)
        );
        assert_eq!(
            confined(&dir, "bodies/../../outside.txt"),
            Err(FixturePathError::ParentDir)
        );
        assert_eq!(confined(&dir, "bodies"), Err(FixturePathError::NotAFile));
        assert!(matches!(
            confined(&dir, "missing.json"),
            Err(FixturePathError::Unresolvable(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_are_refused_and_links_within_followed() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("fixture");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(t.path().join("outside.txt"), "secret").unwrap();
        std::fs::write(dir.join("real.json"), "[]").unwrap();
        std::os::unix::fs::symlink(t.path().join("outside.txt"), dir.join("out.json")).unwrap();
        std::os::unix::fs::symlink(t.path(), dir.join("up")).unwrap();
        std::os::unix::fs::symlink("real.json", dir.join("alias.json")).unwrap();
        assert_eq!(confined(&dir, "out.json"), Err(FixturePathError::Outside));
        assert_eq!(
            confined(&dir, "up/outside.txt"),
            Err(FixturePathError::Outside)
        );
        assert_eq!(
            confined(&dir, "alias.json"),
            Ok(dir.canonicalize().unwrap().join("real.json"))
        );
    }
}
