//! Structural rules of a decoded manifest (spec 5.5), shared by the writer and the verifier.

use std::collections::{HashMap, HashSet};

use super::{BundleKind, DeploymentState, EntryRole, FORMAT_VERSION, Manifest};
use crate::limits::Limits;

/// Largest sequence number (spec 5.5): ledgers keep sequences in signed 64-bit integers.
pub const MAX_SEQUENCE: u64 = i64::MAX as u64;

/// Why a manifest breaks the rules of spec 5.5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A limit of spec 3 was exceeded.
    #[error("{what} is {found}, above the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit in force.
        limit: u64,
        /// What the manifest declares.
        found: u64,
    },
    /// The format field is not one this crate understands.
    #[error("format version {found} is not supported (this reader supports {FORMAT_VERSION})")]
    UnsupportedFormat {
        /// The version in the manifest.
        found: u32,
    },
    /// Two entries have the same path (compared ignoring ASCII case).
    #[error("entry path {path} appears more than once (paths must differ even ignoring case)")]
    DuplicatePath {
        /// The repeated path.
        path: String,
    },
    /// An entry path is also used as a folder by another entry.
    #[error("entry path {file} is a file, but {inside} needs it to be a folder")]
    PathConflict {
        /// The path used as a file.
        file: String,
        /// The path that needs it to be a folder.
        inside: String,
    },
    /// The description does not match the kind.
    #[error("a {kind} bundle must carry a `{kind}` description and no other")]
    KindMismatch {
        /// The kind the manifest declares.
        kind: BundleKind,
    },
    /// Sequence numbers start at 1.
    #[error("sequence 0 is not valid; channels start at 1")]
    SequenceZero,
    /// Sequence numbers fit a signed 64-bit integer (spec 5.5), as ledgers store them.
    #[error("sequence {sequence} is above the largest allowed, 2^63 - 1")]
    SequenceTooLarge {
        /// The declared sequence.
        sequence: u64,
    },
    /// A bundle must cross between two different zones (spec 5.5).
    #[error("source and target zone are both {zone}; a bundle crosses between two zones")]
    SameZone {
        /// The zone named twice.
        zone: String,
    },
    /// `previous` must be present exactly when the sequence is above 1.
    #[error("sequence {sequence} {problem}")]
    PreviousMismatch {
        /// The declared sequence.
        sequence: u64,
        /// What is wrong with `previous`.
        problem: &'static str,
    },
    /// An entry's role is not allowed in this kind of bundle, or a required entry is missing.
    #[error("{problem}")]
    Roles {
        /// What is wrong.
        problem: String,
    },
    /// A package and its entry disagree.
    #[error("package {id} {version}: {problem}")]
    PackageReference {
        /// Package id.
        id: String,
        /// Package version.
        version: String,
        /// What is wrong.
        problem: String,
    },
    /// A result's `waiting` is present although its state is not `waiting`, or the reverse
    /// (spec 5.5.15).
    #[error("a result in state {state} {}", if *state == DeploymentState::Waiting { "must say what it waits for (`waiting`)" } else { "must not carry `waiting`" })]
    Waiting {
        /// The result's state.
        state: DeploymentState,
    },
    /// The expiry is not after the creation time.
    #[error("the bundle expires ({expires}) before it was created ({created})")]
    ExpiresBeforeCreated {
        /// Creation time, Unix seconds.
        created: i64,
        /// Expiry time, Unix seconds.
        expires: i64,
    },
}

/// Spec 5.5.6 and 5.5.7: the number of entries, each entry's size and their sum against
/// `limits`; the packer applies it to the files it is about to read, the verifier to M.
pub(crate) fn check_sizes(
    sizes: impl ExactSizeIterator<Item = u64>,
    limits: &Limits,
) -> Result<(), ManifestError> {
    let count = sizes.len() as u64;
    if count > limits.max_entries {
        return Err(ManifestError::LimitExceeded {
            what: "the number of entries",
            limit: limits.max_entries,
            found: count,
        });
    }
    let mut total: u64 = 0;
    for size in sizes {
        if size > limits.max_entry_bytes {
            return Err(ManifestError::LimitExceeded {
                what: "an entry's size",
                limit: limits.max_entry_bytes,
                found: size,
            });
        }
        total = total.saturating_add(size);
    }
    if total > limits.max_total_bytes {
        return Err(ManifestError::LimitExceeded {
            what: "the total size of all entries",
            limit: limits.max_total_bytes,
            found: total,
        });
    }
    Ok(())
}

impl Manifest {
    /// Checks the rules of spec 5.5 against `limits`.
    pub fn validate(&self, limits: &Limits) -> Result<(), ManifestError> {
        if self.format != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedFormat { found: self.format });
        }
        if self.source_zone == self.target_zone {
            return Err(ManifestError::SameZone {
                zone: self.source_zone.to_string(),
            });
        }
        self.validate_sequence()?;
        if let Some(expires) = self.expires
            && expires <= self.created
        {
            return Err(ManifestError::ExpiresBeforeCreated {
                created: self.created.unix_timestamp(),
                expires: expires.unix_timestamp(),
            });
        }
        self.validate_sizes(limits)?;
        self.validate_paths()?;
        match self.kind {
            BundleKind::Release => self.validate_release(),
            BundleKind::Result => self.validate_result(),
        }
    }

    fn validate_sequence(&self) -> Result<(), ManifestError> {
        match (self.sequence, &self.previous) {
            (0, _) => Err(ManifestError::SequenceZero),
            (sequence, _) if sequence > MAX_SEQUENCE => {
                Err(ManifestError::SequenceTooLarge { sequence })
            }
            (1, Some(_)) => Err(ManifestError::PreviousMismatch {
                sequence: 1,
                problem: "is the first on its channel but names a previous bundle",
            }),
            (2.., None) => Err(ManifestError::PreviousMismatch {
                sequence: self.sequence,
                problem: "does not name the previous bundle on its channel",
            }),
            _ => Ok(()),
        }
    }

    fn validate_sizes(&self, limits: &Limits) -> Result<(), ManifestError> {
        check_sizes(self.entries.iter().map(|e| e.size), limits)
    }

    fn validate_paths(&self) -> Result<(), ManifestError> {
        let mut seen = HashSet::with_capacity(self.entries.len());
        for entry in &self.entries {
            if !seen.insert(entry.path.as_str().to_ascii_lowercase()) {
                return Err(ManifestError::DuplicatePath {
                    path: entry.path.to_string(),
                });
            }
        }
        for entry in &self.entries {
            let path = entry.path.as_str();
            let mut end = 0;
            for component in entry.path.components() {
                if end > 0 {
                    let folder = path.get(..end).unwrap_or(path);
                    if seen.contains(&folder.to_ascii_lowercase()) {
                        return Err(ManifestError::PathConflict {
                            file: folder.to_owned(),
                            inside: path.to_owned(),
                        });
                    }
                    end += 1;
                }
                end += component.len();
            }
        }
        Ok(())
    }

    fn validate_release(&self) -> Result<(), ManifestError> {
        let (Some(release), None) = (&self.release, &self.result) else {
            return Err(ManifestError::KindMismatch { kind: self.kind });
        };
        let processes = self.count_role(EntryRole::Process);
        if processes != 1 {
            return Err(ManifestError::Roles {
                problem: format!(
                    "a release bundle needs exactly one `process` entry, found {processes}"
                ),
            });
        }
        if let Some(entry) = self.entries.iter().find(|e| e.role == EntryRole::Log) {
            return Err(ManifestError::Roles {
                problem: format!(
                    "entry {} has role `log`, which only result bundles carry",
                    entry.path
                ),
            });
        }
        let mut packages: HashMap<&str, &super::Entry> = self
            .entries
            .iter()
            .filter(|e| e.role == EntryRole::Package)
            .map(|e| (e.path.as_str(), e))
            .collect();
        for package in &release.packages {
            let refuse = |problem: String| ManifestError::PackageReference {
                id: package.id.clone(),
                version: package.version.clone(),
                problem,
            };
            let Some(entry) = packages.remove(package.path.as_str()) else {
                return Err(refuse(format!(
                    "names entry {}, which is not a `package` entry of this bundle (or is named twice)",
                    package.path
                )));
            };
            if entry.size != package.size || entry.sha256 != package.sha256 {
                return Err(refuse(format!(
                    "size or SHA-256 differs from entry {}",
                    package.path
                )));
            }
        }
        if let Some(path) = packages.keys().min() {
            return Err(ManifestError::Roles {
                problem: format!("`package` entry {path} belongs to no package of the release"),
            });
        }
        Ok(())
    }

    fn validate_result(&self) -> Result<(), ManifestError> {
        let (None, Some(result)) = (&self.release, &self.result) else {
            return Err(ManifestError::KindMismatch { kind: self.kind });
        };
        let log_ok = self
            .entries
            .iter()
            .any(|e| e.role == EntryRole::Log && e.path == result.log);
        if !log_ok || self.count_role(EntryRole::Log) != 1 {
            return Err(ManifestError::Roles {
                problem: format!(
                    "a result bundle needs exactly one `log` entry, and it must be {}",
                    result.log
                ),
            });
        }
        if let Some(entry) = self.entries.iter().find(|e| {
            matches!(
                e.role,
                EntryRole::Process | EntryRole::Variables | EntryRole::Package
            )
        }) {
            return Err(ManifestError::Roles {
                problem: format!(
                    "entry {} has role `{}`, which result bundles do not carry",
                    entry.path,
                    entry.role.as_str()
                ),
            });
        }
        // 5.5.15 after all of 5.5.13 (spec 5.5: "in the order of this table").
        if (result.state == DeploymentState::Waiting) != result.waiting.is_some() {
            return Err(ManifestError::Waiting {
                state: result.state,
            });
        }
        Ok(())
    }

    fn count_role(&self, role: EntryRole) -> usize {
        self.entries.iter().filter(|e| e.role == role).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Entry;
    use crate::names::{Digest, EntryPath, NameError};

    fn entry(path: &str, role: EntryRole) -> Result<Entry, NameError> {
        Ok(Entry {
            path: EntryPath::new(path)?,
            size: 1,
            sha256: Digest::of(b"x"),
            role,
        })
    }

    fn release(entries: Vec<Entry>) -> Result<Manifest, NameError> {
        crate::manifest::test_release(entries)
    }

    #[test]
    fn structural_rules() -> Result<(), NameError> {
        let limits = Limits::default();
        let ok = release(vec![entry("process.json", EntryRole::Process)?])?;
        assert_eq!(ok.validate(&limits), Ok(()));

        let mut m = ok.clone();
        m.target_zone = m.source_zone.clone();
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::SameZone { .. })
        ));

        let mut m = ok.clone();
        m.sequence = MAX_SEQUENCE + 1;
        m.previous = Some(Digest::of(b"p"));
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::SequenceTooLarge { .. })
        ));

        let mut m = ok.clone();
        m.sequence = 2;
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::PreviousMismatch { .. })
        ));

        let m = release(vec![
            entry("process.json", EntryRole::Process)?,
            entry("Process.JSON", EntryRole::File)?,
        ])?;
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::DuplicatePath { .. })
        ));

        let m = release(vec![
            entry("process.json", EntryRole::Process)?,
            entry("a", EntryRole::File)?,
            entry("a/b", EntryRole::File)?,
        ])?;
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::PathConflict { .. })
        ));

        let m = release(vec![
            entry("process.json", EntryRole::Process)?,
            entry("packages/x.zip", EntryRole::Package)?,
        ])?;
        assert!(matches!(
            m.validate(&limits),
            Err(ManifestError::Roles { .. })
        ));

        let tight = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let m = release(vec![
            entry("process.json", EntryRole::Process)?,
            entry("other", EntryRole::File)?,
        ])?;
        assert!(matches!(
            m.validate(&tight),
            Err(ManifestError::LimitExceeded { .. })
        ));
        Ok(())
    }
}
