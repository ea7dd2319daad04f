//! A release described on disk (spec 13): `release.toml`, the process and variable snapshots,
//! and the package files. `bridge-export pack` reads it; so can any CI that is not Octopus.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::bounded::BoundedReadError;
use crate::container::writer::{PayloadWriter, Spool};
use crate::keys::SigningKey;
use crate::limits::Limits;
use crate::manifest::{BundleKind, EntryRole, PackageRef, ReleaseDescription, SecretRequirement};
use crate::names::EntryPath;
use crate::pack::{BundleHeader, Description, PackError, SealedBundle, seal};

/// The release description file inside a release folder.
pub const RELEASE_FILE: &str = "release.toml";
const MAX_RELEASE_FILE_BYTES: u64 = 1024 * 1024;
const MAX_NOTES_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    project: String,
    version: String,
    channel: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    notes_file: Option<String>,
    process: String,
    #[serde(default)]
    variables: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    packages: Vec<PackageFile>,
    #[serde(default)]
    secrets: Vec<SecretFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageFile {
    id: String,
    version: String,
    file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    owner: String,
    name: String,
    #[serde(rename = "type", default = "sensitive")]
    kind: String,
    #[serde(default)]
    scope: BTreeMap<String, Vec<String>>,
}

fn sensitive() -> String {
    "Sensitive".to_owned()
}

/// One file to pack, with its size as found.
#[derive(Debug, Clone)]
struct Source {
    path: EntryPath,
    role: EntryRole,
    file: PathBuf,
    size: u64,
}

/// A checked release folder, ready to pack.
#[derive(Debug)]
pub struct ReleaseDir {
    release: ReleaseFile,
    sources: Vec<Source>,
    notes: Option<String>,
}

impl ReleaseDir {
    /// Reads `dir/release.toml` and checks every file it names: present, regular, and a valid
    /// entry path (spec 2.3). Reports the first problem with the file and the fix.
    pub fn open(dir: &Path) -> Result<Self, PackError> {
        let release_path = dir.join(RELEASE_FILE);
        let text = read_bounded(&release_path, MAX_RELEASE_FILE_BYTES)?;
        let release: ReleaseFile = toml::from_str(&text).map_err(|err| {
            PackError::Input(format!("{} is not valid: {err}", release_path.display()))
        })?;
        for (field, value) in [
            ("project", &release.project),
            ("version", &release.version),
            ("channel", &release.channel),
        ] {
            if value.trim().is_empty() {
                return Err(PackError::Input(format!(
                    "{}: `{field}` is empty",
                    release_path.display()
                )));
            }
        }
        let mut sources = vec![source(dir, &release.process, EntryRole::Process)?];
        for file in &release.variables {
            sources.push(source(dir, file, EntryRole::Variables)?);
        }
        for file in &release.files {
            sources.push(source(dir, file, EntryRole::File)?);
        }
        for package in &release.packages {
            sources.push(source(dir, &package.file, EntryRole::Package)?);
        }
        check_limits(&sources)?;
        let notes = match (&release.notes, &release.notes_file) {
            (Some(_), Some(_)) => {
                return Err(PackError::Input(format!(
                    "{}: give `notes` or `notes_file`, not both",
                    release_path.display()
                )));
            }
            (Some(notes), None) => Some(notes.clone()),
            (None, Some(file)) => {
                let path = EntryPath::new(file).map_err(|err| {
                    PackError::Input(format!("{}: notes_file: {err}", release_path.display()))
                })?;
                Some(read_bounded(&join(dir, &path), MAX_NOTES_BYTES)?)
            }
            (None, None) => None,
        };
        Ok(Self {
            release,
            sources,
            notes,
        })
    }

    /// Total bytes of all files to pack, for progress bars.
    pub fn total_size(&self) -> u64 {
        self.sources
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.size))
    }

    /// Project name and release version, for messages.
    pub fn name(&self) -> (&str, &str) {
        (&self.release.project, &self.release.version)
    }

    /// Packs the release as a release bundle into `out`, compressing into `spool` first
    /// (a temporary file beside the output) with `workers` threads.
    pub fn pack<W: Write, S: Spool>(
        &self,
        header: BundleHeader,
        keys: &[SigningKey],
        workers: u32,
        spool: S,
        out: &mut W,
        progress: &mut dyn FnMut(u64),
    ) -> Result<SealedBundle, PackError> {
        if header.kind != BundleKind::Release {
            return Err(PackError::Input(
                "a release folder packs into a release bundle".to_owned(),
            ));
        }
        let mut payload = PayloadWriter::new(spool, workers).map_err(PackError::Output)?;
        let mut packages = Vec::with_capacity(self.release.packages.len());
        let mut package_files = self.release.packages.iter();
        for source in &self.sources {
            // Checked as a regular file when the folder was read; checked again on the handle,
            // so that a file swapped for a FIFO since then is refused instead of waited on.
            let (mut file, _) =
                crate::regular_file::open_regular(&source.file).map_err(|err| PackError::Read {
                    path: source.file.display().to_string(),
                    source: err,
                })?;
            let appended = payload.append(
                source.path.clone(),
                source.role,
                source.size,
                &mut file,
                progress,
            )?;
            if source.role == EntryRole::Package {
                let (Some(package), Some(sha1)) = (package_files.next(), appended.sha1) else {
                    return Err(PackError::Input(
                        "package list changed while packing".to_owned(),
                    ));
                };
                packages.push(PackageRef {
                    id: package.id.clone(),
                    version: package.version.clone(),
                    path: appended.entry.path.clone(),
                    size: appended.entry.size,
                    sha256: appended.entry.sha256,
                    sha1,
                });
            }
        }
        let (mut spool, entries) = payload.finish()?;
        let description = ReleaseDescription {
            project: self.release.project.clone(),
            version: self.release.version.clone(),
            channel: self.release.channel.clone(),
            notes: self.notes.clone(),
            packages,
            secrets: self
                .release
                .secrets
                .iter()
                .map(|s| SecretRequirement {
                    owner: s.owner.clone(),
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                    scope: s.scope.clone(),
                })
                .collect(),
        };
        seal(
            header,
            entries,
            Description::Release(description),
            keys,
            &mut spool,
            out,
        )
    }
}

/// Refuses, before anything is read, a release that every reader with default limits would
/// refuse (spec 3); `seal` checks the finished manifest again.
fn check_limits(sources: &[Source]) -> Result<(), PackError> {
    crate::manifest::check_sizes(sources.iter().map(|s| s.size), &Limits::default())
        .map_err(PackError::Manifest)
}

fn source(dir: &Path, file: &str, role: EntryRole) -> Result<Source, PackError> {
    let path = EntryPath::new(file).map_err(|err| {
        PackError::Input(format!(
            "{RELEASE_FILE} names {file:?}, which cannot be stored: {err}"
        ))
    })?;
    let full = join(dir, &path);
    let meta = fs::symlink_metadata(&full).map_err(|err| PackError::Read {
        path: full.display().to_string(),
        source: err,
    })?;
    if meta.file_type().is_symlink() {
        return Err(PackError::Input(format!(
            "{} is a symbolic link; copy the file into the release folder so that nothing outside it is packed",
            full.display()
        )));
    }
    if !meta.is_file() {
        return Err(PackError::Input(format!(
            "{} is not a regular file; bundles carry regular files only",
            full.display()
        )));
    }
    Ok(Source {
        path,
        role,
        file: full,
        size: meta.len(),
    })
}

fn join(dir: &Path, path: &EntryPath) -> PathBuf {
    let mut full = dir.to_owned();
    for component in path.components() {
        full.push(component);
    }
    full
}

fn read_bounded(path: &Path, limit: u64) -> Result<String, PackError> {
    crate::bounded::read_text(path, limit).map_err(|err| match err {
        BoundedReadError::Io(source) => PackError::Read {
            path: path.display().to_string(),
            source,
        },
        BoundedReadError::TooLarge => {
            PackError::Input(format!("{} is larger than {limit} bytes", path.display()))
        }
    })
}
