//! Contract tests: the stand-in's responses against Octopus Server's Swagger spec and real
//! payloads (`fixtures/octopus`).
//!
//! Every contract test starts its stand-in with `--profile 2020.5`, the server of the Swagger spec
//! (a current profile adds fields the spec does not declare: `shapes`, tested in `current_shapes`).
//! Each test starts its own stand-in and builds its scenario with the harness (no seed): three
//! environments, a lifecycle with phases, a project group, a library variable set with a
//! sensitive variable, a project whose process has a Bash script step (with a sensitive action
//! property), an `Octopus.TentaclePackage` step and an `Octopus.Manual` step, project variables
//! scoped to environments (one sensitive), a tenant connected to the project, an uploaded
//! package, a release, and a tenanted deployment whose manual step is answered "Proceed" so
//! that its task completes.
//!
//! Then every resource is read in every form the stand-in serves (paged list, `/all`, single,
//! sub-collections, with and without `/Spaces-1`) and every body, together with the 201 and 200
//! bodies of the writes along the way, is validated strictly against its Swagger definition by
//! `swagger::Spec`. The rest checks behaviour the payload fixtures show: task states and ids,
//! snapshot ids, and how sensitive values read back. No response may show a secret. The
//! packages, error bodies and the paging envelope are checked in `contract_wire`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id};
use crate::swagger::Spec;

pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// How long a deployment may take to reach its manual step, or to finish.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// The secrets the scenario stores; no response may contain them.
const SECRETS: [&str; 3] = ["s3cret", "pa55word-xyz", "t0ken-xyz"];

/// The space every route is scoped to, and the two forms of route prefix Octopus serves.
pub(crate) const SPACE: &str = "/api/Spaces-1";
pub(crate) const PREFIXES: [&str; 2] = ["/api/Spaces-1", "/api"];

/// Validates responses and collects every problem, so that one run shows them all.
pub(crate) struct Checker {
    spec: &'static Spec,
    problems: Vec<String>,
    checked: usize,
}

impl Checker {
    pub(crate) fn new() -> Res<Self> {
        Ok(Checker {
            spec: Spec::load()?,
            problems: Vec::new(),
            checked: 0,
        })
    }

    pub(crate) fn record(
        &mut self,
        what: &str,
        definition: &str,
        body: &Value,
        problems: Vec<String>,
    ) {
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
    pub(crate) fn check(&mut self, what: &str, definition: &str, body: &Value) {
        let problems = self.spec.validate(definition, body);
        self.record(what, definition, body, problems);
    }

    /// `GET path`, which must answer 200 with a `definition`.
    pub(crate) fn one(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
        let body = s.ok(path)?;
        self.check(&format!("GET {path}"), definition, &body);
        Ok(body)
    }

    /// `GET path`, a paged `ResourceCollection_of_<definition>` with at least one item.
    pub(crate) fn page(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
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
    pub(crate) fn all(&mut self, s: &Standin, path: &str, definition: &str) -> Res<Value> {
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
    pub(crate) fn created(
        &mut self,
        s: &Standin,
        path: &str,
        body: &Value,
        definition: &str,
    ) -> Res<Value> {
        let created = s.create(path, body)?;
        self.check(&format!("POST {path} (201)"), definition, &created);
        Ok(created)
    }

    /// Reads `path`, sets `field` to `value` and `PUT`s it back, which must answer 200 with a
    /// `definition`.
    pub(crate) fn replace(
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
    pub(crate) fn finish(&self, at_least: usize) {
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
pub(crate) struct Scenario {
    pub(crate) environments: [String; 3],
    pub(crate) lifecycle: String,
    pub(crate) group: String,
    pub(crate) library: String,
    pub(crate) project: String,
    pub(crate) channel: String,
    pub(crate) release: Value,
    pub(crate) deployment: Value,
    pub(crate) task: String,
    /// The task while the manual step waited.
    pub(crate) waiting_task: Value,
    pub(crate) interruption: String,
    pub(crate) tenant: String,
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
pub(crate) fn build(s: &Standin, c: &mut Checker) -> Res<Scenario> {
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
                "IncludedLibraryVariableSetIds": [library],
                "TenantedDeploymentMode": "TenantedOrUntenanted"}),
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

    let tenant = id(&c.created(
        s,
        &format!("{SPACE}/tenants"),
        &json!({"Name": "Acme EU", "ProjectEnvironments": {project.as_str(): [dev, prod]}}),
        "TenantResource",
    )?)?;
    c.replace(
        s,
        &format!("{SPACE}/tenants/{tenant}"),
        "Description",
        json!("Acme's European business."),
        "TenantResource",
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
        &json!({"ReleaseId": release_id, "EnvironmentId": dev, "TenantId": tenant,
                "Comments": "Contract test."}),
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
        tenant,
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
pub(crate) fn text<'a>(doc: &'a Value, field: &str) -> Res<&'a str> {
    doc[field]
        .as_str()
        .ok_or_else(|| format!("no {field} in {doc}").into())
}

/// The keys of an object, sorted.
pub(crate) fn keys(doc: &Value) -> Vec<String> {
    let mut keys: Vec<String> = doc
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// The keys of `fixture` (less `except`) that `doc` lacks.
pub(crate) fn missing_keys(doc: &Value, fixture: &Value, except: &[&str]) -> Vec<String> {
    let have = keys(doc);
    keys(fixture)
        .into_iter()
        .filter(|k| !have.contains(k) && !except.contains(&k.as_str()))
        .collect()
}

/// `<prefix>-<digits>`, as `ServerTasks-554469`.
pub(crate) fn is_numbered(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|n| n.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The version in a snapshot id `<live id>-s-<version>-<5 of A-Z, 0-9>`, as
/// `deploymentprocess-Projects-501-s-4-XXGLW` (fixtures `deployment.json`, `release.json`).
pub(crate) fn snapshot_version(snapshot: &str, live: &str) -> Option<i64> {
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
pub(crate) fn variable<'a>(set: &'a Value, name: &str, scope: &Value) -> Res<&'a Value> {
    set["Variables"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["Name"] == json!(name) && &v["Scope"] == scope)
        .ok_or_else(|| format!("no variable {name} scoped {scope} in {set}").into())
}

#[test]
fn contract_every_resource_matches_its_spec_definition() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
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
    let kinds: [(&str, &str, Vec<&str>); 14] = [
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
        ("tenants", "TenantResource", vec![sc.tenant.as_str()]),
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
            (format!("tenants?projectId={project}"), "TenantResource"),
            (
                format!("deployments?tenants={}", sc.tenant),
                "DeploymentResource",
            ),
            (
                format!("tasks?tenant={}&project={project}", sc.tenant),
                "TaskResource",
            ),
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
