//! The plumbing: a stand-in started on a loopback port (`test-support` builds it once with the
//! test's profile), and a client connected to it.

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
