//! Where the Octopus server is and how to talk to it: URL, API key, space, CA file, timeout,
//! retries. Built once from validated input; the client never sees raw arguments.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::OctopusError;

/// An API key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key, for the request header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

/// A space, as the operator names it: an id (`Spaces-1`) or a name (`Default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceRef {
    /// The instance's default space.
    Default,
    /// By id.
    Id(String),
    /// By name.
    Name(String),
}

impl SpaceRef {
    /// `Spaces-N` is an id; anything else a name; empty is the default space.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let is_id = text
            .strip_prefix("Spaces-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match text {
            "" => SpaceRef::Default,
            id if is_id => SpaceRef::Id(id.to_owned()),
            name => SpaceRef::Name(name.to_owned()),
        }
    }
}

/// When to try a request again: connection failures and 5xx answers only, with exponential
/// backoff between `base_delay` and `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first pause.
    pub base_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (2 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// Everything needed to talk to one Octopus instance.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The server's base URL, without `/api` (`https://octopus.example.com`).
    pub server: String,
    /// The API key.
    pub api_key: ApiKey,
    /// The space to work in.
    pub space: SpaceRef,
    /// A PEM file of CA certificates to trust besides the built-in roots (private PKI).
    pub ca_file: Option<PathBuf>,
    /// The longest a request may take (connecting, sending, and reading JSON answers; package
    /// transfers are bounded by `transfer_timeout`).
    pub timeout: Duration,
    /// The longest a package upload or download may take.
    pub transfer_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Waits on 429 answers.
    pub rate_limit: crate::rate_limit::RateLimitPolicy,
}

impl Endpoint {
    /// An endpoint with the default timeouts (60 s, 1 h for packages) and retries.
    pub fn new(server: &str, api_key: ApiKey, space: SpaceRef) -> Result<Self, OctopusError> {
        Ok(Endpoint {
            server: normalise_server(server)?,
            api_key,
            space,
            ca_file: None,
            timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(3600),
            retry: RetryPolicy::default(),
            rate_limit: crate::rate_limit::RateLimitPolicy::default(),
        })
    }
}

/// `https://host/` or `https://host/api` -> `https://host`; anything but http(s) is refused.
fn normalise_server(server: &str) -> Result<String, OctopusError> {
    let bad = |reason: &str| OctopusError::BadServerUrl {
        url: server.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = server.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api").unwrap_or(trimmed);
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// or http://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("it has no host"));
    }
    if trimmed.contains(['?', '#', ' ']) {
        return Err(bad("it must not contain a query, a fragment or spaces"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised_or_refused() {
        for (given, want) in [
            (
                "https://octopus.example.com",
                Some("https://octopus.example.com"),
            ),
            (
                "https://octopus.example.com/",
                Some("https://octopus.example.com"),
            ),
            ("http://127.0.0.1:8065/api/", Some("http://127.0.0.1:8065")),
            (
                "https://example.com/octopus/api",
                Some("https://example.com/octopus"),
            ),
            ("octopus.example.com", None),
            ("ftp://octopus", None),
            ("https://", None),
            ("https://host/?x=1", None),
        ] {
            assert_eq!(normalise_server(given).ok().as_deref(), want, "{given}");
        }
    }

    #[test]
    fn spaces_are_ids_or_names() {
        assert_eq!(
            SpaceRef::parse("Spaces-12"),
            SpaceRef::Id("Spaces-12".into())
        );
        assert_eq!(
            SpaceRef::parse("Payments"),
            SpaceRef::Name("Payments".into())
        );
        assert_eq!(SpaceRef::parse("Spaces-"), SpaceRef::Name("Spaces-".into()));
        assert_eq!(SpaceRef::parse(""), SpaceRef::Default);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(2), Duration::from_millis(250));
        assert_eq!(policy.delay(3), Duration::from_millis(500));
        assert_eq!(policy.delay(4), Duration::from_secs(1));
        assert_eq!(policy.delay(40), Duration::from_secs(8));
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(format!("{:?}", ApiKey::new("API-SECRET")), "ApiKey(..)");
    }
}
