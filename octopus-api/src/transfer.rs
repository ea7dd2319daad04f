//! Package transfers (upload to and download from the built-in feed), streamed in 1 MiB pieces
//! through reqwest's async client on a private single-thread runtime.
//!
//! Why not the blocking client the rest of the crate uses: it moves request and response bodies
//! in 8 KiB pieces through a channel, which made a 1 GiB promotion's uploads three times slower
//! than curl (`docs/benchmarks.md`). The rules are the same as for every other request: the API
//! key on each request, retries on connection failures and 5xx answers only, 429 answers waited
//! out within the same bound, Octopus's error bodies turned into errors.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use std::time::SystemTime;

use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::endpoint::{Endpoint, RetryPolicy};
use crate::error::OctopusError;
use crate::rate_limit::{Budget, RateLimitPolicy, retry_after};

/// The size of the pieces a package is read and sent in.
const PIECE: usize = 1 << 20;

/// An async client and the runtime it runs on.
#[derive(Debug)]
pub(crate) struct Transfers {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    key: String,
    retry: RetryPolicy,
    rate_limit: RateLimitPolicy,
}

impl Transfers {
    /// Transfers for `endpoint`, with `certs` merged into the trusted roots.
    pub(crate) fn new(
        endpoint: &Endpoint,
        certs: &[reqwest::Certificate],
        timeout: Duration,
    ) -> Result<Self, OctopusError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OctopusError::Setup(format!("cannot start the transfer runtime: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(endpoint.timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("zonebridge/", env!("CARGO_PKG_VERSION")));
        if !certs.is_empty() {
            builder = builder.tls_certs_merge(certs.iter().cloned());
        }
        let http = builder
            .build()
            .map_err(|e| OctopusError::Setup(super::client::describe(&e)))?;
        Ok(Transfers {
            runtime,
            http,
            key: endpoint.api_key.expose().to_owned(),
            retry: endpoint.retry,
            rate_limit: endpoint.rate_limit,
        })
    }

    /// `POST url` with the file as the multipart `file` part named `file_name`; returns the
    /// status and the (bounded) body of a successful answer.
    pub(crate) fn upload(
        &self,
        url: &str,
        file: &Path,
        file_name: &str,
    ) -> Result<(u16, Vec<u8>), Failed> {
        self.runtime.block_on(async {
            let response = self
                .send(Method::POST, url, || async {
                    let opened = tokio::fs::File::open(file).await.map_err(|source| {
                        Failed::Local(OctopusError::Io {
                            what: format!("cannot open the package {}", file.display()),
                            source,
                        })
                    })?;
                    let length = opened
                        .metadata()
                        .await
                        .map_err(|source| {
                            Failed::Local(OctopusError::Io {
                                what: format!("cannot read the size of {}", file.display()),
                                source,
                            })
                        })?
                        .len();
                    let stream = tokio_util::io::ReaderStream::with_capacity(opened, PIECE);
                    let part = reqwest::multipart::Part::stream_with_length(
                        reqwest::Body::wrap_stream(stream),
                        length,
                    )
                    .file_name(file_name.to_owned())
                    .mime_str("application/octet-stream")
                    .map_err(|e| Failed::Local(OctopusError::Setup(e.to_string())))?;
                    Ok(reqwest::multipart::Form::new().part("file", part))
                })
                .await?;
            let status = response.status().as_u16();
            let body = read_bounded(response, crate::client::MAX_JSON_BYTES).await?;
            Ok((status, body))
        })
    }

    /// `GET url`, streaming a successful answer's body into `sink`; returns the bytes copied.
    pub(crate) fn download(&self, url: &str, sink: &mut dyn Write) -> Result<u64, Failed> {
        self.runtime.block_on(async {
            let mut response = self.send_get(url).await?;
            let mut copied: u64 = 0;
            while let Some(piece) = response
                .chunk()
                .await
                .map_err(|e| Failed::Broken(super::client::describe(&e)))?
            {
                sink.write_all(&piece)
                    .map_err(|e| Failed::Broken(format!("cannot write the download: {e}")))?;
                copied = copied.saturating_add(piece.len() as u64);
            }
            Ok(copied)
        })
    }

    async fn send_get(&self, url: &str) -> Result<Response, Failed> {
        let mut last = String::new();
        let attempts = self.retry.attempts.max(1);
        let mut rate_limited = Budget::default();
        let mut attempt = 0;
        let mut back_off = false;
        while attempt < attempts {
            attempt += 1;
            if back_off {
                tokio::time::sleep(self.retry.delay(attempt)).await;
            }
            back_off = true;
            let request = self.request(Method::GET, url);
            match request.send().await {
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    self.wait_out(&r, &mut rate_limited).await?;
                    attempt -= 1;
                    back_off = false;
                }
                Ok(r) if r.status().is_server_error() && attempt < attempts => {
                    last = format!("answered {}", r.status());
                }
                Ok(r) => return answer(r).await,
                Err(e) if (e.is_connect() || e.is_timeout()) && attempt < attempts => {
                    last = super::client::describe(&e);
                }
                Err(e) => {
                    last = super::client::describe(&e);
                    break;
                }
            }
        }
        Err(Failed::Unreachable {
            attempts,
            reason: last,
        })
    }

    /// Sends a multipart `POST` (re-made for each attempt: the file is read again), retrying
    /// connection failures and 5xx answers.
    async fn send<F, Fut>(&self, method: Method, url: &str, form: F) -> Result<Response, Failed>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::multipart::Form, Failed>>,
    {
        let mut last = String::new();
        let attempts = self.retry.attempts.max(1);
        let mut rate_limited = Budget::default();
        let mut attempt = 0;
        let mut back_off = false;
        while attempt < attempts {
            attempt += 1;
            if back_off {
                tokio::time::sleep(self.retry.delay(attempt)).await;
            }
            back_off = true;
            let request = self.request(method.clone(), url).multipart(form().await?);
            match request.send().await {
                // A 429 was not processed: the upload is sent again after the wait.
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    self.wait_out(&r, &mut rate_limited).await?;
                    attempt -= 1;
                    back_off = false;
                }
                Ok(r) if r.status().is_server_error() && attempt < attempts => {
                    last = format!("answered {}", r.status());
                }
                Ok(r) => return answer(r).await,
                Err(e) if e.is_connect() && attempt < attempts => {
                    last = super::client::describe(&e);
                }
                Err(e) => {
                    last = super::client::describe(&e);
                    break;
                }
            }
        }
        Err(Failed::Unreachable {
            attempts,
            reason: last,
        })
    }

    /// Waits what a 429 answer asks, within the bound; past it, the 429 itself is the failure
    /// (the client names it as `RateLimited`).
    async fn wait_out(&self, response: &Response, budget: &mut Budget) -> Result<(), Failed> {
        let asked = retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            SystemTime::now(),
        );
        let wait = budget
            .next(&self.rate_limit, asked)
            .map_err(Failed::RateLimited)?;
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .header("X-Octopus-ApiKey", self.key.as_str())
    }
}

/// Why a transfer failed, before the client names the request.
#[derive(Debug)]
pub(crate) enum Failed {
    /// Something on this side (the package file).
    Local(OctopusError),
    /// No answer after every attempt.
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// An error status, with its (bounded) body.
    Status(u16, Vec<u8>),
    /// The body broke off, or was too large.
    Broken(String),
    /// 429 answers beyond the bound of waits (why the client stopped).
    RateLimited(String),
}

/// A successful answer, or its status and body as `Failed::Status`.
async fn answer(response: Response) -> Result<Response, Failed> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let body = read_bounded(response, 1024 * 1024)
        .await
        .unwrap_or_default();
    Err(Failed::Status(status, body))
}

async fn read_bounded(mut response: Response, limit: u64) -> Result<Vec<u8>, Failed> {
    let mut bytes = Vec::new();
    while let Some(piece) = response
        .chunk()
        .await
        .map_err(|e| Failed::Broken(super::client::describe(&e)))?
    {
        if (bytes.len() + piece.len()) as u64 > limit {
            return Err(Failed::Broken(format!(
                "the answer is larger than {limit} bytes"
            )));
        }
        bytes.extend_from_slice(&piece);
    }
    Ok(bytes)
}
