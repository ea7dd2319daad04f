//! Issue 10, point 1: text from a bundle or a file name never reaches the terminal raw.
//! Bundles whose project, version, notes, package ids and secret names hold C0, C1, DEL and
//! bidi characters are packed, signed, inspected, verified and unpacked: no output for people
//! holds such a character raw (each is shown escaped), and `--json` keeps the exact value.

use crate::harness::{Run, Site, write};

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
        .ok()
        .json();
    assert_eq!(verify["bundle"]["channel"], "dev->pci/release");
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
fn a_refused_package_file_name_is_escaped() {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a\u{1b}[2J.zip", b"zip")]);
    let run = site.pack(&release, &["alice"], "pci", "b.zb").run();
    assert_ne!(run.code, 0);
    assert_clean(&run);
    assert!(run.stderr.contains(r"\u{1b}[2J") || run.stderr.contains(r"\x1b[2J"));
}
