//! Unit tests of the engine: real bundle heads, handlers that record what they are handed.

use super::*;

/// A handler that must never be called: only files that are not bundles are given.
#[derive(Debug)]
struct Never;

impl Handler for Never {
    fn next_expected(&mut self, _: &Channel) -> Result<u64, Refusal> {
        Err(Refusal::new("test", "not expected to be asked"))
    }
    fn handle(&mut self, bundle: &Taken) -> Outcome {
        Outcome::Refused(Refusal::new("test", format!("handed {}", bundle.name)))
    }
}

#[test]
fn files_that_are_not_bundles_are_quarantined_and_others_left_alone()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let inbox = dir.path();
    fs::write(inbox.join("junk.zb"), b"this is not a bundle at all")?;
    fs::write(inbox.join("empty.zb"), b"")?;
    fs::write(inbox.join(".hidden.zb"), b"x")?;
    fs::write(inbox.join("x.zb.part"), b"x")?;
    fs::create_dir(inbox.join("folder.zb"))?;
    let mut config = Config::new(inbox).with_settle(Duration::ZERO);
    config.once = true;
    config.service = "test";
    config.metrics = Some(inbox.join(".watch/inbox.prom"));
    let mut engine = Inbox::open(config.clone())?;
    let summary = engine.run(&mut Never, &|| false)?;
    assert_eq!(summary.quarantined, 2, "{summary:?}");
    for name in ["junk.zb", "empty.zb"] {
        assert!(inbox.join("quarantine").join(name).is_file(), "{name}");
        let note: Note =
            serde_json::from_slice(&fs::read(inbox.join(format!("quarantine/{name}.json")))?)?;
        assert_eq!(note.file, name);
        assert!(note.channel.is_none());
        assert_eq!(note.digest.len(), 64);
    }
    let note: Note = serde_json::from_slice(&fs::read(inbox.join("quarantine/empty.zb.json"))?)?;
    assert_eq!(note.code, "not-a-bundle");
    for name in [".hidden.zb", "x.zb.part", "folder.zb"] {
        assert!(inbox.join(name).exists(), "{name} left alone");
    }
    let health = Health::read(inbox)?;
    assert!(health.stopped);
    assert_eq!(health.counts.quarantined, 2);
    assert_eq!(health.counts.ignored, 1);
    assert_eq!(health.queue_length, 0);
    let metrics = fs::read_to_string(inbox.join(".watch/inbox.prom"))?;
    assert!(
        metrics
            .contains("zonebridge_inbox_bundles_total{service=\"test\",outcome=\"quarantined\"} 2"),
        "{metrics}"
    );
    // A second watch on the same inbox is refused while the first holds it.
    let second = Inbox::open(config);
    assert!(matches!(second, Err(InboxError::Busy(_))), "{second:?}");
    Ok(())
}

/// A signed release bundle on `source->pci/release` at `sequence` (nothing in it is
/// checked by the engine but its head).
fn bundle(source: &str, sequence: u64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    crate::test_bundle::release(source, sequence, br#"{"Steps":[]}"#)
}

/// A handler that accepts each channel's bundles in order only, refuses a bundle once
/// with `first_refusal` if asked, and records what it was handed.
#[derive(Debug, Default)]
struct InOrder {
    next: BTreeMap<String, u64>,
    handed: Vec<(String, String, u64)>,
    refuse_once: Option<(String, &'static str)>,
}

impl Handler for InOrder {
    fn next_expected(&mut self, channel: &Channel) -> Result<u64, Refusal> {
        Ok(*self.next.get(&channel.to_string()).unwrap_or(&1))
    }
    fn handle(&mut self, bundle: &Taken) -> Outcome {
        let channel = bundle.channel.to_string();
        self.handed
            .push((bundle.name.clone(), channel.clone(), bundle.sequence));
        if let Some((name, code)) = self.refuse_once.take() {
            if name == bundle.name {
                return Outcome::Refused(Refusal::new(code, "not now\nHint: fix it"));
            }
            self.refuse_once = Some((name, code));
        }
        let next = self.next.entry(channel).or_insert(1);
        if bundle.sequence < *next {
            Outcome::AlreadyDone("seen".into())
        } else if bundle.sequence == *next {
            *next += 1;
            Outcome::Done("imported".into())
        } else {
            Outcome::Refused(Refusal::new("gap", "handed out of order"))
        }
    }
}

fn inbox_with(
    files: &[(&str, &str, u64)],
) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for (name, source, sequence) in files {
        fs::write(dir.path().join(name), bundle(source, *sequence)?)?;
    }
    Ok(dir)
}

#[test]
fn each_channel_is_handed_in_sequence_order_whatever_the_names()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = inbox_with(&[
        ("a-third.zb", "dev", 3),
        ("b-first.zb", "dev", 1),
        ("c-second.zb", "dev", 2),
        ("d-copy-of-first.zb", "dev", 1),
        ("e-qa-second.zb", "qa", 2),
        ("f-qa-first.zb", "qa", 1),
        ("g-fifth-without-fourth.zb", "dev", 5),
    ])?;
    let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
    config.once = true;
    let mut handler = InOrder::default();
    let summary = Inbox::open(config)?.run(&mut handler, &|| false)?;
    let dev: Vec<&str> = handler
        .handed
        .iter()
        .filter(|(_, c, _)| c == "dev->pci/release")
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert_eq!(
        dev,
        [
            "b-first.zb",
            "d-copy-of-first.zb",
            "c-second.zb",
            "a-third.zb"
        ]
    );
    let qa: Vec<&str> = handler
        .handed
        .iter()
        .filter(|(_, c, _)| c == "qa->pci/release")
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert_eq!(qa, ["f-qa-first.zb", "e-qa-second.zb"]);
    assert_eq!((summary.done, summary.duplicates, summary.left), (6, 1, 1));
    let health = Health::read(dir.path())?;
    let waiting = health.oldest_waiting.ok_or("nothing waits")?;
    assert_eq!(waiting.file, "g-fifth-without-fourth.zb");
    assert_eq!(
        waiting.waiting_for,
        "waiting for bundle 4 on channel dev->pci/release"
    );
    assert!(dir.path().join("g-fifth-without-fourth.zb").is_file());
    Ok(())
}

#[test]
fn a_refusal_this_side_can_fix_is_retried_and_its_channel_waits()
-> Result<(), Box<dyn std::error::Error>> {
    for (code, unknown) in [("secrets-missing", false), ("brand-new-code", true)] {
        let dir = inbox_with(&[("one.zb", "dev", 1), ("two.zb", "dev", 2)])?;
        let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
        config.retry = Duration::from_millis(50);
        let mut handler = InOrder {
            refuse_once: Some(("one.zb".into(), code)),
            ..InOrder::default()
        };
        let done = dir.path().join("done");
        let stop = || fs::read_dir(&done).map_or(0, Iterator::count) == 2;
        let mut inbox = Inbox::open(config)?;
        let summary = inbox.run(&mut handler, &stop)?;
        let names: Vec<&str> = handler.handed.iter().map(|(n, _, _)| n.as_str()).collect();
        // Refused, not quarantined; two never handed before one; one handed again.
        assert_eq!(names, ["one.zb", "one.zb", "two.zb"], "{code}");
        assert_eq!(
            (summary.retried, summary.quarantined, summary.done),
            (1, 0, 2)
        );
        let health = inbox.health();
        assert_eq!(
            health.unknown_codes.contains(&code.to_owned()),
            unknown,
            "{code}"
        );
        assert_eq!(
            health.last_error.as_ref().map(|e| e.code.as_str()),
            Some(code)
        );
    }
    Ok(())
}

#[test]
fn a_permanent_refusal_quarantines_with_the_heads_claims_in_the_note()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = inbox_with(&[("one.zb", "dev", 1)])?;
    let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
    config.once = true;
    let mut handler = InOrder {
        refuse_once: Some(("one.zb".into(), "signature-invalid")),
        ..InOrder::default()
    };
    Inbox::open(config)?.run(&mut handler, &|| false)?;
    let note: Note = serde_json::from_slice(&fs::read(dir.path().join("quarantine/one.zb.json"))?)?;
    assert_eq!(note.code, "signature-invalid");
    assert_eq!(note.message, "not now");
    assert_eq!(note.hint.as_deref(), Some("fix it"));
    assert_eq!(note.channel.as_deref(), Some("dev->pci/release"));
    assert_eq!(note.sequence, Some(1));
    assert!(dir.path().join("quarantine/one.zb").is_file());
    Ok(())
}

#[test]
fn a_flood_of_junk_is_quarantined_file_by_file_and_counted()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for i in 0..300 {
        fs::write(
            dir.path().join(format!("junk-{i:03}.zb")),
            format!("junk {i}"),
        )?;
    }
    // The same name again after the first round: a suffix, never an overwrite.
    let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
    config.once = true;
    let summary = Inbox::open(config.clone())?.run(&mut Never, &|| false)?;
    assert_eq!(summary.quarantined, 300);
    fs::write(dir.path().join("junk-000.zb"), "junk again")?;
    Inbox::open(config)?.run(&mut Never, &|| false)?;
    let q = dir.path().join("quarantine");
    assert_eq!(fs::read(q.join("junk-000.zb"))?, b"junk 0");
    assert_eq!(fs::read(q.join("junk-000.1.zb"))?, b"junk again");
    assert_eq!(fs::read_dir(&q)?.count(), 602);
    let health = Health::read(dir.path())?;
    assert_eq!(health.counts.quarantined, 301);
    assert_eq!(health.queue_length, 0);
    Ok(())
}
