//! An Octopus Deploy-compatible server for Zonebridge's demo and tests.
//!
//! It serves the part of the Octopus REST API that Zonebridge uses, with Octopus's own
//! semantics, held to the Octopus Server Swagger spec and real payloads (see
//! `octopus-standin/README.md` for what it implements, what it leaves out, and where each
//! rule comes from). It shares no types with our Octopus client on purpose: if both shared a
//! wrong field name, no test would notice.
//!
//! ```text
//! TcpListener ──> axum ──> routes::api (key check, path split) ──> resources::* ──> Store
//!                                                                      │             │
//!                                       runner (background) <── wake ──┘        --data file
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod error;
pub mod fields;
pub mod kind;
pub mod params;
pub mod permissions;
pub mod profile;
pub mod resources;
pub mod routes;
pub mod runner;
pub mod seed;
pub mod shapes;
pub mod store;
pub mod tasklog;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use serde_json::json;

use app::App;
use kind::Kind;
use store::{BUILTIN_FEED, DEFAULT_SPACE, Doc, Store};

/// The router: everything under `/api` goes to one dispatcher.
pub fn router(app: Arc<App>) -> Router {
    let base = app.config.path_base.clone();
    let api = api_router(app);
    if base.is_empty() {
        api
    } else {
        // Served under a virtual directory, as Octopus behind a reverse proxy at `/octopus`:
        // nothing answers at the root.
        Router::new()
            .nest(&base, api)
            .fallback(|uri: axum::http::Uri| async move { error::ApiError::no_route(uri.path()) })
    }
}

fn api_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api", axum::routing::any(routes::api))
        .route("/api/", axum::routing::any(routes::api))
        .route("/api/{*rest}", axum::routing::any(routes::api))
        .fallback(|uri: axum::http::Uri| async move { error::ApiError::no_route(uri.path()) })
        // Bodies are bounded where they are read: JSON by `routes::MAX_JSON_BODY`, package
        // uploads (streamed to disk) by `resources::packages::MAX_PACKAGE_BYTES`. axum's own
        // 2 MB default would refuse every real package.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
}

/// Serves the API on `listener` and runs the task runner until `shutdown` completes, as
/// mini-redis's `server::run` takes its listener and shutdown signal.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(runner::run(app.clone(), {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }));
    let result = axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    runner.abort();
    result
}

/// What a fresh Octopus instance has: the default space, the built-in feed, the
/// "Default Project Group" and the "Default Lifecycle" (no phases: every environment).
pub fn fresh_store() -> Store {
    let mut store = Store::default();
    let space_id = store.next_id(Kind::Space);
    let mut space = Doc::new();
    for (k, v) in [
        ("Id", json!(space_id)),
        ("Name", json!("Default")),
        ("Description", json!(null)),
        ("IsDefault", json!(true)),
        ("TaskQueueStopped", json!(false)),
        (
            "SpaceManagersTeams",
            json!(["teams-administrators", "teams-managers"]),
        ),
        ("SpaceManagersTeamMembers", json!([])),
        ("LastModifiedOn", json!(store::now())),
        ("LastModifiedBy", json!(resources::MODIFIED_BY)),
        (
            "Links",
            json!({"Self": format!("/api/spaces/{space_id}"), "SpaceHome": format!("/api/{space_id}")}),
        ),
    ] {
        space.insert(k.into(), v);
    }
    store.insert(Kind::Space, space);
    let mut feed = Doc::new();
    feed.insert("Name".into(), json!("Octopus Server (built-in)"));
    feed.insert("FeedType".into(), json!("BuiltIn"));
    feed.insert(
        "PackageAcquisitionLocationOptions".into(),
        json!(["Server", "ExecutionTarget"]),
    );
    resources::stamp(
        &mut feed,
        Kind::Feed,
        BUILTIN_FEED,
        DEFAULT_SPACE,
        &resources::feeds::links(DEFAULT_SPACE, BUILTIN_FEED),
    );
    store.insert(Kind::Feed, feed);
    // The built-in teams, with the ids Octopus gives them on every instance (the default
    // space's `SpaceManagersTeams` names two of them).
    for (id, name, space) in [
        ("teams-administrators", "Octopus Administrators", None),
        ("teams-everyone", "Everyone", None),
        ("teams-managers", "Octopus Managers", None),
        (
            "teams-spacemanagers-Spaces-1",
            "Space Managers",
            Some(DEFAULT_SPACE),
        ),
    ] {
        let mut team = Doc::new();
        for (k, v) in [
            ("Id", json!(id)),
            ("Name", json!(name)),
            ("Description", json!(null)),
            ("MemberUserIds", json!(["Users-1"])),
            ("ExternalSecurityGroups", json!([])),
            ("CanBeDeleted", json!(false)),
            ("CanBeRenamed", json!(false)),
            ("CanChangeMembers", json!(true)),
            ("CanChangeRoles", json!(false)),
            ("SpaceId", json!(space)),
            ("LastModifiedOn", json!(store::now())),
            ("LastModifiedBy", json!(resources::MODIFIED_BY)),
            ("Links", json!({"Self": format!("/api/teams/{id}")})),
        ] {
            team.insert(k.into(), v);
        }
        store.insert(Kind::Team, team);
    }
    let _ = resources::simple::create(
        &mut store,
        Kind::ProjectGroup,
        DEFAULT_SPACE,
        &json!({"Name": "Default Project Group", "Description": "An auto-generated group for projects to live in."}),
    );
    let _ = resources::lifecycles::create(
        &mut store,
        DEFAULT_SPACE,
        &json!({"Name": "Default Lifecycle", "Description": "The default lifecycle: every environment, in any order."}),
    );
    store
}
