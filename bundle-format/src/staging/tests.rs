//! The staging folder against another local user: links planted at the destination, the
//! staging name or a subfolder, folders of someone else, a destination that appears or changes
//! while the bundle is verified, and parents that others can write. Tests run as root in CI;
//! "another user" is `nobody` (uid 65534), set with chown.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, chown, symlink};
use std::path::Path;

use super::*;
use crate::manifest::EntryRole;
use crate::names::{Digest, EntryPath};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const NOBODY: u32 = 65534;

fn entry(path: &str) -> Result<Entry, Box<dyn std::error::Error>> {
    Ok(Entry {
        path: EntryPath::new(path)?,
        size: 0,
        sha256: Digest::of(b""),
        role: EntryRole::File,
    })
}

/// Writes `path` with `bytes` through the sink, as the verifier does.
fn put(staging: &mut Staging, path: &str, bytes: &[u8]) -> TestResult {
    let entry = entry(path)?;
    staging.begin(&entry)?;
    staging.write(bytes)?;
    staging.end(&entry)?;
    Ok(())
}

fn message(result: io::Result<impl std::fmt::Debug>) -> String {
    match result {
        Ok(value) => panic!("expected a refusal, got {value:?}"),
        Err(e) => e.to_string(),
    }
}

fn is_root() -> bool {
    dirs::euid() == 0
}

fn chmod(path: &Path, mode: u32) -> TestResult {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// The names in `dir` that are staging folders.
fn staging_left(dir: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut left = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if temp_name::parse(&name).is_some() {
            left.push(name);
        }
    }
    Ok(left)
}

#[test]
fn a_commit_gives_exactly_the_entries_with_the_spec_modes_owned_by_the_caller() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("out");
    let mut staging = Staging::new(&out)?;
    assert_eq!(fs::metadata(staging.root())?.mode() & 0o7777, 0o700);
    put(&mut staging, "process.json", b"{}")?;
    put(&mut staging, "packages/a/b.zip", b"zip")?;
    put(&mut staging, "packages/c.zip", b"")?;
    staging.commit()?;
    for (path, mode) in [
        ("", 0o755),
        ("packages", 0o755),
        ("packages/a", 0o755),
        ("process.json", 0o644),
        ("packages/a/b.zip", 0o644),
        ("packages/c.zip", 0o644),
    ] {
        let meta = fs::symlink_metadata(out.join(path))?;
        assert_eq!(meta.mode() & 0o7777, mode, "{path}");
        assert_eq!(meta.uid(), dirs::euid(), "{path}");
    }
    assert_eq!(fs::read(out.join("packages/a/b.zip"))?, b"zip");
    assert_eq!(fs::read_dir(&out)?.count(), 2);
    assert_eq!(staging_left(tmp.path())?, Vec::<String>::new());
    Ok(())
}

#[test]
fn an_empty_folder_of_ours_is_replaced() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("out");
    fs::create_dir(&out)?;
    let mut staging = Staging::new(&out)?;
    put(&mut staging, "x", b"1")?;
    staging.commit()?;
    assert_eq!(fs::read(out.join("x"))?, b"1");
    Ok(())
}

#[test]
fn destinations_that_are_not_a_new_or_empty_folder_of_ours_are_refused() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere)?;
    // A link to an empty folder, a link to nowhere, a file, a non-empty folder.
    symlink(&elsewhere, tmp.path().join("link"))?;
    symlink(tmp.path().join("missing"), tmp.path().join("dangling"))?;
    fs::write(tmp.path().join("file"), b"")?;
    fs::create_dir(tmp.path().join("full"))?;
    fs::write(tmp.path().join("full/keep"), b"")?;
    for (name, expected) in [
        ("link", "is a symbolic link"),
        ("dangling", "is a symbolic link"),
        ("file", "exists and is not a folder"),
        ("full", "exists and is not empty"),
    ] {
        let text = message(Staging::new(&tmp.path().join(name)));
        assert!(text.contains(expected), "{name}: {text}");
        assert!(text.contains("Hint: --to must name a new folder"), "{text}");
    }
    assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
    assert!(fs::symlink_metadata(tmp.path().join("link"))?.is_symlink());
    assert_eq!(staging_left(tmp.path())?, Vec::<String>::new());
    if is_root() {
        let theirs = tmp.path().join("theirs");
        fs::create_dir(&theirs)?;
        chown(&theirs, Some(NOBODY), Some(NOBODY))?;
        let text = message(Staging::new(&theirs));
        assert!(
            text.contains("belongs to another user (uid 65534)"),
            "{text}"
        );
    }
    Ok(())
}

#[test]
fn parents_that_others_can_change_are_refused_naming_the_folder_and_its_mode() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let open = tmp.path().join("open");
    fs::create_dir(&open)?;
    chmod(&open, 0o777)?;
    let text = message(Staging::new(&open.join("out")));
    assert!(
        text.contains(&format!("the folder {} (mode 0777)", open.display())),
        "{text}"
    );
    assert!(text.contains("no sticky bit"), "{text}");
    assert!(
        text.contains("Hint: use a folder only you can write"),
        "{text}"
    );

    let group = tmp.path().join("group");
    fs::create_dir(&group)?;
    chmod(&group, 0o775)?;
    assert!(message(Staging::new(&group.join("out"))).contains("(mode 0775)"));

    let real = tmp.path().join("real");
    fs::create_dir(&real)?;
    symlink(&real, tmp.path().join("via-link"))?;
    let text = message(Staging::new(&tmp.path().join("via-link").join("out")));
    assert!(text.contains("via-link is a symbolic link"), "{text}");
    assert_eq!(fs::read_dir(&real)?.count(), 0);

    let text = message(Staging::private_in(&open));
    assert!(text.contains("(mode 0777)"), "{text}");

    if is_root() {
        let theirs = tmp.path().join("theirs");
        fs::create_dir(&theirs)?;
        chown(&theirs, Some(NOBODY), Some(NOBODY))?;
        let text = message(Staging::new(&theirs.join("out")));
        assert!(
            text.contains("belongs to another user (uid 65534)"),
            "{text}"
        );
    }
    for dir in [&open, &group] {
        assert_eq!(fs::read_dir(dir)?.count(), 0, "{}", dir.display());
    }
    Ok(())
}

#[test]
fn a_sticky_parent_writable_by_all_is_used_safely() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let shared = tmp.path().join("shared");
    fs::create_dir(&shared)?;
    chmod(&shared, 0o1777)?;
    let out = shared.join("out");
    let mut staging = Staging::new(&out)?;
    put(&mut staging, "a/b", b"payload")?;
    staging.commit()?;
    assert_eq!(fs::read(out.join("a/b"))?, b"payload");
    assert_eq!(fs::metadata(&out)?.mode() & 0o7777, 0o755);
    Ok(())
}

#[test]
fn an_existing_staging_name_is_never_used() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let parent = dirs::open_parent(tmp.path())?;
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere)?;
    // A link planted at the name (to a folder, to nowhere), a file, a folder made by another.
    let names = [
        ".zonebridge-1-aa.staging",
        ".zonebridge-1-bb.staging",
        ".zonebridge-1-cc.staging",
        ".zonebridge-1-dd.staging",
    ];
    symlink(&elsewhere, tmp.path().join(names[0]))?;
    symlink(tmp.path().join("nowhere"), tmp.path().join(names[1]))?;
    fs::write(tmp.path().join(names[2]), b"")?;
    fs::create_dir(tmp.path().join(names[3]))?;
    if is_root() {
        chown(tmp.path().join(names[3]), Some(NOBODY), Some(NOBODY))?;
    }
    for name in names {
        let err = dirs::create_private(&parent, name).err();
        assert_eq!(
            err.map(|e| e.kind()),
            Some(io::ErrorKind::AlreadyExists),
            "{name}"
        );
    }
    assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
    assert!(!tmp.path().join("nowhere").exists());
    Ok(())
}

#[test]
fn a_subfolder_swapped_for_a_link_while_entries_are_written_is_refused() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside)?;
    let mut staging = Staging::new(&tmp.path().join("out"))?;
    put(&mut staging, "app/a.zip", b"a")?;
    put(&mut staging, "packages/a.zip", b"a")?;
    // As root (or the owner) could: the subfolders become links to a folder outside.
    for folder in ["app", "packages"] {
        let path = staging.root().join(folder);
        fs::rename(&path, tmp.path().join(format!("moved-{folder}")))?;
        symlink(&outside, &path)?;
    }
    // A folder opened anew is never opened through a link.
    let err = staging.begin(&entry("app/b.zip")?).err();
    assert!(err.is_some(), "writing through a link must fail");
    // The folder just written to is used through its handle: the moved folder, never the link.
    put(&mut staging, "packages/b.zip", b"b")?;
    assert!(tmp.path().join("moved-packages/b.zip").is_file());
    assert_eq!(
        fs::read_dir(&outside)?.count(),
        0,
        "nothing written outside"
    );
    // And the tree, no longer what was written, is not published.
    let text = message(staging.commit());
    assert!(text.contains("which is not what was verified"), "{text}");
    assert!(!tmp.path().join("out").exists());

    // A file planted inside the staging folder is found before the tree is published.
    let mut staging = Staging::new(&tmp.path().join("out2"))?;
    put(&mut staging, "process.json", b"{}")?;
    fs::write(staging.root().join("planted"), b"x")?;
    let text = message(staging.commit());
    assert!(
        text.contains("\"planted\", which is not what was verified"),
        "{text}"
    );
    assert!(!tmp.path().join("out2").exists());

    // So is a verified file replaced by a link, or given another mode.
    let mut staging = Staging::new(&tmp.path().join("out3"))?;
    put(&mut staging, "process.json", b"{}")?;
    fs::remove_file(staging.root().join("process.json"))?;
    symlink("/etc/passwd", staging.root().join("process.json"))?;
    assert!(message(staging.commit()).contains("process.json"));
    let mut staging = Staging::new(&tmp.path().join("out4"))?;
    put(&mut staging, "run.sh", b"")?;
    chmod(&staging.root().join("run.sh"), 0o4755)?;
    assert!(message(staging.commit()).contains("run.sh"));
    for out in ["out3", "out4"] {
        assert!(!tmp.path().join(out).exists(), "{out}");
    }
    assert_eq!(staging_left(tmp.path())?, Vec::<String>::new());
    Ok(())
}

#[test]
fn a_destination_that_appears_or_changes_during_verification_is_left_alone() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere)?;
    type Change = fn(&Path, &Path) -> io::Result<()>;
    let cases: [(&str, bool, Change); 5] = [
        ("a folder appears", false, |out, _| fs::create_dir(out)),
        ("a link appears", false, |out, to| symlink(to, out)),
        ("a file appears", false, |out, _| fs::write(out, b"theirs")),
        ("the empty folder is replaced by a link", true, |out, to| {
            fs::remove_dir(out)?;
            symlink(to, out)
        }),
        ("a file is put in the empty folder", true, |out, _| {
            fs::write(out.join("theirs"), b"x")
        }),
    ];
    for (i, (case, existed, change)) in cases.into_iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        if existed {
            fs::create_dir(&out)?;
        }
        let mut staging = Staging::new(&out)?;
        put(&mut staging, "process.json", b"{}")?;
        change(&out, &elsewhere)?;
        let before = fs::symlink_metadata(&out)?;
        let text = message(staging.commit());
        assert!(
            text.contains("was changed by someone else"),
            "{case}: {text}"
        );
        let after = fs::symlink_metadata(&out)?;
        assert_eq!(before.ino(), after.ino(), "{case}: left as it is");
        assert_eq!(staging_left(tmp.path())?, Vec::<String>::new(), "{case}");
    }
    assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
    if is_root() {
        // Created by another user during verification.
        let out = tmp.path().join("theirs");
        let mut staging = Staging::new(&out)?;
        put(&mut staging, "process.json", b"{}")?;
        fs::create_dir(&out)?;
        chown(&out, Some(NOBODY), Some(NOBODY))?;
        assert!(message(staging.commit()).contains("was changed by someone else"));
        assert_eq!(fs::metadata(&out)?.uid(), NOBODY);
        assert_eq!(fs::read_dir(&out)?.count(), 0);
    }
    Ok(())
}

#[test]
fn a_dropped_staging_folder_is_removed_and_private_staging_never_publishes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let mut staging = Staging::new(&tmp.path().join("out"))?;
    put(&mut staging, "a/b/c", b"1")?;
    drop(staging);
    assert_eq!(fs::read_dir(tmp.path())?.count(), 0);

    let mut private = Staging::private_in(tmp.path())?;
    put(&mut private, "x", b"1")?;
    assert_eq!(fs::read(private.root().join("x"))?, b"1");
    assert!(message(private.commit()).contains("no destination"));
    assert_eq!(fs::read_dir(tmp.path())?.count(), 0);
    Ok(())
}
