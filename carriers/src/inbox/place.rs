//! Moving a handled file out of the inbox: to `done/` or `quarantine/`, under its own name
//! or, when that is taken, with a suffix before `.zb` (`x.zb`, `x.1.zb`, `x.2.zb`, ...).
//! Never overwrites. The order of the steps is the crash-point analysis of the module doc.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::note::Note;
use crate::publish::{sync_dir, write_atomically};

/// The longest run of suffixes tried before giving up (a folder with that many copies of one
/// name is a flood, and the file then stays in the inbox).
const MAX_SUFFIX: u32 = 10_000;

/// The most of an existing note read to see whether a kill left it (notes are far smaller;
/// a cut one does not parse and counts as someone else's).
const MAX_NOTE_BYTES: u64 = 64 * 1024;

fn suffixed(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.strip_suffix(".zb") {
        Some(stem) => format!("{stem}.{n}.zb"),
        None => format!("{name}.{n}"),
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Refuses a `done/` or `quarantine/` that is not a real folder: whoever can write the inbox
/// could otherwise replace it with a link and have the watch move files elsewhere.
pub(crate) fn ensure_real_folder(folder: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(folder)?;
    if meta.file_type().is_dir() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{} is not a folder (a link or a file was put in its place); nothing is moved there",
            folder.display()
        )))
    }
}

/// The first of `name`, `name` suffixed 1, 2, ... that `free` accepts; an error after
/// [`MAX_SUFFIX`] tries.
fn first_free(folder: &Path, name: &str, free: impl Fn(&str) -> bool) -> io::Result<String> {
    (0..MAX_SUFFIX)
        .map(|n| suffixed(name, n))
        .find(|candidate| free(candidate))
        .ok_or_else(|| {
            io::Error::other(format!(
                "{MAX_SUFFIX} files named {name} are already in {}",
                folder.display()
            ))
        })
}

/// Moves `from` into `folder` under `name` or the first free suffixed name; returns the
/// final path.
pub(crate) fn to_done(from: &Path, folder: &Path, name: &str) -> io::Result<PathBuf> {
    ensure_real_folder(folder)?;
    let target = folder.join(first_free(folder, name, |n| !exists(&folder.join(n)))?);
    fs::rename(from, &target)?;
    sync_dir(folder)?;
    Ok(target)
}

/// Writes `note` and moves `from` into `folder` beside it: the note first, as `FINAL.json`
/// for the first name `FINAL` that is free (or whose note, left by a kill before the move,
/// has the same digest and no file), then the file.
pub(crate) fn to_quarantine(
    from: &Path,
    folder: &Path,
    name: &str,
    note: &Note,
) -> io::Result<PathBuf> {
    ensure_real_folder(folder)?;
    let note_of = |final_name: &str| folder.join(format!("{final_name}.json"));
    let final_name = first_free(folder, name, |candidate| {
        let note_path = note_of(candidate);
        !exists(&folder.join(candidate))
            && (!exists(&note_path) || is_orphan_note_of(&note_path, &note.digest))
    })?;
    let text = serde_json::to_vec_pretty(note).map_err(io::Error::other)?;
    write_atomically(folder, &format!("{final_name}.json"), &text).map_err(io::Error::other)?;
    let target = folder.join(&final_name);
    fs::rename(from, &target)?;
    sync_dir(folder)?;
    Ok(target)
}

/// Whether the note at `path` was written for a file of `digest` that never arrived beside
/// it (the service was killed between the two steps).
fn is_orphan_note_of(path: &Path, digest: &str) -> bool {
    use std::io::Read as _;
    // A note is a few hundred bytes; anything much larger is not one of ours.
    let mut bytes = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(MAX_NOTE_BYTES).read_to_end(&mut bytes));
    if read.is_err() {
        return false;
    }
    serde_json::from_slice::<Note>(&bytes).is_ok_and(|old| old.digest == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(digest: &str) -> Note {
        Note {
            at: "2026-01-01T00:00:00Z".into(),
            file: "a.zb".into(),
            digest: digest.into(),
            channel: None,
            sequence: None,
            code: "not-a-bundle".into(),
            message: "m".into(),
            hint: None,
        }
    }

    #[test]
    fn names_taken_get_a_suffix() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let done = dir.path().join("done");
        fs::create_dir(&done)?;
        for i in 0..3 {
            let from = dir.path().join("a.zb");
            fs::write(&from, [i])?;
            to_done(&from, &done, "a.zb")?;
        }
        assert_eq!(fs::read(done.join("a.zb"))?, [0]);
        assert_eq!(fs::read(done.join("a.1.zb"))?, [1]);
        assert_eq!(fs::read(done.join("a.2.zb"))?, [2]);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_moved_into_a_link_put_in_place_of_a_folder()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere)?;
        let done = dir.path().join("done");
        std::os::unix::fs::symlink(&elsewhere, &done)?;
        let from = dir.path().join("a.zb");
        fs::write(&from, b"x")?;
        assert!(to_done(&from, &done, "a.zb").is_err());
        assert!(to_quarantine(&from, &done, "a.zb", &note("d")).is_err());
        assert!(from.is_file(), "the file stays in the inbox");
        assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
        Ok(())
    }

    #[test]
    fn a_note_left_by_a_kill_is_taken_over() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let q = dir.path().join("quarantine");
        fs::create_dir(&q)?;
        // A kill after the note, before the move.
        fs::write(q.join("a.zb.json"), serde_json::to_vec(&note("d1"))?)?;
        let from = dir.path().join("a.zb");
        fs::write(&from, b"x")?;
        let placed = to_quarantine(&from, &q, "a.zb", &note("d1"))?;
        assert_eq!(placed, q.join("a.zb"));
        // Another file of that name with another digest gets its own pair.
        fs::write(q.join("b.zb.json"), serde_json::to_vec(&note("d1"))?)?;
        let from = dir.path().join("b.zb");
        fs::write(&from, b"y")?;
        let placed = to_quarantine(&from, &q, "b.zb", &note("d2"))?;
        assert_eq!(placed, q.join("b.1.zb"));
        assert!(q.join("b.1.zb.json").exists());
        assert_eq!(fs::read_dir(&q)?.count(), 5);
        Ok(())
    }
}
