//! The instance's whole state: resources as JSON documents, and beside them what the API
//! never shows (sensitive values, package files, frozen snapshot ids, task logs).
//!
//! Keeping secrets out of the documents is what makes them unreadable: a handler that returns
//! a document cannot leak a value that is not in it.

mod persist;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::kind::Kind;
use crate::tasklog::LogNode;

pub use persist::{load, save};

/// One resource as Octopus would serialise it.
pub type Doc = Map<String, Value>;

/// The default space, which every instance has.
pub const DEFAULT_SPACE: &str = "Spaces-1";

/// The built-in feed's id, as Octopus names it (fixture `deployment-process.json`).
pub const BUILTIN_FEED: &str = "feeds-builtin";

/// Everything the instance knows; serialised whole to the `--data` file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// The last number handed out per id prefix.
    counters: BTreeMap<String, u64>,
    /// Resources per kind, in creation order.
    docs: BTreeMap<Kind, Vec<Doc>>,
    /// Sensitive values by `<document id>/<key>`; never part of a document.
    secrets: BTreeMap<String, String>,
    /// Ids of snapshots, which refuse changes.
    frozen: BTreeSet<String>,
    /// Package id -> file name of its blob in the blob folder.
    blobs: BTreeMap<String, String>,
    /// Task id -> the root of its activity log.
    logs: BTreeMap<String, LogNode>,
    /// Every version a document with a history had (step templates), by its id, oldest first.
    #[serde(default)]
    history: BTreeMap<String, Vec<Doc>>,
}

impl Store {
    /// The next number for an id prefix (`Environments` -> 1, 2, ...).
    pub fn next_number(&mut self, prefix: &str) -> u64 {
        let n = self.counters.entry(prefix.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// A fresh numbered id such as `Environments-3`.
    pub fn next_id(&mut self, kind: Kind) -> String {
        let n = self.next_number(kind.id_prefix());
        format!("{}-{n}", kind.id_prefix())
    }

    /// Every document of a kind, in creation order.
    pub fn all(&self, kind: Kind) -> &[Doc] {
        self.docs.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// The ids of the documents of a kind that satisfy `keep`.
    pub fn ids_where(&self, kind: Kind, keep: impl Fn(&Doc) -> bool) -> Vec<String> {
        self.all(kind)
            .iter()
            .filter(|d| keep(d))
            .filter_map(|d| text(d, "Id").map(str::to_owned))
            .collect()
    }

    /// The document with this id.
    pub fn get(&self, kind: Kind, id: &str) -> Option<&Doc> {
        self.all(kind).iter().find(|d| text(d, "Id") == Some(id))
    }

    /// The document with this id, or Octopus's 404.
    pub fn require(&self, kind: Kind, id: &str) -> Result<&Doc, ApiError> {
        self.get(kind, id)
            .ok_or_else(|| ApiError::not_found(kind.noun(), id))
    }

    /// The document with this id, for changing in place.
    pub fn get_mut(&mut self, kind: Kind, id: &str) -> Option<&mut Doc> {
        self.docs
            .get_mut(&kind)?
            .iter_mut()
            .find(|d| text(d, "Id") == Some(id))
    }

    /// Adds a document (its `Id` must be new).
    pub fn insert(&mut self, kind: Kind, doc: Doc) {
        self.docs.entry(kind).or_default().push(doc);
    }

    /// Replaces the document with the same `Id`, or adds it.
    pub fn put(&mut self, kind: Kind, doc: Doc) {
        let id = text(&doc, "Id").map(str::to_owned);
        let docs = self.docs.entry(kind).or_default();
        match docs
            .iter_mut()
            .find(|d| text(d, "Id").map(str::to_owned) == id)
        {
            Some(slot) => *slot = doc,
            None => docs.push(doc),
        }
    }

    /// Removes the document with this id; whether there was one.
    pub fn remove(&mut self, kind: Kind, id: &str) -> bool {
        let Some(docs) = self.docs.get_mut(&kind) else {
            return false;
        };
        let before = docs.len();
        docs.retain(|d| text(d, "Id") != Some(id));
        docs.len() != before
    }

    /// Stores (or with `None`, forgets) a sensitive value.
    pub fn set_secret(&mut self, owner: &str, key: &str, value: Option<String>) {
        let slot = format!("{owner}/{key}");
        match value {
            Some(v) => {
                self.secrets.insert(slot, v);
            }
            None => {
                self.secrets.remove(&slot);
            }
        }
    }

    /// Every sensitive value of one owner, by key.
    pub fn secrets_of(&self, owner: &str) -> BTreeMap<String, String> {
        let prefix = format!("{owner}/");
        self.secrets
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
            .collect()
    }

    /// Forgets every sensitive value of one owner.
    pub fn clear_secrets(&mut self, owner: &str) {
        let prefix = format!("{owner}/");
        self.secrets.retain(|k, _| !k.starts_with(&prefix));
    }

    /// Marks a snapshot as frozen.
    pub fn freeze(&mut self, id: &str) {
        self.frozen.insert(id.to_owned());
    }

    /// Whether a document is a frozen snapshot.
    pub fn is_frozen(&self, id: &str) -> bool {
        self.frozen.contains(id)
    }

    /// The blob file name of a package.
    pub fn blob(&self, package_id: &str) -> Option<&str> {
        self.blobs.get(package_id).map(String::as_str)
    }

    /// Records (or forgets) a package's blob file name.
    pub fn set_blob(&mut self, package_id: &str, file: Option<String>) {
        match file {
            Some(f) => {
                self.blobs.insert(package_id.to_owned(), f);
            }
            None => {
                self.blobs.remove(package_id);
            }
        }
    }

    /// A task's activity log.
    pub fn log(&self, task_id: &str) -> Option<&LogNode> {
        self.logs.get(task_id)
    }

    /// A task's activity log, for appending.
    pub fn log_mut(&mut self, task_id: &str) -> Option<&mut LogNode> {
        self.logs.get_mut(task_id)
    }

    /// Records a version of a document that keeps its history (a step template).
    pub fn push_history(&mut self, id: &str, doc: Doc) {
        self.history.entry(id.to_owned()).or_default().push(doc);
    }

    /// Every recorded version of a document, oldest first.
    pub fn history(&self, id: &str) -> &[Doc] {
        self.history.get(id).map_or(&[], Vec::as_slice)
    }

    /// Sets a task's activity log.
    pub fn set_log(&mut self, task_id: &str, log: LogNode) {
        self.logs.insert(task_id.to_owned(), log);
    }
}

/// A string field of a document.
pub fn text<'a>(doc: &'a Doc, field: &str) -> Option<&'a str> {
    doc.get(field).and_then(Value::as_str)
}

/// Something with named JSON fields: a document, or a JSON value that may be an object.
pub trait Fields {
    /// The field's value, if present.
    fn field(&self, name: &str) -> Option<&Value>;
}

impl Fields for Value {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl Fields for Doc {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The elements of an array field (none when absent or not an array).
pub fn items<'a>(value: &'a (impl Fields + ?Sized), field: &str) -> std::slice::Iter<'a, Value> {
    value
        .field(field)
        .and_then(Value::as_array)
        .map_or([].iter(), |a| a.iter())
}

/// The strings of an array field (non-strings are skipped).
pub fn strings(doc: &Doc, field: &str) -> Vec<String> {
    doc.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `field` of `doc` as an object of string lists (a variable's scope, a tenant's project
/// environments): each key with its strings, in key order; anything else is empty.
pub fn string_lists<C: FromIterator<(String, Vec<String>)>>(
    doc: &(impl Fields + ?Sized),
    field: &str,
) -> C {
    doc.field(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|lists| lists.keys().map(|key| (key.clone(), strings(lists, key))))
        .collect()
}

/// The current time as Octopus writes it: `2017-03-20T21:00:17.205+00:00` (fixture `task.json`).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// A time as Octopus writes it.
pub fn format_time(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(FORMAT).unwrap_or_default()
}

/// Five random characters from Octopus's snapshot-id alphabet (`-s-4-XXGLW`).
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 5];
    // A failing system RNG only makes ids less varied; they stay unique by their counter.
    let _ = getrandom::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A random RFC 4122 version 4 id, as Octopus gives steps, actions and variables.
pub fn new_guid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
