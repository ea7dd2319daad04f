//! Where Octopus keeps ids of other resources inside a process or a variable set, and the
//! kind of name each becomes in a bundle: one list, read by [`super::export`] (id -> name)
//! and [`super::import`] (name -> the target's id), so the two sides cannot drift apart.
//!
//! | where | holds | in the bundle |
//! |---|---|---|
//! | action properties in [`ID_PROPERTIES`] | an id, or a comma list of ids | the name(s), same key |
//! | action `Container.FeedId` (execution containers) | a feed id | `Container.Feed` (name) |
//! | action `GitDependencies[].GitCredentialId` | a git credential id | `GitDependencies[].GitCredential` (name) |
//! | action `Inputs` (step packages), any key in [`INPUT_KEYS`] at any depth | an id | the name, same key |
//! | variable `Value` of type `Certificate`, `WorkerPool`, `*Account` | an id | the name |
//! | variable scope `Tenant`, `Project` | ids | names |
//! | variable scope `ProcessOwner` | a runbook id, or the project id (its deployment process) | `Runbook/<name>`, `Project/<name>` |
//! | variable scope `TenantTag`, `Role`, `TargetRole` | names already | the same (tenant tags checked on the target) |
//!
//! A value holding a variable expression (`#{Kubernetes.Feed}`) is not an id: it travels as
//! written and is accepted as written. Sources: OctopusClients `ScopeField` (scope kinds),
//! go-octopusdeploy `DeploymentAction` / `GitDependency` / `DeploymentActionContainer`
//! (`Container`, `GitDependencies`, `Inputs`, `StepPackageVersion`), OctopusClients
//! `SpecialVariables.Action.Azure.AccountId`, and Octopus's Deploy-a-Release step
//! (`Octopus.Action.DeployRelease.ProjectId`). `Octopus.Action.AwsAccount.Variable` and
//! `Octopus.Action.GoogleCloudAccount.Variable` hold the name of an account *variable*, not
//! an id, and travel unchanged.

use super::import::NameKind;

/// Action and step properties whose values are ids (a comma-separated list for teams).
pub(crate) const ID_PROPERTIES: &[(&str, NameKind)] = &[
    ("Octopus.Action.Package.FeedId", NameKind::Feed),
    ("Octopus.Action.Manual.ResponsibleTeamIds", NameKind::Team),
    ("Octopus.Action.Azure.AccountId", NameKind::Account),
    ("Octopus.Action.DeployRelease.ProjectId", NameKind::Project),
    (super::templates::TEMPLATE_ID, NameKind::StepTemplate),
];

/// The kind of id a property holds, if it holds one.
pub(crate) fn property_kind(key: &str) -> Option<NameKind> {
    ID_PROPERTIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kind)| *kind)
}

/// Keys of a step package's `Inputs` (at any depth, ignoring case) whose string values are
/// ids: reference objects such as `{"PackageId": "nginx", "FeedId": "Feeds-2"}`.
pub(crate) const INPUT_KEYS: &[(&str, NameKind)] = &[
    ("FeedId", NameKind::Feed),
    ("AccountId", NameKind::Account),
    ("CertificateId", NameKind::Certificate),
    ("GitCredentialId", NameKind::GitCredential),
    ("WorkerPoolId", NameKind::WorkerPool),
];

/// The kind of id an `Inputs` key holds, if it holds one.
pub(crate) fn input_kind(key: &str) -> Option<NameKind> {
    INPUT_KEYS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, kind)| *kind)
}

/// The kind of id a variable of type `kind` holds as its value: `Certificate`, `WorkerPool`,
/// and every account type (`AmazonWebServicesAccount`, `AzureAccount`, `GoogleCloudAccount`,
/// `UsernamePasswordAccount`, `GenericOidcAccount`, and newer ones, all ending in `Account`).
pub(crate) fn variable_value_kind(kind: Option<&str>) -> Option<NameKind> {
    match kind? {
        "Certificate" => Some(NameKind::Certificate),
        "WorkerPool" => Some(NameKind::WorkerPool),
        other if other.ends_with("Account") => Some(NameKind::Account),
        _ => None,
    }
}

/// What a variable scope dimension holds (OctopusClients `ScopeField`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    /// Ids of one kind.
    Ids(NameKind),
    /// Names on both sides that the target must have (tenant tags).
    Names(NameKind),
    /// Names on both sides, free text (roles, target roles/tags).
    Text,
    /// Runbook ids, or the project id for the deployment process.
    ProcessOwner,
    /// Not a dimension this tool maps (`User`, `Private`, and anything newer).
    Unknown,
}

/// The kind of values in scope dimension `dimension`.
pub(crate) fn scope_kind(dimension: &str) -> ScopeKind {
    match dimension {
        "Environment" => ScopeKind::Ids(NameKind::Environment),
        "Channel" => ScopeKind::Ids(NameKind::Channel),
        "Machine" => ScopeKind::Ids(NameKind::Machine),
        "Action" => ScopeKind::Ids(NameKind::Action),
        "Tenant" => ScopeKind::Ids(NameKind::Tenant),
        "Project" => ScopeKind::Ids(NameKind::Project),
        "TenantTag" => ScopeKind::Names(NameKind::TenantTag),
        "Role" | "TargetRole" => ScopeKind::Text,
        "ProcessOwner" => ScopeKind::ProcessOwner,
        _ => ScopeKind::Unknown,
    }
}

/// `ProcessOwner` names in a bundle: `Runbook/<name>` or `Project/<name>`.
pub(crate) const RUNBOOK_OWNER: &str = "Runbook/";
/// See [`RUNBOOK_OWNER`].
pub(crate) const PROJECT_OWNER: &str = "Project/";

pub(crate) use super::is_expression;

#[cfg(test)]
mod tests;
