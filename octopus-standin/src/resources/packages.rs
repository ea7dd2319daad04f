//! The built-in feed: multipart upload to `packages/raw`, the package resource, raw
//! download and listing.
//!
//! Rules, from the Swagger spec's descriptions of `POST packages/raw` unless noted:
//! - the file part may have any field name (Octopus.Client sends `file`, the official bash
//!   script `fileData`); its file name is parsed as `<PackageId>.<Version>.<ext>`;
//! - `overwriteMode` is `FailIfExists` (default; an existing version gives 409),
//!   `OverwriteExisting`, or `IgnoreIfExists` (200 with the stored package); the legacy
//!   `replace=true` means `OverwriteExisting` (Octopus.Client `OverwriteMode.cs`);
//! - a new package gives 201; `Hash` is the lowercase SHA-1 of the file and `FileExtension`
//!   keeps its leading dot (Octopus.Client `HashCalculator.cs`, `PackageContentComparer.cs`).
//!
//! The upload streams to a temporary file beside the blobs while it is hashed, so a package
//! never sits in memory.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest as _, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};
use tokio::io::AsyncWriteExt as _;

use super::by_package::PackageQuery;
use super::{find, stamp};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::{self, Params};
use crate::routes::json;
use crate::store::{BUILTIN_FEED, Doc, now, text};

/// The largest package the stand-in stores.
pub const MAX_PACKAGE_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// The archive extensions the built-in feed knows, longest first so `.tar.gz` wins over `.gz`.
const EXTENSIONS: &[&str] = &[
    ".tar.bz2", ".tar.gz", ".tar.xz", ".nupkg", ".tar", ".tgz", ".zip", ".jar", ".war", ".ear",
    ".bz2", ".gz", ".xz",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fail,
    Replace,
    Ignore,
}

fn overwrite_mode(params: &Params) -> ApiResult<Mode> {
    if let Some(mode) = params.get("overwriteMode") {
        return match mode {
            m if m.eq_ignore_ascii_case("FailIfExists") => Ok(Mode::Fail),
            m if m.eq_ignore_ascii_case("OverwriteExisting") => Ok(Mode::Replace),
            m if m.eq_ignore_ascii_case("IgnoreIfExists") => Ok(Mode::Ignore),
            other => Err(ApiError::invalid(format!(
                "overwriteMode '{other}' is not one of FailIfExists, OverwriteExisting, IgnoreIfExists."
            ))),
        };
    }
    Ok(match params.flag("replace")? {
        Some(true) => Mode::Replace,
        _ => Mode::Fail,
    })
}

/// A package file name split into id, version and extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// `PackageId`.
    pub package_id: String,
    /// `Version`.
    pub version: String,
    /// `FileExtension`, with its dot.
    pub extension: String,
}

/// Parses `<PackageId>.<Version><ext>`: the version starts at the first dot followed by a
/// digit after which the rest is a version (`Payments.Api.1.4.0-rc.1.zip`).
pub fn parse_file_name(name: &str) -> Option<FileName> {
    let lower = name.to_ascii_lowercase();
    let extension = EXTENSIONS.iter().find(|e| lower.ends_with(*e))?;
    let stem = name.get(..name.len() - extension.len())?;
    let bytes = stem.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let next_is_digit = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if *b == b'.' && next_is_digit && i > 0 {
            let (id, version) = (stem.get(..i)?, stem.get(i + 1..)?);
            if is_version(version) && is_package_id(id) {
                return Some(FileName {
                    package_id: id.to_owned(),
                    version: version.to_owned(),
                    extension: (*extension).to_owned(),
                });
            }
        }
    }
    None
}

pub(crate) fn is_package_id(id: &str) -> bool {
    id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// `1.2`, `1.2.3`, `1.2.3.4`, with an optional `-prerelease` and `+metadata`.
pub(crate) fn is_version(v: &str) -> bool {
    let (core, _meta) = v.split_once('+').unwrap_or((v, ""));
    let (numbers, pre) = core.split_once('-').unwrap_or((core, ""));
    let parts: Vec<&str> = numbers.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && pre
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

/// `POST /api/{space}/packages/raw`.
pub async fn upload(
    app: &Arc<App>,
    space: &str,
    req: Request,
    params: &Params,
) -> ApiResult<Response> {
    let mode = match overwrite_mode(params) {
        Ok(mode) => mode,
        Err(err) => {
            crate::routes::drain(req).await;
            return Err(err);
        }
    };
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::invalid(format!("The request is not a multipart upload: {e}.")))?;
    let mut received = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::invalid(format!("The multipart body is malformed: {e}.")))?
    {
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        let Some(parsed) = parse_file_name(&file_name) else {
            let read = drain_field(field, 0).await;
            drain_multipart(&mut multipart, read).await;
            return Err(ApiError::invalid(format!(
                "The file name '{file_name}' is not of the form <PackageId>.<Version>.<ext> (for example Payments.Api.1.4.0.zip)."
            )));
        };
        let tmp = tempfile::NamedTempFile::new_in(&app.config.blobs).map_err(|e| {
            ApiError::internal(format!("cannot create a temporary package file: {e}"))
        })?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha1::new();
        let mut size: u64 = 0;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ApiError::invalid(format!("The package upload could not be read: {e}.")))?
        {
            size = size.saturating_add(chunk.len() as u64);
            if size > MAX_PACKAGE_BYTES {
                return Err(ApiError::invalid(format!(
                    "The package is larger than the stand-in stores ({MAX_PACKAGE_BYTES} bytes)."
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal(format!("cannot write the package: {e}")))?;
        }
        file.sync_all()
            .await
            .map_err(|e| ApiError::internal(format!("cannot write the package: {e}")))?;
        received = Some((parsed, tmp_path, hex::encode(hasher.finalize()), size));
        break;
    }
    let Some((name, tmp_path, hash, size)) = received else {
        return Err(ApiError::invalid("A package file must be provided"));
    };
    if size == 0 {
        return Err(ApiError::invalid(
            "The uploaded package file had length equal to 0. Please upload a non-empty file.",
        ));
    }
    let id = format!("packages-{}.{}", name.package_id, name.version);
    let blob_name = format!("{}.{}{}", name.package_id, name.version, name.extension);
    let blobs = app.config.blobs.clone();
    let (status, doc) = app.write(|s| {
        if let Some(existing) = s.get(Kind::Package, &id) {
            match mode {
                Mode::Fail => {
                    return Err(ApiError::conflict(
                        "A package with the same ID and version already exists. To proceed anyway, specify an overwriteMode of OverwriteExisting or IgnoreIfExists.",
                    ));
                }
                Mode::Ignore => return Ok((StatusCode::OK, existing.clone())),
                Mode::Replace => {}
            }
        }
        tmp_path
            .persist(blobs.join(&blob_name))
            .map_err(|e| ApiError::internal(format!("cannot store the package: {e}")))?;
        let mut doc = Doc::new();
        doc.insert("PackageId".into(), json!(name.package_id));
        doc.insert("Version".into(), json!(name.version));
        doc.insert("FeedId".into(), json!(BUILTIN_FEED));
        doc.insert("NuGetPackageId".into(), json!(name.package_id));
        doc.insert("NuGetFeedId".into(), json!(BUILTIN_FEED));
        doc.insert("Title".into(), json!(name.package_id));
        doc.insert("Summary".into(), json!(""));
        doc.insert("Description".into(), json!(""));
        doc.insert("ReleaseNotes".into(), json!(""));
        doc.insert("Published".into(), json!(now()));
        doc.insert("FileExtension".into(), json!(name.extension));
        doc.insert("Hash".into(), json!(hash));
        doc.insert("PackageSizeBytes".into(), json!(size));
        stamp(
            &mut doc,
            Kind::Package,
            &id,
            space,
            &[("Raw", format!("/api/{space}/packages/{id}/raw"))],
        );
        // Neither package definition of the Swagger spec has a `SpaceId`.
        doc.remove("SpaceId");
        s.put(Kind::Package, doc.clone());
        s.set_blob(&id, Some(blob_name.clone()));
        // A project that creates releases from this package gets one now (`automatic`).
        super::automatic::release_on_push(s, space, &name.package_id, &name.version);
        Ok((StatusCode::CREATED, doc))
    })?;
    app.wake.notify_one();
    Ok(json(status, Value::Object(doc)))
}

/// Reads and drops the rest of an upload refused before its file was read, up to
/// [`crate::routes::DRAIN_LIMIT`], so the client reads the 400 rather than a connection
/// closed under its upload (see [`crate::routes::drain`]). `read` is what was already read.
async fn drain_multipart(multipart: &mut Multipart, mut read: usize) {
    while read <= crate::routes::DRAIN_LIMIT
        && let Ok(Some(field)) = multipart.next_field().await
    {
        read = drain_field(field, read).await;
    }
}

/// Reads and drops one multipart field; returns the bytes read so far in the whole drain.
async fn drain_field(mut field: axum::extract::multipart::Field<'_>, mut read: usize) -> usize {
    while read <= crate::routes::DRAIN_LIMIT
        && let Ok(Some(chunk)) = field.chunk().await
    {
        read = read.saturating_add(chunk.len());
    }
    read
}

/// `GET /api/{space}/packages/{id}/raw`: the file, streamed from disk.
pub async fn download(app: &Arc<App>, space: &str, id: &str) -> ApiResult<Response> {
    let (blob, file_name) = app.read(|s| -> ApiResult<(String, String)> {
        let doc = find(s, Kind::Package, space, id)?;
        let blob = s
            .blob(text(doc, "Id").unwrap_or(id))
            .ok_or_else(|| ApiError::internal(format!("the file of package '{id}' is missing")))?;
        Ok((blob.to_owned(), blob.to_owned()))
    })?;
    let file = tokio::fs::File::open(app.config.blobs.join(&blob))
        .await
        .map_err(|e| ApiError::internal(format!("cannot open the file of package '{id}': {e}")))?;
    let length = file.metadata().await.map(|m| m.len()).ok();
    // 256 KiB reads: the 4 KiB default makes a large download CPU-bound on chunk overhead.
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={file_name}"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
    }
    Ok(response)
}

/// `GET /api/{space}/packages` (the one space holds every package): `filter` (part of the package id), `nuGetPackageId` (exact),
/// `latest` (only the highest version of each package id).
pub fn list(app: &Arc<App>, path: &str, params: &Params) -> ApiResult<Response> {
    let query = PackageQuery::from_params(params, "nuGetPackageId")?;
    let mut docs: Vec<Doc> = app.read(|s| {
        s.all(Kind::Package)
            .iter()
            .filter(|d| query.matches(d))
            .cloned()
            .map(|d| super::build_information::on_package(s, d))
            .map(|d| crate::routes::collection::in_list(Kind::Package, d))
            .collect()
    });
    query.order(&mut docs);
    Ok(json(
        StatusCode::OK,
        params::page(Kind::Package, path, docs, params)?,
    ))
}

/// `DELETE /api/{space}/packages/{id}`.
pub fn delete(app: &Arc<App>, space: &str, id: &str) -> ApiResult<()> {
    let blobs = app.config.blobs.clone();
    app.write(|s| {
        let id = text(find(s, Kind::Package, space, id)?, "Id")
            .unwrap_or(id)
            .to_owned();
        if let Some(blob) = s.blob(&id) {
            let _ = std::fs::remove_file(blobs.join(blob));
        }
        s.set_blob(&id, None);
        s.remove(Kind::Package, &id);
        Ok(())
    })
}

/// Orders versions by their numeric parts, then a release above its pre-releases.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |v: &str| -> (Vec<u64>, String) {
        let core = v.split('+').next().unwrap_or("");
        let (numbers, pre) = core.split_once('-').unwrap_or((core, ""));
        (
            numbers.split('.').map(|n| n.parse().unwrap_or(0)).collect(),
            pre.to_owned(),
        )
    };
    let (an, ap) = split(a);
    let (bn, bp) = split(b);
    an.cmp(&bn)
        .then_with(|| match (ap.is_empty(), bp.is_empty()) {
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => ap.cmp(&bp),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_at_the_version() {
        let cases = [
            (
                "Payments.Api.1.4.0.zip",
                Some(("Payments.Api", "1.4.0", ".zip")),
            ),
            (
                "Acme.Web.2.0.0-beta.1.tar.gz",
                Some(("Acme.Web", "2.0.0-beta.1", ".tar.gz")),
            ),
            ("tool.10.2.nupkg", Some(("tool", "10.2", ".nupkg"))),
            (
                "Db2.Migrations.3.1.0.1.tgz",
                Some(("Db2.Migrations", "3.1.0.1", ".tgz")),
            ),
            ("noversion.zip", None),
            ("Payments.Api.1.4.0.exe", None),
            (".1.0.0.zip", None),
            ("bad id.1.0.0.zip", None),
        ];
        for (name, want) in cases {
            let got = parse_file_name(name);
            let got = got.as_ref().map(|f| {
                (
                    f.package_id.as_str(),
                    f.version.as_str(),
                    f.extension.as_str(),
                )
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn versions_order_numerically_and_releases_above_prereleases() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Greater);
        assert_eq!(compare_versions("2.0.0", "2.0.0-rc.1"), Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Equal);
    }
}
