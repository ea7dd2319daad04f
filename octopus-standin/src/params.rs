//! Query parameters and Octopus's paged collections.
//!
//! The envelope follows the newer shape (fixture `paged-collection.git-branches.json`):
//! `ItemType`, `TotalResults`, `ItemsPerPage`, `NumberOfPages`, `LastPageNumber`, `Items`,
//! `Links`; `Links` has `Page.Next` only when there is a next page (fixture
//! `task-list.page0.json`). `take` defaults to 30, as in both fixtures.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, text};

/// Octopus's default page size.
pub const DEFAULT_TAKE: usize = 30;

/// The query string of a request, by parameter name (the last value wins).
#[derive(Debug, Default, Clone)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses a query string.
    pub fn parse(query: Option<&str>) -> Self {
        Params(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A parameter's value, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list parameter (`ids=a,b`).
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// A boolean parameter.
    pub fn flag(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(format!(
                "The value '{v}' is not valid for {name}: use true or false."
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub fn count(&self, name: &str) -> ApiResult<Option<usize>> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::invalid(format!(
                        "The value '{v}' is not valid for {name}: use a whole number of 0 or more."
                    ))
                })
            })
            .transpose()
    }
}

/// Applies the filters every named collection answers: `ids`, `name` (exact, ignoring case)
/// and `partialName` (substring, ignoring case).
pub fn filter(docs: Vec<Doc>, params: &Params) -> Vec<Doc> {
    let ids = params.list("ids");
    let name = params.get("name").map(str::to_lowercase);
    let partial = params.get("partialName").map(str::to_lowercase);
    docs.into_iter()
        .filter(|d| {
            let id = text(d, "Id").unwrap_or("");
            let doc_name = text(d, "Name").unwrap_or("").to_lowercase();
            ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == id))
                && name.as_ref().is_none_or(|n| &doc_name == n)
                && partial
                    .as_ref()
                    .is_none_or(|p| doc_name.contains(p.as_str()))
        })
        .collect()
}

/// One page of `docs`, in Octopus's envelope. `path` is the collection's path without query.
pub fn page(kind: Kind, path: &str, docs: Vec<Doc>, params: &Params) -> ApiResult<Value> {
    let skip = params.count("skip")?.unwrap_or(0);
    let take = params.count("take")?.unwrap_or(DEFAULT_TAKE);
    let total = docs.len();
    let pages = total.checked_div(take).map_or(0, |whole| {
        if total.is_multiple_of(take) {
            whole
        } else {
            whole + 1
        }
    });
    let last = pages.saturating_sub(1);
    let items: Vec<Value> = docs
        .into_iter()
        .skip(skip)
        .take(take)
        .map(Value::Object)
        .collect();
    let at = |skip: usize| format!("{path}?skip={skip}&take={take}");
    let mut links = json!({
        "Self": at(skip),
        "Template": format!("{path}{{?skip,take,ids,partialName}}"),
        "Page.All": format!("{path}?skip=0&take={}", i32::MAX),
        "Page.Current": at(skip),
        "Page.Last": at(last.saturating_mul(take)),
    });
    if take > 0 && skip.saturating_add(take) < total {
        links["Page.Next"] = Value::String(at(skip + take));
    }
    Ok(json!({
        "ItemType": kind.item_type(),
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": pages,
        "LastPageNumber": last,
        "Items": items,
        "Links": links,
    }))
}
