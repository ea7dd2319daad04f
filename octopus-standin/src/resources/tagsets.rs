//! Tag sets: named groups of tags that classify tenants. A tenant carries tags by their
//! canonical name, `<tag set>/<tag>` (`CanonicalTagName`), and so do `TenantTag` variable
//! scopes (go-octopusdeploy `tagsets/tag.go`, `tenants/tenant.go`).

use serde_json::{Value, json};

use super::{find, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, text};

/// The writable fields of `TagSetResource`.
const TAG_SET: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("SortOrder", Ty::Int),
    ("Tags", Ty::Array),
    ("Scopes", Ty::Array),
    ("Type", Ty::Str),
];

/// The writable fields of `TagResource`.
const TAG: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("Color", Ty::Str),
    ("Description", Ty::Str),
    ("SortOrder", Ty::Int),
];

/// `POST /api/{space}/tagsets`.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(Kind::TagSet);
    save(store, space, &id, body, None)
}

/// `PUT /api/{space}/tagsets/{id}`. A tag set's name is part of every canonical tag name that
/// tenants and scopes hold, so renaming one that is in use is refused (the stand-in does not
/// rewrite them).
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let current = find(store, Kind::TagSet, space, id)?.clone();
    let id = text(&current, "Id").unwrap_or(id).to_owned();
    save(store, space, &id, body, Some(&current))
}

fn save(
    store: &mut Store,
    space: &str,
    id: &str,
    body: &Value,
    current: Option<&Doc>,
) -> ApiResult<Doc> {
    let mut doc = fields::take(body, TAG_SET)?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, Kind::TagSet, space, &name, Some(id), |_| true)?;
    if text(&doc, "Type").is_none() {
        doc.insert("Type".into(), json!("MultiSelect"));
    }
    let ty = text(&doc, "Type").unwrap_or("");
    if !["SingleSelect", "MultiSelect", "FreeText"].contains(&ty) {
        return Err(ApiError::invalid(format!(
            "Type '{ty}' is not one of SingleSelect, MultiSelect, FreeText."
        )));
    }
    if doc
        .get("Scopes")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        doc.insert("Scopes".into(), json!(["Tenant"]));
    }
    let mut tags = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for (index, given) in items(&doc, "Tags").enumerate() {
        let mut tag = fields::take(given, TAG)?;
        let Ok(tag_name) = fields::required_text(&tag, "Name") else {
            errors.push(format!(
                "Tag {} of tag set '{name}' has no Name.",
                index + 1
            ));
            continue;
        };
        if tag_name.contains('/') {
            errors.push(format!(
                "Tag '{tag_name}' may not contain '/', which separates the tag set from the tag in a canonical tag name."
            ));
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(&tag_name)) {
            errors.push(format!("Tag set '{name}' has two tags named '{tag_name}'."));
        }
        names.push(tag_name.clone());
        let tag_id = match text(&tag, "Id").filter(|i| !i.is_empty()) {
            Some(given) if given.starts_with(&format!("{id}-")) => given.to_owned(),
            _ => format!("{id}-{}", store.next_number(&format!("{id}-tags"))),
        };
        tag.insert("Id".into(), json!(tag_id));
        tag.insert(
            "CanonicalTagName".into(),
            json!(format!("{name}/{tag_name}")),
        );
        if text(&tag, "Color").is_none() {
            tag.insert("Color".into(), json!("#333333"));
        }
        if tag.get("SortOrder").and_then(Value::as_i64) == Some(0) {
            tag.insert("SortOrder".into(), json!(index));
        }
        tags.push(Value::Object(tag));
    }
    if let Some(current) = current {
        let kept: Vec<String> = tags
            .iter()
            .filter_map(|t| t.get("CanonicalTagName")?.as_str().map(str::to_lowercase))
            .collect();
        for gone in canonical_names(current) {
            if !kept.contains(&gone.to_lowercase()) && tag_in_use(store, &gone) {
                errors.push(format!(
                    "The tag '{gone}' is used by a tenant: remove it from the tenant first."
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    doc.insert("Tags".into(), Value::Array(tags));
    stamp(&mut doc, Kind::TagSet, id, space, &[]);
    store.put(Kind::TagSet, doc.clone());
    Ok(doc)
}

/// The canonical names (`Set/Tag`) of a tag set's tags.
fn canonical_names(set: &Doc) -> Vec<String> {
    items(set, "Tags")
        .filter_map(|t| t.get("CanonicalTagName")?.as_str().map(str::to_owned))
        .collect()
}

fn tag_in_use(store: &Store, canonical: &str) -> bool {
    store.all(Kind::Tenant).iter().any(|t| {
        items(t, "TenantTags").any(|tag| {
            tag.as_str()
                .is_some_and(|tag| tag.eq_ignore_ascii_case(canonical))
        })
    })
}

/// The canonical name of an existing tag of the space as Octopus spells it, or `None`.
/// Tags match ignoring case, as names do.
pub fn existing(store: &Store, space: &str, canonical: &str) -> Option<String> {
    store
        .all(Kind::TagSet)
        .iter()
        .filter(|s| text(s, "SpaceId") == Some(space))
        .flat_map(canonical_names)
        .find(|c| c.eq_ignore_ascii_case(canonical))
}
