//! The payload shapes that differ between the profiles (`--profile`): fields a current server
//! adds to the resources the stand-in serves, shown under `2025` only, and kept out under
//! `2020.5` so that profile answers exactly as the 2020.5 Swagger spec describes.
//!
//! | resource | 2025 adds | source |
//! |---|---|---|
//! | release | `SelectedGitResources` (`[]`: Git resources of version-controlled steps, none here); `CustomFields` when the release has them (`releases/create/v1`) | fixture `release.json` (a 2024 server); go-octopusdeploy `pkg/releases/release.go` (`SelectedGitResources`, `CustomFields`) |
//! | project | `PersistenceSettings` `{"Type": "Database"}` (a project not version controlled); links `DeploymentProcess` to `projects/{id}/deploymentprocesses`, `Releases` with `searchByVersion` | go-octopusdeploy `pkg/projects/project.go`, `database_persistence_settings.go`, `persistence_settings_types.go`; OctopusDeploy/cli `test/fixtures/projects.go` (`NewProject`: "using default settings from the server") |

use serde_json::{Value, json};

use crate::kind::Kind;
use crate::profile::Profile;
use crate::store::{Doc, text};

/// The fields only a current server shows, per kind.
const CURRENT_ONLY: &[(Kind, &str)] = &[
    (Kind::Release, "SelectedGitResources"),
    (Kind::Release, "CustomFields"),
    (Kind::Project, "PersistenceSettings"),
];

/// `doc` (a resource of `kind` about to be sent) in the shape the profile's server sends.
pub fn present(profile: Profile, kind: Kind, mut doc: Doc) -> Doc {
    if !profile.is_current() {
        for (k, field) in CURRENT_ONLY {
            if *k == kind {
                doc.remove(*field);
            }
        }
        return doc;
    }
    match kind {
        Kind::Release => {
            doc.entry("SelectedGitResources")
                .or_insert_with(|| json!([]));
        }
        Kind::Project if doc.get("IsVersionControlled") != Some(&Value::Bool(true)) => {
            doc.entry("PersistenceSettings")
                .or_insert_with(|| json!({"Type": "Database"}));
            let space = text(&doc, "SpaceId").unwrap_or("").to_owned();
            let id = text(&doc, "Id").unwrap_or("").to_owned();
            if let Some(Value::Object(links)) = doc.get_mut("Links") {
                links.insert(
                    "DeploymentProcess".into(),
                    json!(format!("/api/{space}/projects/{id}/deploymentprocesses")),
                );
                links.insert(
                    "Releases".into(),
                    json!(format!(
                        "/api/{space}/projects/{id}/releases{{/version}}{{?skip,take,searchByVersion}}"
                    )),
                );
            }
        }
        _ => {}
    }
    doc
}

/// [`present`] for a JSON value that may be a resource.
pub fn present_value(profile: Profile, kind: Kind, value: Value) -> Value {
    match value {
        Value::Object(doc) => Value::Object(present(profile, kind, doc)),
        other => other,
    }
}
