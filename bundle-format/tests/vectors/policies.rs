//! The trust policies the sidecars name (spec section 7), written as an operator would.

use base64::Engine as _;

use super::build::{
    EXPIRED, Error, QA_ONLY, RELEASE_A, RELEASE_B, RESULT_PCI, TestKey, WRONG_ROLE,
};

/// The default policy: zone `pci`, one signature per release, and one key per trust condition.
pub const PCI: &str = "policies/pci.toml";
/// The same keys as [`PCI`], but release bundles need two signatures.
pub const PCI_2OF2: &str = "policies/pci_2of2.toml";
/// `release-a` only, with small reading limits.
pub const PCI_SMALL_LIMITS: &str = "policies/pci_small_limits.toml";
/// Zone `dev`, receiving result bundles from `pci`.
pub const DEV: &str = "policies/dev.toml";

struct Trust {
    key: TestKey,
    role: &'static str,
    zones: &'static str,
    not_after: Option<&'static str>,
    comment: &'static str,
}

const PCI_KEYS: [Trust; 5] = [
    Trust {
        key: RELEASE_A,
        role: "release",
        zones: r#"["dev"]"#,
        not_after: None,
        comment: "release signer for dev",
    },
    Trust {
        key: RELEASE_B,
        role: "release",
        zones: r#"["dev"]"#,
        not_after: None,
        comment: "second release approver for dev",
    },
    Trust {
        key: WRONG_ROLE,
        role: "result",
        zones: r#"["dev"]"#,
        not_after: None,
        comment: "may sign result bundles only",
    },
    Trust {
        key: QA_ONLY,
        role: "release",
        zones: r#"["qa"]"#,
        not_after: None,
        comment: "may speak for zone qa only",
    },
    Trust {
        key: EXPIRED,
        role: "release",
        zones: r#"["dev"]"#,
        not_after: Some("2026-03-01T00:00:00Z"),
        comment: "validity ended before the vectors' clock",
    },
];

/// Every policy file, as (path under the vectors folder, text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        (
            PCI,
            policy(
                "The default policy: zone pci; each key stands for one trust condition.",
                "pci",
                (1, 1),
                "",
                &PCI_KEYS,
            ),
        ),
        (
            PCI_2OF2,
            policy(
                "Four eyes: the keys of pci.toml, and release bundles need two of them.",
                "pci",
                (2, 1),
                "",
                &PCI_KEYS,
            ),
        ),
        (
            PCI_SMALL_LIMITS,
            policy(
                "Small reading limits, so that small vectors can exceed them.",
                "pci",
                (1, 1),
                "\n[limits]\nmax_manifest_bytes = 1024\nmax_entries = 4\nmax_entry_bytes = 4096\nmax_total_bytes = 8192\n",
                &PCI_KEYS[..1],
            ),
        ),
        (
            DEV,
            policy(
                "The development zone, receiving deployment results from pci.",
                "dev",
                (1, 1),
                "",
                &[Trust {
                    key: RESULT_PCI,
                    role: "result",
                    zones: r#"["pci"]"#,
                    not_after: None,
                    comment: "result signer of zone pci",
                }],
            ),
        ),
    ]
}

fn policy(
    purpose: &str,
    zone: &str,
    (release, result): (u32, u32),
    limits: &str,
    keys: &[Trust],
) -> String {
    let mut text = format!(
        "# Zonebridge test vector policy (tests/vectors/README.md).\n# {purpose}\nzone = \"{zone}\"\n\n[thresholds]\nrelease = {release}\nresult = {result}\n{limits}"
    );
    for trust in keys {
        let public = trust.key.signing().public_key();
        text.push_str(&format!(
            "\n[[keys]]\nid = \"{}\"\npublic_key = \"{}\"\nrole = \"{}\"\nzones = {}\n",
            public.key_id(),
            base64::engine::general_purpose::STANDARD.encode(public.to_raw()),
            trust.role,
            trust.zones,
        ));
        if let Some(not_after) = trust.not_after {
            text.push_str(&format!("not_after = {not_after}\n"));
        }
        text.push_str(&format!(
            "comment = \"{}: {}\"\n",
            trust.key.name, trust.comment
        ));
    }
    text
}

/// Checks that every policy parses; a generator bug should not surface as a wrong verdict.
pub fn check() -> Result<(), Error> {
    for (path, text) in all() {
        bundle_format::policy::TrustPolicy::from_toml(&text, path)?;
    }
    Ok(())
}
