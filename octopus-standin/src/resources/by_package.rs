//! The package-id query that two lists share, the built-in feed's (`GET packages`) and the
//! build information's (`GET build-information`): `filter` (part of the package id), an exact
//! package id (`nuGetPackageId` for packages, `packageId` for build information), never both,
//! and `latest` (only the highest version of each package id); newest version first per
//! package id.

use super::packages::compare_versions;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store::{Doc, text};

/// A list's package-id query, read from its parameters.
#[derive(Debug)]
pub struct PackageQuery<'a> {
    /// `filter`, lower-cased: part of the package id.
    part: Option<String>,
    /// The exact package id.
    exact: Option<&'a str>,
    /// `latest`: only the highest version of each package id.
    latest: bool,
}

impl<'a> PackageQuery<'a> {
    /// Reads `filter`, `latest` and the exact-id parameter named `exact`. Both `filter` and
    /// `exact` given is a 400 with the text of the Swagger spec's description of
    /// `GET build-information`'s 400 (the packages list words it the same way).
    pub fn from_params(params: &'a Params, exact: &str) -> ApiResult<Self> {
        if params.get("filter").is_some() && params.get(exact).is_some() {
            return Err(ApiError::invalid(format!(
                "Only one of either {exact} or filter may be specified."
            )));
        }
        Ok(Self {
            latest: params.flag("latest")?.unwrap_or(false),
            part: params.get("filter").map(str::to_lowercase),
            exact: params.get(exact),
        })
    }

    /// Whether `doc`'s `PackageId` passes the query (compared without case).
    pub fn matches(&self, doc: &Doc) -> bool {
        let pid = text(doc, "PackageId").unwrap_or("");
        self.part
            .as_ref()
            .is_none_or(|f| pid.to_lowercase().contains(f.as_str()))
            && self.exact.is_none_or(|e| pid.eq_ignore_ascii_case(e))
    }

    /// Orders `docs` by package id, newest version first; with `latest`, keeps only the
    /// first (newest) of each package id.
    pub fn order(&self, docs: &mut Vec<Doc>) {
        docs.sort_by(|a, b| {
            text(a, "PackageId")
                .cmp(&text(b, "PackageId"))
                .then_with(|| {
                    compare_versions(
                        text(b, "Version").unwrap_or(""),
                        text(a, "Version").unwrap_or(""),
                    )
                })
        });
        if self.latest {
            docs.dedup_by(|later, first| text(later, "PackageId") == text(first, "PackageId"));
        }
    }
}
