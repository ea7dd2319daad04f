//! The name-based release model that travels in a bundle, and its mapping from Octopus
//! resources (`export`, the development side) and back to them (`import`, the secure side). Instance ids (`Environments-24`, `Feeds-1001`, step GUIDs) differ between the
//! development and the secure instance, so a bundle names things instead (bundle spec 13,
//! `examples/README.md` "Names instead of ids"):
//!
//! | Octopus resource field | in the bundle |
//! |---|---|
//! | `Id`, `Links`, `Version`, `LastSnapshotId`, `ScopeValues`, `SpaceId`, variable, step, action and package `Id` | dropped |
//! | process `ProjectId` | `Project` (name) |
//! | variable set `OwnerId` | `Owner` (name) and `OwnerType` (`Project` or `LibraryVariableSet`) |
//! | action `WorkerPoolId` | `WorkerPool` (name) |
//! | package reference `FeedId` | `Feed` (name; a variable expression such as `#{Kubernetes.Feed}` as written) |
//! | action `Environments`, `ExcludedEnvironments`, `Channels` | names |
//! | variable `Scope` values | names; `Action` holds the action's name |
//! | action properties whose value is an id (`Octopus.Action.Package.FeedId`, `Octopus.Action.Manual.ResponsibleTeamIds`, `Octopus.Action.Azure.AccountId`, `Octopus.Action.DeployRelease.ProjectId`, `Octopus.Action.Template.Id`) | the name(s) |
//! | action `Container.FeedId`, `GitDependencies[].GitCredentialId`, ids in step-package `Inputs` | names (see `references`) |
//! | variable values of type `Certificate`, `WorkerPool`, `*Account`; scopes `Tenant`, `Project`, `ProcessOwner` | names |
//! | the library step templates the process uses | `step-templates.json` (see `templates`) |
//! | the release's `BuildInformation` | `build-information.json` (see `build_information`; no ids, no credentials) |
//!
//! An id with no name in the directory is an error that lists every such id at once: a bundle
//! never carries an id the other side could mistake for one of its own.

/// Fields that mean something only on the instance that wrote them: dropped when a resource
/// is named for a bundle, and never sent to the target when it is written back.
pub(crate) const INSTANCE_FIELDS: &[&str] = &[
    "Id",
    "Links",
    "Version",
    "LastSnapshotId",
    "ScopeValues",
    "SpaceId",
    "LastModifiedOn",
    "LastModifiedBy",
    "Slug",
    "ProjectId",
    "OwnerId",
    "WorkerPoolId",
    "FeedId",
];

/// `other` without [`INSTANCE_FIELDS`]: what of a resource's unnamed fields may travel and be
/// written to another instance.
pub(crate) fn without_instance_fields(other: &crate::resources::Other) -> crate::resources::Other {
    other
        .iter()
        .filter(|(k, _)| !INSTANCE_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether a value that normally holds an id is an Octopus variable expression
/// (`#{Kubernetes.Feed}`) instead: bound when a deployment runs, it travels as written and is
/// neither named on export nor resolved on import. An expression is never an id.
pub fn is_expression(value: &str) -> bool {
    value.contains("#{")
}

pub mod build_information;
mod directory;
mod export;
mod external;
mod import;
pub mod leak;
mod model;
mod project;
mod references;
pub mod source;
mod templates;
mod tenants;

pub use build_information::{BUILD_INFORMATION_DOCUMENT, BuildInformationDocument};
pub use directory::{DeniedRead, Directory, Table};
pub use export::{
    OwnerType, SecretRequirement, process_to_names, secret_requirements, variables_to_names,
};
pub use external::{EXTERNAL_PACKAGES, ExternalPackage, ExternalPackages};
pub use import::{
    ImportedProcess, ImportedVariable, ImportedVariables, NEW_ACTION_PREFIX, NameKind, NameMap,
    Problem, PropertySlot, Resolver, ScopeOutcome, SkippedVariable, Unmapped, Unresolved,
    action_table, scope_key, scope_text,
};
pub use model::{
    NamedAction, NamedPackage, NamedProcess, NamedStep, NamedVariable, NamedVariableSet,
};
pub use project::{
    ActionPackage, NamedChannel, NamedChannelRule, NamedLibrarySet, NamedProject, PROJECT_DOCUMENT,
    ProjectNames, project_to_names,
};
pub use templates::{
    NamedParameter, NamedStepTemplate, STEP_TEMPLATES_FILE, StepTemplates, TEMPLATE_ID,
    TEMPLATE_VERSION, TemplateUse, template_difference, template_to_names, template_uses,
};
pub use tenants::{
    NamedTenant, NamedTenantValue, TENANT_SENSITIVE, TENANTS_DOCUMENT, TenantsDocument,
};
