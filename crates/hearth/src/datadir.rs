//! The data directory: one writer at a time.
//!
//! `hearth serve` holds an exclusive lock (`flock`) on `data_dir/hearth.lock` for as
//! long as it runs, with its process id in the file. A second `serve` on the same
//! directory refuses to start and names the first; admin commands that change data
//! either talk to the running server (its control socket, [`crate::control`]) or,
//! when none runs, take the same lock themselves. The kernel drops the lock when the
//! process ends, however it ends, so a crash never leaves a stale lock behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "hearth.lock";

/// Held while a process owns the data directory; released on drop (or exit).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another Hearth process{} is using the data directory {dir}; stop it first, or give this one its own \
         `data_dir` in the config file",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held { pid: Option<u32>, dir: PathBuf },
    #[error("cannot lock the data directory {dir}: {source}")]
    Io { dir: PathBuf, source: io::Error },
}

impl DataDirLock {
    /// Creates `dir` if needed (mode 0700: history and password hashes live there) and
    /// takes its lock without waiting.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let io_err = |source| LockError::Io { dir: dir.to_path_buf(), source };
        if !dir.exists() {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err)?;
        }
        let path = dir.join(LOCK_FILE);
        let (mut file, writable) =
            match OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path) {
                Ok(f) => (f, true),
                // A read-only directory or file system: lock anyway (a read-only descriptor
                // can be locked), so that whatever needs writing next can say precisely
                // what is read-only.
                Err(e) if matches!(e.kind(), io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied) => {
                    match File::open(&path) {
                        Ok(f) => (f, false),
                        Err(_) => return Err(io_err(e)),
                    }
                }
                Err(e) => return Err(io_err(e)),
            };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held { pid: text.trim().parse().ok(), dir: dir.to_path_buf() });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        if writable {
            file.set_len(0).map_err(io_err)?;
            file.rewind().map_err(io_err)?;
            writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        }
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process holding `dir`'s lock, if the lock file names one (it may have ended).
pub fn holder(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join(LOCK_FILE)).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data).expect("first");
        match DataDirLock::acquire(&data) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        let err = DataDirLock::acquire(&data).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        DataDirLock::acquire(&data).expect("free again");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
