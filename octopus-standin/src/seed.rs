//! Seed scenarios (`--seed FILE`): a list of API requests applied through the stand-in's own
//! routes on start, so a seeded instance obeys the same rules as one built by a client
//! (projects get processes, releases get snapshots, sensitive values are stored apart).
//!
//! ```json
//! {"description": "...", "requests": [
//!   {"method": "POST", "path": "/api/Spaces-1/environments", "body": {"Name": "Dev"}, "as": "dev"},
//!   {"method": "MODIFY", "path": "/api/Spaces-1/variables/variableset-${payments}",
//!    "set": {"Variables": [{"Name": "Url", "Value": "x", "Scope": {"Environment": ["${dev}"]}}]}},
//!   {"upload": "Payments.Api.1.4.0.zip", "content": "any text"}
//! ]}
//! ```
//!
//! `"as"` names the `Id` of the response; `${name}` in a later path or body string (or object
//! key, as in a tenant's `ProjectEnvironments`) is replaced by it, and `$${` writes a literal
//! `${`. `MODIFY` reads the resource, replaces the top-level
//! fields given in `set`, and
//! writes it back with its `Version` (read-modify-write, as a careful client does).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::app::App;
use crate::routes::API_KEY_HEADER;

/// The largest seed file read.
pub const MAX_SEED_BYTES: u64 = 64 * 1024 * 1024;

/// A seed file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// What the scenario is.
    #[serde(default)]
    pub description: String,
    /// The requests, in order.
    pub requests: Vec<SeedRequest>,
}

/// One request of a seed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    /// `GET`, `POST`, `PUT`, `DELETE` or `MODIFY`.
    #[serde(default)]
    pub method: Option<String>,
    /// The request path.
    #[serde(default)]
    pub path: Option<String>,
    /// The JSON body (POST, PUT).
    #[serde(default)]
    pub body: Option<Value>,
    /// The fields to replace (MODIFY).
    #[serde(default)]
    pub set: Option<serde_json::Map<String, Value>>,
    /// A name for the response's `Id`.
    #[serde(default, rename = "as")]
    pub name: Option<String>,
    /// A package file name to upload to the built-in feed.
    #[serde(default)]
    pub upload: Option<String>,
    /// The package file's content (text).
    #[serde(default)]
    pub content: Option<String>,
}

/// Reads a seed file.
pub fn read(path: &std::path::Path) -> anyhow::Result<Seed> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the seed {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_SEED_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the seed {}", path.display()))?;
    if text.len() as u64 > MAX_SEED_BYTES {
        bail!(
            "the seed {} is larger than {MAX_SEED_BYTES} bytes",
            path.display()
        );
    }
    serde_json::from_str(&text)
        .with_context(|| format!("the seed {} is not a valid seed file", path.display()))
}

/// Applies a seed through the stand-in's routes.
pub async fn apply(app: &Arc<App>, seed: &Seed) -> anyhow::Result<()> {
    let mut names = BTreeMap::new();
    for (index, request) in seed.requests.iter().enumerate() {
        let number = index + 1;
        let response = apply_one(app, request, &names)
            .await
            .with_context(|| format!("seed request {number} ({})", describe(request)))?;
        if let Some(name) = &request.name {
            let id = response.get("Id").and_then(Value::as_str).ok_or_else(|| {
                anyhow!("seed request {number}: the response has no Id to name '{name}'")
            })?;
            names.insert(name.clone(), id.to_owned());
        }
    }
    Ok(())
}

fn describe(request: &SeedRequest) -> String {
    match (&request.upload, &request.method, &request.path) {
        (Some(file), _, _) => format!("upload {file}"),
        (None, method, path) => format!(
            "{} {}",
            method.as_deref().unwrap_or("GET"),
            path.as_deref().unwrap_or("")
        ),
    }
}

fn substitute(value: &Value, names: &BTreeMap<String, String>) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(s) => Value::String(substitute_text(s, names)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute(v, names))
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((substitute_text(k, names)?, substitute(v, names)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_text(text: &str, names: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let (before, after) = rest.split_at(at);
        // `$${` writes a literal `${` (bash parameter expansion in a script body).
        if let Some(kept) = before.strip_suffix('$') {
            out.push_str(kept);
            out.push_str("${");
            rest = after.get(2..).unwrap_or("");
            continue;
        }
        out.push_str(before);
        let end = after
            .find('}')
            .ok_or_else(|| anyhow!("unclosed ${{ in '{text}'"))?;
        let name = after.get(2..end).unwrap_or("");
        let id = names.get(name).ok_or_else(|| {
            anyhow!("'${{{name}}}' names no earlier response (give a request \"as\": \"{name}\")")
        })?;
        out.push_str(id);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

async fn apply_one(
    app: &Arc<App>,
    request: &SeedRequest,
    names: &BTreeMap<String, String>,
) -> anyhow::Result<Value> {
    if let Some(file) = &request.upload {
        let boundary = "zonebridge-seed-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--{boundary}--\r\n",
            request.content.as_deref().unwrap_or(file)
        );
        return call(
            app,
            "POST",
            "/api/Spaces-1/packages/raw",
            Some(format!("multipart/form-data; boundary={boundary}")),
            body.into_bytes(),
        )
        .await;
    }
    let method = request
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let path = substitute_text(
        request
            .path
            .as_deref()
            .ok_or_else(|| anyhow!("the request has no path"))?,
        names,
    )?;
    let json = Some("application/json".to_owned());
    match method.as_str() {
        "MODIFY" => {
            let mut current = call(app, "GET", &path, None, Vec::new()).await?;
            let set = request
                .set
                .as_ref()
                .ok_or_else(|| anyhow!("MODIFY needs \"set\""))?;
            let object = current
                .as_object_mut()
                .ok_or_else(|| anyhow!("{path} is not a resource"))?;
            for (k, v) in set {
                object.insert(k.clone(), substitute(v, names)?);
            }
            call(app, "PUT", &path, json, serde_json::to_vec(&current)?).await
        }
        "GET" | "DELETE" => call(app, &method, &path, None, Vec::new()).await,
        "POST" | "PUT" => {
            let body = substitute(request.body.as_ref().unwrap_or(&Value::Null), names)?;
            call(app, &method, &path, json, serde_json::to_vec(&body)?).await
        }
        other => bail!("unknown method {other}: use GET, POST, PUT, DELETE or MODIFY"),
    }
}

async fn call(
    app: &Arc<App>,
    method: &str,
    path: &str,
    content_type: Option<String>,
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let mut builder = Request::builder()
        .method(method)
        // Seeds name `/api/...` paths; the instance may serve them under `--path-base`.
        .uri(format!("{}{path}", app.config.path_base))
        .header(API_KEY_HEADER, app.config.api_key.as_str());
    if let Some(ct) = content_type {
        builder = builder.header("Content-Type", ct);
    }
    let request = builder.body(Body::from(body))?;
    let response = crate::router(app.clone()).oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    if !(status.is_success() || status == StatusCode::CREATED) {
        bail!(
            "the stand-in answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_slice(&bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_substituted_and_a_doubled_dollar_escapes() -> anyhow::Result<()> {
        let names = BTreeMap::from([("dev".to_owned(), "Environments-1".to_owned())]);
        assert_eq!(
            substitute_text("/api/x/${dev} echo $${HOME} ${dev}", &names)?,
            "/api/x/Environments-1 echo ${HOME} Environments-1"
        );
        let keyed = substitute(&serde_json::json!({"${dev}": ["${dev}"]}), &names)?;
        assert_eq!(
            keyed,
            serde_json::json!({"Environments-1": ["Environments-1"]})
        );
        let unknown = substitute_text("${prod}", &names)
            .err()
            .map(|e| e.to_string());
        assert!(unknown.is_some_and(|e| e.contains("'${prod}' names no earlier response")));
        Ok(())
    }
}
