//! Which refusals quarantine a bundle and which leave it to be tried again.
//!
//! A refusal is **permanent** when the bundle itself is wrong and no change on this side can
//! make it right: it goes to `quarantine/` with its note. It is **retried** when it depends on
//! the target's state or this zone's configuration, which an operator can fix (create the
//! project, add a mapping or a secret, trust a key, bring Octopus back): the file stays in
//! the inbox, its channel waits, and it is tried again every `--retry`. A code in neither
//! list is retried too (a bundle is never lost to a code this table does not know yet), and
//! health names it so that someone looks.
//!
//! Trust questions are split on purpose: a signature that does not verify, or bytes that do
//! not match the signed hashes, are the bundle's fault (permanent); a signer this zone does
//! not trust (yet), or too few trusted signatures, is this zone's policy, which an operator
//! may change (`policy trust`), so those are retried.

/// What to do with a refused bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Quarantine it: the bundle itself is wrong.
    Quarantine,
    /// Leave it and try again later: this side can fix what refused it.
    Retry,
    /// A code this table does not know: tried again (never lose a bundle), and named in
    /// health.
    Unknown,
}

/// Refusals that quarantine: the bundle's bytes are wrong whatever this side does.
pub const PERMANENT: &[&str] = &[
    // Not a bundle, or a damaged one (spec 12); `truncated` only once the file is no longer
    // young (a young one may still be arriving, and settles again).
    "not-a-bundle",
    "empty-file",
    "unexpected-frame",
    "window-too-large",
    "corrupt",
    "truncated",
    "trailing-data",
    "bad-record",
    "not-regular-file",
    "path-invalid",
    "limit-exceeded",
    "manifest-invalid",
    "unsupported-format-version",
    "entry-out-of-order",
    "entry-duplicated",
    "entry-not-in-manifest",
    "entry-missing",
    "entry-size-mismatch",
    // Signatures and digests: tampered or damaged.
    "signature-block-invalid",
    "duplicate-signer",
    "signature-invalid",
    "hash-mismatch",
    // Addressed to another zone, stale, or out of place on its channel for good.
    "wrong-target-zone",
    "bundle-expired",
    "rollback",
    "chain-broken",
    "skipped",
    // Not what this inbox takes, or a release that contradicts itself.
    "wrong-kind",
    "release-invalid",
    "package-unselectable",
    "build-information-invalid",
];

/// Refusals that are tried again: this zone's configuration or the target's state, which
/// an operator can change.
pub const RETRY: &[&str] = &[
    // The trust policy may be changed to trust the signer (`policy trust`).
    "signer-unknown",
    "signer-wrong-role",
    "signer-zone-not-allowed",
    "key-expired",
    "threshold-not-met",
    // The channel waits for an earlier bundle (the engine orders, but the ledger decides).
    "gap",
    // What the target lacks, or holds differently, until someone fixes it there or in the
    // mapping, secrets or prompted-values files.
    "missing-on-target",
    "unresolved-names",
    "secrets-missing",
    "automatic-start",
    "channel-rule",
    "channel-rules-differ",
    "external-package-missing",
    "variable-conflict",
    "sensitive-property",
    "step-template-conflict",
    "secret-shadowed",
    "package-conflict",
    "build-information-conflict",
    "release-conflict",
    "import-mismatch",
    "version-controlled",
    "target-older",
    "not-imported",
    "prompted-variable-missing",
    "prompted-variable-unknown",
    "not-found",
    // Reaching the target.
    "octopus-unavailable",
    "octopus-unauthorized",
    "octopus-config",
    "octopus-refused",
    "permission-denied",
    "rate-limited",
    // This side's own files: configuration, keys, the ledger.
    "config-invalid",
    "policy-invalid",
    "policy-permissions",
    "key-invalid",
    "key-permissions",
    "ledger-busy",
    "ledger-invalid",
    "ledger-chain-broken",
    "ledger-state-mismatch",
    "already-accepted",
    "sequence-not-newer",
    "channel-moved",
    "exists",
    "not-a-file",
    "io",
];

/// What to do with a bundle refused with `code`.
pub fn disposition(code: &str) -> Disposition {
    if PERMANENT.contains(&code) {
        Disposition::Quarantine
    } else if RETRY.contains(&code) {
        Disposition::Retry
    } else {
        Disposition::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_do_not_overlap() {
        for code in PERMANENT {
            assert!(!RETRY.contains(code), "{code} is in both lists");
        }
    }

    #[test]
    fn the_bundles_faults_quarantine_and_the_zones_are_retried() {
        for code in [
            "signature-invalid",
            "hash-mismatch",
            "truncated",
            "rollback",
        ] {
            assert_eq!(disposition(code), Disposition::Quarantine, "{code}");
        }
        for code in [
            "secrets-missing",
            "unresolved-names",
            "missing-on-target",
            "octopus-unavailable",
            "signer-unknown",
        ] {
            assert_eq!(disposition(code), Disposition::Retry, "{code}");
        }
        assert_eq!(disposition("something-new"), Disposition::Unknown);
    }

    #[test]
    fn the_operator_guide_lists_every_code_as_the_table_does() -> Result<(), std::io::Error> {
        let guide = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operator-guide.md"),
        )?;
        for (row, codes) in [("| quarantine |", PERMANENT), ("| retry |", RETRY)] {
            let line = guide
                .lines()
                .find(|l| l.trim_start().starts_with(row))
                .unwrap_or_default();
            let listed: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
            assert_eq!(listed, codes, "the guide's {row} row");
        }
        Ok(())
    }
}
