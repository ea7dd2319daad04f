//! The root document (`GET /api`) and a space's root (`GET /api/{spaceId}`).
//!
//! The link templates follow the root document of fixture `api-root.2019.7.12.json`, scoped
//! to the default space as there, and list only what the stand-in serves.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::store::DEFAULT_SPACE;

/// The collections in the space root's links: link name, path, template parameters.
const SPACE_LINKS: &[(&str, &str, &str)] = &[
    (
        "BuildInformation",
        "build-information",
        "{/id}{?packageId,filter,latest,skip,take,overwriteMode}",
    ),
    ("BuildInformationBulk", "build-information/bulk", "{?ids}"),
    ("Channels", "channels", "{/id}{?skip,take,ids,partialName}"),
    (
        "DeploymentProcesses",
        "deploymentprocesses",
        "{/id}{?skip,take,ids}",
    ),
    (
        "Deployments",
        "deployments",
        "{/id}{?skip,take,ids,projects,environments,tenants,channels}",
    ),
    (
        "Environments",
        "environments",
        "{/id}{?name,skip,ids,take,partialName}",
    ),
    ("Feeds", "feeds", "{/id}{?skip,take,ids,partialName}"),
    (
        "Interruptions",
        "interruptions",
        "{/id}{?skip,take,regarding,pendingOnly,ids}",
    ),
    (
        "LibraryVariables",
        "libraryvariablesets",
        "{/id}{?skip,take,ids,partialName}",
    ),
    (
        "Lifecycles",
        "lifecycles",
        "{/id}{?skip,take,ids,partialName}",
    ),
    ("Packages", "packages", "{/id}{?filter,latest,skip,take}"),
    ("PackageUpload", "packages/raw", "{?overwriteMode}"),
    (
        "ProjectGroups",
        "projectgroups",
        "{/id}{?skip,take,ids,partialName}",
    ),
    (
        "Projects",
        "projects",
        "{/id}{?name,skip,ids,take,partialName}",
    ),
    (
        "Releases",
        "releases",
        "{/id}{?skip,ignoreChannelRules,take,ids}",
    ),
    (
        "Tasks",
        "tasks",
        "{/id}{?skip,take,ids,states,project,environment,tenant,partialName}",
    ),
    (
        "Tenants",
        "tenants",
        "{/id}{?skip,projectId,name,take,ids,partialName}",
    ),
    ("Variables", "variables", "{/id}{?ids}"),
    // Runbooks, as a 2023.1 server's root lists them (its root document quoted in
    // mcasperson/OctopusRecommendationEngine's `TestLongTaskQueue`); `clone` is not served.
    (
        "RunbookProcesses",
        "runbookProcesses",
        "{/id}{?skip,take,ids}",
    ),
    (
        "RunbookRuns",
        "runbookRuns",
        "{/id}{?skip,take,ids,projects,environments,tenants,runbooks,taskState,partialName}",
    ),
    (
        "Runbooks",
        "runbooks",
        "{/id}{?skip,take,ids,partialName,projectIds}",
    ),
    (
        "RunbookSnapshots",
        "runbookSnapshots",
        "{/id}{?skip,take,ids,publish}",
    ),
];

/// The space's links, under `base` (the `--path-base`, empty at the root).
fn space_links(base: &str, space: &str) -> Map<String, Value> {
    let mut links = Map::new();
    links.insert("Self".into(), json!(format!("{base}/api/{space}")));
    for (name, path, template) in SPACE_LINKS {
        links.insert(
            (*name).into(),
            json!(format!("{base}/api/{space}/{path}{template}")),
        );
    }
    links
}

/// `RootResource`.
pub fn api_root(app: &App) -> Value {
    let base = app.config.path_base.as_str();
    let mut links = space_links(base, DEFAULT_SPACE);
    links.insert("Self".into(), json!(format!("{base}/api")));
    links.insert("SpaceHome".into(), json!(format!("{base}/api/{{spaceId}}")));
    // `users/me`, in both profiles (fixture `api-root.2019.7.12.json` has it too).
    links.insert("CurrentUser".into(), json!(format!("{base}/api/users/me")));
    links.insert(
        "Spaces".into(),
        json!(format!(
            "{base}/api/spaces{{/id}}{{?name,skip,ids,take,partialName}}"
        )),
    );
    json!({
        "Application": "Octopus Deploy",
        "Version": app.config.server_version,
        "ApiVersion": "3.0.0",
        "InstallationId": "5e0f5b6c-3a4d-4b7e-9c1a-0a11d0c7a4e1",
        "IsEarlyAccessProgram": false,
        "HasLongTermSupport": false,
        "Links": links,
    })
}

/// `SpaceRootResource`, its links under `base`.
pub fn space_root(base: &str, space: &str) -> Value {
    json!({ "Id": space, "Links": space_links(base, space) })
}
