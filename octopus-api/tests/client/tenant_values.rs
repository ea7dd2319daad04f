//! Tenant variables against a server older than 2024.1, which has no `projectvariables` or
//! `commonvariables` route (404) and only the combined `tenants/{id}/variables`: the client
//! falls back to it, reads per environment, and writes back the whole document with only the
//! changed values replaced and a stored sensitive value sent as read (which keeps it). The
//! stand-in serves both forms, so this older server is scripted here.

use std::io::Write as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use octopus_api::resources::{TenantValues, ValueChange, ValueState};
use octopus_api::{ApiKey, Client, Endpoint, SpaceRef};
use serde_json::{Value, json};

use crate::harness::{TestResult, read_request};

const ROOT: &str = r#"{"Application": "Octopus Deploy", "Version": "2023.2.0", "ApiVersion": "3.0.0", "Links": {}}"#;
const SPACES: &str = r#"[{"Id": "Spaces-1", "Name": "Default", "IsDefault": true}]"#;

/// (method, path, body) of every request other than `/api` and `/api/spaces/all`.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// An Octopus 2023 server: 404 for the 2024.1+ routes, the combined document for `variables`
/// (a PUT answers what it was sent).
fn older_server(combined: Value) -> Result<(String, Seen), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some((method, path, body)) = read_request(&stream) else {
                continue;
            };
            let body = String::from_utf8_lossy(&body).into_owned();
            let (status, text) = match (method.as_str(), path.as_str()) {
                (_, "/api") => (200, ROOT.to_owned()),
                (_, "/api/spaces/all") => (200, SPACES.to_owned()),
                ("GET", p) if p.ends_with("/variables") => (200, combined.to_string()),
                ("PUT", p) if p.ends_with("/variables") => (200, body.clone()),
                _ => (
                    404,
                    r#"{"ErrorMessage": "The resource you requested was not found.", "Errors": []}"#
                        .to_owned(),
                ),
            };
            if path != "/api" && path != "/api/spaces/all" {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((method, path, body));
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Ok((url, seen))
}

#[test]
fn an_older_server_is_read_and_written_through_the_combined_route() -> TestResult {
    let combined = json!({
        "TenantId": "Tenants-7", "TenantName": "Acquirer EU", "SpaceId": "Spaces-1",
        "ProjectVariables": {"Projects-3": {"ProjectId": "Projects-3", "Templates": [],
            "Variables": {"Environments-1": {"t-url": "https://old.example",
                                              "t-token": {"HasValue": true, "NewValue": null}}}}},
        "LibraryVariables": {"LibraryVariableSets-2": {"LibraryVariableSetId": "LibraryVariableSets-2",
            "Templates": [], "Variables": {"t-region": "eu-west"}}},
        "Links": {"Self": "/api/Spaces-1/tenants/Tenants-7/variables"}});
    let (url, seen) = older_server(combined)?;
    let client = Client::connect(Endpoint::new(
        &url,
        ApiKey::new("API-X"),
        SpaceRef::Default,
    )?)?;
    let values = TenantValues::read(&client, "Tenants-7")?;
    assert!(!values.current_routes());
    assert_eq!(values.values.len(), 3);
    assert_eq!(
        values.find(false, "Projects-3", "t-token", Some("Environments-1")),
        Some(&ValueState::Secret { has_value: true })
    );
    assert_eq!(
        values.find(true, "LibraryVariableSets-2", "t-region", None),
        Some(&ValueState::Plain("eu-west".into()))
    );
    assert_eq!(
        values.find(false, "Projects-3", "t-url", Some("Environments-2")),
        None
    );
    let change =
        |owner: &str, template: &str, env: Option<&str>, value: &str, secret| ValueChange {
            common: env.is_none(),
            owner: owner.into(),
            template: template.into(),
            environment: env.map(str::to_owned),
            value: value.into(),
            secret,
        };
    values.write(
        &client,
        &[
            change(
                "Projects-3",
                "t-url",
                Some("Environments-1"),
                "https://new.example",
                false,
            ),
            change(
                "Projects-3",
                "t-url",
                Some("Environments-2"),
                "https://dr.example",
                false,
            ),
            change("LibraryVariableSets-4", "t-key", None, "s3cret-NEW", true),
        ],
    )?;
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let routes: Vec<(&str, &str)> = seen
        .iter()
        .map(|(m, p, _)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("GET", "/api/Spaces-1/tenants/Tenants-7/projectvariables"),
            ("GET", "/api/Spaces-1/tenants/Tenants-7/variables"),
            ("PUT", "/api/Spaces-1/tenants/Tenants-7/variables"),
        ]
    );
    let sent: Value = serde_json::from_str(&seen[2].2)?;
    let project = &sent["ProjectVariables"]["Projects-3"]["Variables"];
    assert_eq!(project["Environments-1"]["t-url"], "https://new.example");
    assert_eq!(
        project["Environments-1"]["t-token"],
        json!({"HasValue": true, "NewValue": null}),
        "the stored secret is sent back as read"
    );
    assert_eq!(project["Environments-2"]["t-url"], "https://dr.example");
    assert_eq!(
        sent["LibraryVariables"]["LibraryVariableSets-2"]["Variables"]["t-region"],
        "eu-west"
    );
    assert_eq!(
        sent["LibraryVariables"]["LibraryVariableSets-4"]["Variables"]["t-key"],
        json!({"HasValue": true, "NewValue": "s3cret-NEW"})
    );
    assert_eq!(
        sent["TenantId"], "Tenants-7",
        "the rest of the document is kept"
    );
    // A sensitive value never shows in a change's Debug output.
    let shown = format!("{:?}", change("P", "t", None, "s3cret-NEW", true));
    assert!(
        !shown.contains("s3cret-NEW") && shown.contains("<redacted>"),
        "{shown}"
    );
    Ok(())
}
