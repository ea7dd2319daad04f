//! Octopus stand-ins for the end-to-end tests: the real `octopus-standin` binary on a loopback
//! port, seeded with a zone of `octopus-standin/seeds/`, and a small JSON client for checks.

use std::process::Command;

use serde_json::Value;

/// The Octopus Server versions the stand-in behaves as (`--profile`): 2020.5, the version of
/// the Swagger spec in `fixtures/`, and 2025, a current server (the default). The key
/// promotion, deploy and results tests run against each (docs/operator-guide.md, "Supported
/// Octopus Server versions").
pub const PROFILES: [&str; 2] = ["2020.5", "2025"];

/// A running stand-in (killed when dropped) with a small JSON client for checks.
#[derive(Debug)]
pub struct Standin {
    /// The process; dropping it stops the stand-in.
    _process: test_support::Standin,
    /// Its URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its API key.
    pub key: String,
    /// Whether it behaves as a current server (not `--profile 2020.5`): the checks below read
    /// what only a current server serves (the 2024.1+ tenant variable forms) only then.
    pub current: bool,
}

impl Standin {
    /// Starts one seeded with `seed` (`dev.json`, `secure.json`) under `key`.
    pub fn start(seed: &str, key: &str) -> Self {
        Self::start_with_data(seed, key, None)
    }

    /// The same, behaving as the Octopus Server `profile` (one of [`PROFILES`]).
    pub fn start_profile(seed: &str, key: &str, profile: &str) -> Self {
        Self::start_with_args(seed, key, None, &["--profile", profile])
    }

    /// The same, keeping its state (stored secrets included) in the JSON file `data`.
    pub fn start_with_data(seed: &str, key: &str, data: Option<&std::path::Path>) -> Self {
        Self::start_with_args(seed, key, data, &[])
    }

    /// The same, with more arguments (`--role-key`, `--server-version`).
    pub fn start_with_args(
        seed: &str,
        key: &str,
        data: Option<&std::path::Path>,
        extra: &[&str],
    ) -> Self {
        let inner = test_support::Standin::start_with_args(Some(seed), key, data, extra)
            .unwrap_or_else(|e| panic!("cannot start the {seed} stand-in: {e}"));
        // `--profile` wins over the environment variable, as in the stand-in's command line.
        let profile = extra
            .windows(2)
            .find_map(|pair| match pair {
                [flag, value] if *flag == "--profile" => Some((*value).to_owned()),
                _ => None,
            })
            .or_else(|| std::env::var("OCTOPUS_STANDIN_PROFILE").ok());
        Standin {
            url: inner.url.clone(),
            key: inner.key.clone(),
            current: profile.as_deref() != Some("2020.5"),
            _process: inner,
        }
    }

    /// The same stand-in addressed under `base` (started with `--path-base base`): its URL,
    /// given to the commands as `--server`, and the paths the checks below request carry it.
    pub fn under(mut self, base: &str) -> Self {
        self.url = format!("{}{base}", self.url);
        self
    }

    /// `GET` a path (`/api/Spaces-1/...`) as JSON.
    pub fn get(&self, path: &str) -> Value {
        self.call("GET", path, None)
    }

    /// `POST` JSON to a path; the answer's JSON.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        self.call("POST", path, Some(body))
    }

    /// `PUT` JSON to a path; the answer's JSON.
    pub fn put(&self, path: &str, body: &Value) -> Value {
        self.call("PUT", path, Some(body))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let mut curl = Command::new("curl");
        curl.args([
            "-sS",
            "-X",
            method,
            "-H",
            &format!("X-Octopus-ApiKey: {}", self.key),
        ]);
        if let Some(body) = body {
            curl.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &body.to_string(),
            ]);
        }
        let output = curl
            .arg(format!("{}{path}", self.url))
            .output()
            .unwrap_or_else(|e| panic!("cannot run curl: {e}"));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

/// Every sensitive value a seed stores: none may ever appear in a bundle or a ledger.
pub fn seed_secrets(seed: &str) -> Vec<String> {
    let path = test_support::seed(seed);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let seed: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut secrets = Vec::new();
    collect_secrets(&seed, &mut secrets);
    secrets.sort();
    secrets.dedup();
    secrets
}

fn collect_secrets(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let sensitive = map.get("IsSensitive") == Some(&Value::Bool(true))
                || map.get("Type").and_then(Value::as_str) == Some("Sensitive");
            if let (true, Some(Value::String(v))) = (sensitive, map.get("Value"))
                && v.len() >= 6
            {
                out.push(v.clone());
            }
            if let (Some(Value::Bool(true)), Some(Value::String(v))) =
                (map.get("HasValue"), map.get("NewValue"))
            {
                out.push(v.clone());
            }
            map.values().for_each(|v| collect_secrets(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, out)),
        _ => {}
    }
}
