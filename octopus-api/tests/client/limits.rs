//! What a restricted or busy server answers: 403 named by its permission, 429 waited out as
//! `Retry-After` asks (seconds or an HTTP date) within the bound, and a server under a virtual
//! directory (`/octopus/api/...`) whose `Page.Next` links are followed.

use std::io::Write as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use octopus_api::{ApiKey, Client, Endpoint, OctopusError, RateLimitPolicy, SpaceRef};
use serde_json::{Value, json};

use crate::harness::{KEY, TestResult, fast_retries, read_request};

const ROOT: &str = r#"{"Application": "Octopus Deploy", "Version": "2024.1.0", "ApiVersion": "3.0.0", "Links": {}}"#;
const SPACES: &str = r#"[{"Id": "Spaces-1", "Name": "Default", "IsDefault": true}]"#;

/// One scripted answer: status, extra header lines, body.
type Answer = (u16, String, String);

/// A server whose `/api` and `/api/spaces/all` answer as Octopus does and whose other requests
/// take the next scripted answer (the last one repeats); counts those requests.
struct Scripted {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl Scripted {
    fn start(answers: Vec<Answer>) -> Result<Self, Box<dyn std::error::Error>> {
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
                // The same answers under the virtual directory `/octopus`.
                let path = path.strip_prefix("/octopus").unwrap_or(path);
                let (status, headers, text) = match path {
                    "/api" => (200, String::new(), ROOT.to_owned()),
                    "/api/spaces/all" => (200, String::new(), SPACES.to_owned()),
                    _ => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let mut script = answers
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if script.len() > 1 {
                            script.remove(0)
                        } else {
                            script
                                .first()
                                .cloned()
                                .unwrap_or((500, String::new(), "{}".to_owned()))
                        }
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Ok(Scripted { url, requests })
    }

    fn client(&self, limits: RateLimitPolicy) -> Result<Client, OctopusError> {
        self.client_at("", limits)
    }

    /// A client of the server as if it were at `base` (`/octopus`).
    fn client_at(&self, base: &str, limits: RateLimitPolicy) -> Result<Client, OctopusError> {
        let url = format!("{}{base}", self.url);
        let mut endpoint = Endpoint::new(&url, ApiKey::new("API-X"), SpaceRef::Default)?;
        endpoint.retry = fast_retries(3);
        endpoint.rate_limit = limits;
        Client::connect(endpoint)
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn limited(retry_after: &str) -> Answer {
    (
        429,
        format!("Retry-After: {retry_after}\r\n"),
        r#"{"ErrorMessage": "Too many requests"}"#.to_owned(),
    )
}

fn ok(body: &str) -> Answer {
    (200, String::new(), body.to_owned())
}

const QUICK: RateLimitPolicy = RateLimitPolicy {
    max_retries: 3,
    max_total_wait: Duration::from_secs(5),
    default_wait: Duration::from_millis(50),
};

#[test]
fn a_429_with_retry_after_seconds_is_waited_out_and_sent_again() -> TestResult {
    let server = Scripted::start(vec![limited("1"), ok(r#"{"Id": "Environments-1"}"#)])?;
    let client = server.client(QUICK)?;
    let start = Instant::now();
    let env: Value = client.get("environments/Environments-1")?;
    assert_eq!(env["Id"], "Environments-1");
    assert_eq!(server.count(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "it waited as asked"
    );
    Ok(())
}

#[test]
fn a_429_with_retry_after_as_an_http_date_is_waited_out() -> TestResult {
    let at = httpdate_in(Duration::from_secs(1));
    let server = Scripted::start(vec![
        limited(&at),
        limited("Thu, 01 Jan 1970 00:00:00 GMT"),
        ok("[]"),
    ])?;
    let client = server.client(QUICK)?;
    let all: Vec<Value> = client.get("environments/all")?;
    assert!(all.is_empty());
    assert_eq!(server.count(), 3, "two 429s, then the answer");
    Ok(())
}

#[test]
fn a_429_on_a_write_is_sent_again_since_it_was_not_processed() -> TestResult {
    let server = Scripted::start(vec![
        (429, String::new(), "{}".to_owned()),
        (201, String::new(), r#"{"Id": "Deployments-1"}"#.to_owned()),
    ])?;
    let client = server.client(QUICK)?;
    let created: Value = client.post_once("deployments", &json!({}))?;
    assert_eq!(created["Id"], "Deployments-1");
    assert_eq!(server.count(), 2);
    Ok(())
}

#[test]
fn answers_429_beyond_the_retry_bound_are_refused_naming_it() -> TestResult {
    let server = Scripted::start(vec![limited("0")])?;
    let client = server.client(QUICK)?;
    let err = client
        .get::<Value>("projects/all")
        .err()
        .ok_or("expected an error")?;
    assert!(matches!(err, OctopusError::RateLimited { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "Octopus is rate limiting this API key: it answered 429 (Too Many Requests) to GET /api/Spaces-1/projects/all and still 429 after 3 retries (0 s waited in all; the bound is 3 retries). Hint: run the command again later, or raise the key's rate limit on the server"
    );
    assert_eq!(server.count(), 4, "the request and three retries");
    Ok(())
}

#[test]
fn a_retry_after_beyond_the_wait_bound_is_refused_at_once() -> TestResult {
    let server = Scripted::start(vec![limited("3600")])?;
    let client = server.client(QUICK)?;
    let start = Instant::now();
    let err = client
        .get::<Value>("projects/all")
        .err()
        .ok_or("expected an error")?;
    assert!(
        err.to_string().contains(
            "it asked to wait 3600 s (Retry-After), more than the 5 s left of the 5 s bound"
        ),
        "{err}"
    );
    assert_eq!(server.count(), 1);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "it did not sleep towards a certain failure"
    );
    // A date an hour ahead is the same.
    let server = Scripted::start(vec![limited(&httpdate_in(Duration::from_secs(3600)))])?;
    let err = server
        .client(QUICK)?
        .get::<Value>("x")
        .err()
        .ok_or("expected an error")?;
    assert!(err.to_string().contains("more than the 5 s left"), "{err}");
    Ok(())
}

#[test]
fn a_429_without_retry_after_waits_the_default() -> TestResult {
    let server = Scripted::start(vec![
        (429, String::new(), "{}".to_owned()),
        (429, "Retry-After: soon\r\n".to_owned(), "{}".to_owned()),
        ok("{}"),
    ])?;
    let _: Value = server.client(QUICK)?.get("x")?;
    assert_eq!(server.count(), 3);
    Ok(())
}

#[test]
fn a_403_is_permission_denied_naming_the_permission() -> TestResult {
    let body = r#"{"ErrorMessage": "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: ReleaseCreate", "HelpText": "x"}"#;
    let server = Scripted::start(vec![(403, String::new(), body.to_owned())])?;
    let err = server
        .client(QUICK)?
        .post::<_, Value>("releases", &json!({}))
        .err()
        .ok_or("expected an error")?;
    assert_eq!(err.missing_permission(), Some("ReleaseCreate"));
    assert_eq!(err.status(), Some(403));
    assert!(
        err.to_string().starts_with("the API key may not POST /api/Spaces-1/releases: Octopus answered 403 (You do not have permission"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("Hint: grant the key's role the ReleaseCreate permission"),
        "{err}"
    );
    assert_eq!(server.count(), 1, "a 403 is final at once");
    // A body that names no permission, or smuggles text after it, names nothing it should not.
    for (text, want) in [
        (r#"{"ErrorMessage": "Forbidden"}"#, None),
        (
            r#"{"ErrorMessage": "Missing permission: Hint: run rm"}"#,
            Some("Hint"),
        ),
        ("not json", None),
    ] {
        let server = Scripted::start(vec![(403, String::new(), text.to_owned())])?;
        let err = server
            .client(QUICK)?
            .get::<Value>("x")
            .err()
            .ok_or("expected an error")?;
        assert!(
            matches!(&err, OctopusError::PermissionDenied { permission, .. } if permission.as_deref() == want),
            "{err}"
        );
    }
    Ok(())
}

#[test]
fn paging_is_followed_on_a_server_under_a_virtual_directory() -> TestResult {
    let standin =
        test_support::Standin::start_with_args(None, KEY, None, &["--path-base", "/octopus"])?;
    let endpoint = Endpoint::new(
        &format!("{}/octopus", standin.url),
        ApiKey::new(KEY),
        SpaceRef::Default,
    )?;
    let client = Client::connect(endpoint)?;
    for i in 0..(octopus_api::PAGE_SIZE + 5) {
        let _: Value = client.post("environments", &json!({"Name": format!("Env {i:03}")}))?;
    }
    let all: Vec<Value> = client.get_all("environments")?;
    assert_eq!(
        all.len(),
        octopus_api::PAGE_SIZE + 5,
        "both pages were read"
    );
    // The same server without the directory in the URL is not Octopus at all.
    let wrong = Endpoint::new(&standin.url, ApiKey::new(KEY), SpaceRef::Default)?;
    assert!(Client::connect(wrong).is_err());
    Ok(())
}

#[test]
fn page_links_with_or_without_the_virtual_directory_are_followed_and_others_refused() -> TestResult
{
    // A server at /octopus whose links omit the directory (before OctopusDeploy/Issues #65).
    let page = |next: &str| {
        ok(&format!(
            r#"{{"Items": [{{"Id": "A"}}], "TotalResults": 2, "Links": {{"Page.Next": "{next}"}}}}"#
        ))
    };
    let last = ok(r#"{"Items": [{"Id": "B"}], "TotalResults": 2, "Links": {}}"#);
    // The client is told the directory; the links come in both forms.
    for next in [
        "/api/Spaces-1/x?skip=1&take=100",
        "/octopus/api/Spaces-1/x?skip=1&take=100",
    ] {
        let server = Scripted::start(vec![page(next), last.clone()])?;
        let client = server.client_at("/octopus", QUICK)?;
        let items: Vec<Value> = client.get_all("x")?;
        assert_eq!(items.len(), 2, "{next}");
    }
    for bad in [
        "/other/api/Spaces-1/x?skip=1",
        "http://elsewhere/api/x",
        "/octopusx/api/x",
    ] {
        let server = Scripted::start(vec![page(bad), last.clone()])?;
        let err = server
            .client_at("/octopus", QUICK)?
            .get_all::<Value>("x")
            .err()
            .ok_or("expected an error")?;
        assert!(
            err.to_string().contains("is not an /api path"),
            "{bad}: {err}"
        );
    }
    Ok(())
}

/// An HTTP date `after` from now.
fn httpdate_in(after: Duration) -> String {
    let at = SystemTime::now() + after;
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // IMF-fixdate by hand, so the test does not share the client's date parser.
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (y, mo, d) = civil(days as i64);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{m:02}:{s:02} GMT")
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[test]
fn package_transfers_wait_out_429_too() -> TestResult {
    let server = Scripted::start(vec![limited("0"), ok("PK-bytes")])?;
    let client = server.client(QUICK)?;
    let mut sink = Vec::new();
    let copied = client.download("packages/packages-A.1.0.0/raw", &mut sink)?;
    assert_eq!((copied, sink.as_slice()), (8, b"PK-bytes".as_slice()));
    assert_eq!(server.count(), 2);
    let server = Scripted::start(vec![limited("3600")])?;
    let err = server
        .client(QUICK)?
        .download("packages/packages-A.1.0.0/raw", &mut Vec::new())
        .err()
        .ok_or("expected an error")?;
    assert!(matches!(err, OctopusError::RateLimited { .. }), "{err}");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("A.1.0.0.zip");
    std::fs::write(&file, b"PK")?;
    let server = Scripted::start(vec![
        limited("0"),
        (
            201,
            String::new(),
            r#"{"Id": "packages-A.1.0.0"}"#.to_owned(),
        ),
    ])?;
    let (status, body): (u16, Value) = server.client(QUICK)?.upload_package(
        &file,
        "A.1.0.0.zip",
        octopus_api::OverwriteMode::FailIfExists,
    )?;
    assert_eq!(
        (status, body["Id"].as_str()),
        (201, Some("packages-A.1.0.0"))
    );
    assert_eq!(server.count(), 2, "the upload was sent again after the 429");
    Ok(())
}
