//! The resource kinds the stand-in keeps, with the names Octopus gives them on the wire.

use serde::{Deserialize, Serialize};

/// One kind of Octopus resource: its URL segment, id prefix, `ItemType` and Swagger definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `SpaceResource`.
    Space,
    /// `EnvironmentResource`.
    Environment,
    /// `LifecycleResource`.
    Lifecycle,
    /// `ProjectGroupResource`.
    ProjectGroup,
    /// `ChannelResource`.
    Channel,
    /// `FeedResource`.
    Feed,
    /// `LibraryVariableSetResource`.
    LibraryVariableSet,
    /// `ProjectResource`.
    Project,
    /// `DeploymentProcessResource`, live and snapshots.
    DeploymentProcess,
    /// `VariableSetResource`, live and snapshots.
    VariableSet,
    /// `PackageFromBuiltInFeedResource`.
    Package,
    /// `ReleaseResource`.
    Release,
    /// `DeploymentResource`.
    Deployment,
    /// `TaskResource`.
    Task,
    /// `InterruptionResource`.
    Interruption,
    /// `TeamResource` (the built-in teams, read only).
    Team,
    /// `TenantResource`.
    Tenant,
    /// `AccountResource` (every account type; secrets never read back).
    Account,
    /// `CertificateResource` (certificate data and password never read back).
    Certificate,
    /// `GitCredentialResource` (its password never read back).
    GitCredential,
    /// `WorkerPoolResource`.
    WorkerPool,
    /// `RunbookResource` (a project's runbooks).
    Runbook,
    /// `ProjectTriggerResource`.
    ProjectTrigger,
    /// `TagSetResource` (tenant tags, `TagSet/Tag`).
    TagSet,
    /// One tenant variable value (internal: served only through `tenants/{id}/variables`,
    /// `projectvariables` and `commonvariables`, never as a collection).
    TenantValue,
    /// `ActionTemplateResource`: a library step template.
    ActionTemplate,
    /// `RunbookProcessResource`, live and frozen in runbook snapshots.
    RunbookProcess,
    /// `RunbookSnapshotResource`: a runbook's process and variables, frozen.
    RunbookSnapshot,
    /// `RunbookRunResource`: a runbook snapshot run in an environment.
    RunbookRun,
    /// `OctopusPackageVersionBuildInformationMappedResource`: a package version's build
    /// information.
    BuildInformation,
}

impl Kind {
    /// Every kind, in the order the state file lists them.
    pub const ALL: [Kind; 30] = [
        Kind::Space,
        Kind::Environment,
        Kind::Lifecycle,
        Kind::ProjectGroup,
        Kind::Channel,
        Kind::Feed,
        Kind::LibraryVariableSet,
        Kind::Project,
        Kind::DeploymentProcess,
        Kind::VariableSet,
        Kind::Package,
        Kind::Release,
        Kind::Deployment,
        Kind::Task,
        Kind::Interruption,
        Kind::Team,
        Kind::Tenant,
        Kind::Account,
        Kind::Certificate,
        Kind::GitCredential,
        Kind::WorkerPool,
        Kind::Runbook,
        Kind::ProjectTrigger,
        Kind::TagSet,
        Kind::TenantValue,
        Kind::ActionTemplate,
        Kind::RunbookProcess,
        Kind::RunbookSnapshot,
        Kind::RunbookRun,
        Kind::BuildInformation,
    ];

    /// The URL segment: `/api/Spaces-1/<segment>`.
    pub fn segment(self) -> &'static str {
        match self {
            Kind::Space => "spaces",
            Kind::Environment => "environments",
            Kind::Lifecycle => "lifecycles",
            Kind::ProjectGroup => "projectgroups",
            Kind::Channel => "channels",
            Kind::Feed => "feeds",
            Kind::LibraryVariableSet => "libraryvariablesets",
            Kind::Project => "projects",
            Kind::DeploymentProcess => "deploymentprocesses",
            Kind::VariableSet => "variables",
            Kind::Package => "packages",
            Kind::Release => "releases",
            Kind::Deployment => "deployments",
            Kind::Task => "tasks",
            Kind::Interruption => "interruptions",
            Kind::Team => "teams",
            Kind::Tenant => "tenants",
            Kind::Account => "accounts",
            Kind::Certificate => "certificates",
            Kind::GitCredential => "git-credentials",
            Kind::WorkerPool => "workerpools",
            Kind::Runbook => "runbooks",
            Kind::ProjectTrigger => "projecttriggers",
            Kind::TagSet => "tagsets",
            Kind::TenantValue => "tenantvariables",
            Kind::ActionTemplate => "actiontemplates",
            Kind::RunbookProcess => "runbookProcesses",
            Kind::RunbookSnapshot => "runbookSnapshots",
            Kind::RunbookRun => "runbookRuns",
            Kind::BuildInformation => "build-information",
        }
    }

    /// The kind served under a URL segment.
    pub fn from_segment(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.segment() == segment)
    }

    /// The prefix of numbered ids (`Environments-3`), as Octopus numbers them.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Space => "Spaces",
            Kind::Environment => "Environments",
            Kind::Lifecycle => "Lifecycles",
            Kind::ProjectGroup => "ProjectGroups",
            Kind::Channel => "Channels",
            Kind::Feed => "Feeds",
            Kind::LibraryVariableSet => "LibraryVariableSets",
            Kind::Project => "Projects",
            Kind::DeploymentProcess => "deploymentprocess",
            Kind::VariableSet => "variableset",
            Kind::Package => "packages",
            Kind::Release => "Releases",
            Kind::Deployment => "Deployments",
            Kind::Task => "ServerTasks",
            Kind::Interruption => "Interruptions",
            Kind::Team => "Teams",
            Kind::Tenant => "Tenants",
            Kind::Account => "Accounts",
            Kind::Certificate => "Certificates",
            Kind::GitCredential => "GitCredentials",
            Kind::WorkerPool => "WorkerPools",
            Kind::Runbook => "Runbooks",
            Kind::ProjectTrigger => "ProjectTriggers",
            Kind::TagSet => "TagSets",
            Kind::TenantValue => "TenantVariables",
            Kind::ActionTemplate => "ActionTemplates",
            Kind::RunbookProcess => "RunbookProcess",
            Kind::RunbookSnapshot => "RunbookSnapshots",
            Kind::RunbookRun => "RunbookRuns",
            Kind::BuildInformation => "BuildInformation",
        }
    }

    /// `ItemType` of a paged collection of this kind.
    pub fn item_type(self) -> &'static str {
        match self {
            Kind::Space => "Space",
            Kind::Environment => "Environment",
            Kind::Lifecycle => "Lifecycle",
            Kind::ProjectGroup => "ProjectGroup",
            Kind::Channel => "Channel",
            Kind::Feed => "Feed",
            Kind::LibraryVariableSet => "LibraryVariableSet",
            Kind::Project => "Project",
            Kind::DeploymentProcess => "DeploymentProcess",
            Kind::VariableSet => "VariableSet",
            Kind::Package => "Package",
            Kind::Release => "Release",
            Kind::Deployment => "Deployment",
            Kind::Task => "Task",
            Kind::Interruption => "Interruption",
            Kind::Team => "Team",
            Kind::Tenant => "Tenant",
            Kind::Account => "Account",
            Kind::Certificate => "Certificate",
            Kind::GitCredential => "GitCredential",
            Kind::WorkerPool => "WorkerPool",
            Kind::Runbook => "Runbook",
            Kind::ProjectTrigger => "ProjectTrigger",
            Kind::TagSet => "TagSet",
            Kind::TenantValue => "TenantVariable",
            Kind::ActionTemplate => "ActionTemplate",
            Kind::RunbookProcess => "RunbookProcess",
            Kind::RunbookSnapshot => "RunbookSnapshot",
            Kind::RunbookRun => "RunbookRun",
            Kind::BuildInformation => "OctopusPackageVersionBuildInformation",
        }
    }

    /// A human name for error messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Space => "space",
            Kind::Environment => "environment",
            Kind::Lifecycle => "lifecycle",
            Kind::ProjectGroup => "project group",
            Kind::Channel => "channel",
            Kind::Feed => "feed",
            Kind::LibraryVariableSet => "library variable set",
            Kind::Project => "project",
            Kind::DeploymentProcess => "deployment process",
            Kind::VariableSet => "variable set",
            Kind::Package => "package",
            Kind::Release => "release",
            Kind::Deployment => "deployment",
            Kind::Task => "task",
            Kind::Interruption => "interruption",
            Kind::Team => "team",
            Kind::Tenant => "tenant",
            Kind::Account => "account",
            Kind::Certificate => "certificate",
            Kind::GitCredential => "git credential",
            Kind::WorkerPool => "worker pool",
            Kind::Runbook => "runbook",
            Kind::ProjectTrigger => "project trigger",
            Kind::TagSet => "tag set",
            Kind::TenantValue => "tenant variable",
            Kind::ActionTemplate => "step template",
            Kind::RunbookProcess => "runbook process",
            Kind::RunbookSnapshot => "runbook snapshot",
            Kind::RunbookRun => "runbook run",
            Kind::BuildInformation => "build information",
        }
    }
}
