//! Retries, against a scripted server that answers what the stand-in never does: 5xx answers,
//! refused connections, a server that is not Octopus. Only connection failures and 5xx answers
//! are tried again; a 4xx answer is final at once.

use std::io::Write as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use octopus_api::{ApiKey, Client, Endpoint, OctopusError, SpaceRef};
use serde_json::Value;

use crate::harness::{TestResult, fast_retries, read_request};

const ROOT: &str = r#"{"Application": "Octopus Deploy", "Version": "2020.5.0", "ApiVersion": "3.0.0", "Links": {}}"#;
const SPACES: &str = r#"[{"Id": "Spaces-1", "Name": "Default", "IsDefault": true}]"#;

/// A server on a loopback port: `/api` and `/api/spaces/all` answer as Octopus does; every other
/// request takes the next scripted answer (the last one repeats). Counts those requests.
struct Scripted {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl Scripted {
    fn start(
        root: &'static str,
        answers: Vec<(u16, &'static str)>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let answers = Arc::new(Mutex::new(answers));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((_, path, _)) = read_request(&stream) else {
                    continue;
                };
                let path = path.as_str();
                let (status, text) = match path {
                    "/api" => (200, root),
                    "/api/spaces/all" => (200, SPACES),
                    _ => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let mut script = answers
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if script.len() > 1 {
                            script.remove(0)
                        } else {
                            script.first().copied().unwrap_or((500, "{}"))
                        }
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Ok(Scripted { url, requests })
    }

    fn client(&self, attempts: u32) -> Result<Client, OctopusError> {
        let mut endpoint = Endpoint::new(&self.url, ApiKey::new("API-X"), SpaceRef::Default)?;
        endpoint.retry = fast_retries(attempts);
        Client::connect(endpoint)
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

#[test]
fn answers_5xx_are_tried_again_until_one_succeeds() -> TestResult {
    let server = Scripted::start(
        ROOT,
        vec![
            (503, "{}"),
            (502, "{}"),
            (200, r#"{"Id": "Environments-1", "Name": "Production"}"#),
        ],
    )?;
    let client = server.client(5)?;
    let env: Value = client.get("environments/Environments-1")?;
    assert_eq!(env["Name"], "Production");
    assert_eq!(server.count(), 3);
    Ok(())
}

#[test]
fn the_last_5xx_is_reported_with_octopus_error_body() -> TestResult {
    let server = Scripted::start(
        ROOT,
        vec![(
            500,
            r#"{"ErrorMessage": "The package Projects-2593 version 1.2204.41.10 was not found in the feed"}"#,
        )],
    )?;
    let client = server.client(3)?;
    let err = client
        .get::<Value>("packages/notes")
        .err()
        .ok_or("expected an error")?;
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        err.to_string(),
        "Octopus answered 500 to GET /api/Spaces-1/packages/notes: The package Projects-2593 version 1.2204.41.10 was not found in the feed"
    );
    assert_eq!(server.count(), 3, "three attempts in all");
    Ok(())
}

#[test]
fn answers_4xx_are_final_at_once() -> TestResult {
    let server = Scripted::start(
        ROOT,
        vec![(
            400,
            r#"{"ErrorMessage": "There was a problem with your request.", "Errors": ["The Name field is required."]}"#,
        )],
    )?;
    let client = server.client(5)?;
    let err = client
        .post::<_, Value>("environments", &serde_json::json!({}))
        .err()
        .ok_or("expected an error")?;
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .ends_with("There was a problem with your request.; The Name field is required."),
        "{err}"
    );
    assert_eq!(server.count(), 1);
    Ok(())
}

#[test]
fn a_refused_connection_is_tried_again_then_reported_with_a_hint() -> TestResult {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut endpoint = Endpoint::new(
        &format!("http://127.0.0.1:{port}"),
        ApiKey::new("API-X"),
        SpaceRef::Default,
    )?;
    endpoint.retry = fast_retries(3);
    let err = Client::connect(endpoint).err().ok_or("expected an error")?;
    let text = err.to_string();
    assert!(
        matches!(err, OctopusError::Unreachable { attempts: 3, .. }),
        "{text}"
    );
    assert!(
        text.contains("Hint: check --server / OCTOPUS_URL"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_server_that_is_not_octopus_is_named() -> TestResult {
    let server = Scripted::start(r#"{"Application": "Jenkins"}"#, vec![(200, "{}")])?;
    let err = server.client(1).err().ok_or("expected an error")?;
    assert!(matches!(err, OctopusError::NotOctopus { .. }), "{err}");
    assert!(
        err.to_string().contains("is not an Octopus Deploy server"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_page_next_link_off_the_api_is_refused() -> TestResult {
    let server = Scripted::start(
        ROOT,
        vec![(
            200,
            r#"{"Items": [], "TotalResults": 0, "Links": {"Page.Next": "http://elsewhere.example/api/x"}}"#,
        )],
    )?;
    let client = server.client(1)?;
    let err = client
        .get_all::<Value>("environments")
        .err()
        .ok_or("expected an error")?;
    assert!(err.to_string().contains("is not an /api path"), "{err}");
    Ok(())
}

#[test]
fn a_page_next_link_back_to_a_page_already_read_is_refused() -> TestResult {
    let server = Scripted::start(
        ROOT,
        vec![(
            200,
            r#"{"Items": [], "TotalResults": 0, "Links": {"Page.Next": "/api/Spaces-1/environments?skip=0&take=100"}}"#,
        )],
    )?;
    let client = server.client(1)?;
    let err = client
        .get_all::<Value>("environments")
        .err()
        .ok_or("expected an error")?;
    assert!(
        err.to_string()
            .contains("leads back to a page already read"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_ca_file_without_certificates_is_refused_before_any_request() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n")?;
    let mut endpoint = Endpoint::new(
        "https://octopus.invalid",
        ApiKey::new("API-X"),
        SpaceRef::Default,
    )?;
    endpoint.ca_file = Some(ca);
    let err = Client::connect(endpoint).err().ok_or("expected an error")?;
    assert!(matches!(err, OctopusError::BadCaFile { .. }), "{err}");
    Ok(())
}
