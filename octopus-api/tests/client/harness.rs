//! The plumbing: a stand-in started on a loopback port (`test-support` builds it once with the
//! test's profile), and a client connected to it.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use octopus_api::{ApiKey, Client, Endpoint, RetryPolicy, SpaceRef};

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The stand-in's API key in these tests.
pub const KEY: &str = "API-CLIENTTESTS";

/// The repository's `fixtures/octopus`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/octopus")
}

/// A running stand-in, killed when dropped.
pub struct Standin {
    /// The process; dropping it stops the stand-in.
    _process: test_support::Standin,
    /// Its URL.
    pub url: String,
}

impl Standin {
    /// Starts one, optionally with a seed from `octopus-standin/seeds/`.
    pub fn start(seed: Option<&str>) -> Result<Self, Box<dyn std::error::Error>> {
        let process = test_support::Standin::start(seed, KEY)?;
        Ok(Standin {
            url: process.url.clone(),
            _process: process,
        })
    }

    /// Starts one behaving as the Octopus Server `profile` (`2020.5`, `2025`).
    pub fn start_profile(profile: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let process =
            test_support::Standin::start_with_args(None, KEY, None, &["--profile", profile])?;
        Ok(Standin {
            url: process.url.clone(),
            _process: process,
        })
    }

    /// An endpoint for it with fast retries.
    pub fn endpoint(&self, space: &str) -> Result<Endpoint, Box<dyn std::error::Error>> {
        let mut endpoint = Endpoint::new(&self.url, ApiKey::new(KEY), SpaceRef::parse(space))?;
        endpoint.retry = fast_retries(3);
        Ok(endpoint)
    }

    /// A client of its default space.
    pub fn client(&self) -> Result<Client, Box<dyn std::error::Error>> {
        Ok(Client::connect(self.endpoint("")?)?)
    }
}

/// Retries with millisecond pauses, so tests of the retry loop stay quick.
pub fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

/// One request read from a connection of a scripted test server: method, path and body (as
/// long as its `Content-Length` says). `None` when the connection breaks first.
pub fn read_request(stream: &TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    Some((method, path, body))
}
