//! Library variable sets: a named set whose variables live in their own variable set
//! (`variableset-LibraryVariableSets-N`), included by projects.

use serde_json::{Value, json};

use super::{find, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// The writable fields of `LibraryVariableSetResource`.
const LIBRARY_SET: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("ContentType", Ty::Str),
    ("Templates", Ty::Array),
];

/// Creates a library variable set and its empty variable set.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(Kind::LibraryVariableSet);
    let doc = save(store, space, &id, body)?;
    let set_id = format!("variableset-{id}");
    store.insert(
        Kind::VariableSet,
        super::variables::empty(&set_id, &id, space),
    );
    Ok(doc)
}

/// Replaces a library variable set (its variables are changed through its variable set).
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::LibraryVariableSet, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    save(store, space, &id, body)
}

fn save(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, LIBRARY_SET)?;
    super::templates::normalise(&mut doc, store.get(Kind::LibraryVariableSet, id))?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(
        store,
        Kind::LibraryVariableSet,
        space,
        &name,
        Some(id),
        |_| true,
    )?;
    match text(&doc, "ContentType") {
        None => {
            doc.insert("ContentType".into(), json!("Variables"));
        }
        Some("Variables" | "ScriptModule") => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "ContentType '{other}' is not one of Variables, ScriptModule."
            )));
        }
    }
    let set_id = format!("variableset-{id}");
    doc.insert("VariableSetId".into(), json!(set_id));
    stamp(
        &mut doc,
        Kind::LibraryVariableSet,
        id,
        space,
        &[("Variables", format!("/api/{space}/variables/{set_id}"))],
    );
    store.put(Kind::LibraryVariableSet, doc.clone());
    Ok(doc)
}
