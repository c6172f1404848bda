//! [`ReadOnlyDir`]: a directory a test fills and then makes unwritable.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory that a test fills, then makes read-only for this
/// process with [`make_read_only`](ReadOnlyDir::make_read_only), to check
/// that an unwritable data directory is refused.
///
/// Root ignores file permissions, and CI runs as root, so where the process
/// may mount the directory is a small tmpfs that is remounted read-only
/// (`EROFS` binds root too). Otherwise, for an ordinary user, the files get
/// mode 0444 and the directory 0555. [`create`](ReadOnlyDir::create) returns
/// `None` — after printing "skipped: …" — for root without permission to
/// mount (e.g. an unprivileged container).
///
/// Use the directory itself as the data directory: only the files directly
/// in it get the read-only modes.
///
/// Dropping it unmounts the tmpfs (or restores the modes) and deletes it.
#[derive(Debug)]
pub struct ReadOnlyDir {
    path: PathBuf,
    mounted: bool,
}

impl ReadOnlyDir {
    /// An empty, writable directory under the system's temporary directory.
    pub fn create() -> Option<ReadOnlyDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("hearth-readonly-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temporary directory");
        let mounted = run("mount", &["-t", "tmpfs", "-o", "size=8m", "tmpfs"], &path);
        if !mounted && is_root() {
            println!("skipped: running as root without permission to mount, file permissions do not apply");
            let _ = std::fs::remove_dir(&path);
            return None;
        }
        Some(ReadOnlyDir { path, mounted })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// From now on nothing in the directory can be created, written or
    /// deleted by this process.
    pub fn make_read_only(&self) {
        if self.mounted {
            assert!(run("mount", &["-o", "remount,ro"], &self.path), "remount {} read-only", self.path.display());
        } else {
            set_modes(&self.path, 0o444, 0o555);
        }
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self.mounted {
            // Lazy, so a file a test left open cannot keep the mount alive.
            if !run("umount", &["-l"], &self.path) {
                eprintln!("warning: could not unmount {}", self.path.display());
                return;
            }
        } else {
            set_modes(&self.path, 0o644, 0o755);
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `program args… path`, quietly; whether it succeeded.
fn run(program: &str, args: &[&str], path: &Path) -> bool {
    Command::new(program)
        .args(args)
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Gives every file directly in `dir` mode `file`, and `dir` mode `dir_mode`.
fn set_modes(dir: &Path, file: u32, dir_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &Path, mode| {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    };
    // Make the directory listable and writable first when restoring.
    if dir_mode & 0o200 != 0 {
        set(dir, dir_mode);
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                set(&entry.path(), file);
            }
        }
    }
    set(dir, dir_mode);
}
