//! The HTTP client: Octopus's conventions in one place.
//!
//! ```text
//! Client::connect ── GET /api (is it Octopus?) ── resolve --space (id, name, or default)
//!   get / get_all / post / put / get_text ──> /api/{spaceId}/<path>
//!      │ post_once: creates that must not run twice (deployments): no retry after a 5xx
//!      │ X-Octopus-ApiKey on every request
//!      │ retries: connection failures (and timeouts of GETs) and 5xx answers only,
//!      │          exponential backoff (RetryPolicy); 429: wait Retry-After, bounded
//!      │          (RateLimitPolicy), for every method (a 429 was not processed)
//!      │ 403 -> OctopusError::PermissionDenied naming Octopus's "Missing permission"
//!      │ answers: JSON bounded by MAX_JSON_BYTES; error bodies -> OctopusError::Api
//!      └ get_all follows Links["Page.Next"] to the end, bounded by MAX_PAGES; under a
//!        virtual directory (`https://host/octopus`) the links may carry it or not
//!   upload_package ── multipart `file` part streamed from disk (re-opened per attempt) ┐ transfer.rs:
//!   download ───────── streamed into any `Write`                                      ┘ async, 1 MiB pieces
//! ```

use std::io::{Read as _, Write};
use std::path::Path;
use std::time::SystemTime;

use reqwest::blocking::{RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::endpoint::{Endpoint, SpaceRef};
use crate::error::{ErrorBody, OctopusError};
use crate::rate_limit::{Budget, retry_after};
use crate::resources::{Collection, RootDocument, Space};
use crate::transfer::{Failed, Transfers};

/// The largest JSON answer read.
pub const MAX_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// The largest error body read.
const MAX_ERROR_BYTES: u64 = 1024 * 1024;

/// The most pages `get_all` follows.
pub const MAX_PAGES: usize = 10_000;

/// The page size `get_all` asks for.
pub const PAGE_SIZE: usize = 100;

/// What `upload_package` does when the feed already has the version (Octopus's
/// `overwriteMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverwriteMode {
    /// Refuse (409).
    FailIfExists,
    /// Keep the stored file and answer 200.
    IgnoreIfExists,
    /// Replace it.
    OverwriteExisting,
}

impl OverwriteMode {
    fn as_str(self) -> &'static str {
        match self {
            OverwriteMode::FailIfExists => "FailIfExists",
            OverwriteMode::IgnoreIfExists => "IgnoreIfExists",
            OverwriteMode::OverwriteExisting => "OverwriteExisting",
        }
    }
}

/// A connection to one space of one Octopus instance.
#[derive(Debug)]
pub struct Client {
    http: reqwest::blocking::Client,
    transfers: Transfers,
    endpoint: Endpoint,
    space_id: String,
    version: String,
}

/// Percent-encodes one path segment (a release version such as `1.0.0+build.5`).
pub fn segment(text: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

impl Client {
    /// Connects: checks that the server is Octopus and resolves the space.
    pub fn connect(endpoint: Endpoint) -> Result<Self, OctopusError> {
        let certs = certificates(&endpoint)?;
        let http = build(&endpoint, &certs)?;
        let transfers = Transfers::new(&endpoint, &certs, endpoint.transfer_timeout)?;
        let mut client = Client {
            http,
            transfers,
            endpoint,
            space_id: String::new(),
            version: String::new(),
        };
        let root: RootDocument = client.get("/api")?;
        if root.application != "Octopus Deploy" {
            return Err(OctopusError::NotOctopus {
                url: client.endpoint.server.clone(),
                application: root.application,
            });
        }
        client.version = root.version;
        client.space_id = client.resolve_space()?;
        Ok(client)
    }

    /// The space's id.
    pub fn space_id(&self) -> &str {
        &self.space_id
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.endpoint.server
    }

    /// The Octopus Server version (from `/api`).
    pub fn server_version(&self) -> &str {
        &self.version
    }

    fn resolve_space(&self) -> Result<String, OctopusError> {
        let spaces: Vec<Space> = self.get("/api/spaces/all")?;
        let found = match &self.endpoint.space {
            SpaceRef::Default => spaces.iter().find(|s| s.is_default),
            SpaceRef::Id(id) => spaces.iter().find(|s| &s.id == id),
            SpaceRef::Name(name) => spaces.iter().find(|s| s.name.eq_ignore_ascii_case(name)),
        };
        found
            .map(|s| s.id.clone())
            .ok_or_else(|| OctopusError::NoSuchSpace {
                server: self.endpoint.server.clone(),
                space: match &self.endpoint.space {
                    SpaceRef::Default => "(default)".to_owned(),
                    SpaceRef::Id(s) | SpaceRef::Name(s) => s.clone(),
                },
                known: spaces
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.id))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// `/api/...` as given; anything else is relative to the space: `projects/Projects-1` ->
    /// `/api/Spaces-1/projects/Projects-1`.
    fn path(&self, path: &str) -> String {
        if path.starts_with("/api") {
            path.to_owned()
        } else {
            format!("/api/{}/{}", self.space_id, path.trim_start_matches('/'))
        }
    }

    /// `GET` a JSON resource.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, OctopusError> {
        let path = self.path(path);
        let response = self.send(&self.http, Method::GET, &path, Retry::Always, Ok)?;
        read_json(response, "GET", &path)
    }

    /// `GET` a JSON resource that may not exist (404 -> `None`).
    pub fn get_optional<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, OctopusError> {
        match self.get(path) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paged collection, following `Links["Page.Next"]` to the end.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, OctopusError> {
        let first = self.path(path);
        let separator = if first.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{first}{separator}skip=0&take={PAGE_SIZE}"));
        let mut items = Vec::new();
        let mut pages = 0;
        let mut seen = std::collections::HashSet::new();
        while let Some(page_path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(OctopusError::BadResponse {
                    method: "GET".to_owned(),
                    path: first,
                    reason: format!("more than {MAX_PAGES} pages"),
                });
            }
            let page: Collection<T> = self.get(&page_path)?;
            let total = page.total_results;
            items.extend(page.items);
            next = match page.links.get("Page.Next") {
                None => None,
                Some(link) => {
                    Some(
                        self.api_link(link)
                            .ok_or_else(|| OctopusError::BadResponse {
                                method: "GET".to_owned(),
                                path: page_path.clone(),
                                reason: format!("its Page.Next link {link:?} is not an /api path"),
                            })?,
                    )
                }
            };
            seen.insert(page_path.clone());
            // A link back to a page already read would loop until MAX_PAGES.
            if let Some(link) = next.as_ref().filter(|l| seen.contains(*l)) {
                return Err(OctopusError::BadResponse {
                    method: "GET".to_owned(),
                    path: page_path,
                    reason: format!(
                        "its Page.Next link {link:?} leads back to a page already read"
                    ),
                });
            }
            if items.len() > total {
                return Err(OctopusError::BadResponse {
                    method: "GET".to_owned(),
                    path: page_path,
                    reason: format!("{} items arrived but TotalResults is {total}", items.len()),
                });
            }
        }
        Ok(items)
    }

    /// A link from a document as a path the client requests (`/api/...`). A server under a
    /// virtual directory (`https://host/octopus`) writes its links with it
    /// (`/octopus/api/...`, OctopusDeploy/Issues #65) or, before that fix, without it
    /// (`/api/...`); both mean the same resource. Anything else (another host, another
    /// directory) is `None`.
    fn api_link(&self, link: &str) -> Option<String> {
        let base = base_path(&self.endpoint.server);
        let rest = match link.strip_prefix(base) {
            Some(rest) if !base.is_empty() && rest.starts_with("/api/") => rest,
            _ => link,
        };
        rest.starts_with("/api/").then(|| rest.to_owned())
    }

    /// The item of `collection` (such as `environments`) named exactly `name`, or `None`:
    /// Octopus's `name` filter is asked first, and the exact name decides, since the filter
    /// may match more loosely.
    pub fn find_by_name<T: DeserializeOwned>(
        &self,
        collection: &str,
        name: &str,
        name_of: impl Fn(&T) -> &str,
    ) -> Result<Option<T>, OctopusError> {
        let found: Vec<T> = self.get_all(&format!("{collection}?name={}", segment(name)))?;
        Ok(found.into_iter().find(|item| name_of(item) == name))
    }

    /// `POST` JSON; the answer's JSON.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, OctopusError> {
        self.write(Method::POST, path, body, Retry::Always)
    }

    /// `POST` JSON that must not be repeated (creating a deployment starts a task each time):
    /// only a connection that failed before the request was sent is tried again; a 5xx answer
    /// or a timeout is returned as it is, since Octopus may have acted on the request.
    pub fn post_once<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, OctopusError> {
        self.write(Method::POST, path, body, Retry::ConnectOnly)
    }

    /// `GET` a text resource (a task's raw log), at most `limit` bytes: what is longer is cut
    /// at `limit` and the second value is true. Invalid UTF-8 is replaced, not refused.
    pub fn get_text(&self, path: &str, limit: u64) -> Result<(String, bool), OctopusError> {
        let path = self.path(path);
        let response = self.send(&self.http, Method::GET, &path, Retry::Always, Ok)?;
        let mut bytes = Vec::new();
        response
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| OctopusError::BadResponse {
                method: "GET".to_owned(),
                path: path.clone(),
                reason: format!("the answer broke off: {e}"),
            })?;
        let cut = bytes.len() as u64 > limit;
        bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        Ok((String::from_utf8_lossy(bytes).into_owned(), cut))
    }

    /// `PUT` JSON; the answer's JSON.
    pub fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, OctopusError> {
        self.write(Method::PUT, path, body, Retry::Always)
    }

    fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        retry: Retry,
    ) -> Result<T, OctopusError> {
        let path = self.path(path);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| OctopusError::Setup(format!("cannot encode the request body: {e}")))?;
        let response = self.send(&self.http, method.clone(), &path, retry, |r| {
            Ok(r.header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()))
        })?;
        read_json(response, method.as_str(), &path)
    }

    /// Uploads a package file to the built-in feed (`POST packages/raw`), streaming it from
    /// disk. The file name must be `<PackageId>.<Version><ext>`. Returns the HTTP status
    /// (201 created, 200 ignored because it exists) and the package resource.
    pub fn upload_package<T: DeserializeOwned>(
        &self,
        file: &Path,
        file_name: &str,
        mode: OverwriteMode,
    ) -> Result<(u16, T), OctopusError> {
        let path = self.path(&format!("packages/raw?overwriteMode={}", mode.as_str()));
        let url = format!("{}{path}", self.endpoint.server);
        match self.transfers.upload(&url, file, file_name) {
            Ok((status, bytes)) => Ok((status, parse_json(&bytes, "POST", &path)?)),
            Err(failed) => Err(self.transfer_error(failed, "POST", &path, url)),
        }
    }

    /// Streams a binary resource (`packages/{id}/raw`) into `sink`; returns the bytes copied.
    pub fn download(&self, path: &str, sink: &mut dyn Write) -> Result<u64, OctopusError> {
        let path = self.path(path);
        let url = format!("{}{path}", self.endpoint.server);
        self.transfers
            .download(&url, sink)
            .map_err(|failed| self.transfer_error(failed, "GET", &path, url))
    }

    /// Names a failed transfer as every other failed request is named.
    fn transfer_error(
        &self,
        failed: Failed,
        method: &str,
        path: &str,
        url: String,
    ) -> OctopusError {
        match failed {
            Failed::Local(e) => e,
            Failed::Unreachable { attempts, reason } => OctopusError::Unreachable {
                url,
                attempts,
                reason,
            },
            Failed::Status(status, bytes) => self.error_from(status, &bytes, method, path),
            Failed::RateLimited(reason) => OctopusError::RateLimited {
                method: method.to_owned(),
                path: path.to_owned(),
                reason,
            },
            Failed::Broken(reason) => OctopusError::BadResponse {
                method: method.to_owned(),
                path: path.to_owned(),
                reason: format!("the transfer broke off: {reason}"),
            },
        }
    }

    /// Sends a request with the API key, retrying connection failures and 5xx answers; turns
    /// error answers into `OctopusError`.
    fn send(
        &self,
        http: &reqwest::blocking::Client,
        method: Method,
        path: &str,
        retry: Retry,
        make: impl Fn(RequestBuilder) -> Result<RequestBuilder, OctopusError>,
    ) -> Result<Response, OctopusError> {
        let url = format!("{}{path}", self.endpoint.server);
        let policy = self.endpoint.retry;
        let attempts = policy.attempts.max(1);
        let mut last_failure = String::new();
        let mut rate_limited = Budget::default();
        let mut attempt = 0;
        // Whether the last answer was a failure to back off from (not a 429, already waited).
        let mut back_off = false;
        while attempt < attempts {
            attempt += 1;
            if back_off {
                std::thread::sleep(policy.delay(attempt));
            }
            back_off = true;
            let request = make(
                http.request(method.clone(), &url)
                    .header("X-Octopus-ApiKey", self.endpoint.api_key.expose()),
            )?;
            match request.send() {
                // A 429 was not processed: wait as asked and send again, whatever the method;
                // it does not use up an attempt.
                Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let asked = retry_after(
                        response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()),
                        SystemTime::now(),
                    );
                    let wait = rate_limited
                        .next(&self.endpoint.rate_limit, asked)
                        .map_err(|reason| OctopusError::RateLimited {
                            method: method.to_string(),
                            path: path.to_owned(),
                            reason,
                        })?;
                    std::thread::sleep(wait);
                    attempt -= 1;
                    back_off = false;
                }
                Ok(response)
                    if response.status().is_server_error()
                        && retry == Retry::Always
                        && attempt < attempts =>
                {
                    last_failure = format!("answered {}", response.status());
                }
                Ok(response) => return self.check(response, method.as_str(), path),
                Err(e) if retryable(&e, &method, retry) && attempt < attempts => {
                    last_failure = describe(&e);
                }
                Err(e) => {
                    last_failure = describe(&e);
                    break;
                }
            }
        }
        Err(OctopusError::Unreachable {
            url,
            attempts,
            reason: last_failure,
        })
    }

    fn check(
        &self,
        response: Response,
        method: &str,
        path: &str,
    ) -> Result<Response, OctopusError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let mut bytes = Vec::new();
        let _ = response.take(MAX_ERROR_BYTES).read_to_end(&mut bytes);
        Err(self.error_from(status.as_u16(), &bytes, method, path))
    }

    /// The error an error answer means: 401 is a refused key; anything else carries Octopus's
    /// error body (or the first 500 characters of whatever came).
    fn error_from(&self, status: u16, bytes: &[u8], method: &str, path: &str) -> OctopusError {
        let body = serde_json::from_slice::<ErrorBody>(bytes).unwrap_or_else(|_| ErrorBody {
            error_message: String::from_utf8_lossy(bytes)
                .trim()
                .chars()
                .take(500)
                .collect(),
            errors: Vec::new(),
        });
        if status == 401 {
            return OctopusError::Unauthorized {
                server: self.endpoint.server.clone(),
                body,
            };
        }
        if status == 403 {
            return OctopusError::PermissionDenied {
                method: method.to_owned(),
                path: path.to_owned(),
                permission: body.missing_permission(),
                body,
            };
        }
        OctopusError::Api {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            body,
        }
    }
}

/// The path part of a server URL: `https://host/octopus` -> `/octopus`, `https://host` -> "".
fn base_path(server: &str) -> &str {
    let after_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
    after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("")
}

/// Connection failures are always worth another try (the request never reached Octopus); a
/// timeout only for a `GET`, which is safe to repeat.
fn retryable(e: &reqwest::Error, method: &Method, retry: Retry) -> bool {
    e.is_connect() || (retry == Retry::Always && e.is_timeout() && *method == Method::GET)
}

/// Which failures a request may be sent again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Connection failures, GET timeouts and 5xx answers.
    Always,
    /// Only connections that failed before the request was sent.
    ConnectOnly,
}

pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The CA file's certificates, if one is given.
fn certificates(endpoint: &Endpoint) -> Result<Vec<reqwest::Certificate>, OctopusError> {
    let Some(ca) = &endpoint.ca_file else {
        return Ok(Vec::new());
    };
    let bad = |reason: String| OctopusError::BadCaFile {
        path: ca.display().to_string(),
        reason,
    };
    let pem = std::fs::read(ca).map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("it holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

fn build(
    endpoint: &Endpoint,
    certs: &[reqwest::Certificate],
) -> Result<reqwest::blocking::Client, OctopusError> {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(endpoint.timeout)
        .connect_timeout(endpoint.timeout.min(std::time::Duration::from_secs(30)))
        .user_agent(concat!("zonebridge/", env!("CARGO_PKG_VERSION")));
    if !certs.is_empty() {
        builder = builder.tls_certs_merge(certs.iter().cloned());
    }
    builder
        .build()
        .map_err(|e| OctopusError::Setup(describe(&e)))
}

/// Reads a bounded JSON answer.
fn read_json<T: DeserializeOwned>(
    response: Response,
    method: &str,
    path: &str,
) -> Result<T, OctopusError> {
    let mut bytes = Vec::new();
    response
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| OctopusError::BadResponse {
            method: method.to_owned(),
            path: path.to_owned(),
            reason: format!("the answer broke off: {e}"),
        })?;
    if bytes.len() as u64 > MAX_JSON_BYTES {
        return Err(OctopusError::TooLarge {
            path: path.to_owned(),
            limit: MAX_JSON_BYTES,
        });
    }
    parse_json(&bytes, method, path)
}

/// Parses a JSON answer (a UTF-8 byte-order mark is allowed, as fixture `task-list.page0.json`
/// starts with one).
fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
    method: &str,
    path: &str,
) -> Result<T, OctopusError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| OctopusError::BadResponse {
        method: method.to_owned(),
        path: path.to_owned(),
        reason: e.to_string(),
    })
}
