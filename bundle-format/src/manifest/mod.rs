//! The manifest (spec section 5): what a bundle claims to be and the list of its entries.
//!
//! A `Manifest` is plain data. It becomes bytes with [`Manifest::encode`] on the writer side;
//! on the reader side it is only ever decoded from bytes whose signatures already passed
//! (see [`crate::verify`]), or explicitly as unverified (see [`crate::inspect`]).

mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::names::{BundleId, Digest, EntryPath, Sha1Digest, ZoneId};

pub(crate) use validate::check_sizes;
pub use validate::{MAX_SEQUENCE, ManifestError};

/// From the bundle spec, 5.1: "null is the value of no known key: an optional key is either
/// absent or present with a value of its type". serde's `Option` would read `null` as absent;
/// these read the value itself, so `null` is refused like any other wrong type.
mod present {
    use serde::{Deserialize, Deserializer};
    use time::OffsetDateTime;

    pub(super) fn value<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize(d).map(Some)
    }

    pub(super) fn timestamp<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        time::serde::timestamp::deserialize(d).map(Some)
    }
}

/// The only manifest format this crate reads and writes (spec 10).
pub const FORMAT_VERSION: u32 = 1;

/// What a bundle carries: a release going into a secure zone, or a deployment result coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    /// A release promoted from the development zone.
    Release,
    /// A deployment result sent back from the secure zone.
    Result,
}

impl BundleKind {
    /// The kind's name as written in manifests and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Result => "result",
        }
    }
}

impl std::fmt::Display for BundleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a payload entry is for; importers pick entries by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryRole {
    /// The deployment process snapshot (JSON).
    Process,
    /// A variable set snapshot (JSON), without sensitive values.
    Variables,
    /// A package file for the built-in feed.
    Package,
    /// A deployment's task log (result bundles).
    Log,
    /// Any other file.
    File,
}

impl EntryRole {
    /// The role's name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Variables => "variables",
            Self::Package => "package",
            Self::Log => "log",
            Self::File => "file",
        }
    }
}

/// One payload entry: the bundle carries exactly these bytes, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Where the bytes go, relative to the unpack folder.
    pub path: EntryPath,
    /// The exact length in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: Digest,
    /// What the entry is for.
    pub role: EntryRole,
}

/// The signed description of a bundle (spec 5.2). Field order is the encoding order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version; always [`FORMAT_VERSION`] for manifests this crate accepts.
    pub format: u32,
    /// Release or result.
    pub kind: BundleKind,
    /// A name for people and logs.
    pub bundle_id: BundleId,
    /// The zone that made the bundle.
    pub source_zone: ZoneId,
    /// The only zone that may accept it.
    pub target_zone: ZoneId,
    /// Position on the (source, target, kind) channel, starting at 1.
    pub sequence: u64,
    /// Digest of the previous bundle on the channel; absent exactly when `sequence` is 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub previous: Option<Digest>,
    /// When the bundle was made (Unix seconds on the wire).
    #[serde(with = "time::serde::timestamp")]
    pub created: OffsetDateTime,
    /// After this moment receivers refuse the bundle, if present.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serde::timestamp::option::serialize",
        deserialize_with = "present::timestamp"
    )]
    pub expires: Option<OffsetDateTime>,
    /// The payload, in the order it is stored.
    pub entries: Vec<Entry>,
    /// The release, for release bundles.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub release: Option<ReleaseDescription>,
    /// The outcome, for result bundles.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub result: Option<ResultDescription>,
}

/// A release described by names, never by instance ids (spec 5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDescription {
    /// Project name.
    pub project: String,
    /// Release version, kept as given.
    pub version: String,
    /// Channel name.
    pub channel: String,
    /// Release notes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub notes: Option<String>,
    /// The packages the release deploys; each names its payload entry.
    pub packages: Vec<PackageRef>,
    /// Sensitive values the target must already hold: names, never values.
    pub secrets: Vec<SecretRequirement>,
}

/// A package in the release and the entry that carries its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// Package id, as in the feed.
    pub id: String,
    /// Package version, as in the feed.
    pub version: String,
    /// The payload entry holding the file.
    pub path: EntryPath,
    /// File length in bytes.
    pub size: u64,
    /// SHA-256 of the file.
    pub sha256: Digest,
    /// SHA-1 of the file, as Octopus's feeds report it.
    pub sha1: Sha1Digest,
}

/// A sensitive variable that the receiving side must satisfy from its own secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRequirement {
    /// The project or library variable set that owns the variable.
    pub owner: String,
    /// Variable name.
    pub name: String,
    /// Octopus variable type, such as `Sensitive`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Scope kind (such as `Environment`) to the names it is scoped to.
    pub scope: BTreeMap<String, Vec<String>>,
}

/// Which release bundle a result answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRef {
    /// The release bundle's id.
    pub bundle_id: BundleId,
    /// The release bundle's digest.
    pub digest: Digest,
    /// The release bundle's sequence on its channel.
    pub sequence: u64,
}

/// How a deployment ended, or that it is still waiting (spec 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentState {
    /// Every step succeeded.
    Success,
    /// A step failed.
    Failed,
    /// Someone cancelled the deployment.
    Canceled,
    /// The deployment ran out of time on the server.
    TimedOut,
    /// The deployment waits for a person (manual intervention or guided failure).
    Waiting,
}

/// The outcome of deploying a release in the secure zone (spec 5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDescription {
    /// The release bundle this result answers.
    pub answers: BundleRef,
    /// Project name.
    pub project: String,
    /// Release version.
    pub version: String,
    /// Environment deployed to.
    pub environment: String,
    /// Tenant deployed for, if any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub tenant: Option<String>,
    /// The outcome.
    pub state: DeploymentState,
    /// When the deployment started.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serde::timestamp::option::serialize",
        deserialize_with = "present::timestamp"
    )]
    pub started: Option<OffsetDateTime>,
    /// When the deployment ended.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serde::timestamp::option::serialize",
        deserialize_with = "present::timestamp"
    )]
    pub completed: Option<OffsetDateTime>,
    /// The payload entry holding the task log.
    pub log: EntryPath,
    /// The deployment's task on the secure instance (`ServerTasks-N`), for people who look it
    /// up there.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub task: Option<String>,
    /// Each step's outcome, in process order (the first level of Octopus's activity tree).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepOutcome>,
    /// What the deployment waits for; present exactly when `state` is `waiting` (spec 5.5.15).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub waiting: Option<Waiting>,
    /// The sending side's ledger head when the result bundle was made (spec 5.4): the
    /// development side records it, so that a secure ledger later cut or restored from a backup
    /// is noticed. Absent in bundles of older senders.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub ledger_head: Option<LedgerHead>,
}

/// A ledger's head (spec 5.4): how many entries its audit trail had, and the hash of the last
/// one. Written and read as `N:HEX` by the command line (`ledger verify --anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    /// How many audit entries the trail had (the id of the last one).
    pub entries: u64,
    /// The last entry's hash.
    pub hash: Digest,
}

impl std::fmt::Display for LedgerHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.entries, self.hash.to_hex())
    }
}

impl std::str::FromStr for LedgerHead {
    type Err = String;

    /// Reads `N:HEX`: the entry count, a colon, and the 64 hex digits of the last entry's hash.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = "expected ENTRIES:HASH, such as 57:3f1c...(64 hex digits)";
        let (entries, hash) = text.split_once(':').ok_or_else(|| expected.to_owned())?;
        let entries = entries
            .parse::<u64>()
            .map_err(|_| format!("{entries:?} is not an entry count; {expected}"))?;
        let hash = Digest::from_hex(hash)
            .map_err(|_| format!("the hash is not 64 hex digits; {expected}"))?;
        Ok(Self { entries, hash })
    }
}

/// How one step of a deployment went (spec 5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// The step's name as the task log shows it, such as `Step 1: Run database migrations`.
    pub name: String,
    /// How it went.
    pub state: StepState,
    /// When it started.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serde::timestamp::option::serialize",
        deserialize_with = "present::timestamp"
    )]
    pub started: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "time::serde::timestamp::option::serialize",
        deserialize_with = "present::timestamp"
    )]
    pub completed: Option<OffsetDateTime>,
}

/// A step's state, after Octopus's activity statuses (spec 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Not started yet.
    Pending,
    /// Started and not ended (or waiting for a person).
    Running,
    /// Ended well.
    Success,
    /// Ended well, with warnings (or a failure a person chose to ignore).
    SuccessWithWarning,
    /// Failed.
    Failed,
    /// Did not run (its condition or an earlier failure skipped it).
    Skipped,
    /// Cancelled.
    Canceled,
    /// A status this writer did not know.
    Unknown,
}

impl StepState {
    /// The state's name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::SuccessWithWarning => "success-with-warning",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Canceled => "canceled",
            Self::Unknown => "unknown",
        }
    }
}

/// What a deployment that has not ended waits for (spec 5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Why it has not ended.
    pub reason: WaitReason,
    /// The step that waits, if known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present::value"
    )]
    pub step: Option<String>,
}

/// Why a deployment has not ended when its result was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitReason {
    /// A manual intervention step waits for someone to proceed or abort.
    ManualIntervention,
    /// A step failed in guided-failure mode and waits for someone to choose fail, retry or ignore.
    GuidedFailure,
    /// The task was still queued or running when the wait for it ended.
    StillRunning,
}

impl Waiting {
    /// For people: "manual intervention on step 'Finance sign-off'".
    pub fn describe(&self) -> String {
        let what = match self.reason {
            WaitReason::ManualIntervention => "manual intervention",
            WaitReason::GuidedFailure => "guidance after a failure (guided failure)",
            WaitReason::StillRunning => "the task to finish (still running)",
        };
        match &self.step {
            Some(step) => format!("{what} on step '{step}'"),
            None => what.to_owned(),
        }
    }
}

impl DeploymentState {
    /// The state's name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::TimedOut => "timed-out",
            Self::Waiting => "waiting",
        }
    }
}

impl std::fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Manifest {
    /// The exact bytes that get signed and stored in the bundle.
    pub fn encode(&self) -> Vec<u8> {
        crate::cbor::encode(self)
    }

    /// The channel this bundle travels on.
    pub fn channel(&self) -> crate::channel::Channel {
        crate::channel::Channel {
            source: self.source_zone.clone(),
            target: self.target_zone.clone(),
            kind: self.kind,
        }
    }

    /// Sum of all entry sizes (saturating: validation refuses totals past the limit anyway).
    pub fn total_size(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |sum, entry| sum.saturating_add(entry.size))
    }
}

/// Derives the default bundle id from what identifies a bundle (spec 2.4), so that packing the
/// same inputs twice gives the same id.
pub fn derive_bundle_id(
    kind: BundleKind,
    source: &ZoneId,
    target: &ZoneId,
    sequence: u64,
    created: OffsetDateTime,
    entries: &[Entry],
) -> BundleId {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"zonebridge bundle id v1\0");
    for part in [kind.as_str(), source.as_str(), target.as_str()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(sequence.to_be_bytes());
    hasher.update(created.unix_timestamp().to_be_bytes());
    for entry in entries {
        hasher.update(entry.sha256.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    BundleId::from_bytes(id)
}

/// A minimal valid release manifest (dev -> pci, sequence 1) for this crate's unit tests.
#[cfg(test)]
pub(crate) fn test_release(entries: Vec<Entry>) -> Result<Manifest, crate::names::NameError> {
    Ok(Manifest {
        format: FORMAT_VERSION,
        kind: BundleKind::Release,
        bundle_id: BundleId::from_bytes([0; 16]),
        source_zone: ZoneId::new("dev")?,
        target_zone: ZoneId::new("pci")?,
        sequence: 1,
        previous: None,
        created: OffsetDateTime::UNIX_EPOCH,
        expires: None,
        entries,
        release: Some(ReleaseDescription {
            project: "P".to_owned(),
            version: "1".to_owned(),
            channel: "Default".to_owned(),
            notes: None,
            packages: Vec::new(),
            secrets: Vec::new(),
        }),
        result: None,
    })
}
