//! A typed client for the Octopus Deploy REST API: what Zonebridge's export and import need.
//!
//! It follows Octopus's conventions: the `X-Octopus-ApiKey` header, spaces by id or name,
//! paged collections followed to the end, Octopus's error bodies turned into errors that say
//! what to do, retries with backoff on connection failures and 5xx answers only, 429 answers waited out
//! as `Retry-After` asks within a bound, timeouts,
//! and a CA file for private PKI. Its types are held to the Octopus Server Swagger spec and
//! the real payloads in `fixtures/octopus/`; it shares nothing with `octopus-standin`, so a
//! field name both got wrong would still be caught by one of the two contract suites.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod endpoint;
mod error;
pub mod names;
mod rate_limit;
pub mod resources;
mod transfer;

pub use client::{Client, MAX_JSON_BYTES, MAX_PAGES, OverwriteMode, PAGE_SIZE, segment};
pub use endpoint::{ApiKey, Endpoint, RetryPolicy, SpaceRef};
pub use error::{ErrorBody, OctopusError};
pub use rate_limit::RateLimitPolicy;
