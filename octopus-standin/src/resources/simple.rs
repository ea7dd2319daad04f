//! Environments, project groups and channels: named resources with a few references and no
//! side effects beyond their own document.

use serde_json::{Value, json};

use super::{find, must_exist, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, strings, text};

/// The writable fields of `EnvironmentResource`.
const ENVIRONMENT: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("SortOrder", Ty::Int),
    ("UseGuidedFailure", Ty::Bool),
    ("AllowDynamicInfrastructure", Ty::Bool),
    ("ExtensionSettings", Ty::Array),
];

/// The writable fields of `ProjectGroupResource`.
const PROJECT_GROUP: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("EnvironmentIds", Ty::Array),
    ("RetentionPolicyId", Ty::Str),
];

/// The writable fields of `ChannelResource`.
pub const CHANNEL: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("ProjectId", Ty::Str),
    ("LifecycleId", Ty::Str),
    ("IsDefault", Ty::Bool),
    ("Rules", Ty::Array),
    ("TenantTags", Ty::Array),
];

/// The writable fields of `FeedResource`: the base definition of the Swagger spec, the
/// per-type fields current servers take (go-octopusdeploy `pkg/feeds/feed_resource.go`,
/// `docker_container_registry.go`, `helm_feed.go`, `maven_feed.go`, `github_feed.go`,
/// `nuget_feed.go`), and the stand-in-only package list ([`super::feeds::STANDIN_PACKAGES`]).
const FEED: &[Field] = &[
    ("Name", Ty::Str),
    ("FeedType", Ty::Str),
    ("PackageAcquisitionLocationOptions", Ty::Array),
    ("FeedUri", Ty::Str),
    ("Username", Ty::Str),
    ("Password", Ty::Object),
    ("ApiVersion", Ty::Str),
    ("RegistryPath", Ty::Str),
    ("DownloadAttempts", Ty::Int),
    ("DownloadRetryBackoffSeconds", Ty::Int),
    ("EnhancedMode", Ty::Bool),
    (super::feeds::STANDIN_PACKAGES, Ty::Object),
];

/// The external feed types of the Swagger enum `FeedResource.FeedType`; `BuiltIn` is the one
/// feed every space already has.
const EXTERNAL_FEED_TYPES: &[&str] = &[
    "AwsElasticContainerRegistry",
    "Docker",
    "GitHub",
    "Helm",
    "Maven",
    "NuGet",
];

fn table(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Environment => ENVIRONMENT,
        Kind::Feed => FEED,
        _ => PROJECT_GROUP,
    }
}

/// Creates an environment or a project group.
pub fn create(store: &mut Store, kind: Kind, space: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, table(kind))?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, kind, space, &name, None, |_| true)?;
    check_environment_ids(store, space, &doc)?;
    check_feed_type(kind, &doc)?;
    if kind == Kind::Environment && doc.get("SortOrder") == Some(&json!(0)) {
        let next = store
            .all(kind)
            .iter()
            .filter_map(|d| d.get("SortOrder").and_then(Value::as_i64))
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        doc.insert("SortOrder".into(), json!(next));
    }
    let id = store.next_id(kind);
    let links = feed_links(store, kind, space, &id, &mut doc)?;
    stamp(&mut doc, kind, &id, space, &links);
    store.insert(kind, doc.clone());
    Ok(doc)
}

/// Replaces an environment or a project group.
pub fn update(
    store: &mut Store,
    kind: Kind,
    space: &str,
    id: &str,
    body: &Value,
) -> ApiResult<Doc> {
    let id = text(find(store, kind, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    let mut doc = fields::take(body, table(kind))?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, kind, space, &name, Some(&id), |_| true)?;
    check_environment_ids(store, space, &doc)?;
    if kind == Kind::Feed && id == crate::store::BUILTIN_FEED {
        return Err(ApiError::invalid("The built-in feed cannot be changed."));
    }
    check_feed_type(kind, &doc)?;
    let links = feed_links(store, kind, space, &id, &mut doc)?;
    stamp(&mut doc, kind, &id, space, &links);
    store.put(kind, doc.clone());
    Ok(doc)
}

/// A feed's password taken out of its document and its search links; nothing for other kinds.
fn feed_links(
    store: &mut Store,
    kind: Kind,
    space: &str,
    id: &str,
    doc: &mut Doc,
) -> ApiResult<Vec<(&'static str, String)>> {
    if kind != Kind::Feed {
        return Ok(Vec::new());
    }
    super::feeds::prepare(store, id, doc)?;
    Ok(super::feeds::links(space, id))
}

/// An external feed needs one of the Swagger enum's external types.
fn check_feed_type(kind: Kind, doc: &Doc) -> ApiResult<()> {
    if kind != Kind::Feed {
        return Ok(());
    }
    match text(doc, "FeedType") {
        Some(t) if EXTERNAL_FEED_TYPES.contains(&t) => Ok(()),
        other => Err(ApiError::invalid(format!(
            "FeedType '{}' cannot be created: use one of {} (the built-in feed already exists).",
            other.unwrap_or(""),
            EXTERNAL_FEED_TYPES.join(", ")
        ))),
    }
}

fn check_environment_ids(store: &Store, space: &str, doc: &Doc) -> ApiResult<()> {
    for env in strings(doc, "EnvironmentIds") {
        must_exist(store, Kind::Environment, space, "EnvironmentIds", &env)?;
    }
    Ok(())
}

/// Creates a channel of a project.
pub fn create_channel(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let doc = fields::take(body, CHANNEL)?;
    let id = store.next_id(Kind::Channel);
    save_channel(store, space, &id, doc)
}

/// Replaces a channel.
pub fn update_channel(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::Channel, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    let doc = fields::take(body, CHANNEL)?;
    save_channel(store, space, &id, doc)
}

/// Checks and stores a channel; a new default channel takes over from the old one.
pub fn save_channel(store: &mut Store, space: &str, id: &str, mut doc: Doc) -> ApiResult<Doc> {
    let name = fields::required_text(&doc, "Name")?;
    let project = fields::required_text(&doc, "ProjectId")?;
    super::channel_rules::check_rules(&doc)?;
    must_exist(store, Kind::Project, space, "ProjectId", &project)?;
    if let Some(lifecycle) = text(&doc, "LifecycleId") {
        must_exist(store, Kind::Lifecycle, space, "LifecycleId", lifecycle)?;
    }
    unique_name(store, Kind::Channel, space, &name, Some(id), |d| {
        text(d, "ProjectId") == Some(project.as_str())
    })?;
    let is_default = doc.get("IsDefault") == Some(&Value::Bool(true));
    if is_default {
        let others = store.ids_where(Kind::Channel, |d| {
            text(d, "ProjectId") == Some(project.as_str()) && text(d, "Id") != Some(id)
        });
        for other in others {
            if let Some(d) = store.get_mut(Kind::Channel, &other) {
                d.insert("IsDefault".into(), Value::Bool(false));
            }
        }
    }
    stamp(
        &mut doc,
        Kind::Channel,
        id,
        space,
        &[
            ("Project", format!("/api/{space}/projects/{project}")),
            (
                "Releases",
                format!("/api/{space}/channels/{id}/releases{{?skip,take}}"),
            ),
        ],
    );
    store.put(Kind::Channel, doc.clone());
    Ok(doc)
}
