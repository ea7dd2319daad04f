//! Issue 10, point 1: text from a bundle or a file name never reaches the terminal raw.
//! Bundles whose project, version, notes, package ids and secret names hold C0, C1, DEL and
//! bidi characters are packed, signed, inspected, verified and unpacked: no output for people
//! holds such a character raw (each is shown escaped), and `--json` keeps the exact value.

use crate::harness::{Run, Site, TestResult, write};

/// The hostile values, as written into `release.toml` (TOML `\u` escapes) and as they are.
const PROJECT: (&str, &str) = (
    r"Pay\u001b[2Kments\n   signed by: ffffffffffffffffffffffffffffffff (release signer)",
    "Pay\u{1b}[2Kments\n   signed by: ffffffffffffffffffffffffffffffff (release signer)",
);
const VERSION: (&str, &str) = (r"1.0\u202e3.2\u0007", "1.0\u{202e}3.2\u{7}");
const PACKAGE: (&str, &str) = (r"Pkg\u009b31m\u007f", "Pkg\u{9b}31m\u{7f}");
const SECRET: (&str, &str) = (
    r"Db\u2067.Password\u2069\u200f\u061c\r",
    "Db\u{2067}.Password\u{2069}\u{200f}\u{61c}\r",
);
const SCOPE: (&str, &str) = (r"Prod\u202auction\u0085", "Prod\u{202a}uction\u{85}");
const NOTES: &str = "First line\n\u{1b}[1A\u{1b}[2K   signed by: ffff (release signer)\r\n\
    \u{1b}]0;title\u{7}\u{2066}third\u{2069} line Zürich 東京\n";

/// True for a character a terminal would act on or reorder text by.
fn is_raw_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Asserts that neither stdout nor stderr of `run` holds a raw control or bidi character.
fn assert_clean(run: &Run) {
    for (name, text) in [("stdout", run.stdout()), ("stderr", run.stderr.clone())] {
        let raw: Vec<char> = text.chars().filter(|c| is_raw_control(*c)).collect();
        assert!(raw.is_empty(), "raw {raw:?} on {name}:\n{text}");
    }
}

/// A release folder whose every name and the notes hold hostile characters.
fn hostile_release(site: &Site) -> std::path::PathBuf {
    let root = site.path("hostile");
    write(&root.join("process.json"), br#"{"Steps":[]}"#);
    write(&root.join("variables/project.json"), br#"{"Variables":[]}"#);
    write(&root.join("packages/a.zip"), b"zip bytes");
    write(&root.join("notes.md"), NOTES.as_bytes());
    let toml = format!(
        "project = \"{}\"\nversion = \"{}\"\nchannel = \"Default\"\nnotes_file = \"notes.md\"\n\
         process = \"process.json\"\nvariables = [\"variables/project.json\"]\n\
         [[packages]]\nid = \"{}\"\nversion = \"1.0.0\"\nfile = \"packages/a.zip\"\n\
         [[secrets]]\nowner = \"{}\"\nname = \"{}\"\nscope = {{ Environment = [\"{}\"] }}\n",
        PROJECT.0, VERSION.0, PACKAGE.0, PROJECT.0, SECRET.0, SCOPE.0
    );
    write(&root.join("release.toml"), toml.as_bytes());
    root
}

fn hostile_site() -> Site {
    let site = Site::new();
    site.keygen("alice");
    site.keygen("bob");
    site.policy("pci.toml", "pci", &["alice", "bob"], 1);
    let release = hostile_release(&site);
    let pack = site.pack(&release, &["alice"], "pci", "b.zb").ok();
    assert_clean(&pack);
    pack.stdout_has(r"Pay\x1b[2Kments\n   signed by");
    site
}

#[test]
fn every_command_shows_hostile_names_escaped() {
    let site = hostile_site();
    let runs = [
        site.export().args(["inspect", "b.zb"]).ok(),
        site.import().args(["inspect", "b.zb"]).ok(),
        site.export()
            .args(["sign", "b.zb", "--key", "bob.key", "--out", "c.zb"])
            .ok(),
        site.import()
            .args(["verify", "c.zb", "--policy", "pci.toml"])
            .ok(),
        site.import()
            .args(["unpack", "c.zb", "--policy", "pci.toml", "--to", "out"])
            .ok(),
    ];
    for run in &runs {
        assert_clean(run);
    }
    let [inspect, _, sign, ..] = &runs;
    for run in [inspect, sign] {
        run.stdout_has(r"Pay\x1b[2Kments\n   signed by: ffff")
            .stdout_has(r"1.0\u{202e}3.2\x07")
            .stdout_has(r"Pkg\u{9b}31m\x7f")
            .stdout_has(r"Db\u{2067}.Password\u{2069}\u{200f}\u{61c}\r")
            .stdout_has(r"Prod\u{202a}uction\u{85}")
            // Every line of the notes, each behind its own marker; text of other scripts kept.
            .stdout_has("  | First line\n")
            .stdout_has(r"  | \x1b[1A\x1b[2K   signed by: ffff (release signer)\r")
            .stdout_has(r"  | \x1b]0;title\x07\u{2066}third\u{2069} line Zürich 東京");
    }
    // The approver sees one `signed by` line: the one the signature made, not the project's.
    let fake = sign
        .stdout()
        .lines()
        .filter(|l| l.starts_with("signed by:") || l.trim_start().starts_with("signed by:"))
        .count();
    assert_eq!(fake, 1, "{}", sign.stdout());
}

#[test]
fn json_keeps_the_exact_values() {
    let site = hostile_site();
    for cmd in [site.export(), site.import()] {
        let run = cmd.args(["inspect", "b.zb", "--json"]).ok();
        // Exact values, yet no raw control or bidi character in the document's bytes either:
        // JSON's `\uXXXX` escapes decode to the same strings.
        assert_clean(&run);
        let json = run.json();
        let release = &json["bundle"]["release"];
        assert_eq!(release["project"], PROJECT.1);
        assert_eq!(release["version"], VERSION.1);
        assert_eq!(release["notes"], NOTES);
        assert_eq!(release["packages"][0]["id"], PACKAGE.1);
        assert_eq!(release["secrets"][0]["name"], SECRET.1);
        assert_eq!(release["secrets"][0]["owner"], PROJECT.1);
        assert_eq!(release["secrets"][0]["scope"]["Environment"][0], SCOPE.1);
        // serde_json escapes control characters: the document itself is one clean line.
        assert_eq!(run.stdout().lines().count(), 1);
    }
    let verify = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .ok();
    assert_clean(&verify);
    assert_eq!(verify.json()["bundle"]["release"]["project"], PROJECT.1);
}

#[test]
fn file_names_in_errors_are_escaped() {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    for (name, shown) in [
        ("evil\u{1b}[31m.zb", r"evil\x1b[31m.zb"),
        ("\u{202e}bz.exe", r"\u{202e}bz.exe"),
        ("b\u{9b}2J\u{7f}.zb", r"b\u{9b}2J\x7f.zb"),
        ("two\nHint: run rm -rf.zb", r"two\nHint: run rm -rf.zb"),
    ] {
        for run in [
            site.import()
                .args(["verify", name, "--policy", "pci.toml"])
                .expect(4),
            site.export().args(["inspect", name]).expect(4),
        ] {
            assert_clean(&run);
            run.stderr_has(shown);
            // A newline in the name does not make a hint line of its own.
            assert!(!run.stderr.contains("\nHint: run rm"), "{}", run.stderr);
        }
        // Policy and key paths too (their errors come from the format library).
        let run = site
            .import()
            .args(["verify", "missing.zb", "--policy", name])
            .run();
        assert_ne!(run.code, 0);
        assert_clean(&run);
    }
}

#[test]
fn arguments_quoted_by_usage_errors_are_escaped() {
    let site = Site::new();
    for bad in ["\u{1b}]0;owned\u{7}", "--\u{1b}[2J", "x\u{202e}y\u{9b}"] {
        for cmd in [site.import(), site.export()] {
            let run = cmd.args(["inspect", "a.zb", bad]).expect(2);
            assert_clean(&run);
            // clap itself drops ESC sequences from what it quotes; the rest is escaped.
            if bad.contains('\u{202e}') {
                run.stderr_has(r"x\u{202e}y\u{9b}");
            }
        }
        let run = site
            .import()
            .args(["verify", "--policy", bad, "--frobnicate", bad])
            .expect(2);
        assert_clean(&run);
    }
}

#[test]
fn a_refused_package_file_name_is_escaped() {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a\u{1b}[2J.zip", b"zip")]);
    let run = site.pack(&release, &["alice"], "pci", "b.zb").run();
    assert_ne!(run.code, 0);
    assert_clean(&run);
    assert!(run.stderr.contains(r"\u{1b}[2J") || run.stderr.contains(r"\x1b[2J"));
}

#[test]
fn names_in_a_refusal_cannot_fake_a_hint() {
    let zones = crate::promote::Zones::new();
    let site = &zones.site;
    // The example release, whose content imports; only its project name is hostile.
    let release = site.path("release");
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/release");
    copy_tree(&examples, &release);
    // The same escapes mean the same in TOML and JSON strings.
    let name = r"Payments API\nHint: run rm -rf / to fix\u001b[2K\u202e";
    for file in ["release.toml", "process.json", "variables/project.json"] {
        let text = crate::harness::read_text(&release.join(file));
        let hostile = text.replace("Payments API", name);
        assert_ne!(text, hostile, "{file}");
        write(&release.join(file), hostile.as_bytes());
    }
    site.pack(&release, &["signer"], "pci", "h.zb").ok();
    let run = zones.import("h.zb").expect(1);
    assert_clean(&run);
    // Shown escaped (`\x1b` by our escape, `\u{1b}` where a message quotes it with `{:?}`).
    run.stderr_has(r"Payments API\nHint: run rm -rf / to fix");
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("Hint: run rm")),
        "{}",
        run.stderr
    );
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("cannot list {from:?}: {e}")) {
        let Ok(entry) = entry else { continue };
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            write(&target, &std::fs::read(entry.path()).unwrap_or_default());
        }
    }
}

#[test]
fn a_missing_secret_with_a_hostile_name_stays_on_its_line() -> TestResult {
    let zones = crate::promote::Zones::new();
    let dev = &zones.dev;
    let hostile = "Payments.Token\nHint: run rm -rf / to fix\u{1b}[8m\u{202e}";
    let project = dev.get("/api/Spaces-1/projects/payments-api");
    let id = project["Id"].as_str().ok_or("no project id")?.to_owned();
    let path = format!(
        "/api/Spaces-1/variables/{}",
        project["VariableSetId"].as_str().unwrap_or("")
    );
    let mut set = dev.get(&path);
    if let Some(variables) = set["Variables"].as_array_mut() {
        variables.push(
            serde_json::json!({"Name": hostile, "Value": "dev-only", "IsSensitive": true,
            "Type": "Sensitive", "Scope": {}}),
        );
    }
    dev.put(&path, &set);
    let old = dev.get(&format!("/api/Spaces-1/projects/{id}/releases/1.4.1"));
    dev.post(
        "/api/Spaces-1/releases",
        &serde_json::json!({"ProjectId": id, "Version": "1.4.2", "ChannelId": old["ChannelId"],
            "SelectedPackages": old["SelectedPackages"]}),
    );
    zones.export("Payments API", "1.4.2", "p.zb").ok();
    let run = zones.import("p.zb").args(["--json"]).expect(1);
    assert_clean(&run);
    assert_eq!(
        run.json()["error"]["code"],
        "secrets-missing",
        "{}",
        run.stderr
    );
    run.stderr_has(r"Payments.Token\nHint: run rm -rf / to fix");
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("Hint: run rm")),
        "{}",
        run.stderr
    );
    Ok(())
}
