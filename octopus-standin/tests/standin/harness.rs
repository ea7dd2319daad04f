//! The plumbing: start the stand-in binary on a loopback port, read its URL, and talk to it
//! with a blocking HTTP client that sends the API key; small builders for common resources.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The API key every test instance uses.
pub const KEY: &str = "API-STANDINTESTKEY";

/// A running stand-in, killed when dropped.
pub struct Standin {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    client: reqwest::blocking::Client,
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
}

impl Standin {
    /// Starts an instance in memory.
    pub fn start() -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_with(&[])
    }

    /// Starts an instance with extra arguments (`--data`, `--seed`, ...).
    pub fn start_with(args: &[&str]) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_octopus-standin"))
            .args(["--listen", "127.0.0.1:0", "--api-key", KEY])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().to_owned();
        if !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let status = child.wait()?;
            return Err(
                format!("the stand-in did not print its URL (got {url:?}, exit {status})").into(),
            );
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Standin { child, url, client })
    }

    /// Stops the instance (SIGKILL, as a crash would).
    pub fn kill(mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// The HTTP client, for requests the helpers below do not cover.
    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// Sends a request with the API key and an optional JSON body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Box<dyn std::error::Error>> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("X-Octopus-ApiKey", KEY);
        if let Some(body) = body {
            request = request.json(body);
        }
        reply(request.send()?)
    }

    /// `GET`.
    pub fn get(&self, path: &str) -> Result<Reply, Box<dyn std::error::Error>> {
        self.send("GET", path, None)
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Reply, Box<dyn std::error::Error>> {
        self.send("POST", path, Some(body))
    }

    /// `PUT` with a JSON body.
    pub fn put(&self, path: &str, body: &Value) -> Result<Reply, Box<dyn std::error::Error>> {
        self.send("PUT", path, Some(body))
    }

    /// `GET` that must answer 200; returns the body.
    pub fn ok(&self, path: &str) -> Result<Value, Box<dyn std::error::Error>> {
        expect(self.get(path)?, 200)
    }

    /// `POST` that must answer 201; returns the body.
    pub fn create(&self, path: &str, body: &Value) -> Result<Value, Box<dyn std::error::Error>> {
        expect(self.post(path, body)?, 201)
    }

    /// Uploads a package file to the built-in feed.
    pub fn upload(
        &self,
        file_name: &str,
        content: &[u8],
        query: &str,
    ) -> Result<Reply, Box<dyn std::error::Error>> {
        let part = reqwest::blocking::multipart::Part::bytes(content.to_vec())
            .file_name(file_name.to_owned())
            .mime_str("application/octet-stream")?;
        let form = reqwest::blocking::multipart::Form::new().part("file", part);
        let response = self
            .client
            .post(format!("{}/api/Spaces-1/packages/raw{query}", self.url))
            .header("X-Octopus-ApiKey", KEY)
            .multipart(form)
            .send()?;
        reply(response)
    }

    /// Polls a task until it completes (or `limit` passes); returns the task.
    pub fn wait_for_task(
        &self,
        task_id: &str,
        limit: Duration,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        self.wait_until(task_id, limit, |t| t["IsCompleted"] == json!(true))
    }

    /// Polls a task until `done` holds for it.
    pub fn wait_until(
        &self,
        task_id: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        let start = Instant::now();
        loop {
            let task = self.ok(&format!("/api/tasks/{task_id}"))?;
            if done(&task) {
                return Ok(task);
            }
            if start.elapsed() > limit {
                return Err(
                    format!("task {task_id} did not get there in {limit:?}: {task}").into(),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates an environment; returns its id.
    pub fn environment(&self, name: &str) -> Result<String, Box<dyn std::error::Error>> {
        id(&self.create("/api/Spaces-1/environments", &json!({"Name": name}))?)
    }

    /// Creates a project in the default group with the given lifecycle; returns its id.
    pub fn project(
        &self,
        name: &str,
        lifecycle: &str,
    ) -> Result<String, Box<dyn std::error::Error>> {
        id(&self.create(
            "/api/Spaces-1/projects",
            &json!({"Name": name, "ProjectGroupId": "ProjectGroups-1", "LifecycleId": lifecycle}),
        )?)
    }

    /// Replaces a project's steps (read-modify-write); returns the new process.
    pub fn set_steps(
        &self,
        project: &str,
        steps: Value,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
        let mut process = self.ok(&path)?;
        process["Steps"] = steps;
        expect(self.put(&path, &process)?, 200)
    }

    /// Replaces a project's variables (read-modify-write); returns the new set.
    pub fn set_variables(
        &self,
        project: &str,
        variables: Value,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        let path = format!("/api/Spaces-1/variables/variableset-{project}");
        let mut set = self.ok(&path)?;
        set["Variables"] = variables;
        expect(self.put(&path, &set)?, 200)
    }

    /// Creates a release; returns it.
    pub fn release(
        &self,
        project: &str,
        version: &str,
        packages: Value,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        self.create(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": version, "SelectedPackages": packages}),
        )
    }

    /// Deploys a release; returns the deployment.
    pub fn deploy(
        &self,
        release: &str,
        environment: &str,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        self.create(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": environment}),
        )
    }

    /// The raw log of a task.
    pub fn raw_log(&self, task_id: &str) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self
            .client
            .get(format!("{}/api/tasks/{task_id}/raw", self.url))
            .header("X-Octopus-ApiKey", KEY)
            .send()?
            .error_for_status()?
            .text()?)
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reply(response: reqwest::blocking::Response) -> Result<Reply, Box<dyn std::error::Error>> {
    let status = response.status().as_u16();
    let text = response.text()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Reply { status, body })
}

/// The body of a reply with the expected status, or an error showing what came instead.
pub fn expect(reply: Reply, status: u16) -> Result<Value, Box<dyn std::error::Error>> {
    if reply.status != status {
        return Err(format!("expected {status}, got {}: {}", reply.status, reply.body).into());
    }
    Ok(reply.body)
}

/// The `Id` of a resource.
pub fn id(resource: &Value) -> Result<String, Box<dyn std::error::Error>> {
    resource["Id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no Id in {resource}").into())
}

/// A script step running an inline bash script.
pub fn script_step(name: &str, script: &str) -> Value {
    json!({
        "Name": name,
        "Actions": [{
            "Name": name,
            "ActionType": "Octopus.Script",
            "Properties": {
                "Octopus.Action.RunOnServer": "true",
                "Octopus.Action.Script.ScriptSource": "Inline",
                "Octopus.Action.Script.Syntax": "Bash",
                "Octopus.Action.Script.ScriptBody": script
            }
        }]
    })
}

/// A step deploying `package` from the built-in feed (acquired on the server).
pub fn package_step(name: &str, package: &str) -> Value {
    json!({
        "Name": name,
        "Actions": [{
            "Name": name,
            "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": package, "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}],
            "Properties": {"Octopus.Action.Package.PackageId": package, "Octopus.Action.Package.FeedId": "feeds-builtin"}
        }]
    })
}

/// `base` with the fields of `extra` added over it (both JSON objects).
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(map), Value::Object(more)) = (base.as_object_mut(), extra) {
        map.extend(more);
    }
    base
}

/// The repository's `fixtures/octopus` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/octopus")
}

/// The crate's `seeds` folder.
pub fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}
