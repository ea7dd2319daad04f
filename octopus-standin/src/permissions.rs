//! API keys with roles, and the one table of which permission each route needs.
//!
//! Besides the admin key (`--api-key`), which may do everything, an instance may issue keys
//! whose role grants a set of Octopus permissions (`--role-key KEY=ProjectView,ReleaseView`).
//! Every request made with such a key is checked against [`RULES`] before it is routed; a
//! route the table does not list needs [`ADMIN_ONLY`], so that a route added without an entry
//! is never silently open to a restricted key.
//!
//! The names are Octopus's `Permission` ids (OctopusClients,
//! `source/Octopus.Server.Client/Model/Permission.cs`); which permission guards what follows
//! their descriptions there ("View the deployment process and channels associated with a
//! project": `ProcessView` guards channels too).

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::http::Method;

/// What a route the table does not list needs: only the admin key has it.
pub const ADMIN_ONLY: &str = "AdministerSystem";

/// `(method, path pattern, permission)`, first match wins. The pattern is the path after
/// `/api` and the optional `/{spaceId}`; `*` stands for one segment. `None` as the permission:
/// any valid key may (spaces, tag sets).
pub const RULES: &[(&str, &str, Option<&str>)] = &[
    // Spaces: a user sees the spaces they have a role in; every role here is in the space.
    ("GET", "spaces", None),
    ("GET", "spaces/*", None),
    // Environments, lifecycles, project groups.
    ("GET", "environments", Some("EnvironmentView")),
    ("GET", "environments/*", Some("EnvironmentView")),
    ("POST", "environments", Some("EnvironmentCreate")),
    ("PUT", "environments/*", Some("EnvironmentEdit")),
    ("DELETE", "environments/*", Some("EnvironmentDelete")),
    ("GET", "lifecycles", Some("LifecycleView")),
    ("GET", "lifecycles/*", Some("LifecycleView")),
    ("POST", "lifecycles", Some("LifecycleCreate")),
    ("PUT", "lifecycles/*", Some("LifecycleEdit")),
    ("DELETE", "lifecycles/*", Some("LifecycleDelete")),
    ("GET", "projectgroups/*/projects", Some("ProjectView")),
    ("GET", "projectgroups", Some("ProjectGroupView")),
    ("GET", "projectgroups/*", Some("ProjectGroupView")),
    ("POST", "projectgroups", Some("ProjectGroupCreate")),
    ("PUT", "projectgroups/*", Some("ProjectGroupEdit")),
    ("DELETE", "projectgroups/*", Some("ProjectGroupDelete")),
    // Projects and what hangs under them.
    // Any valid key may read its own user.
    ("GET", "users/me", None),
    ("GET", "projects/*/deploymentprocesses", Some("ProcessView")),
    ("PUT", "projects/*/deploymentprocesses", Some("ProcessEdit")),
    ("GET", "projects/*/channels", Some("ProcessView")),
    ("GET", "projects/*/releases", Some("ReleaseView")),
    ("GET", "projects/*/releases/*", Some("ReleaseView")),
    ("GET", "projects/*/runbooks", Some("RunbookView")),
    ("GET", "projects/*/triggers", Some("TriggerView")),
    ("GET", "projects", Some("ProjectView")),
    ("GET", "projects/*", Some("ProjectView")),
    ("POST", "projects", Some("ProjectCreate")),
    ("PUT", "projects/*", Some("ProjectEdit")),
    ("DELETE", "projects/*", Some("ProjectDelete")),
    ("GET", "channels/*/releases", Some("ReleaseView")),
    ("GET", "channels", Some("ProcessView")),
    ("GET", "channels/*", Some("ProcessView")),
    ("POST", "channels", Some("ProcessEdit")),
    ("PUT", "channels/*", Some("ProcessEdit")),
    ("DELETE", "channels/*", Some("ProcessEdit")),
    ("GET", "deploymentprocesses", Some("ProcessView")),
    ("GET", "deploymentprocesses/*", Some("ProcessView")),
    ("PUT", "deploymentprocesses/*", Some("ProcessEdit")),
    ("GET", "variables", Some("VariableView")),
    ("GET", "variables/*", Some("VariableView")),
    ("PUT", "variables/*", Some("VariableEdit")),
    ("GET", "libraryvariablesets", Some("LibraryVariableSetView")),
    (
        "GET",
        "libraryvariablesets/*",
        Some("LibraryVariableSetView"),
    ),
    (
        "POST",
        "libraryvariablesets",
        Some("LibraryVariableSetCreate"),
    ),
    (
        "PUT",
        "libraryvariablesets/*",
        Some("LibraryVariableSetEdit"),
    ),
    (
        "DELETE",
        "libraryvariablesets/*",
        Some("LibraryVariableSetDelete"),
    ),
    ("GET", "runbooks", Some("RunbookView")),
    ("GET", "runbooks/*", Some("RunbookView")),
    ("GET", "projecttriggers", Some("TriggerView")),
    ("GET", "projecttriggers/*", Some("TriggerView")),
    // Feeds and the built-in repository.
    ("GET", "feeds", Some("FeedView")),
    ("GET", "feeds/*", Some("FeedView")),
    ("GET", "feeds/*/packages/versions", Some("FeedView")),
    ("GET", "feeds/*/packages/search", Some("FeedView")),
    ("POST", "feeds", Some("FeedEdit")),
    ("PUT", "feeds/*", Some("FeedEdit")),
    ("DELETE", "feeds/*", Some("FeedEdit")),
    ("POST", "packages/raw", Some("BuiltInFeedPush")),
    ("GET", "packages/*/raw", Some("BuiltInFeedDownload")),
    ("GET", "packages", Some("FeedView")),
    ("GET", "packages/*", Some("FeedView")),
    ("DELETE", "packages/*", Some("BuiltInFeedAdminister")),
    // Build information: pushed with BuildInformationPush, deleted with
    // BuildInformationAdminister ("Replace or delete build information"), read as feeds are.
    ("POST", "build-information", Some("BuildInformationPush")),
    ("GET", "build-information", Some("FeedView")),
    ("GET", "build-information/*", Some("FeedView")),
    (
        "DELETE",
        "build-information/*",
        Some("BuildInformationAdminister"),
    ),
    // Releases, deployments, tasks, interruptions.
    ("GET", "releases/*/deployments", Some("DeploymentView")),
    // The preview is what a client reads to prepare a deployment (its form of prompted
    // variables): the stand-in asks for what creating one needs.
    (
        "GET",
        "releases/*/deployments/preview/*",
        Some("DeploymentCreate"),
    ),
    (
        "GET",
        "releases/*/deployments/preview/*/*",
        Some("DeploymentCreate"),
    ),
    ("GET", "releases", Some("ReleaseView")),
    ("GET", "releases/*", Some("ReleaseView")),
    ("POST", "releases", Some("ReleaseCreate")),
    ("PUT", "releases/*", Some("ReleaseEdit")),
    ("DELETE", "releases/*", Some("ReleaseDelete")),
    // The executions API (2022.3+).
    ("POST", "releases/create/v1", Some("ReleaseCreate")),
    (
        "POST",
        "deployments/create/untenanted/v1",
        Some("DeploymentCreate"),
    ),
    (
        "POST",
        "deployments/create/tenanted/v1",
        Some("DeploymentCreate"),
    ),
    ("GET", "deployments", Some("DeploymentView")),
    ("GET", "deployments/*", Some("DeploymentView")),
    ("POST", "deployments", Some("DeploymentCreate")),
    ("DELETE", "deployments/*", Some("DeploymentDelete")),
    ("GET", "tasks", Some("TaskView")),
    ("GET", "tasks/*", Some("TaskView")),
    ("GET", "tasks/*/details", Some("TaskView")),
    ("GET", "tasks/*/raw", Some("TaskView")),
    ("GET", "interruptions", Some("InterruptionView")),
    ("GET", "interruptions/*", Some("InterruptionView")),
    (
        "GET",
        "interruptions/*/responsible",
        Some("InterruptionView"),
    ),
    (
        "PUT",
        "interruptions/*/responsible",
        Some("InterruptionSubmit"),
    ),
    ("POST", "interruptions/*/submit", Some("InterruptionSubmit")),
    // Infrastructure and library resources that processes and variables name.
    ("GET", "teams", Some("TeamView")),
    ("GET", "teams/*", Some("TeamView")),
    ("GET", "machines", Some("MachineView")),
    ("GET", "machines/*", Some("MachineView")),
    ("GET", "workerpools", Some("WorkerView")),
    ("GET", "workerpools/*", Some("WorkerView")),
    ("GET", "accounts", Some("AccountView")),
    ("GET", "accounts/*", Some("AccountView")),
    ("POST", "accounts", Some("AccountCreate")),
    ("PUT", "accounts/*", Some("AccountEdit")),
    ("GET", "certificates", Some("CertificateView")),
    ("GET", "certificates/*", Some("CertificateView")),
    ("POST", "certificates", Some("CertificateCreate")),
    ("PUT", "certificates/*", Some("CertificateEdit")),
    ("GET", "git-credentials", Some("GitCredentialView")),
    ("GET", "git-credentials/*", Some("GitCredentialView")),
    ("POST", "git-credentials", Some("GitCredentialEdit")),
    ("PUT", "git-credentials/*", Some("GitCredentialEdit")),
    ("GET", "actiontemplates", Some("ActionTemplateView")),
    ("GET", "actiontemplates/*", Some("ActionTemplateView")),
    (
        "GET",
        "actiontemplates/*/versions/*",
        Some("ActionTemplateView"),
    ),
    ("POST", "actiontemplates", Some("ActionTemplateCreate")),
    ("PUT", "actiontemplates/*", Some("ActionTemplateEdit")),
    ("GET", "tenants/*/projectvariables", Some("TenantView")),
    ("GET", "tenants/*/commonvariables", Some("TenantView")),
    ("PUT", "tenants/*/projectvariables", Some("TenantEdit")),
    ("PUT", "tenants/*/commonvariables", Some("TenantEdit")),
    ("GET", "tenants", Some("TenantView")),
    ("GET", "tenants/*", Some("TenantView")),
    ("POST", "tenants", Some("TenantCreate")),
    ("PUT", "tenants/*", Some("TenantEdit")),
    ("DELETE", "tenants/*", Some("TenantDelete")),
    // Tag sets have no View permission in Octopus's enum: any user may read them.
    ("GET", "tagsets", None),
    ("GET", "tagsets/*", None),
    ("POST", "tagsets", Some("TagSetCreate")),
    ("PUT", "tagsets/*", Some("TagSetEdit")),
    // Runbooks: their processes, snapshots and runs (Octopus documentation, "Runbooks
    // permissions"; a runbook process is edited with RunbookEdit, api-client
    // `runbookProcess.js` `processResourcePermission`).
    ("POST", "runbooks", Some("RunbookEdit")),
    ("PUT", "runbooks/*", Some("RunbookEdit")),
    ("POST", "projects/*/runbooks", Some("RunbookEdit")),
    ("GET", "runbooks/*/runbookSnapshots", Some("RunbookView")),
    (
        "GET",
        "runbooks/*/runbookSnapshotTemplate",
        Some("RunbookView"),
    ),
    (
        "GET",
        "runbookProcesses/*/runbookSnapshotTemplate",
        Some("RunbookView"),
    ),
    ("GET", "runbookProcesses", Some("RunbookView")),
    ("GET", "runbookProcesses/*", Some("RunbookView")),
    ("PUT", "runbookProcesses/*", Some("RunbookEdit")),
    ("GET", "projects/*/runbookProcesses/*", Some("RunbookView")),
    ("PUT", "projects/*/runbookProcesses/*", Some("RunbookEdit")),
    ("GET", "runbookSnapshots", Some("RunbookView")),
    ("GET", "runbookSnapshots/*", Some("RunbookView")),
    ("POST", "runbookSnapshots", Some("RunbookEdit")),
    ("GET", "projects/*/runbookSnapshots", Some("RunbookView")),
    ("GET", "projects/*/runbookSnapshots/*", Some("RunbookView")),
    ("POST", "projects/*/runbookSnapshots", Some("RunbookEdit")),
    (
        "GET",
        "runbookSnapshots/*/runbookRuns",
        Some("RunbookRunView"),
    ),
    ("GET", "runbookRuns", Some("RunbookRunView")),
    ("GET", "runbookRuns/*", Some("RunbookRunView")),
    ("POST", "runbookRuns", Some("RunbookRunCreate")),
    ("POST", "runbook-runs/create/v1", Some("RunbookRunCreate")),
];

/// The permission ids a role key may be given: Octopus's `Permission` enum.
pub const KNOWN: &[&str] = &[
    "AccountCreate",
    "AccountDelete",
    "AccountEdit",
    "AccountView",
    "ActionTemplateCreate",
    "ActionTemplateDelete",
    "ActionTemplateEdit",
    "ActionTemplateView",
    "AdministerSystem",
    "ArtifactCreate",
    "ArtifactDelete",
    "ArtifactEdit",
    "ArtifactView",
    "BuildInformationAdminister",
    "BuildInformationPush",
    "BuiltInFeedAdminister",
    "BuiltInFeedDownload",
    "BuiltInFeedPush",
    "CertificateCreate",
    "CertificateDelete",
    "CertificateEdit",
    "CertificateExportPrivateKey",
    "CertificateView",
    "ConfigureServer",
    "DefectReport",
    "DefectResolve",
    "DeploymentCreate",
    "DeploymentDelete",
    "DeploymentView",
    "EnvironmentCreate",
    "EnvironmentDelete",
    "EnvironmentEdit",
    "EnvironmentView",
    "EventView",
    "FeedEdit",
    "FeedView",
    "GitCredentialEdit",
    "GitCredentialView",
    "InterruptionSubmit",
    "InterruptionView",
    "InterruptionViewSubmitResponsible",
    "LibraryVariableSetCreate",
    "LibraryVariableSetDelete",
    "LibraryVariableSetEdit",
    "LibraryVariableSetView",
    "LifecycleCreate",
    "LifecycleDelete",
    "LifecycleEdit",
    "LifecycleView",
    "MachineCreate",
    "MachineDelete",
    "MachineEdit",
    "MachineView",
    "ProcessEdit",
    "ProcessView",
    "ProjectCreate",
    "ProjectDelete",
    "ProjectEdit",
    "ProjectGroupCreate",
    "ProjectGroupDelete",
    "ProjectGroupEdit",
    "ProjectGroupView",
    "ProjectView",
    "ReleaseCreate",
    "ReleaseDelete",
    "ReleaseEdit",
    "ReleaseView",
    "RunbookEdit",
    "RunbookRunCreate",
    "RunbookRunView",
    "RunbookView",
    "TagSetCreate",
    "TagSetDelete",
    "TagSetEdit",
    "TaskCancel",
    "TaskCreate",
    "TaskEdit",
    "TaskView",
    "TeamView",
    "TenantCreate",
    "TenantDelete",
    "TenantEdit",
    "TenantView",
    "TriggerCreate",
    "TriggerDelete",
    "TriggerEdit",
    "TriggerView",
    "UserRoleView",
    "UserView",
    "VariableEdit",
    "VariableEditUnscoped",
    "VariableView",
    "VariableViewUnscoped",
    "WorkerEdit",
    "WorkerView",
];

/// The permission a request needs, `None` when any valid key may make it. `segs` is the path
/// after `/api` and the optional `/{spaceId}`; the empty path (a root document) needs none.
pub fn required(method: &Method, segs: &[&str]) -> Option<&'static str> {
    if segs.is_empty() {
        return None;
    }
    RULES
        .iter()
        .find(|(m, pattern, _)| *m == method.as_str() && matches(pattern, segs))
        .map_or(Some(ADMIN_ONLY), |(_, _, permission)| *permission)
}

/// What a request needs besides its route's permission: replacing build information
/// (`POST build-information?overwriteMode=OverwriteExisting`) needs `BuildInformationAdminister`
/// ("Replace or delete build information", OctopusClients `Permission.cs`), pushing new
/// build information only `BuildInformationPush`.
pub fn extra(
    method: &Method,
    segs: &[&str],
    params: &crate::params::Params,
) -> Option<&'static str> {
    let replaces = params
        .get("overwriteMode")
        .is_some_and(|m| m.eq_ignore_ascii_case("OverwriteExisting"));
    (method == Method::POST && segs == ["build-information"] && replaces)
        .then_some("BuildInformationAdminister")
}

fn matches(pattern: &str, segs: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').collect();
    parts.len() == segs.len() && parts.iter().zip(segs).all(|(p, s)| *p == "*" || p == s)
}

/// A key whose role grants `permissions` (`--role-key KEY=ProjectView,ReleaseView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleKey {
    /// The key clients send.
    pub key: String,
    /// The permissions its role grants.
    pub permissions: BTreeSet<String>,
}

impl RoleKey {
    /// Whether the role grants `permission`.
    pub fn grants(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }
}

impl FromStr for RoleKey {
    type Err = String;

    /// `KEY=Permission,Permission,...`; an empty list is a key that may read only what needs
    /// no permission. Every name must be one of [`KNOWN`], so a typo cannot pass for a role.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (key, list) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not KEY=Permission,Permission,..."))?;
        let key = key.trim();
        if key.is_empty() {
            return Err("the key before '=' is empty".to_owned());
        }
        let mut permissions = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !KNOWN.contains(&name) {
                return Err(format!(
                    "{name:?} is not an Octopus permission id (such as ProjectView; the list is `KNOWN` in octopus-standin/src/permissions.rs)"
                ));
            }
            permissions.insert(name.to_owned());
        }
        Ok(RoleKey {
            key: key.to_owned(),
            permissions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_permission_octopus_names() {
        for (method, path, want) in [
            (Method::GET, "projects", Some("ProjectView")),
            (
                Method::GET,
                "projects/Projects-1/releases/1.0.0",
                Some("ReleaseView"),
            ),
            (
                Method::GET,
                "projects/Projects-1/channels",
                Some("ProcessView"),
            ),
            (Method::POST, "packages/raw", Some("BuiltInFeedPush")),
            (
                Method::GET,
                "packages/packages-A.1.0/raw",
                Some("BuiltInFeedDownload"),
            ),
            (Method::GET, "packages/packages-A.1.0", Some("FeedView")),
            (Method::POST, "deployments", Some("DeploymentCreate")),
            (
                Method::PUT,
                "variables/variableset-Projects-1",
                Some("VariableEdit"),
            ),
            (
                Method::POST,
                "interruptions/Interruptions-1/submit",
                Some("InterruptionSubmit"),
            ),
            (Method::GET, "spaces/all", None),
            (Method::GET, "tagsets", None),
        ] {
            let segs: Vec<&str> = path.split('/').collect();
            assert_eq!(required(&method, &segs), want, "{method} {path}");
        }
    }

    #[test]
    fn an_unlisted_route_is_admin_only() {
        assert_eq!(required(&Method::GET, &["somethingnew"]), Some(ADMIN_ONLY));
        assert_eq!(
            required(&Method::DELETE, &["deploymentprocesses", "x"]),
            Some(ADMIN_ONLY)
        );
        assert_eq!(required(&Method::GET, &[]), None);
    }

    #[test]
    fn every_permission_in_the_table_is_known() {
        for (_, _, permission) in RULES {
            if let Some(p) = permission {
                assert!(KNOWN.contains(p), "{p}");
            }
        }
    }

    #[test]
    fn role_keys_parse_and_unknown_permissions_are_refused() {
        let key: RoleKey = "API-R=ProjectView, ReleaseView"
            .parse()
            .unwrap_or_else(|e| {
                panic!("{e}");
            });
        assert_eq!(key.key, "API-R");
        assert!(key.grants("ReleaseView") && !key.grants("ReleaseCreate"));
        let empty: Result<RoleKey, _> = "API-E=".parse();
        assert!(empty.is_ok_and(|k| k.permissions.is_empty()));
        for bad in ["API-R", "=ProjectView", "API-R=ProjectVeiw"] {
            assert!(bad.parse::<RoleKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn replacing_build_information_needs_administer_too() {
        use crate::params::Params;
        let segs = ["build-information"];
        let cases = [
            (
                Method::POST,
                "overwriteMode=OverwriteExisting",
                Some("BuildInformationAdminister"),
            ),
            (
                Method::POST,
                "overwriteMode=overwriteexisting",
                Some("BuildInformationAdminister"),
            ),
            (Method::POST, "overwriteMode=IgnoreIfExists", None),
            (Method::POST, "", None),
            (Method::GET, "overwriteMode=OverwriteExisting", None),
        ];
        for (method, query, want) in cases {
            assert_eq!(
                extra(&method, &segs, &Params::parse(Some(query))),
                want,
                "{method} ?{query}"
            );
        }
        let packages = Params::parse(Some("overwriteMode=OverwriteExisting"));
        assert_eq!(extra(&Method::POST, &["packages", "raw"], &packages), None);
    }
}
