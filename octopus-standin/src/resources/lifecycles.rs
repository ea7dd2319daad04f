//! Lifecycles and their phases: which environments a release may reach, in which order.

use serde_json::{Value, json};

use super::{find, must_exist, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, new_guid, strings, text};

/// The writable fields of `LifecycleResource`.
const LIFECYCLE: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("Phases", Ty::Array),
    ("ReleaseRetentionPolicy", Ty::Object),
    ("TentacleRetentionPolicy", Ty::Object),
];

/// The writable fields of `PhaseResource`.
const PHASE: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("AutomaticDeploymentTargets", Ty::Array),
    ("OptionalDeploymentTargets", Ty::Array),
    ("MinimumEnvironmentsBeforePromotion", Ty::Int),
    ("IsOptionalPhase", Ty::Bool),
    ("ReleaseRetentionPolicy", Ty::Object),
    ("TentacleRetentionPolicy", Ty::Object),
];

/// Creates a lifecycle.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(Kind::Lifecycle);
    save(store, space, &id, body)
}

/// Replaces a lifecycle.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::Lifecycle, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    save(store, space, &id, body)
}

fn save(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, LIFECYCLE)?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, Kind::Lifecycle, space, &name, Some(id), |_| true)?;
    let keep_forever = json!({"Unit": "Days", "QuantityToKeep": 0, "ShouldKeepForever": true});
    for policy in ["ReleaseRetentionPolicy", "TentacleRetentionPolicy"] {
        if doc.get(policy).is_none_or(Value::is_null) {
            doc.insert(policy.into(), keep_forever.clone());
        }
    }
    let mut phases = Vec::new();
    let given = doc
        .get("Phases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for phase in &given {
        let mut phase = fields::take(phase, PHASE)?;
        fields::required_text(&phase, "Name")
            .map_err(|_| ApiError::invalid("Every phase needs a Name."))?;
        if text(&phase, "Id").is_none() {
            phase.insert("Id".into(), json!(new_guid()));
        }
        for field in ["AutomaticDeploymentTargets", "OptionalDeploymentTargets"] {
            for env in strings(&phase, field) {
                must_exist(store, Kind::Environment, space, field, &env)?;
            }
        }
        phases.push(Value::Object(phase));
    }
    doc.insert("Phases".into(), Value::Array(phases));
    stamp(&mut doc, Kind::Lifecycle, id, space, &[]);
    store.put(Kind::Lifecycle, doc.clone());
    Ok(doc)
}
