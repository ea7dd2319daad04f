//! What wakes the engine: inotify events on the inbox (through `notify`), and a [`Wake`]
//! sent by a [`super::Waker`] (a stop request). Without inotify (a network filesystem that
//! reports nothing, or a watch limit reached) the periodic rescan still finds every file.

use std::path::Path;
use std::sync::mpsc::Sender;

use notify::event::{CreateKind, EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

/// A message to the engine's loop.
#[derive(Debug)]
pub(crate) enum Signal {
    /// Something happened to `name` in the inbox; `renamed_in` if it was a rename into it.
    File { name: String, renamed_in: bool },
    /// Look again (an event without a usable name, or a queue overflow).
    Rescan,
    /// Wake up: a stop may have been asked for.
    Wake,
}

/// Watches `inbox` (not its sub-folders) and sends a [`Signal`] per event; `None` (with a
/// warning in the log) if inotify is not available, in which case rescans do the work.
pub(crate) fn watch(inbox: &Path, tx: Sender<Signal>) -> Option<RecommendedWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        let signals: Vec<Signal> = match event {
            Ok(event) => {
                let renamed_in = matches!(
                    event.kind,
                    EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
                );
                let relevant = renamed_in
                    || matches!(
                        event.kind,
                        EventKind::Create(CreateKind::File | CreateKind::Any)
                            | EventKind::Modify(_)
                            | EventKind::Access(_)
                            | EventKind::Any
                            | EventKind::Other
                    );
                if !relevant {
                    return;
                }
                if event.need_rescan() {
                    vec![Signal::Rescan]
                } else {
                    // A rename within the inbox (`x.part` to `x.zb`) comes as Both: [from, to].
                    let paths = if renamed_in {
                        event.paths.last().into_iter().collect::<Vec<_>>()
                    } else {
                        event.paths.iter().collect()
                    };
                    paths
                        .into_iter()
                        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
                        .map(|name| Signal::File { name, renamed_in })
                        .collect()
                }
            }
            Err(_) => vec![Signal::Rescan],
        };
        for signal in signals {
            // The engine is gone: nothing to tell.
            let _ = tx.send(signal);
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(error = %err, "inotify is not available; relying on rescans");
            return None;
        }
    };
    if let Err(err) = watcher.watch(inbox, RecursiveMode::NonRecursive) {
        tracing::warn!(inbox = %inbox.display(), error = %err, "cannot watch the inbox with inotify; relying on rescans");
        return None;
    }
    Some(watcher)
}
