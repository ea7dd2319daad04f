//! The trust policy (spec section 7): this side's zone, the keys it trusts and for what, how
//! many signatures each kind of bundle needs, and the reading limits.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bounded::BoundedReadError;
use crate::keys::PublicKey;
use crate::limits::Limits;
use crate::manifest::BundleKind;
use crate::names::{KeyId, ZoneId};

/// Largest policy file read.
const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// Which kind of bundle a key may sign, or that it only announces diode transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// Signs release bundles (development zone build or release managers).
    Release,
    /// Signs result bundles (secure zone importers).
    Result,
    /// Signs nothing but the headers and heartbeats of diode transfers (docs/diode.md 4):
    /// the key a diode sender holds, which cannot sign a bundle that any policy accepts.
    Diode,
}

impl KeyRole {
    /// The bundle kind this role signs; `None` for [`KeyRole::Diode`], which signs none.
    pub fn kind(self) -> Option<BundleKind> {
        match self {
            Self::Release => Some(BundleKind::Release),
            Self::Result => Some(BundleKind::Result),
            Self::Diode => None,
        }
    }

    /// The role's name as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Result => "result",
            Self::Diode => "diode",
        }
    }
}

impl std::fmt::Display for KeyRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyRole {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "release" => Ok(Self::Release),
            "result" => Ok(Self::Result),
            "diode" => Ok(Self::Diode),
            other => Err(format!(
                "unknown role {other:?}; expected `release`, `result` or `diode`"
            )),
        }
    }
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Reading or writing the file failed.
    #[error("cannot {action} policy file {}: {source}", path.display())]
    Io {
        /// Read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the policy's shape.
    #[error("policy {origin} is not valid: {detail}")]
    Invalid {
        /// Where the policy came from.
        origin: String,
        /// What is wrong, with line and column where TOML gives them.
        detail: String,
    },
    /// A key entry is wrong.
    #[error("policy {origin}, key {index}: {detail}")]
    Key {
        /// Where the policy came from.
        origin: String,
        /// The key's position (1-based) in `[[keys]]`.
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// The policy file can be changed by group or others: whoever can write it decides trust.
    #[error(
        "policy file {} is writable by group or others (mode {mode:03o}); refusing to use it: whoever can change it decides which keys are trusted\nHint: run `chmod go-w {}` (the policy should be owned by the service user or root, mode 644 or stricter)",
        path.display(), path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key is already in the policy.
    #[error(
        "key {key_id} is already trusted in {origin} (role {role})\nHint: edit or remove its [[keys]] entry to change it"
    )]
    AlreadyTrusted {
        /// Where the policy came from.
        origin: String,
        /// The key.
        key_id: KeyId,
        /// Its current role.
        role: KeyRole,
    },
}

/// A key the policy trusts, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key id, as derived from `public_key`.
    pub id: KeyId,
    /// The public key.
    pub public_key: PublicKey,
    /// Which kind of bundle it may sign.
    pub role: KeyRole,
    /// Which source zones it may speak for.
    pub zones: Vec<ZoneId>,
    /// End of its validity, if any.
    pub not_after: Option<OffsetDateTime>,
    /// The operator's note.
    pub comment: Option<String>,
}

/// Signatures required per bundle kind (m of n).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Distinct trusted signatures a release bundle needs.
    pub release: u32,
    /// Distinct trusted signatures a result bundle needs.
    pub result: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            release: 1,
            result: 1,
        }
    }
}

/// What an import does when the target Octopus is older than the one the release was
/// exported from (`[octopus] older_target`, spec 7.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OlderTarget {
    /// Say so and go on (the default: most releases need nothing the older server lacks).
    #[default]
    Warn,
    /// Refuse the import (code `target-older`).
    Refuse,
}

impl OlderTarget {
    /// The setting as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::Refuse => "refuse",
        }
    }
}

/// `[octopus]`: rules about the Octopus instances a side talks to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OctopusRules {
    /// When the target server's version is older than the source's.
    pub older_target: OlderTarget,
}

/// A parsed, checked trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    zone: ZoneId,
    thresholds: Thresholds,
    limits: Limits,
    keys: Vec<TrustedKey>,
    octopus: OctopusRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    zone: String,
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    channels: ChannelRules,
    #[serde(default)]
    octopus: OctopusRules,
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

/// `[channels]`, kept only to refuse what it used to allow (spec 9.3, Appendix A): a
/// policy-wide `allow_gaps = true` is refused; `allow_gaps = false`, which `policy init` used
/// to write, asks for what always holds now and is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ChannelRules {
    allow_gaps: bool,
}

/// Why `[channels] allow_gaps = true` is refused, and what replaces it.
pub const ALLOW_GAPS_REFUSED: &str = "`[channels] allow_gaps = true` is no longer accepted: a policy-wide switch lets every missing bundle be passed over without anyone deciding it\nHint: remove the line (or set it to false); give up on one missing bundle at a time with `bridge-import channel skip --channel CHANNEL --sequence N --reason TEXT` (`bridge-export channel skip` for result channels), which is recorded in the audit trail";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    public_key: String,
    role: KeyRole,
    zones: Vec<String>,
    #[serde(default)]
    not_after: Option<toml::Value>,
    #[serde(default)]
    comment: Option<String>,
}

impl TrustPolicy {
    /// A policy built in code; for tests and generated vectors.
    pub fn new(
        zone: ZoneId,
        thresholds: Thresholds,
        limits: Limits,
        keys: Vec<TrustedKey>,
    ) -> Self {
        Self {
            zone,
            thresholds,
            limits,
            keys,
            octopus: OctopusRules::default(),
        }
    }

    /// Reads and checks a policy file (see [`read_policy_text`] for what is refused before
    /// its text is parsed).
    pub fn read_file(path: &Path) -> Result<Self, PolicyError> {
        let text = read_policy_text(path)?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and checks policy text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let invalid = |detail: String| PolicyError::Invalid {
            origin: origin.to_owned(),
            detail,
        };
        let file: PolicyFile = toml::from_str(text).map_err(|err| invalid(err.to_string()))?;
        let zone = ZoneId::new(&file.zone).map_err(|err| invalid(err.to_string()))?;
        if file.channels.allow_gaps {
            return Err(invalid(ALLOW_GAPS_REFUSED.to_owned()));
        }
        for (name, value) in [
            ("release", file.thresholds.release),
            ("result", file.thresholds.result),
        ] {
            if value == 0 {
                return Err(invalid(format!(
                    "thresholds.{name} = 0 would accept unsigned bundles; the least is 1"
                )));
            }
        }
        file.limits
            .check()
            .map_err(|detail| invalid(format!("[limits] {detail}")))?;
        let mut keys: Vec<TrustedKey> = Vec::with_capacity(file.keys.len());
        for (index, entry) in file.keys.into_iter().enumerate() {
            let key = parse_key(entry).map_err(|detail| PolicyError::Key {
                origin: origin.to_owned(),
                index: index + 1,
                detail,
            })?;
            if keys.iter().any(|k| k.id == key.id) {
                return Err(PolicyError::Key {
                    origin: origin.to_owned(),
                    index: index + 1,
                    detail: format!("key {} is listed twice; give each key one entry", key.id),
                });
            }
            keys.push(key);
        }
        Ok(Self {
            zone,
            thresholds: file.thresholds,
            limits: file.limits,
            keys,
            octopus: file.octopus,
        })
    }

    /// `[octopus]`: what an import does with an older target server.
    pub fn octopus(&self) -> &OctopusRules {
        &self.octopus
    }

    /// This side's own zone: bundles must name it as their target.
    pub fn zone(&self) -> &ZoneId {
        &self.zone
    }

    /// Reading limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Signatures required for `kind`.
    pub fn threshold(&self, kind: BundleKind) -> u32 {
        match kind {
            BundleKind::Release => self.thresholds.release,
            BundleKind::Result => self.thresholds.result,
        }
    }

    /// The trusted key with this id, if any.
    pub fn key(&self, id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    /// All trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }
}

fn parse_key(entry: KeyEntry) -> Result<TrustedKey, String> {
    let raw = entry
        .public_key
        .strip_prefix("ed25519:")
        .unwrap_or(&entry.public_key);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|err| format!("public_key is not base64: {err}"))?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("public_key must be 32 bytes, found {}", bytes.len()))?;
    let public_key = PublicKey::from_raw(&bytes).map_err(|err| format!("public_key is {err}"))?;
    let id = KeyId::from_hex(&entry.id).map_err(|err| err.to_string())?;
    if id != public_key.key_id() {
        return Err(format!(
            "id {id} does not match the public key, whose id is {}",
            public_key.key_id()
        ));
    }
    if entry.zones.is_empty() {
        return Err("zones is empty; name the source zones this key may speak for".to_owned());
    }
    let zones = entry
        .zones
        .iter()
        .map(|z| ZoneId::new(z).map_err(|err| err.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let not_after = entry.not_after.map(parse_time).transpose()?;
    Ok(TrustedKey {
        id,
        public_key,
        role: entry.role,
        zones,
        not_after,
        comment: entry.comment,
    })
}

fn parse_time(value: toml::Value) -> Result<OffsetDateTime, String> {
    let text = match value {
        toml::Value::Datetime(dt) => dt.to_string(),
        toml::Value::String(text) => text,
        other => return Err(format!("not_after must be a date-time, found {other}")),
    };
    OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).map_err(|err| {
        format!("not_after {text:?} is not an RFC 3339 date-time with offset (like 2027-06-30T00:00:00Z): {err}")
    })
}

/// The text of the policy file at `path`, refused before it is parsed when the file is not a
/// regular file, is empty, is larger than the limit, or can be written by group or others
/// (the same rule as a private key readable by others, checked on the very file read).
pub fn read_policy_text(path: &Path) -> Result<String, PolicyError> {
    let (text, meta) = read_policy_file(path)?;
    check_policy_mode(path, &meta)?;
    Ok(text)
}

#[cfg(unix)]
fn check_policy_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), PolicyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(PolicyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_policy_mode(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), PolicyError> {
    Ok(())
}

fn read_policy_file(path: &Path) -> Result<(String, std::fs::Metadata), PolicyError> {
    crate::bounded::read_nonempty(path, MAX_POLICY_BYTES).map_err(|err| match err {
        BoundedReadError::Io(source) => PolicyError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        },
        BoundedReadError::TooLarge => PolicyError::Invalid {
            origin: path.display().to_string(),
            detail: format!("it is larger than {MAX_POLICY_BYTES} bytes"),
        },
    })
}

/// The text of a new policy for `zone`, with every setting explained (`policy init`).
pub fn initial_policy_text(zone: &ZoneId) -> String {
    let limits = Limits::default();
    format!(
        r#"# Zonebridge trust policy (bundle spec, section 7).
# Which zone this side is, which keys it trusts for which bundles, and how many must sign.

# This side's own zone: bundles must name it as their target zone.
zone = "{zone}"

# How many signatures by distinct trusted keys each kind of bundle needs (m of n).
[thresholds]
release = 1
result = 1

# Limits on what a bundle may make this side read and write. Uncomment to change.
[limits]
# max_manifest_bytes = {}
# max_cbor_depth = {}
# max_entries = {}
# max_entry_bytes = {}
# max_total_bytes = {}
# max_window_log = {}

# When the secure side's Octopus is older than the development side's (the release records
# the version it was exported from): "warn" (the default) or "refuse" (code target-older).
# [octopus]
# older_target = "warn"

# A bundle that will never arrive (lost, or refused for good) is given up on one at a time,
# with `channel skip` (spec 9.3); there is no policy-wide switch for it.

# Trusted keys: add them with `policy trust POLICY KEY.pub --role release|result --zone ZONE`.
"#,
        limits.max_manifest_bytes,
        limits.max_cbor_depth,
        limits.max_entries,
        limits.max_entry_bytes,
        limits.max_total_bytes,
        limits.max_window_log,
    )
}

/// What `policy trust` adds for one key.
#[derive(Debug, Clone)]
pub struct NewTrust {
    /// The key to trust.
    pub public_key: PublicKey,
    /// What it may sign.
    pub role: KeyRole,
    /// Source zones it may speak for.
    pub zones: Vec<ZoneId>,
    /// End of validity, if any.
    pub not_after: Option<OffsetDateTime>,
    /// A note for operators.
    pub comment: Option<String>,
}

/// Adds a `[[keys]]` entry to policy `text`, keeping the operator's comments and layout, and
/// checks that the result is still a valid policy. Refuses a key that is already present.
pub fn add_trusted_key(text: &str, origin: &str, new: &NewTrust) -> Result<String, PolicyError> {
    let current = TrustPolicy::from_toml(text, origin)?;
    let key_id = new.public_key.key_id();
    if let Some(existing) = current.key(&key_id) {
        return Err(PolicyError::AlreadyTrusted {
            origin: origin.to_owned(),
            key_id,
            role: existing.role,
        });
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|err: toml_edit::TomlError| PolicyError::Invalid {
                origin: origin.to_owned(),
                detail: err.to_string(),
            })?;
    let mut table = toml_edit::Table::new();
    table["id"] = toml_edit::value(key_id.to_hex());
    table["public_key"] =
        toml_edit::value(base64::engine::general_purpose::STANDARD.encode(new.public_key.to_raw()));
    table["role"] = toml_edit::value(new.role.as_str());
    let mut zones = toml_edit::Array::new();
    for zone in &new.zones {
        zones.push(zone.as_str());
    }
    table["zones"] = toml_edit::value(zones);
    if let Some(not_after) = new.not_after {
        let text = crate::verify::error::rfc3339(not_after);
        let datetime: toml_edit::Datetime = text.parse().map_err(|_| PolicyError::Invalid {
            origin: origin.to_owned(),
            detail: format!("cannot write not_after {text}"),
        })?;
        table["not_after"] = toml_edit::value(datetime);
    }
    if let Some(comment) = &new.comment {
        table["comment"] = toml_edit::value(comment.as_str());
    }
    let keys = doc
        .entry("keys")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
    let Some(array) = keys.as_array_of_tables_mut() else {
        return Err(PolicyError::Invalid {
            origin: origin.to_owned(),
            detail: "`keys` must be an array of tables ([[keys]])".to_owned(),
        });
    };
    array.push(table);
    let updated = doc.to_string();
    TrustPolicy::from_toml(&updated, origin)?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn zone(z: &str) -> Result<ZoneId, crate::names::NameError> {
        ZoneId::new(z)
    }

    #[test]
    fn init_then_trust_gives_a_valid_policy() -> Result<(), Box<dyn std::error::Error>> {
        let text = initial_policy_text(&zone("pci")?);
        let key = SigningKey::from_seed(&[1; 32]).public_key();
        let new = NewTrust {
            public_key: key,
            role: KeyRole::Release,
            zones: vec![zone("dev")?],
            not_after: Some(OffsetDateTime::from_unix_timestamp(1_900_000_000)?),
            comment: Some("build server".to_owned()),
        };
        let updated = add_trusted_key(&text, "test", &new)?;
        assert!(
            updated.contains("# Zonebridge trust policy"),
            "comments are kept"
        );
        let policy = TrustPolicy::from_toml(&updated, "test")?;
        let trusted = policy.key(&key.key_id()).ok_or("key missing")?;
        assert_eq!(trusted.role, KeyRole::Release);
        assert_eq!(trusted.not_after, new.not_after);
        assert!(matches!(
            add_trusted_key(&updated, "test", &new),
            Err(PolicyError::AlreadyTrusted { .. })
        ));
        Ok(())
    }

    #[test]
    fn older_target_defaults_to_warn_and_takes_refuse() -> Result<(), Box<dyn std::error::Error>> {
        let default = TrustPolicy::from_toml(&initial_policy_text(&zone("pci")?), "t")?;
        assert_eq!(default.octopus().older_target, OlderTarget::Warn);
        let uncommented = initial_policy_text(&zone("pci")?)
            .replace("# [octopus]", "[octopus]")
            .replace("# older_target = \"warn\"", "older_target = \"refuse\"");
        let refuse = TrustPolicy::from_toml(&uncommented, "t")?;
        assert_eq!(refuse.octopus().older_target, OlderTarget::Refuse);
        for bad in [
            "zone = \"pci\"\n[octopus]\nolder_target = \"ignore\"",
            "zone = \"pci\"\n[octopus]\nolder_targets = \"refuse\"",
            "zone = \"pci\"\n[octopus]\nolder_target = true",
        ] {
            assert!(TrustPolicy::from_toml(bad, "t").is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn a_policy_wide_allow_gaps_is_refused_pointing_to_channel_skip()
    -> Result<(), Box<dyn std::error::Error>> {
        for text in [
            "zone = \"pci\"\n[channels]\nallow_gaps = true",
            "zone = \"pci\"\n[channels]\nallow_gaps=true # lost bundles",
            "zone = \"pci\"\nchannels = { allow_gaps = true }",
        ] {
            let err = TrustPolicy::from_toml(text, "t").err().ok_or(text)?;
            let message = err.to_string();
            assert!(
                message.contains("allow_gaps = true` is no longer accepted"),
                "{message}"
            );
            assert!(message.contains("Hint: remove the line"), "{message}");
            assert!(message.contains("channel skip --channel"), "{message}");
        }
        // What `policy init` used to write asks for what always holds now.
        TrustPolicy::from_toml("zone = \"pci\"\n[channels]\nallow_gaps = false", "t")?;
        TrustPolicy::from_toml("zone = \"pci\"\n[channels]", "t")?;
        assert!(!initial_policy_text(&zone("pci")?).contains("allow_gaps"));
        Ok(())
    }

    #[test]
    fn bad_policies_are_named() {
        let cases = [
            ("zone = \"PCI\"", "zone id"),
            ("zone = \"pci\"\n[thresholds]\nrelease = 0", "unsigned"),
            ("zone = \"pci\"\nextra = 1", "unknown field"),
            (
                "zone = \"pci\"\n[limits]\nmax_window_log = 40",
                "max_window_log",
            ),
            (
                "zone = \"pci\"\n[[keys]]\nid = \"00000000000000000000000000000000\"\npublic_key = \"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\"\nrole = \"release\"\nzones = [\"dev\"]",
                "does not match",
            ),
        ];
        for (text, expected) in cases {
            match TrustPolicy::from_toml(text, "t") {
                Ok(_) => panic!("{text:?} should be refused"),
                Err(err) => assert!(
                    err.to_string().contains(expected),
                    "{text:?}: {err} should mention {expected:?}"
                ),
            }
        }
    }
}
