//! Step 3: the release the verified bundle carries, read from the staging folder and checked
//! for consistency (a bundle can verify and still describe a release that cannot be imported):
//!
//! - the bundle is a release bundle; `process.json` and every `variables/*.json` parse as the
//!   name-based model, bounded by [`MAX_JSON_BYTES`];
//! - the process and the project's variable set name the release's project; library variable
//!   sets appear once each; step and action names are unique (ignoring case);
//! - no two variables of a set have the same name and scope;
//! - each package file's SHA-1, computed here, equals the manifest's `sha1` (spec 5.3: the
//!   importer compares it with the feed, so it must describe the file).
//!
//! Any of these is a refusal (`release-invalid`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bundle_format::manifest::{BundleKind, EntryRole, PackageRef, ReleaseDescription};
use octopus_api::names::{NamedProcess, NamedVariableSet, scope_key, scope_text};
use sha1::{Digest as _, Sha1};

use super::refuse::refused;
use bridge_cli::receive::staged::Staged;

/// The largest process or variables entry parsed.
pub const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// The release a bundle carries. It borrows the verified manifest's release description rather
/// than copying it: a manifest may be as large as its limit, and a copy doubled what `import`
/// holds (docs/benchmarks.md, hostile manifests).
#[derive(Debug, Clone)]
pub struct ReleaseContent<'a> {
    /// The manifest's release description.
    pub release: &'a ReleaseDescription,
    /// `process.json`.
    pub process: NamedProcess,
    /// `variables/*.json`, in manifest order (the project's first, if it has one).
    pub variable_sets: Vec<NamedVariableSet>,
    /// The package files.
    pub packages: Vec<StagedPackage>,
    /// The release's other documents (`file` entries) by entry path, read on demand with
    /// [`ReleaseContent::document`].
    pub documents: BTreeMap<String, StagedDocument>,
}

/// A `file` entry of the bundle in the staging folder.
#[derive(Debug, Clone)]
pub struct StagedDocument {
    /// The file.
    pub file: PathBuf,
    /// Its size, as the manifest says (and verification checked).
    pub size: u64,
}

impl ReleaseContent<'_> {
    /// The document `name` (`step-templates.json`) parsed as `T`, bounded by
    /// [`MAX_JSON_BYTES`]; `None` when the bundle does not carry it (a bundle from an older
    /// exporter, or a release that needs none). A document that does not parse is refused
    /// (`release-invalid`).
    pub fn document<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> anyhow::Result<Option<T>> {
        match self.documents.get(name) {
            None => Ok(None),
            Some(doc) => parse_json(&doc.file, name, doc.size).map(Some),
        }
    }
}

/// A package file in the staging folder.
#[derive(Debug, Clone)]
pub struct StagedPackage {
    /// What the manifest says of it.
    pub reference: PackageRef,
    /// The file.
    pub file: PathBuf,
    /// Its SHA-1 (lowercase hex), computed here and equal to the manifest's.
    pub sha1: String,
}

fn invalid(detail: String) -> anyhow::Error {
    refused(
        "release-invalid",
        format!(
            "the bundle's release cannot be imported: {detail}\nHint: the bundle verified, so it is what the development zone sent; report it to the sender"
        ),
    )
}

/// Reads and checks the release in `staged`.
pub fn read(staged: &Staged) -> anyhow::Result<ReleaseContent<'_>> {
    let manifest = staged.manifest();
    let release = match (manifest.kind, &manifest.release) {
        (BundleKind::Release, Some(release)) => release,
        _ => {
            return Err(bridge_cli::receive::kind::verified(
                staged.digest(),
                manifest.kind,
                BundleKind::Release,
            ));
        }
    };
    // The ledger records a promotion's project and version (at most `MAX_NAME_BYTES` each):
    // a longer one would be applied to the instance and then fail to be recorded, so it is
    // refused before anything is asked of Octopus.
    for (what, value) in [
        ("project name", &release.project),
        ("version", &release.version),
    ] {
        if value.len() > ledger::MAX_NAME_BYTES {
            return Err(invalid(format!(
                "its {what} is {} bytes long; the ledger records at most {} bytes, so the import could never be recorded",
                value.len(),
                ledger::MAX_NAME_BYTES
            )));
        }
    }
    let mut process = None;
    let mut variable_sets: Vec<NamedVariableSet> = Vec::new();
    let mut documents = BTreeMap::new();
    for entry in &manifest.entries {
        let path = entry_file(staged.root(), entry.path.components());
        match entry.role {
            EntryRole::Process => {
                process = Some(parse_json::<NamedProcess>(
                    &path,
                    entry.path.as_str(),
                    entry.size,
                )?);
            }
            EntryRole::Variables => {
                variable_sets.push(parse_json(&path, entry.path.as_str(), entry.size)?);
            }
            EntryRole::File => {
                documents.insert(
                    entry.path.as_str().to_owned(),
                    StagedDocument {
                        file: path,
                        size: entry.size,
                    },
                );
            }
            _ => {}
        }
    }
    let process = process.ok_or_else(|| invalid("it has no process entry".to_owned()))?;
    check_process(&process, release)?;
    check_variable_sets(&variable_sets, release)?;
    let mut packages = Vec::new();
    for reference in &release.packages {
        let file = entry_file(staged.root(), reference.path.components());
        let sha1 = sha1_of(&file)?;
        let expected = reference.sha1.to_hex();
        if sha1 != expected {
            return Err(invalid(format!(
                "package {} {} has SHA-1 {sha1}, but the manifest says {expected}",
                reference.id, reference.version
            )));
        }
        packages.push(StagedPackage {
            reference: reference.clone(),
            file,
            sha1,
        });
    }
    Ok(ReleaseContent {
        release,
        process,
        variable_sets,
        packages,
        documents,
    })
}

fn entry_file<'a>(root: &Path, components: impl Iterator<Item = &'a str>) -> PathBuf {
    let mut path = root.to_owned();
    for component in components {
        path.push(component);
    }
    path
}

fn parse_json<T: serde::de::DeserializeOwned>(
    file: &Path,
    name: &str,
    size: u64,
) -> anyhow::Result<T> {
    if size > MAX_JSON_BYTES {
        return Err(invalid(format!(
            "{name} is {size} bytes, more than the {MAX_JSON_BYTES} bytes an import reads"
        )));
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{name} is not valid: {e}")))
}

fn check_process(process: &NamedProcess, release: &ReleaseDescription) -> anyhow::Result<()> {
    if !process.project.eq_ignore_ascii_case(&release.project) {
        return Err(invalid(format!(
            "process.json belongs to project {:?}, the release to {:?}",
            process.project, release.project
        )));
    }
    let mut steps = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for step in &process.steps {
        if !steps.insert(step.name.to_lowercase()) {
            return Err(invalid(format!(
                "the process has two steps named {:?}",
                step.name
            )));
        }
        for action in &step.actions {
            if !actions.insert(action.name.to_lowercase()) {
                return Err(invalid(format!(
                    "the process has two actions named {:?}",
                    action.name
                )));
            }
        }
    }
    Ok(())
}

fn check_variable_sets(
    sets: &[NamedVariableSet],
    release: &ReleaseDescription,
) -> anyhow::Result<()> {
    let mut owners = BTreeSet::new();
    for set in sets {
        match set.owner_type.as_str() {
            "Project" if !set.owner.eq_ignore_ascii_case(&release.project) => {
                return Err(invalid(format!(
                    "a variables entry belongs to project {:?}, the release to {:?}",
                    set.owner, release.project
                )));
            }
            "Project" | "LibraryVariableSet" => {}
            other => {
                return Err(invalid(format!(
                    "variables of {:?} have OwnerType {other:?}, not Project or LibraryVariableSet",
                    set.owner
                )));
            }
        }
        if !owners.insert((set.owner_type.clone(), set.owner.to_lowercase())) {
            return Err(invalid(format!(
                "the variables of {:?} appear twice",
                set.owner
            )));
        }
        let mut keys = BTreeSet::new();
        for variable in &set.variables {
            if !keys.insert((variable.name.to_lowercase(), scope_key(&variable.scope))) {
                return Err(invalid(format!(
                    "{:?} has two variables {} with the scope {}",
                    set.owner,
                    variable.name,
                    scope_text(&variable.scope)
                )));
            }
        }
    }
    Ok(())
}

/// Lowercase hex SHA-1 of a file, streamed.
fn sha1_of(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}
