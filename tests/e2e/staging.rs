//! `unpack --to DIR` against another local user (issue 10, point 5): destinations and parents
//! they could redirect or replace are refused with a message naming the folder; a destination
//! created while the bundle is verified is left alone; an unpacked tree is the manifest's
//! entries exactly, owned by the caller, folders 0755 and files 0644. Tests run as root in CI:
//! "another user" is `nobody` (uid 65534), set with chown.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, chown, symlink};
use std::path::Path;

use crate::harness::{Site, TestResult, listing};
use crate::interrupt::{finish, site_with_bundle, temporaries, wait_until};

const NOBODY: u32 = 65534;

/// The user the tests run as (the owner of a file just made).
fn me(site: &Site) -> u32 {
    fs::metadata(site.path("bundle.zb")).map_or(u32::MAX, |m| m.uid())
}

fn chmod(path: &Path, mode: u32) -> TestResult {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Every file and folder under `root`, relative, with its mode and owner.
fn tree(root: &Path, prefix: &str, into: &mut Vec<(String, bool, u32, u32)>) -> TestResult {
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let meta = fs::symlink_metadata(entry.path())?;
        into.push((
            name.clone(),
            meta.is_dir(),
            meta.mode() & 0o7777,
            meta.uid(),
        ));
        if meta.is_dir() {
            tree(&entry.path(), &format!("{name}/"), into)?;
        }
    }
    Ok(())
}

fn unpack_to(site: &Site, to: &Path) -> crate::harness::Cmd {
    site.import()
        .args([
            "unpack",
            "bundle.zb",
            "--policy",
            "pci.toml",
            "--json",
            "--to",
        ])
        .args([to])
}

#[test]
fn an_unpacked_tree_is_the_manifest_exactly_owned_by_the_caller() -> TestResult {
    let (site, _) = site_with_bundle();
    let verified = site
        .import()
        .args(["verify", "bundle.zb", "--policy", "pci.toml", "--json"])
        .ok()
        .json();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for entry in verified["bundle"]["entries"]
        .as_array()
        .ok_or("no entries")?
    {
        let path = entry["path"].as_str().ok_or("no path")?;
        expected.insert(path.to_owned());
        let mut folder = Path::new(path).parent();
        while let Some(f) = folder.filter(|f| !f.as_os_str().is_empty()) {
            expected.insert(f.to_string_lossy().into_owned());
            folder = f.parent();
        }
    }
    // In a folder like /tmp (1777), in a private one, and into an empty folder of ours.
    let shared = site.path("shared");
    fs::create_dir(&shared)?;
    chmod(&shared, 0o1777)?;
    fs::create_dir(site.path("empty"))?;
    for to in [shared.join("out"), site.path("private"), site.path("empty")] {
        unpack_to(&site, &to).ok();
        let meta = fs::symlink_metadata(&to)?;
        assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o755, me(&site)));
        let mut found = Vec::new();
        tree(&to, "", &mut found)?;
        let names: BTreeSet<String> = found.iter().map(|f| f.0.clone()).collect();
        assert_eq!(names, expected, "{}", to.display());
        for (name, is_dir, mode, uid) in found {
            let want = if is_dir { 0o755 } else { 0o644 };
            assert_eq!((mode, uid), (want, me(&site)), "{name}");
        }
    }
    assert_eq!(temporaries(&shared), Vec::<std::path::PathBuf>::new());
    Ok(())
}

#[test]
fn destinations_that_are_not_a_new_or_empty_folder_of_the_caller_are_refused() -> TestResult {
    let (site, _) = site_with_bundle();
    let elsewhere = site.path("elsewhere");
    fs::create_dir(&elsewhere)?;
    symlink(&elsewhere, site.path("link"))?;
    symlink(site.path("nowhere"), site.path("dangling"))?;
    fs::write(site.path("file"), b"mine")?;
    fs::create_dir(site.path("full"))?;
    fs::write(site.path("full/keep"), b"")?;
    let mut cases = vec![
        ("link", "link is a symbolic link"),
        ("dangling", "dangling is a symbolic link"),
        ("file", "file exists and is not a folder"),
        ("full", "full exists and is not empty"),
    ];
    if me(&site) == 0 {
        fs::create_dir(site.path("theirs"))?;
        chown(site.path("theirs"), Some(NOBODY), Some(NOBODY))?;
        cases.push(("theirs", "belongs to another user (uid 65534)"));
    }
    let before = listing(site.root());
    for (name, text) in cases {
        let run = unpack_to(&site, &site.path(name)).expect(4);
        run.stderr_has(text)
            .stderr_has("Hint: --to must name a new folder, or an empty folder of yours");
        assert_eq!(run.json()["error"]["exit"], 4);
        assert_eq!(listing(site.root()), before, "{name}: nothing added");
    }
    assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
    assert_eq!(fs::read(site.path("file"))?, b"mine");
    assert!(!site.path("nowhere").exists());
    Ok(())
}

#[test]
fn parents_that_other_users_can_change_are_refused_naming_folder_and_mode() -> TestResult {
    let (site, _) = site_with_bundle();
    let open = site.path("open");
    fs::create_dir(&open)?;
    chmod(&open, 0o777)?;
    let group = site.path("group");
    fs::create_dir(&group)?;
    chmod(&group, 0o770)?;
    let real = site.path("real");
    fs::create_dir(&real)?;
    symlink(&real, site.path("via-link"))?;
    let mut cases = vec![
        (
            open.clone(),
            format!(
                "the folder {} (mode 0777) is writable by other users and has no sticky bit",
                open.display()
            ),
        ),
        (
            group.clone(),
            format!("the folder {} (mode 0770)", group.display()),
        ),
        (
            site.path("via-link"),
            "via-link is a symbolic link".to_owned(),
        ),
    ];
    if me(&site) == 0 {
        let theirs = site.path("theirs");
        fs::create_dir(&theirs)?;
        chown(&theirs, Some(NOBODY), Some(NOBODY))?;
        cases.push((theirs, "belongs to another user (uid 65534)".to_owned()));
    }
    for (parent, text) in cases {
        let run = unpack_to(&site, &parent.join("out")).expect(4);
        run.stderr_has(&text).stderr_has("Hint: ");
        assert_eq!(fs::read_dir(&parent)?.count(), 0, "{}", parent.display());
    }
    Ok(())
}

#[test]
fn a_destination_created_by_someone_else_during_verification_is_left_alone() -> TestResult {
    let (site, bundle) = site_with_bundle();
    let shared = site.path("shared");
    fs::create_dir(&shared)?;
    chmod(&shared, 0o1777)?;
    let elsewhere = site.path("elsewhere");
    fs::create_dir(&elsewhere)?;
    type Plant = fn(&Path, &Path) -> std::io::Result<()>;
    let mut cases: Vec<(&str, Plant)> = vec![
        ("a link", |out, to| symlink(to, out)),
        ("a file", |out, _| fs::write(out, b"theirs")),
        ("a folder", |out, _| fs::create_dir(out)),
    ];
    if me(&site) == 0 {
        cases.push(("a folder of nobody", |out, _| {
            fs::create_dir(out)?;
            chown(out, Some(NOBODY), Some(NOBODY))
        }));
    }
    for (i, (what, plant)) in cases.into_iter().enumerate() {
        let out = shared.join(format!("out{i}"));
        let mut child = site
            .import()
            .args(["unpack", "-", "--policy", "pci.toml", "--to"])
            .args([&out])
            .spawn();
        // The staging folder exists once unpack waits for the bundle: plant, then send it.
        wait_until("the staging folder", || !temporaries(&shared).is_empty());
        let planted = plant(&out, &elsewhere).and_then(|()| fs::symlink_metadata(&out));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(&bundle);
        }
        let (exit, stderr) = finish(child);
        let planted = planted?;
        assert_eq!(exit, Some(4), "{what}: {stderr}");
        assert!(
            stderr.contains("was changed by someone else while the bundle was verified"),
            "{what}: {stderr}"
        );
        let now = fs::symlink_metadata(&out)?;
        assert_eq!(
            (now.ino(), now.uid()),
            (planted.ino(), planted.uid()),
            "{what}"
        );
        if now.is_dir() {
            assert_eq!(fs::read_dir(&out)?.count(), 0, "{what}: nothing put in it");
        }
        assert_eq!(
            temporaries(&shared),
            Vec::<std::path::PathBuf>::new(),
            "{what}"
        );
    }
    assert_eq!(fs::read_dir(&elsewhere)?.count(), 0);
    Ok(())
}

#[test]
fn import_and_results_refuse_a_temporary_folder_others_can_change() -> TestResult {
    let (site, _) = site_with_bundle();
    site.export()
        .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
        .ok();
    let open = site.path("open");
    fs::create_dir(&open)?;
    chmod(&open, 0o777)?;
    let tmp = open.to_str().ok_or("not UTF-8")?;
    let import = site
        .import()
        .args([
            "import",
            "bundle.zb",
            "--policy",
            "pci.toml",
            "--ledger",
            "import.ledger",
        ])
        .args(["--server", "http://127.0.0.1:9"])
        .env("OCTOPUS_API_KEY", "API-UNUSED")
        .env("TMPDIR", tmp);
    let results = site
        .export()
        .args(["results", "bundle.zb", "--policy", "dev.toml", "--no-note"])
        .args(["--ledger", "export.ledger"])
        .env("TMPDIR", tmp);
    for cmd in [import, results] {
        cmd.expect(4)
            .stderr_has("cannot create a private staging folder")
            .stderr_has(&format!("the folder {tmp} (mode 0777)"))
            .stderr_has("Hint: use a folder only you can write");
        assert_eq!(fs::read_dir(&open)?.count(), 0);
    }
    Ok(())
}
