//! The shared state of a running instance: the store behind a lock, the API key, where state
//! and package files live, and the signal that wakes the task runner.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::error::{ApiError, ApiResult};
use crate::store::{self, Store};

/// How an instance is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The admin API key: every permission.
    pub api_key: String,
    /// The state file, rewritten after every change; `None` keeps state in memory only.
    pub data: Option<PathBuf>,
    /// Where package files are kept.
    pub blobs: PathBuf,
    /// Where task scratch folders are made.
    pub scratch: PathBuf,
    /// The longest a script may run before its task fails.
    pub script_timeout: std::time::Duration,
    /// The Octopus Server it behaves as (`--profile`): routes and payload shapes.
    pub profile: crate::profile::Profile,
    /// The version `GET /api` reports: the profile's, unless `--server-version` overrides it.
    pub server_version: String,
    /// Keys whose role grants only some permissions (`--role-key`).
    pub role_keys: Vec<crate::permissions::RoleKey>,
    /// The path the API is served under (`--path-base /octopus`: `/octopus/api/...`), empty
    /// for the root; links the stand-in writes carry it.
    pub path_base: String,
}

/// One running instance.
#[derive(Debug)]
pub struct App {
    store: Mutex<Store>,
    /// The last state generation written to disk, held while writing.
    persisted: Mutex<u64>,
    generation: Mutex<u64>,
    /// While true, changes are not written to the state file (seeding writes once, at its end).
    holding: AtomicBool,
    /// The setup it runs with.
    pub config: Config,
    /// Notified when a task is queued or an interruption answered.
    pub wake: Notify,
}

impl App {
    /// An instance over `store`.
    pub fn new(store: Store, config: Config) -> Self {
        App {
            store: Mutex::new(store),
            persisted: Mutex::new(0),
            generation: Mutex::new(0),
            holding: AtomicBool::new(false),
            config,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked mid-change cannot leave half a document: changes are made
        // on owned values and swapped in whole, so the poisoned state is still consistent.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Holds (`true`) or resumes writing the state file after each change. Seeding holds, so
    /// that a seed of N requests writes the file once instead of N times.
    pub fn hold_writes(&self, hold: bool) {
        self.holding.store(hold, Ordering::SeqCst);
    }

    /// Reads the store.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the store and, with `--data`, writes it out before answering, so that an
    /// answered request survives a restart. `f` must check everything before it changes
    /// anything: an error leaves the store as it was.
    pub fn write<R>(&self, f: impl FnOnce(&mut Store) -> ApiResult<R>) -> ApiResult<R> {
        let (result, snapshot) = {
            let mut store = self.lock();
            let result = f(&mut store)?;
            let snapshot = match &self.config.data {
                Some(_) if !self.holding.load(Ordering::SeqCst) => {
                    let bytes = store
                        .to_bytes()
                        .map_err(|e| ApiError::internal(format!("cannot serialise state: {e}")))?;
                    let mut generation = self
                        .generation
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *generation += 1;
                    Some((*generation, bytes))
                }
                _ => None,
            };
            (result, snapshot)
        };
        if let (Some((generation, bytes)), Some(path)) = (snapshot, &self.config.data) {
            self.persist(path, generation, &bytes)?;
        }
        Ok(result)
    }

    /// Writes one generation of the state unless a newer one is already on disk.
    fn persist(&self, path: &Path, generation: u64, bytes: &[u8]) -> ApiResult<()> {
        let mut written = self
            .persisted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *written >= generation {
            return Ok(());
        }
        store::save(path, bytes).map_err(|e| {
            ApiError::internal(format!(
                "cannot write the state file {}: {e}",
                path.display()
            ))
        })?;
        *written = generation;
        Ok(())
    }
}

impl App {
    /// Changes the store without writing the state file (task log lines, which the next
    /// persisted change carries along).
    pub fn touch(&self, f: impl FnOnce(&mut Store)) {
        f(&mut self.lock());
    }
}
