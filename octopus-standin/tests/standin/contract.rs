//! Contract tests: the stand-in's responses against Octopus Server's Swagger spec and real
//! payloads (`fixtures/octopus`).
//!
//! Each test starts its own stand-in and builds its scenario with the harness (no seed): three
//! environments, a lifecycle with phases, a project group, a library variable set with a
//! sensitive variable, a project whose process has a Bash script step (with a sensitive action
//! property), an `Octopus.TentaclePackage` step and an `Octopus.Manual` step, project variables
//! scoped to environments (one sensitive), an uploaded package, a release, and a deployment
//! whose manual step is answered "Proceed" so that its task completes.
//!
//! Then every resource is read in every form the stand-in serves (paged list, `/all`, single,
//! sub-collections, with and without `/Spaces-1`) and every body, together with the 201 and 200
//! bodies of the writes along the way, is validated strictly against its Swagger definition by
//! `swagger::Spec`. Error bodies must be Octopus's `{"ErrorMessage", "Errors"}`. The rest checks
//! behaviour the payload fixtures show: the paging envelope, task states and ids, snapshot ids,
//! and how sensitive values read back. No response may show a secret.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{KEY, Standin, TestResult, expect, id};
use crate::swagger::{Spec, error_schema, fixture, is_date_time};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// How long a deployment may take to reach its manual step, or to finish.
const LIMIT: Duration = Duration::from_secs(60);

/// The secrets the scenario stores; no response may contain them.
const SECRETS: [&str; 3] = ["s3cret", "pa55word-xyz", "t0ken-xyz"];

/// The space every route is scoped to, and the two forms of route prefix Octopus serves.
const SPACE: &str = "/api/Spaces-1";
const PREFIXES: [&str; 2] = ["/api/Spaces-1", "/api"];

/// Validates responses and collects every problem, so that one run shows them all.
struct Checker {
    spec: &'static Spec,
    problems: Vec<String>,
    checked: usize,
}

impl Checker {
    fn new() -> Res<Self> {
        Ok(Checker {
            spec: Spec::load()?,
            problems: Vec::new(),
            checked: 0,
        })
    }

    fn record(&mut self, what: &str, definition: &str, body: &Value, problems: Vec<String>) {
        self.checked += 1;
        for problem in problems {
            self.problems
                .push(format!("{what} as {definition}: {problem}"));
        }
        let text = body.to_string();
        for secret in SECRETS {
            if text.contains(secret) {
                self.problems
                    .push(format!("{what}: the body shows the secret {secret:?}"));
            }
        }
    }

    /// Validates `body` as `definition`.
    fn check(&mut self, what: &str, definition: &str, body: &Value) {
        let problems = self.spec.validate(definition, body);
        self.record(what, definition, body, problems);
    }

    /// `GET path`, which must answer 200 with a `definition`.
    fn one(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
        let body = s.ok(path)?;
        self.check(&format!("GET {path}"), definition, &body);
        Ok(body)
    }

    /// `GET path`, a paged `ResourceCollection_of_<definition>` with at least one item.
    fn page(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
        let body = s.ok(path)?;
        let collection = format!("ResourceCollection_of_{definition}");
        self.check(&format!("GET {path}"), &collection, &body);
        if body["Items"].as_array().is_none_or(Vec::is_empty) {
            self.problems
                .push(format!("GET {path}: no items, so none were checked"));
        }
        Ok(body)
    }

    /// `GET path`, a bare array of `definition` with at least one item.
    fn all(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
        let body = s.ok(path)?;
        let problems = self.spec.validate_array(definition, &body);
        self.record(
            &format!("GET {path}"),
            &format!("[{definition}]"),
            &body,
            problems,
        );
        if body.as_array().is_none_or(Vec::is_empty) {
            self.problems
                .push(format!("GET {path}: no items, so none were checked"));
        }
        Ok(body)
    }

    /// `POST path`, which must answer 201 with a `definition`.
    fn created(&mut self, s: &Standin, path: &str, body: &Value, definition: &str) -> Res<Value> {
        let created = s.create(path, body)?;
        self.check(&format!("POST {path} (201)"), definition, &created);
        Ok(created)
    }

    /// Reads `path`, sets `field` to `value` and `PUT`s it back, which must answer 200 with a
    /// `definition`.
    fn replace(
        &mut self,
        s: &Standin,
        path: &str,
        field: &str,
        value: Value,
        definition: &str,
    ) -> Res<Value> {
        let mut doc = self.one(s, path, definition)?;
        doc.as_object_mut()
            .ok_or_else(|| format!("GET {path} is not an object"))?
            .insert(field.to_owned(), value);
        let updated = expect(s.put(path, &doc)?, 200)?;
        self.check(&format!("PUT {path} (200)"), definition, &updated);
        Ok(updated)
    }

    /// Fails the test with every problem found, if there is one.
    fn finish(&self, at_least: usize) {
        assert!(
            self.problems.is_empty(),
            "{} problem(s) in {} checked responses:\n  {}",
            self.problems.len(),
            self.checked,
            self.problems.join("\n  ")
        );
        assert!(
            self.checked >= at_least,
            "only {} responses were checked (expected {at_least} or more)",
            self.checked
        );
    }
}

/// What the scenario made, by id, and the bodies later checks compare.
struct Scenario {
    environments: [String; 3],
    lifecycle: String,
    group: String,
    library: String,
    project: String,
    channel: String,
    release: Value,
    deployment: Value,
    task: String,
    /// The task while the manual step waited.
    waiting_task: Value,
    interruption: String,
}

/// The process: a Bash script with a sensitive property, a package step, a manual step.
fn steps() -> Value {
    json!([
        {
            "Name": "Say hello",
            "Actions": [{
                "Name": "Say hello",
                "ActionType": "Octopus.Script",
                "Properties": {
                    "Octopus.Action.RunOnServer": "true",
                    "Octopus.Action.Script.ScriptSource": "Inline",
                    "Octopus.Action.Script.Syntax": "Bash",
                    "Octopus.Action.Script.ScriptBody": "echo \"#{Greeting} from #{Octopus.Environment.Name}\"",
                    "Zonebridge.ApiToken": {"HasValue": true, "NewValue": "s3cret"}
                }
            }]
        },
        {
            "Name": "Deploy web",
            "Properties": {"Octopus.Action.TargetRoles": "web"},
            "Actions": [{
                "Name": "Deploy web",
                "ActionType": "Octopus.TentaclePackage",
                "Packages": [{"Name": "", "PackageId": "Acme.Web", "FeedId": "feeds-builtin"}],
                "Properties": {
                    "Octopus.Action.Package.PackageId": "Acme.Web",
                    "Octopus.Action.Package.FeedId": "feeds-builtin",
                    "Octopus.Action.Package.DownloadOnTentacle": "False"
                }
            }]
        },
        {
            "Name": "Approve",
            "Actions": [{
                "Name": "Approve",
                "ActionType": "Octopus.Manual",
                "Properties": {
                    "Octopus.Action.Manual.Instructions": "Check the site, then proceed.",
                    "Octopus.Action.Manual.BlockConcurrentDeployments": "False"
                }
            }]
        }
    ])
}

/// Builds the scenario, validating every write's response on the way.
fn build(s: &Standin, c: &mut Checker) -> Res<Scenario> {
    let mut environments = Vec::new();
    for name in ["Development", "Test", "Production"] {
        let env = c.created(
            s,
            &format!("{SPACE}/environments"),
            &json!({"Name": name, "Description": format!("The {name} environment.")}),
            "EnvironmentResource",
        )?;
        environments.push(id(&env)?);
    }
    let [dev, test, prod]: [String; 3] =
        environments.try_into().map_err(|_| "three environments")?;
    c.replace(
        s,
        &format!("{SPACE}/environments/{prod}"),
        "UseGuidedFailure",
        json!(true),
        "EnvironmentResource",
    )?;

    let phase = |name: &str, automatic: &[&str], optional: &[&str]| {
        json!({"Name": name, "AutomaticDeploymentTargets": automatic,
               "OptionalDeploymentTargets": optional,
               "MinimumEnvironmentsBeforePromotion": 0, "IsOptionalPhase": false})
    };
    let lifecycle = id(&c.created(
        s,
        &format!("{SPACE}/lifecycles"),
        &json!({"Name": "Dev to Prod", "Phases": [
            phase("Development", &[&dev], &[]),
            phase("Testing", &[], &[&test]),
            phase("Production", &[], &[&prod]),
        ]}),
        "LifecycleResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/lifecycles/{lifecycle}"),
        "Description",
        json!("Development, then Test, then Production."),
        "LifecycleResource",
    )?;

    let group = id(&c.created(
        s,
        &format!("{SPACE}/projectgroups"),
        &json!({"Name": "Zonebridge", "Description": "Zonebridge's projects."}),
        "ProjectGroupResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/projectgroups/{group}"),
        "Description",
        json!("Everything Zonebridge deploys."),
        "ProjectGroupResource",
    )?;

    let library = id(&c.created(
        s,
        &format!("{SPACE}/libraryvariablesets"),
        &json!({"Name": "Shared settings"}),
        "LibraryVariableSetResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/libraryvariablesets/{library}"),
        "Description",
        json!("Settings every project uses."),
        "LibraryVariableSetResource",
    )?;
    c.replace(
        s,
        &format!("{SPACE}/variables/variableset-{library}"),
        "Variables",
        json!([
            {"Name": "Shared.Url", "Value": "https://example.invalid/"},
            {"Name": "Shared.Token", "Value": "t0ken-xyz", "Type": "Sensitive", "IsSensitive": true}
        ]),
        "VariableSetResource",
    )?;

    let project = id(&c.created(
        s,
        &format!("{SPACE}/projects"),
        &json!({"Name": "Payments", "ProjectGroupId": group, "LifecycleId": lifecycle,
                "IncludedLibraryVariableSetIds": [library]}),
        "ProjectResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/projects/{project}"),
        "Description",
        json!("Takes payments."),
        "ProjectResource",
    )?;
    let channel = id(&c.created(
        s,
        &format!("{SPACE}/channels"),
        &json!({"Name": "Hotfix", "ProjectId": project, "LifecycleId": lifecycle}),
        "ChannelResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/channels/{channel}"),
        "Description",
        json!("Urgent fixes."),
        "ChannelResource",
    )?;
    c.replace(
        s,
        &format!("{SPACE}/deploymentprocesses/deploymentprocess-{project}"),
        "Steps",
        steps(),
        "DeploymentProcessResource",
    )?;
    c.replace(
        s,
        &format!("{SPACE}/variables/variableset-{project}"),
        "Variables",
        json!([
            {"Name": "Greeting", "Value": "Hello"},
            {"Name": "Greeting", "Value": "Good day", "Scope": {"Environment": [prod]}},
            {"Name": "Db.Password", "Value": "pa55word-xyz", "Type": "Sensitive",
             "IsSensitive": true, "Scope": {"Environment": [dev, test]}}
        ]),
        "VariableSetResource",
    )?;

    // The package is checked by `built_in_feed_packages_match_their_definitions`.
    let upload = s.upload("Acme.Web.1.0.0.zip", b"PK\x03\x04 Acme.Web 1.0.0", "")?;
    expect(upload, 201)?;

    let package =
        json!({"ActionName": "Deploy web", "PackageReferenceName": "", "Version": "1.0.0"});
    let release = c.created(
        s,
        &format!("{SPACE}/releases"),
        &json!({"ProjectId": project, "Version": "1.0.0", "SelectedPackages": [package]}),
        "ReleaseResource",
    )?;
    let release_id = id(&release)?;
    let release = c.replace(
        s,
        &format!("{SPACE}/releases/{release_id}"),
        "ReleaseNotes",
        json!("The first release."),
        "ReleaseResource",
    )?;

    let deployment = c.created(
        s,
        &format!("{SPACE}/deployments"),
        &json!({"ReleaseId": release_id, "EnvironmentId": dev, "Comments": "Contract test."}),
        "DeploymentResource",
    )?;
    let task = deployment["TaskId"]
        .as_str()
        .ok_or_else(|| format!("no TaskId in {deployment}"))?
        .to_owned();

    let pending = wait_for_interruption(s, &task)?;
    let interruption = id(&pending)?;
    c.check("a pending interruption", "InterruptionResource", &pending);
    let waiting_task = c.one(s, &format!("/api/tasks/{task}"), "TaskResource")?;
    let responsible = format!("{SPACE}/interruptions/{interruption}/responsible");
    let user = expect(s.put(&responsible, &json!({}))?, 200)?;
    c.check(&format!("PUT {responsible} (200)"), "UserResource", &user);
    let submit = format!("{SPACE}/interruptions/{interruption}/submit");
    let answered = expect(
        s.post(
            &submit,
            &json!({"Result": "Proceed", "Notes": "Looks good."}),
        )?,
        200,
    )?;
    c.check(
        &format!("POST {submit} (200)"),
        "InterruptionResource",
        &answered,
    );

    let done = s.wait_for_task(&task, LIMIT)?;
    if done["State"] != json!("Success") {
        return Err(format!("the deployment failed: {done}\n{}", s.raw_log(&task)?).into());
    }
    Ok(Scenario {
        environments: [dev, test, prod],
        lifecycle,
        group,
        library,
        project,
        channel,
        release,
        deployment,
        task,
        waiting_task,
        interruption,
    })
}

/// Polls until the task raises its manual intervention; returns the interruption.
fn wait_for_interruption(s: &Standin, task: &str) -> Res<Value> {
    let start = Instant::now();
    loop {
        let page = s.ok(&format!(
            "{SPACE}/interruptions?regarding={task}&pendingOnly=true"
        ))?;
        if let Some(first) = page["Items"].get(0) {
            return Ok(first.clone());
        }
        if s.ok(&format!("/api/tasks/{task}"))?["IsCompleted"] == json!(true) {
            return Err(format!(
                "task {task} ended without an interruption:\n{}",
                s.raw_log(task)?
            )
            .into());
        }
        if start.elapsed() > LIMIT {
            return Err(format!("task {task} raised no interruption in {LIMIT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The text of a field, or an error naming it.
fn text<'a>(doc: &'a Value, field: &str) -> Res<&'a str> {
    doc[field]
        .as_str()
        .ok_or_else(|| format!("no {field} in {doc}").into())
}

/// The keys of an object, sorted.
fn keys(doc: &Value) -> Vec<String> {
    let mut keys: Vec<String> = doc
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// The keys of `fixture` (less `except`) that `doc` lacks.
fn missing_keys(doc: &Value, fixture: &Value, except: &[&str]) -> Vec<String> {
    let have = keys(doc);
    keys(fixture)
        .into_iter()
        .filter(|k| !have.contains(k) && !except.contains(&k.as_str()))
        .collect()
}

/// `<prefix>-<digits>`, as `ServerTasks-554469`.
fn is_numbered(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|n| n.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The version in a snapshot id `<live id>-s-<version>-<5 of A-Z, 0-9>`, as
/// `deploymentprocess-Projects-501-s-4-XXGLW` (fixtures `deployment.json`, `release.json`).
fn snapshot_version(snapshot: &str, live: &str) -> Option<i64> {
    let rest = snapshot.strip_prefix(live)?.strip_prefix("-s-")?;
    let (version, suffix) = rest.split_once('-')?;
    let suffix_ok = suffix.len() == 5
        && suffix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !suffix_ok || version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    version.parse().ok()
}

/// The variable of a set with this name and (for repeated names) this scope.
fn variable<'a>(set: &'a Value, name: &str, scope: &Value) -> Res<&'a Value> {
    set["Variables"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["Name"] == json!(name) && &v["Scope"] == scope)
        .ok_or_else(|| format!("no variable {name} scoped {scope} in {set}").into())
}

#[test]
fn contract_every_resource_matches_its_spec_definition() -> TestResult {
    let s = Standin::start()?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let release = id(&sc.release)?;
    let deployment = id(&sc.deployment)?;
    let (project, task) = (&sc.project, &sc.task);
    let process_snapshot = text(&sc.release, "ProjectDeploymentProcessSnapshotId")?;
    let variables_snapshot = text(&sc.release, "ProjectVariableSetSnapshotId")?;
    let library_snapshot = sc.release["LibraryVariableSetSnapshotIds"][0]
        .as_str()
        .ok_or("no library variable set snapshot")?;
    let channels = s.ok(&format!("{SPACE}/projects/{project}/channels"))?;
    let default_channel = channels["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ch| ch["IsDefault"] == json!(true))
        .map(id)
        .ok_or("no default channel")??;

    c.one(&s, "/api", "RootResource")?;
    c.page(&s, "/api/spaces", "SpaceResource")?;
    c.all(&s, "/api/spaces/all", "SpaceResource")?;
    c.one(&s, "/api/spaces/Spaces-1", "SpaceResource")?;
    c.one(&s, "/api/Spaces-1", "SpaceRootResource")?;

    let live_process = format!("deploymentprocess-{project}");
    let [dev, test, prod] = sc.environments.each_ref().map(String::as_str);
    let kinds: [(&str, &str, Vec<&str>); 13] = [
        ("environments", "EnvironmentResource", vec![dev, test, prod]),
        (
            "teams",
            "TeamResource",
            vec!["teams-managers", "teams-spacemanagers-Spaces-1"],
        ),
        (
            "lifecycles",
            "LifecycleResource",
            vec![sc.lifecycle.as_str(), "Lifecycles-1"],
        ),
        (
            "projectgroups",
            "ProjectGroupResource",
            vec![sc.group.as_str(), "ProjectGroups-1"],
        ),
        (
            "channels",
            "ChannelResource",
            vec![default_channel.as_str(), sc.channel.as_str()],
        ),
        ("feeds", "FeedResource", vec!["feeds-builtin"]),
        (
            "libraryvariablesets",
            "LibraryVariableSetResource",
            vec![sc.library.as_str()],
        ),
        // A project answers to its slug too.
        (
            "projects",
            "ProjectResource",
            vec![project.as_str(), "payments"],
        ),
        (
            "deploymentprocesses",
            "DeploymentProcessResource",
            vec![live_process.as_str(), process_snapshot],
        ),
        ("releases", "ReleaseResource", vec![release.as_str()]),
        (
            "deployments",
            "DeploymentResource",
            vec![deployment.as_str()],
        ),
        ("tasks", "TaskResource", vec![task.as_str()]),
        (
            "interruptions",
            "InterruptionResource",
            vec![sc.interruption.as_str()],
        ),
    ];
    for prefix in PREFIXES {
        for (segment, definition, ids) in &kinds {
            c.page(&s, &format!("{prefix}/{segment}"), definition)?;
            // The spec lists `/all` for some kinds only; the stand-in serves it for every kind.
            c.all(&s, &format!("{prefix}/{segment}/all"), definition)?;
            for one in ids {
                c.one(&s, &format!("{prefix}/{segment}/{one}"), definition)?;
            }
        }
        for set in [
            format!("variableset-{project}"),
            format!("variableset-{}", sc.library),
            variables_snapshot.to_owned(),
            library_snapshot.to_owned(),
        ] {
            c.one(
                &s,
                &format!("{prefix}/variables/{set}"),
                "VariableSetResource",
            )?;
        }
        c.all(
            &s,
            &format!("{prefix}/variables/all"),
            "VariableSetResource",
        )?;
        c.one(
            &s,
            &format!("{prefix}/tasks/{task}/details"),
            "TaskDetailsResource",
        )?;
        c.one(
            &s,
            &format!("{prefix}/interruptions/{}/responsible", sc.interruption),
            "UserResource",
        )?;
        // Sub-collections and filters.
        for (path, definition) in [
            (format!("projects/{project}/releases"), "ReleaseResource"),
            (format!("projects/{project}/channels"), "ChannelResource"),
            (
                format!("channels/{default_channel}/releases"),
                "ReleaseResource",
            ),
            (
                format!("releases/{release}/deployments"),
                "DeploymentResource",
            ),
            (
                format!("projectgroups/{}/projects", sc.group),
                "ProjectResource",
            ),
            (
                format!("deployments?projects={project}&environments={dev}"),
                "DeploymentResource",
            ),
            ("tasks?states=Success".to_owned(), "TaskResource"),
            (
                format!("interruptions?regarding={deployment}"),
                "InterruptionResource",
            ),
            (
                "environments?partialName=Prod&take=1".to_owned(),
                "EnvironmentResource",
            ),
            ("projects?name=Payments".to_owned(), "ProjectResource"),
            (
                format!("releases?ids={release}&skip=0&take=1"),
                "ReleaseResource",
            ),
        ] {
            c.page(&s, &format!("{prefix}/{path}"), definition)?;
        }
        c.one(
            &s,
            &format!("{prefix}/projects/{project}/releases/1.0.0"),
            "ReleaseResource",
        )?;
    }
    c.finish(150);
    Ok(())
}

#[test]
fn contract_built_in_feed_packages_match_their_definitions() -> TestResult {
    let s = Standin::start()?;
    let mut c = Checker::new()?;
    for (file, query) in [
        ("Acme.Web.1.0.0.zip", ""),
        ("Acme.Web.1.1.0.zip", ""),
        ("Acme.Web.1.1.0.zip", "?overwriteMode=OverwriteExisting"),
    ] {
        let body = expect(s.upload(file, b"PK\x03\x04 Acme.Web", query)?, 201)?;
        c.check(
            &format!("POST {SPACE}/packages/raw{query} {file} (201)"),
            "PackageFromBuiltInFeedResource",
            &body,
        );
    }
    for prefix in PREFIXES {
        // The spec: the list holds `PackageResource`; one package is a
        // `PackageFromBuiltInFeedResource`.
        for query in [
            "",
            "?latest=true",
            "?filter=acme",
            "?nuGetPackageId=Acme.Web&take=1",
        ] {
            c.page(&s, &format!("{prefix}/packages{query}"), "PackageResource")?;
        }
        c.all(&s, &format!("{prefix}/packages/all"), "PackageResource")?;
        c.one(
            &s,
            &format!("{prefix}/packages/packages-Acme.Web.1.0.0"),
            "PackageFromBuiltInFeedResource",
        )?;
    }
    c.finish(15);
    Ok(())
}

/// A request of the error test: what it shows, the status Octopus answers, the method, path,
/// API key and body.
type Request<'a> = (
    &'a str,
    u16,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

/// A request without the harness's key handling: the status and the JSON body.
fn raw_request(
    s: &Standin,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> Res<(u16, Value)> {
    let mut request = s.client().request(
        reqwest::Method::from_bytes(method.as_bytes())?,
        format!("{}{path}", s.url),
    );
    if let Some(key) = key {
        request = request.header("X-Octopus-ApiKey", key);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send()?;
    let status = response.status().as_u16();
    let text = response.text()?;
    let body = serde_json::from_str(&text).map_err(|e| {
        format!("{method} {path} answered {status} with a body that is not JSON ({e}): {text:?}")
    })?;
    Ok((status, body))
}

#[test]
fn contract_error_bodies_are_octopus_errors() -> TestResult {
    let s = Standin::start()?;
    let spec = Spec::load()?;
    let project = s.project("Errors", "Lifecycles-1")?;
    let process = format!("{SPACE}/deploymentprocesses/deploymentprocess-{project}");
    let mut stale = s.ok(&process)?;
    stale["Version"] = json!(41);
    expect(s.upload("Acme.Web.1.0.0.zip", b"PK\x03\x04", "")?, 201)?;
    let release = id(&s.release(&project, "1.0.0", json!([]))?)?;

    let stale = stale.to_string();
    let duplicate = json!({"ProjectId": project, "Version": "1.0.0"}).to_string();
    let nowhere = json!({"ReleaseId": release, "EnvironmentId": "Environments-999"}).to_string();
    let (envs, releases, deployments) = (
        format!("{SPACE}/environments"),
        format!("{SPACE}/releases"),
        format!("{SPACE}/deployments"),
    );
    let (key, wrong) = (Some(KEY), Some("API-WRONG"));
    // What, the status Octopus answers, and the request: method, path, API key, body.
    #[rustfmt::skip]
    let requests: [Request; 13] = [
        ("no API key", 401, "GET", &envs, None, None),
        ("a wrong API key", 401, "GET", &envs, wrong, None),
        ("a wrong ApiKey parameter", 401, "GET", "/api/projects?ApiKey=API-WRONG", None, None),
        ("a missing environment", 404, "GET", "/api/environments/Environments-9", key, None),
        ("a missing task's details", 404, "GET", "/api/tasks/ServerTasks-9/details", key, None),
        ("a missing space", 404, "GET", "/api/Spaces-9/environments", key, None),
        ("a route the stand-in does not serve", 404, "GET", "/api/Spaces-1/machines", key, None),
        ("an environment without a name", 400, "POST", &envs, key, Some("{}")),
        ("a body that is not JSON", 400, "POST", &envs, key, Some("{")),
        ("a bad take", 400, "GET", "/api/Spaces-1/environments?take=many", key, None),
        ("a stale process Version", 400, "PUT", &process, key, Some(&stale)),
        ("a duplicate release version", 400, "POST", &releases, key, Some(&duplicate)),
        ("a deployment to nowhere", 400, "POST", &deployments, key, Some(&nowhere)),
    ];
    let mut cases = Vec::new();
    for (what, want, method, path, key, body) in requests {
        cases.push((what, want, raw_request(&s, method, path, key, body)?));
    }
    let again = s.upload("Acme.Web.1.0.0.zip", b"PK\x03\x04", "")?;
    cases.push(("a package that exists", 409, (again.status, again.body)));

    let mut problems = Vec::new();
    for (what, want, (status, body)) in &cases {
        if status != want {
            problems.push(format!("{what}: expected {want}, got {status}: {body}"));
        }
        for problem in spec.validate_schema(&error_schema(false), body, &[]) {
            problems.push(format!("{what} ({status}): {problem} in {body}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn contract_paging_envelope_matches_the_fixtures() -> TestResult {
    let s = Standin::start()?;
    let spec = Spec::load()?;
    for n in 1..=31 {
        s.environment(&format!("Environment {n:02}"))?;
    }
    let envelope = keys(&fixture("paged-collection.git-branches.json")?);
    let path = format!("{SPACE}/environments");
    // (query, items on the page, whether there is a next page)
    let cases = [
        ("", 30, true),
        ("?skip=30", 1, false),
        ("?take=2", 2, true),
        ("?skip=28&take=2", 2, true),
        ("?skip=29&take=2", 2, false),
        ("?skip=30&take=2", 1, false),
        ("?take=31", 31, false),
        ("?skip=40", 0, false),
    ];
    for (query, items, next) in cases {
        let page = s.ok(&format!("{path}{query}"))?;
        let what = format!("GET {path}{query}");
        let problems = spec.validate("ResourceCollection_of_EnvironmentResource", &page);
        assert!(problems.is_empty(), "{what}: {problems:#?}");
        assert_eq!(keys(&page), envelope, "{what}: the envelope's keys");
        assert_eq!(page["ItemType"], json!("Environment"), "{what}");
        assert_eq!(page["TotalResults"], json!(31), "{what}");
        let take = page["ItemsPerPage"].as_u64().ok_or("no ItemsPerPage")?;
        let pages = 31_u64.div_ceil(take);
        assert_eq!(page["NumberOfPages"], json!(pages), "{what}");
        assert_eq!(page["LastPageNumber"], json!(pages - 1), "{what}");
        assert_eq!(
            page["Items"].as_array().map(Vec::len),
            Some(items),
            "{what}"
        );
        let links = &page["Links"];
        assert!(
            links["Self"].is_string(),
            "{what}: no Links.Self in {links}"
        );
        assert_eq!(
            links.get("Page.Next").is_some(),
            next,
            "{what}: Page.Next in {links}"
        );
        if let Some(next_link) = links.get("Page.Next").and_then(Value::as_str) {
            // The link leads to the following page.
            let following = s.ok(next_link)?;
            assert_eq!(following["TotalResults"], json!(31), "{what}: {next_link}");
            assert_ne!(
                following["Items"][0], page["Items"][0],
                "{what}: {next_link}"
            );
        }
    }
    assert_eq!(
        s.ok(&path)?["ItemsPerPage"],
        json!(30),
        "the default page size"
    );
    // The fixture follows the same rule: 139 tasks, 30 a page, first page, `Page.Next`.
    let old = fixture("task-list.page0.json")?;
    assert!(old["TotalResults"].as_u64() > old["ItemsPerPage"].as_u64());
    assert!(old["Links"].get("Page.Next").is_some());
    Ok(())
}

/// Asserts that `doc` has every field `fixture` has (less `except`).
fn assert_fields_of(what: &str, doc: &Value, fixture: &Value, except: &[&str]) {
    let missing = missing_keys(doc, fixture, except);
    assert!(
        missing.is_empty(),
        "{what} lacks {missing:?} of its fixture: {doc}"
    );
}

#[test]
fn contract_tasks_and_deployments_behave_as_the_fixtures_show() -> TestResult {
    let s = Standin::start()?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let deployment_id = id(&sc.deployment)?;

    // Tasks: `ServerTasks-N` with the fields of fixture `task.json`, and Octopus's states:
    // `Executing` with a pending interruption while the manual step waits, then `Success`.
    let task_fixture = fixture("task.json")?;
    let task = c.one(&s, &format!("/api/tasks/{}", sc.task), "TaskResource")?;
    assert!(is_numbered(&sc.task, "ServerTasks"), "task id {}", sc.task);
    assert_fields_of("the task", &task, &task_fixture, &[]);
    assert_eq!(task["Name"], task_fixture["Name"]);
    assert_eq!(task["Arguments"]["DeploymentId"], json!(deployment_id));
    assert_eq!(
        task["Links"]["Self"],
        json!(format!("/api/tasks/{}", sc.task))
    );
    for (field, waiting, done) in [
        ("State", json!("Executing"), json!("Success")),
        ("HasPendingInterruptions", json!(true), json!(false)),
        ("IsCompleted", json!(false), json!(true)),
        ("FinishedSuccessfully", json!(false), json!(true)),
        ("HasBeenPickedUpByProcessor", json!(true), json!(true)),
    ] {
        assert_eq!(
            sc.waiting_task[field], waiting,
            "{field} while waiting: {}",
            sc.waiting_task
        );
        assert_eq!(task[field], done, "{field} when done: {task}");
    }
    assert_eq!(task["ErrorMessage"], json!(""));
    for field in ["QueueTime", "StartTime", "CompletedTime", "LastUpdatedTime"] {
        assert!(is_date_time(text(&task, field)?), "{field} of {task}");
    }
    // Display forms as in the fixture: "Monday, March 20, 2017 9:00 PM", "32 seconds".
    let completed = text(&task, "Completed")?;
    assert!(
        completed.split(", ").count() == 3
            && (completed.ends_with(" AM") || completed.ends_with(" PM")),
        "Completed {completed:?}, fixture {}",
        task_fixture["Completed"]
    );
    let duration = text(&task, "Duration")?;
    assert!(
        [" second", " seconds", " minute", " minutes"]
            .iter()
            .any(|unit| duration.ends_with(unit)),
        "Duration {duration:?}, fixture {}",
        task_fixture["Duration"]
    );

    // Deployments: the fields of fixture `deployment.json`; the process is the release's
    // snapshot and the manifest is `variableset-Deployments-N`.
    let deployment_fixture = fixture("deployment.json")?;
    let deployment = c.one(
        &s,
        &format!("{SPACE}/deployments/{deployment_id}"),
        "DeploymentResource",
    )?;
    assert!(
        is_numbered(&deployment_id, "Deployments"),
        "{deployment_id}"
    );
    assert_fields_of("the deployment", &deployment, &deployment_fixture, &[]);
    assert_eq!(deployment["TaskId"], json!(sc.task));
    assert_eq!(
        deployment["ManifestVariableSetId"],
        json!(format!("variableset-{deployment_id}"))
    );
    assert_eq!(
        deployment["DeploymentProcessId"],
        sc.release["ProjectDeploymentProcessSnapshotId"]
    );
    assert_eq!(
        deployment["Links"]["Task"],
        json!(format!("/api/tasks/{}", sc.task))
    );
    c.finish(2);
    Ok(())
}

#[test]
fn contract_releases_and_snapshots_behave_as_the_fixtures_show() -> TestResult {
    let s = Standin::start()?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let project = &sc.project;

    // The fixtures' snapshot ids all have the form `<live id>-s-<version>-XXXXX`.
    let release_fixture = fixture("release.json")?;
    let deployment_fixture = fixture("deployment.json")?;
    for fixture_id in [
        &deployment_fixture["DeploymentProcessId"],
        &release_fixture["ProjectDeploymentProcessSnapshotId"],
        &release_fixture["ProjectVariableSetSnapshotId"],
        &release_fixture["LibraryVariableSetSnapshotIds"][0],
    ] {
        let fixture_id = fixture_id.as_str().ok_or("a fixture's snapshot id")?;
        let live = fixture_id.split("-s-").next().unwrap_or("");
        assert!(snapshot_version(fixture_id, live).is_some(), "{fixture_id}");
    }

    // The release has the fields of fixture `release.json` (less `SelectedGitResources`, which
    // the 2020.5 spec does not declare; see swagger.rs) and the same `SelectedPackages` form.
    let release = c.one(
        &s,
        &format!("{SPACE}/releases/{}", id(&sc.release)?),
        "ReleaseResource",
    )?;
    assert_fields_of(
        "the release",
        &release,
        &release_fixture,
        &["SelectedGitResources"],
    );
    assert_eq!(
        keys(&release["SelectedPackages"][0]),
        keys(&release_fixture["SelectedPackages"][0])
    );

    // Its snapshots are `<live id>-s-<Version of the live document>-XXXXX`.
    let library_snapshots = release["LibraryVariableSetSnapshotIds"]
        .as_array()
        .ok_or("no LibraryVariableSetSnapshotIds")?;
    assert_eq!(library_snapshots.len(), 1, "{release}");
    for (snapshot, live, definition) in [
        (
            &release["ProjectDeploymentProcessSnapshotId"],
            format!("deploymentprocess-{project}"),
            "DeploymentProcessResource",
        ),
        (
            &release["ProjectVariableSetSnapshotId"],
            format!("variableset-{project}"),
            "VariableSetResource",
        ),
        (
            &release["LibraryVariableSetSnapshotIds"][0],
            format!("variableset-{}", sc.library),
            "VariableSetResource",
        ),
    ] {
        let snapshot = snapshot.as_str().ok_or("a snapshot id")?;
        let segment = if definition == "VariableSetResource" {
            "variables"
        } else {
            "deploymentprocesses"
        };
        let live_doc = c.one(&s, &format!("{SPACE}/{segment}/{live}"), definition)?;
        assert_eq!(
            snapshot_version(snapshot, &live),
            live_doc["Version"].as_i64(),
            "snapshot {snapshot} of {live}"
        );
        let frozen = c.one(&s, &format!("{SPACE}/{segment}/{snapshot}"), definition)?;
        assert_eq!(frozen["Id"], json!(snapshot));
        if segment == "deploymentprocesses" {
            assert_eq!(live_doc["LastSnapshotId"], json!(snapshot));
        }
    }

    // Processes have the fields of fixture `deployment-process.json`, down to the package
    // reference (`Name` "", `FeedId` `feeds-builtin`), live and in the snapshot.
    let process_fixture = fixture("deployment-process.json")?;
    let step_fixture = &process_fixture["Steps"][0];
    let action_fixture = &step_fixture["Actions"][0];
    for process_id in [
        format!("deploymentprocess-{project}"),
        text(&release, "ProjectDeploymentProcessSnapshotId")?.to_owned(),
    ] {
        let process = s.ok(&format!("{SPACE}/deploymentprocesses/{process_id}"))?;
        assert!(
            process_id.starts_with("deploymentprocess-Projects-"),
            "{process_id}"
        );
        assert_fields_of(&process_id, &process, &process_fixture, &[]);
        let step = &process["Steps"][1];
        assert_fields_of("the package step", step, step_fixture, &[]);
        let action = &step["Actions"][0];
        assert_fields_of("the package action", action, action_fixture, &[]);
        let package = &action["Packages"][0];
        assert_eq!(
            keys(package),
            keys(&action_fixture["Packages"][0]),
            "{package}"
        );
        assert_eq!(package["Name"], json!(""));
        assert_eq!(package["FeedId"], json!("feeds-builtin"));
        assert_eq!(package["AcquisitionLocation"], json!("Server"));
    }
    c.finish(6);
    Ok(())
}

#[test]
fn contract_sensitive_values_read_back_as_the_fixtures_show() -> TestResult {
    let s = Standin::start()?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let project = &sc.project;
    let [dev, test, prod] = &sc.environments;
    let process_snapshot = text(&sc.release, "ProjectDeploymentProcessSnapshotId")?;
    let variables_snapshot = text(&sc.release, "ProjectVariableSetSnapshotId")?;

    // A sensitive action property reads back as `{"HasValue": true, "NewValue": null}`.
    for process_id in [
        format!("deploymentprocess-{project}"),
        process_snapshot.to_owned(),
    ] {
        let process = c.one(
            &s,
            &format!("{SPACE}/deploymentprocesses/{process_id}"),
            "DeploymentProcessResource",
        )?;
        assert_eq!(
            process["Steps"][0]["Actions"][0]["Properties"]["Zonebridge.ApiToken"],
            json!({"HasValue": true, "NewValue": null}),
            "the sensitive property of {process_id}"
        );
    }

    // A sensitive variable reads back as in fixture `variable-set.json`: `"Value": null`,
    // `"Type": "Sensitive"`, `"IsSensitive": true`, with the fixture's fields; others keep
    // their values, scoped as in the fixture (`{"Environment": [...]}`).
    let set_fixture = fixture("variable-set.json")?;
    let sensitive_fixture = &set_fixture["Variables"][2];
    assert_eq!(sensitive_fixture["Type"], json!("Sensitive"));
    for set in [
        format!("variableset-{project}"),
        variables_snapshot.to_owned(),
    ] {
        let doc = c.one(
            &s,
            &format!("{SPACE}/variables/{set}"),
            "VariableSetResource",
        )?;
        let secret = variable(&doc, "Db.Password", &json!({"Environment": [dev, test]}))?;
        assert_eq!(keys(secret), keys(sensitive_fixture), "{secret}");
        for field in ["Value", "Type", "IsSensitive"] {
            assert_eq!(
                secret[field], sensitive_fixture[field],
                "{field} of {secret}"
            );
        }
        let plain = variable(&doc, "Greeting", &json!({}))?;
        assert_eq!(
            (&plain["Value"], &plain["IsSensitive"]),
            (&json!("Hello"), &json!(false))
        );
        let scoped = variable(&doc, "Greeting", &json!({"Environment": [prod]}))?;
        assert_eq!(scoped["Value"], json!("Good day"));
    }
    let library = c.one(
        &s,
        &format!("{SPACE}/variables/variableset-{}", sc.library),
        "VariableSetResource",
    )?;
    let token = variable(&library, "Shared.Token", &json!({}))?;
    for field in ["Value", "Type", "IsSensitive"] {
        assert_eq!(token[field], sensitive_fixture[field], "{field} of {token}");
    }

    // `ScopeValues` has the lists of fixture `variable-set.scope-values.json`, with names.
    let project_set = s.ok(&format!("{SPACE}/variables/variableset-{project}"))?;
    let scope_fixture = fixture("variable-set.scope-values.json")?;
    let scope_values = &project_set["ScopeValues"];
    assert_fields_of(
        "ScopeValues",
        scope_values,
        &scope_fixture["ScopeValues"],
        &[],
    );
    assert!(
        scope_values["Environments"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e == &json!({"Id": dev, "Name": "Development"})),
        "ScopeValues {scope_values}"
    );
    // No response of the scenario showed a secret (checked by `Checker`).
    c.finish(5);
    Ok(())
}
