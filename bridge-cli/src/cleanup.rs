//! Nothing temporary outlives a command: outputs appear only on success.
//!
//! ```text
//! AtomicFile / staging / work folder --track--> registry (path)   ... --drop--> untracked
//! SIGINT, SIGTERM --signal thread--> lock registry, remove every path --> exit 130 / 143
//! publish (rename to the final name) runs under the same lock: a signal waits for it
//! SIGKILL, power loss --> `.zonebridge-PID-*` left --next run in that folder--> sweep
//! ```
//!
//! Every temporary thing a command makes beside its output is named
//! `.zonebridge-PID-RANDOM.{staging,tmp,work}` (see [`bundle_format::staging::temp_name`]).
//! [`sweep`] removes such names in a folder when their process is gone and they belong to
//! the user running, and says so on standard error.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bundle_format::staging::temp_name;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::exit;

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    paths: BTreeMap<u64, PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    paths: BTreeMap::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock leaves the map usable: keep going.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary path that an interruption removes, until this is dropped.
#[derive(Debug)]
pub struct Tracked {
    id: u64,
}

/// Removes `path` (a file or a folder, never through a link) if the command is interrupted
/// before the returned guard is dropped.
pub fn track(path: &Path) -> Tracked {
    let mut registry = registry();
    let id = registry.next;
    registry.next = registry.next.wrapping_add(1);
    registry.paths.insert(id, path.to_owned());
    Tracked { id }
}

impl Tracked {
    /// Runs `publish` (the rename that makes an output appear) so that a signal cannot remove
    /// the temporary half-way through it: the signal waits, then finds the rename done.
    pub fn publish<T>(&self, publish: impl FnOnce() -> T) -> T {
        let _hold = registry();
        publish()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        registry().paths.remove(&self.id);
    }
}

/// Starts the thread that, on SIGINT or SIGTERM, removes every tracked path and ends the
/// process with 130 or 143 (with `json`, after printing the error object on standard output,
/// code `interrupted`). Called once by `main`; if signals cannot be caught, their default
/// action stays (the next run's [`sweep`] removes what is left).
pub fn install(json: bool) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                // A service's first signal asks it to finish what is in hand and stop.
                if crate::service::stop::in_service_mode() && crate::service::stop::request_stop()
                {
                    continue;
                }
                let registry = registry();
                let removed = registry.paths.values().filter(|p| remove(p)).count();
                let (name, code) = if signal == SIGTERM {
                    ("SIGTERM", exit::TERMINATED)
                } else {
                    ("SIGINT", exit::INTERRUPTED)
                };
                let message = format!(
                    "interrupted by {name}; {removed} temporary file(s) or folder(s) removed, no output written"
                );
                let _ = writeln!(io::stderr().lock(), "error: {message}");
                if json {
                    let error = serde_json::json!({
                        "ok": false,
                        "error": {"code": "interrupted", "exit": code, "message": message},
                    });
                    let _ = crate::output::write_json(&mut io::stdout().lock(), &error);
                }
                std::process::exit(i32::from(code));
            }
        });
    // Without the thread, the default action (end the process) stays.
    drop(spawned);
}

/// Removes the file or folder at `path`, never following a link; true if something went.
fn remove(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).is_ok(),
        Ok(_) => fs::remove_file(path).is_ok(),
        Err(_) => false,
    }
}

/// Removes the leftovers of interrupted runs in `folder`: names made by [`temp_name`] whose
/// process is no longer alive and that belong to the user running. Each removal is reported
/// on standard error; a folder that cannot be listed is left alone (the command's own error
/// about it says more).
pub fn sweep(folder: &Path) {
    let Ok(listing) = fs::read_dir(folder) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    let own = std::process::id();
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some((pid, _)) = name.to_str().and_then(temp_name::parse) else {
            continue;
        };
        if pid == own || alive(pid) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        // Someone else's (or a link, which we never make): not ours to remove.
        if meta.uid() != me || meta.file_type().is_symlink() {
            continue;
        }
        if remove(&path) {
            let _ = writeln!(
                io::stderr().lock(),
                "note: removed {}, left by an interrupted run (process {pid})",
                path.display()
            );
        }
    }
}

/// Whether process `pid` exists (a signal 0 reaches it, or it belongs to another user).
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A process id that is not alive: a child that has been waited for.
    fn dead_pid() -> Result<u32, Box<dyn std::error::Error>> {
        let mut child = std::process::Command::new("true").spawn()?;
        let pid = child.id();
        child.wait()?;
        Ok(pid)
    }

    #[test]
    fn sweep_removes_only_our_leftovers_of_dead_processes() -> TestResult {
        let dir = tempfile::tempdir()?;
        let dead = dead_pid()?;
        let live = std::process::id();
        let path = |name: &str| dir.path().join(name);
        fs::create_dir_all(path(&format!(".zonebridge-{dead}-abc.staging")).join("sub"))?;
        fs::write(path(&format!(".zonebridge-{dead}-def.tmp")), b"half")?;
        fs::create_dir(path(&format!(".zonebridge-{dead}-ghi.work")))?;
        // Kept: a live process's, an operator's own files, a link, a name that only looks alike.
        fs::write(path(&format!(".zonebridge-{live}-abc.tmp")), b"")?;
        fs::write(path("out.zb"), b"bundle")?;
        std::os::unix::fs::symlink("/etc", path(&format!(".zonebridge-{dead}-lnk.work")))?;
        fs::write(path(&format!(".zonebridge-{dead}-abc.zb")), b"")?;
        fs::write(path(&format!("zonebridge-{dead}-abc.tmp")), b"")?;
        sweep(dir.path());
        let mut left: Vec<String> = fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        left.sort();
        let mut expected = vec![
            format!(".zonebridge-{dead}-abc.zb"),
            format!(".zonebridge-{dead}-lnk.work"),
            format!(".zonebridge-{live}-abc.tmp"),
            "out.zb".to_owned(),
            format!("zonebridge-{dead}-abc.tmp"),
        ];
        expected.sort();
        assert_eq!(left, expected);
        assert!(Path::new("/etc").is_dir());
        Ok(())
    }

    #[test]
    fn leftovers_of_another_user_are_kept() -> TestResult {
        if rustix::process::geteuid().as_raw() != 0 {
            return Ok(()); // needs chown: CI runs as root
        }
        let dir = tempfile::tempdir()?;
        let leftover = dir
            .path()
            .join(format!(".zonebridge-{}-abc.tmp", dead_pid()?));
        fs::write(&leftover, b"")?;
        std::os::unix::fs::chown(&leftover, Some(65534), Some(65534))?;
        sweep(dir.path());
        assert!(leftover.exists());
        Ok(())
    }

    #[test]
    fn tracked_paths_are_forgotten_when_dropped() {
        let tracked = track(Path::new("/nonexistent/a"));
        let id = tracked.id;
        assert!(registry().paths.contains_key(&id));
        assert_eq!(tracked.publish(|| 7), 7);
        drop(tracked);
        assert!(!registry().paths.contains_key(&id));
    }
}
