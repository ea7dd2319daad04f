//! Accounts, certificates, git credentials, worker pools and runbooks: the resources a process
//! or variable set refers to by id, and the rules a real server applies to those references.
//!
//! - Secrets (an account's `SecretKey`, `Password`, `Token`, `JsonKey`, `PrivateKeyFile`,
//!   `PrivateKeyPassphrase`, `ClientSecret`; a certificate's `CertificateData` and `Password`; a
//!   git credential's `Details.Password`) are `SensitiveValue`s (go-octopusdeploy
//!   `core.SensitiveValue`): written as a string or `{"HasValue": true, "NewValue": ".."}`, and
//!   read back as `{"HasValue": true, "NewValue": null}` only. The stand-in never keeps them.
//! - A process or variable set that refers to an account, certificate, worker pool, feed, git
//!   credential, runbook or project that does not exist in the space gets a 400 naming it
//!   ([`check_action`], [`check_variable`]), as Octopus validates references on save.
//!
//! Field lists: go-octopusdeploy `pkg/accounts`, `pkg/certificates/certificate.go`,
//! `pkg/credentials/resource.go`, `pkg/workerpools/worker_pool.go`, `pkg/runbooks/runbook.go`.

use serde_json::{Map, Value, json};

use super::{find, must_exist, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// The writable fields of `AccountResource` and its subtypes.
const ACCOUNT: &[Field] = &[
    ("Name", Ty::Str),
    ("Slug", Ty::Str),
    ("Description", Ty::Str),
    ("AccountType", Ty::Str),
    ("EnvironmentIds", Ty::Array),
    ("TenantIds", Ty::Array),
    ("TenantTags", Ty::Array),
    ("TenantedDeploymentParticipation", Ty::Str),
    ("AccessKey", Ty::Str),
    ("SubscriptionNumber", Ty::Str),
    ("ClientId", Ty::Str),
    ("TenantId", Ty::Str),
    ("Username", Ty::Str),
    ("RoleArn", Ty::Str),
    ("Audience", Ty::Str),
    ("SubjectKeys", Ty::Array),
];

/// The sensitive fields of accounts.
const ACCOUNT_SECRETS: &[&str] = &[
    "SecretKey",
    "Password",
    "Token",
    "JsonKey",
    "PrivateKeyFile",
    "PrivateKeyPassphrase",
    "ClientSecret",
];

/// `AccountType` values (go-octopusdeploy `accounts/account_types.go`).
const ACCOUNT_TYPES: &[&str] = &[
    "AmazonWebServicesAccount",
    "AmazonWebServicesOidcAccount",
    "AzureServicePrincipal",
    "AzureOidc",
    "AzureSubscription",
    "GenericOidcAccount",
    "GoogleCloudAccount",
    "SshKeyPair",
    "Token",
    "UsernamePassword",
];

/// The writable fields of `CertificateResource`.
const CERTIFICATE: &[Field] = &[
    ("Name", Ty::Str),
    ("Notes", Ty::Str),
    ("CertificateDataFormat", Ty::Str),
    ("EnvironmentIds", Ty::Array),
    ("TenantIds", Ty::Array),
    ("TenantTags", Ty::Array),
    ("TenantedDeploymentParticipation", Ty::Str),
];

/// The writable fields of `GitCredentialResource`.
const GIT_CREDENTIAL: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("Details", Ty::Object),
    ("RepositoryRestrictions", Ty::Object),
];

/// The writable fields of `WorkerPoolResource`.
const WORKER_POOL: &[Field] = &[
    ("Name", Ty::Str),
    ("Slug", Ty::Str),
    ("Description", Ty::Str),
    ("WorkerPoolType", Ty::Str),
    ("IsDefault", Ty::Bool),
    ("CanAddWorkers", Ty::Bool),
    ("SortOrder", Ty::Int),
    ("WorkerType", Ty::Str),
];

/// The writable fields of `RunbookResource`.
const RUNBOOK: &[Field] = &[
    ("Name", Ty::Str),
    ("Slug", Ty::Str),
    ("Description", Ty::Str),
    ("ProjectId", Ty::Str),
    ("EnvironmentScope", Ty::Str),
    ("Environments", Ty::Array),
    ("MultiTenancyMode", Ty::Str),
    ("DefaultGuidedFailureMode", Ty::Str),
    ("ConnectivityPolicy", Ty::Object),
    ("RunRetentionPolicy", Ty::Object),
    ("ForcePackageDownload", Ty::Bool),
    ("RunbookTags", Ty::Array),
];

/// The kinds this module writes.
pub const KINDS: &[Kind] = &[
    Kind::Account,
    Kind::Certificate,
    Kind::GitCredential,
    Kind::WorkerPool,
    Kind::Runbook,
];

/// `POST /api/{space}/{accounts|certificates|git-credentials|workerpools|runbooks}`.
pub fn create(store: &mut Store, kind: Kind, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(kind);
    save(store, kind, space, &id, body, None)
}

/// `POST /api/{space}/projects/{projectId}/runbooks` (api-client `runbookRepository.js`,
/// 2025): a runbook of that project; a `ProjectId` in the body must name the same project.
pub fn create_runbook_in(
    store: &mut Store,
    space: &str,
    project: &str,
    body: &Value,
) -> ApiResult<Doc> {
    let project_id = text(find(store, Kind::Project, space, project)?, "Id")
        .unwrap_or(project)
        .to_owned();
    let mut body = fields::object(body)?.clone();
    match body.get("ProjectId") {
        None | Some(Value::Null) => {}
        Some(Value::String(given)) if *given == project_id => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "ProjectId {other} is not the project of this route ({project_id})."
            )));
        }
    }
    body.insert("ProjectId".into(), json!(project_id));
    create(store, Kind::Runbook, space, &Value::Object(body))
}

/// `PUT /api/{space}/{collection}/{id}`: secrets not sent again are kept as "has a value".
pub fn update(
    store: &mut Store,
    kind: Kind,
    space: &str,
    id: &str,
    body: &Value,
) -> ApiResult<Doc> {
    let current = find(store, kind, space, id)?.clone();
    let id = text(&current, "Id").unwrap_or(id).to_owned();
    save(store, kind, space, &id, body, Some(&current))
}

fn save(
    store: &mut Store,
    kind: Kind,
    space: &str,
    id: &str,
    body: &Value,
    current: Option<&Doc>,
) -> ApiResult<Doc> {
    let given = fields::object(body)?;
    let mut doc = fields::take(body, fields_of(kind))?;
    let name = fields::required_text(&doc, "Name")?;
    let project = text(&doc, "ProjectId").map(str::to_owned);
    unique_name(store, kind, space, &name, Some(id), |d| {
        kind != Kind::Runbook || text(d, "ProjectId") == project.as_deref()
    })?;
    for environment in crate::store::strings(&doc, "EnvironmentIds")
        .into_iter()
        .chain(crate::store::strings(&doc, "Environments"))
    {
        must_exist(
            store,
            Kind::Environment,
            space,
            "Environments",
            &environment,
        )?;
    }
    for tenant in crate::store::strings(&doc, "TenantIds") {
        must_exist(store, Kind::Tenant, space, "TenantIds", &tenant)?;
    }
    let mut links: Vec<(&str, String)> = Vec::new();
    match kind {
        Kind::Account => {
            let account_type = fields::required_text(&doc, "AccountType")?;
            if !ACCOUNT_TYPES.contains(&account_type.as_str()) {
                return Err(ApiError::invalid(format!(
                    "The AccountType '{account_type}' is not a known account type."
                )));
            }
            for secret in ACCOUNT_SECRETS {
                if let Some(value) =
                    sensitive(given.get(*secret), current.and_then(|c| c.get(*secret)))
                {
                    doc.insert((*secret).to_owned(), value);
                }
            }
        }
        Kind::Certificate => {
            let data = sensitive(
                given.get("CertificateData"),
                current.and_then(|c| c.get("CertificateData")),
            );
            if data.as_ref().and_then(|d| d.get("HasValue")) != Some(&Value::Bool(true)) {
                return Err(ApiError::invalid("The CertificateData field is required."));
            }
            doc.insert("CertificateData".into(), data.unwrap_or(Value::Null));
            let password = sensitive(
                given.get("Password"),
                current.and_then(|c| c.get("Password")),
            );
            doc.insert(
                "Password".into(),
                password.unwrap_or(json!({"HasValue": false, "NewValue": null})),
            );
        }
        Kind::GitCredential => {
            let mut details = doc
                .get("Details")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let old = current
                .and_then(|c| c.get("Details"))
                .and_then(|d| d.get("Password"));
            let given_password = details.remove("Password");
            if let Some(value) = sensitive(given_password.as_ref(), old) {
                details.insert("Password".into(), value);
            }
            if details.get("Type").and_then(Value::as_str).is_none() {
                details.insert("Type".into(), json!("UsernamePassword"));
            }
            doc.insert("Details".into(), Value::Object(details));
        }
        Kind::WorkerPool if text(&doc, "WorkerPoolType").is_none() => {
            doc.insert("WorkerPoolType".into(), json!("StaticWorkerPool"));
        }
        Kind::Runbook => {
            let project = fields::required_text(&doc, "ProjectId")?;
            must_exist(store, Kind::Project, space, "ProjectId", &project)?;
            doc.insert(
                "RunbookProcessId".into(),
                json!(format!("RunbookProcess-{id}")),
            );
            let published = super::runbook_snapshots::published_on_save(
                store,
                id,
                given.get("PublishedRunbookSnapshotId"),
                current,
            )?;
            doc.insert("PublishedRunbookSnapshotId".into(), published);
            for (field, default) in [
                ("EnvironmentScope", "All"),
                ("MultiTenancyMode", "Untenanted"),
                ("DefaultGuidedFailureMode", "EnvironmentDefault"),
            ] {
                if text(&doc, field).is_none() {
                    doc.insert(field.into(), json!(default));
                }
            }
            check_runbook_enums(&doc)?;
            links.push(("Project", format!("/api/{space}/projects/{project}")));
        }
        _ => {}
    }
    if text(&doc, "Slug").is_none()
        && matches!(kind, Kind::Account | Kind::WorkerPool | Kind::Runbook)
    {
        doc.insert("Slug".into(), json!(super::projects::slug(&name)));
    }
    stamp(&mut doc, kind, id, space, &links);
    store.put(kind, doc.clone());
    // A new runbook comes with its (empty) process, as in Octopus.
    if kind == Kind::Runbook
        && store
            .get(Kind::RunbookProcess, &format!("RunbookProcess-{id}"))
            .is_none()
    {
        let project = text(&doc, "ProjectId").unwrap_or("");
        let process = super::processes::empty_runbook(id, project, space);
        store.insert(Kind::RunbookProcess, process);
    }
    Ok(doc)
}

/// The enumerations of `RunbookResource` (2020.5 Swagger; api-client
/// `runbookEnvironmentScope.js`): a value outside them is refused, naming it.
fn check_runbook_enums(doc: &Doc) -> ApiResult<()> {
    for (field, allowed) in [
        (
            "EnvironmentScope",
            &["All", "Specified", "FromProjectLifecycles"][..],
        ),
        (
            "MultiTenancyMode",
            &["Untenanted", "TenantedOrUntenanted", "Tenanted"][..],
        ),
        (
            "DefaultGuidedFailureMode",
            &["EnvironmentDefault", "Off", "On"][..],
        ),
    ] {
        let value = text(doc, field).unwrap_or("");
        if !allowed.contains(&value) {
            return Err(ApiError::invalid(format!(
                "The {field} '{value}' is not one of {}.",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn fields_of(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Account => ACCOUNT,
        Kind::Certificate => CERTIFICATE,
        Kind::GitCredential => GIT_CREDENTIAL,
        Kind::WorkerPool => WORKER_POOL,
        _ => RUNBOOK,
    }
}

/// A `SensitiveValue` as stored and read back: `{"HasValue": .., "NewValue": null}`. A string
/// or `{"NewValue": ".."}` sets it; `{"HasValue": true}` without a new value keeps `old`;
/// absent keeps `old`. The value itself is dropped here: the stand-in never uses it.
fn sensitive(given: Option<&Value>, old: Option<&Value>) -> Option<Value> {
    let old_has = old
        .and_then(|o| o.get("HasValue"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let has = match given {
        None | Some(Value::Null) => {
            // Not sent: kept as it was (nothing to keep for a new resource).
            old?;
            old_has
        }
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(o)) => match o.get("NewValue") {
            Some(Value::String(s)) => !s.is_empty(),
            _ => o.get("HasValue").and_then(Value::as_bool).unwrap_or(false) && old_has,
        },
        Some(_) => false,
    };
    Some(json!({"HasValue": has, "NewValue": Value::Null}))
}

/// Whether a value is a variable expression, which Octopus resolves at deployment time.
fn is_expression(value: &str) -> bool {
    value.contains("#{")
}

/// A reference to `kind` named by `field`, checked unless empty or an expression.
fn check(
    store: &Store,
    space: &str,
    kind: Kind,
    what: &str,
    id: Option<&str>,
    errors: &mut Vec<String>,
) {
    let Some(id) = id.filter(|id| !id.is_empty() && !is_expression(id)) else {
        return;
    };
    let found = store
        .get(kind, id)
        .is_some_and(|d| text(d, "SpaceId").is_none_or(|s| s == space));
    if !found {
        errors.push(format!(
            "{what} refers to {} '{id}', which does not exist in {space}.",
            kind.noun()
        ));
    }
}

/// Action properties that hold ids (OctopusClients `SpecialVariables`; the Deploy-a-Release
/// step).
const ID_PROPERTIES: &[(&str, Kind)] = &[
    ("Octopus.Action.Azure.AccountId", Kind::Account),
    ("Octopus.Action.DeployRelease.ProjectId", Kind::Project),
];

/// Checks the references of an action being saved: `WorkerPoolId`, `Container.FeedId`,
/// `GitDependencies[].GitCredentialId`, the id properties, and `FeedId`/`AccountId`/... keys in
/// step-package `Inputs`.
pub fn check_action(store: &Store, space: &str, action: &Doc, errors: &mut Vec<String>) {
    let name = text(action, "Name").unwrap_or("");
    let at = |what: &str| format!("The {what} of action '{name}'");
    check(
        store,
        space,
        Kind::WorkerPool,
        &at("WorkerPoolId"),
        text(action, "WorkerPoolId"),
        errors,
    );
    if let Some(container) = action.get("Container").and_then(Value::as_object) {
        check(
            store,
            space,
            Kind::Feed,
            &at("container"),
            container.get("FeedId").and_then(Value::as_str),
            errors,
        );
    }
    for dependency in crate::store::items(action, "GitDependencies") {
        check(
            store,
            space,
            Kind::GitCredential,
            &at("git dependency"),
            dependency.get("GitCredentialId").and_then(Value::as_str),
            errors,
        );
    }
    if let Some(props) = action.get("Properties").and_then(Value::as_object) {
        for (key, kind) in ID_PROPERTIES {
            check(
                store,
                space,
                *kind,
                &at(&format!("property {key}")),
                props.get(*key).and_then(Value::as_str),
                errors,
            );
        }
    }
    if let Some(inputs) = action.get("Inputs") {
        check_inputs(store, space, inputs, &at("Inputs"), errors);
    }
}

fn check_inputs(store: &Store, space: &str, value: &Value, what: &str, errors: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let kind = match key.to_ascii_lowercase().as_str() {
                    "feedid" => Some(Kind::Feed),
                    "accountid" => Some(Kind::Account),
                    "certificateid" => Some(Kind::Certificate),
                    "gitcredentialid" => Some(Kind::GitCredential),
                    "workerpoolid" => Some(Kind::WorkerPool),
                    _ => None,
                };
                match (kind, item) {
                    (Some(kind), Value::String(id)) => {
                        check(store, space, kind, what, Some(id), errors)
                    }
                    _ => check_inputs(store, space, item, what, errors),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                check_inputs(store, space, item, what, errors);
            }
        }
        _ => {}
    }
}

/// Checks the references of a variable being saved: the value of a `Certificate`,
/// `WorkerPool` or `*Account` variable, and `Tenant`, `ProcessOwner` and `Project` scopes.
pub fn check_variable(
    store: &Store,
    space: &str,
    variable: &Map<String, Value>,
    errors: &mut Vec<String>,
) {
    let name = variable.get("Name").and_then(Value::as_str).unwrap_or("");
    let kind = match variable.get("Type").and_then(Value::as_str) {
        Some("Certificate") => Some(Kind::Certificate),
        Some("WorkerPool") => Some(Kind::WorkerPool),
        Some(t) if t.ends_with("Account") => Some(Kind::Account),
        _ => None,
    };
    if let Some(kind) = kind {
        check(
            store,
            space,
            kind,
            &format!("The value of variable '{name}'"),
            variable.get("Value").and_then(Value::as_str),
            errors,
        );
    }
    let Some(scope) = variable.get("Scope").and_then(Value::as_object) else {
        return;
    };
    let what = format!("The scope of variable '{name}'");
    for (dimension, values) in scope {
        for value in values
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            match dimension.as_str() {
                "Tenant" => check(store, space, Kind::Tenant, &what, Some(value), errors),
                "Project" => check(store, space, Kind::Project, &what, Some(value), errors),
                "ProcessOwner" => {
                    let owner = if value.starts_with("Projects-") {
                        Kind::Project
                    } else {
                        Kind::Runbook
                    };
                    check(store, space, owner, &what, Some(value), errors);
                }
                _ => {}
            }
        }
    }
}
