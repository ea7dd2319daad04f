//! Secrets stay the secure zone's: hostile release bundles, signed by a trusted key, against
//! the secure-zone stand-in. None can set, replace, clear or move a sensitive action property
//! the target stores, nor shadow a stored secret with a plain variable; a missing value comes
//! only from the secrets file. What the target stores is read back from the stand-in's state
//! file (`--data`), which holds the values its API never shows: a refused import leaves that
//! file byte for byte as it was, and an accepted one keeps the stored value. Which value a
//! deployment uses is read by effect: a step prints a hash of it (the stand-in masks stored
//! secrets in logs, not their hashes).

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{Cmd, Site, TestResult, write};
use crate::results::decompressed;
use crate::standins::Standin;

const PCI_KEY: &str = "API-PCISECRETSSTAY";
const STORED: &str = "prop-0rig1nal-Vq7";

/// A secure zone with its state in a file, a trusted release signer and a secrets file.
struct Secure {
    site: Site,
    pci: Standin,
}

impl Secure {
    fn new() -> Self {
        let site = Site::new();
        site.keygen("signer");
        site.policy("pci.toml", "pci", &["signer"], 1);
        let secrets = format!(
            "[[secret]]\nowner = \"Payments API\"\nname = \"Custom.DbPassword\"\nscope = {{ Action = [\"Run migrations\"] }}\nvalue = \"{STORED}\"\n"
        );
        let path = site.path("secrets.toml");
        write(&path, secrets.as_bytes());
        set_private(&path);
        let pci = Standin::start_with_data("secure.json", PCI_KEY, Some(&site.path("pci.json")));
        Secure { site, pci }
    }

    /// Writes release folder `name` (Payments API `version`) and packs it, after `after`.
    fn bundle(
        &self,
        name: &str,
        version: &str,
        process: &Value,
        variables: &Value,
        after: Option<&str>,
    ) -> String {
        let root = self.site.path(name);
        write(&root.join("process.json"), process.to_string().as_bytes());
        let set = json!({"OwnerType": "Project", "Owner": "Payments API", "Variables": variables});
        write(
            &root.join("variables/project.json"),
            set.to_string().as_bytes(),
        );
        let toml = format!(
            "project = \"Payments API\"\nversion = \"{version}\"\nchannel = \"Default\"\nprocess = \"process.json\"\nvariables = [\"variables/project.json\"]\n"
        );
        write(&root.join("release.toml"), toml.as_bytes());
        let out = format!("{name}.zb");
        let mut pack = self.site.pack(&root, &["signer"], "pci", &out);
        if let Some(after) = after {
            pack = pack.args(["--after", after]);
        }
        pack.ok();
        out
    }

    fn import(&self, bundle: &str) -> Cmd {
        self.site
            .import()
            .args(["import", bundle, "--policy", "pci.toml"])
            .args(["--secrets", "secrets.toml", "--ledger", "import.ledger"])
            .args(["--server", self.pci.url.as_str(), "--json"])
            .env("OCTOPUS_API_KEY", PCI_KEY)
    }

    /// The stand-in's state file.
    fn state(&self) -> Vec<u8> {
        std::fs::read(self.site.path("pci.json"))
            .unwrap_or_else(|e| panic!("cannot read the stand-in's state: {e}"))
    }

    /// Every sensitive value the stand-in stores, by slot (`<owner id>/<key>`).
    fn stored(&self) -> Vec<(String, String)> {
        let state: Value = serde_json::from_slice(&self.state()).unwrap_or(Value::Null);
        state["secrets"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Imports `bundle`, expecting a refusal `code` whose message has every one of `has`, and
    /// checks that the stand-in's state did not change at all.
    fn refused(&self, bundle: &str, code: &str, has: &[&str]) {
        let before = self.state();
        let run = self.import(bundle).expect(1);
        let error = &run.json()["error"];
        assert_eq!(error["code"], code, "{error}");
        let message = format!(
            "{}\nHint: {}",
            error["message"].as_str().unwrap_or(""),
            error["hint"].as_str().unwrap_or("")
        );
        for text in has {
            assert!(message.contains(text), "{text:?} not in {message}");
        }
        assert!(!message.contains(STORED), "{message}");
        assert!(
            self.state() == before,
            "the refused {bundle} changed the target"
        );
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// A process with one script action whose properties are `properties`.
fn process(action_type: &str, properties: Value) -> Value {
    json!({"Project": "Payments API", "Steps": [{
    "Name": "Migrate", "Properties": {}, "Actions": [{
        "Name": "Run migrations", "ActionType": action_type, "Properties": properties
    }]}]})
}

fn script(password: Value) -> Value {
    process(
        "Octopus.Script",
        json!({"Octopus.Action.Script.ScriptBody": "echo migrate", "Custom.DbPassword": password}),
    )
}

/// The distinct stored values of the action property Custom.DbPassword (the live process
/// and each release's snapshot store their own copy).
fn property_values(secure: &Secure) -> Vec<String> {
    let mut values: Vec<String> = secure
        .stored()
        .into_iter()
        .filter(|(slot, _)| slot.ends_with("/Custom.DbPassword"))
        .map(|(_, value)| value)
        .collect();
    values.sort();
    values.dedup();
    values
}

#[test]
fn a_stored_sensitive_action_property_is_never_set_replaced_cleared_or_moved_by_a_bundle()
-> TestResult {
    let secure = Secure::new();
    // The first release asks for the property; its value comes from the secrets file.
    let first = secure.bundle(
        "first",
        "1.0.0",
        &script(json!({"HasValue": true, "NewValue": null})),
        &json!([]),
        None,
    );
    assert_eq!(secure.import(&first).ok().json()["outcome"], "imported");
    assert_eq!(property_values(&secure), [STORED]);

    let at = "step \"Migrate\", action \"Run migrations\", property Custom.DbPassword: ";
    for (name, process, expected) in [
        (
            "plain",
            script(json!("attacker-1")),
            "sensitive on the target, a plain value in the bundle",
        ),
        (
            "value",
            script(json!({"HasValue": true, "NewValue": "attacker-2"})),
            "the bundle carries a value for it",
        ),
        (
            "moved",
            process(
                "Octopus.Script",
                json!({"Octopus.Action.Script.ScriptBody": "echo migrate", "custom.dbpassword": "attacker-3"}),
            ),
            "stored on the target, and the bundle has it as custom.dbpassword instead",
        ),
        (
            "dropped",
            process(
                "Octopus.Script",
                json!({"Octopus.Action.Script.ScriptBody": "echo migrate"}),
            ),
            "stored on the target, and the bundle's action does not have it",
        ),
        (
            "retyped",
            process(
                "Octopus.HttpRequest",
                json!({"Url": "https://attacker.example/", "Custom.DbPassword": {"HasValue": true, "NewValue": null}}),
            ),
            "stored on the target for an action of type Octopus.Script, and the bundle makes the action a Octopus.HttpRequest",
        ),
    ] {
        let bundle = secure.bundle(name, "1.0.1", &process, &json!([]), Some(&first));
        secure.refused(
            &bundle,
            "sensitive-property",
            &[
                &format!("{at}{expected}"),
                "Hint: secrets stay the secure zone's",
            ],
        );
        assert_eq!(property_values(&secure), [STORED], "{name}");
    }

    // "No value" in the bundle (the development zone has none) keeps the stored value.
    for (name, version, password) in [
        (
            "cleared",
            "1.0.1",
            json!({"HasValue": false, "NewValue": null}),
        ),
        ("null", "1.0.2", json!({"NewValue": null})),
    ] {
        let previous = if name == "cleared" {
            first.clone()
        } else {
            "cleared.zb".to_owned()
        };
        let bundle = secure.bundle(
            name,
            version,
            &script(password),
            &json!([]),
            Some(&previous),
        );
        assert_eq!(
            secure.import(&bundle).ok().json()["outcome"],
            "imported",
            "{name}"
        );
        assert_eq!(property_values(&secure), [STORED], "{name}");
    }
    let project = secure.pci.get("/api/Spaces-1/projects/payments-api");
    let process_id = project["DeploymentProcessId"]
        .as_str()
        .ok_or("no process id")?;
    // The live process itself (not only the releases' snapshots) still stores it.
    let live_slot = secure
        .stored()
        .into_iter()
        .find(|(slot, _)| slot.starts_with(&format!("{process_id}/")))
        .map(|(_, value)| value);
    assert_eq!(live_slot.as_deref(), Some(STORED));
    let live = secure
        .pci
        .get(&format!("/api/Spaces-1/deploymentprocesses/{process_id}"));
    let properties = &live["Steps"][0]["Actions"][0]["Properties"];
    assert_eq!(properties["Custom.DbPassword"]["HasValue"], true, "{live}");
    Ok(())
}

#[test]
fn a_plain_variable_that_would_shadow_a_stored_secret_is_refused_naming_both() -> TestResult {
    let secure = Secure::new();
    let before: Vec<(String, String)> = secure.stored();
    assert!(
        before.iter().any(|(_, v)| v == "pstg-Pq6&Vt3nXw8Kc1"),
        "the seed stores Database.Password for PCI Staging"
    );
    // The step prints a hash of the value the deployment sees: the stand-in masks stored
    // secrets in logs, a hash it cannot recognise.
    let steps = process(
        "Octopus.Script",
        json!({
            "Octopus.Action.Script.ScriptSource": "Inline",
            "Octopus.Action.Script.Syntax": "Bash",
            "Octopus.Action.Script.ScriptBody": "printf %s \"#{Database.Password}\" | sha256sum",
            "Custom.DbPassword": {"HasValue": true, "NewValue": null}
        }),
    );
    let plain = |name: &str, scope: Value| json!([{"Name": name, "Value": "attacker", "Type": "String", "IsSensitive": false, "Scope": scope}]);
    for (bundle, variables, expected) in [
        (
            "narrower",
            plain("Database.Password", json!({"Environment": ["Production"]})),
            "the plain variable Database.Password (Environment = Production) of project \"Payments API\" would be used instead of the secret Database.Password (Environment = Production, DR) of project \"Payments API\", stored on the target",
        ),
        (
            "action",
            plain("Database.Password", json!({"Action": ["Run migrations"]})),
            "the secret Database.Password (Environment = PCI Staging) of project \"Payments API\", stored on the target",
        ),
        (
            "case",
            plain(
                "database.password",
                json!({"Environment": ["PCI Staging"], "Channel": ["Default"]}),
            ),
            "the plain variable database.password (Channel = Default; Environment = PCI Staging)",
        ),
        (
            // A secret of a library variable set the bundle does not carry.
            "library",
            plain("Smtp.Password", json!({"Environment": ["PCI Staging"]})),
            "the plain variable Smtp.Password (Environment = PCI Staging) of project \"Payments API\" would be used instead of the secret Smtp.Password (Environment = PCI Staging) of library variable set \"Common Settings\", stored on the target",
        ),
    ] {
        let bundle = secure.bundle(bundle, "1.0.0", &steps, &variables, None);
        secure.refused(
            &bundle,
            "secret-shadowed",
            &[
                expected,
                "Hint: Octopus uses the most specifically scoped value",
            ],
        );
    }
    // Less specific than every secret of that name, or disjoint from them: imported, and
    // the stored secrets are what they were.
    let variables = json!([
        {"Name": "Database.Password", "Value": "unscoped-default", "Type": "String", "IsSensitive": false, "Scope": {}},
    ]);
    let bundle = secure.bundle("less", "1.0.0", &steps, &variables, None);
    assert_eq!(secure.import(&bundle).ok().json()["outcome"], "imported");
    let after = secure.stored();
    for (slot, value) in before
        .iter()
        .filter(|(_, v)| v.starts_with("pstg-") || v.starts_with("prd-"))
    {
        assert!(
            after.iter().any(|(s, v)| s == slot && v == value),
            "{slot} changed"
        );
    }
    // By effect: deployed to PCI Staging, the step sees the stored secret, not the plain value.
    secure.site.keygen("result-signer");
    let deployed = secure
        .site
        .import()
        .args(["deploy", "--project", "Payments API", "--version", "1.0.0"])
        .args(["--environment", "PCI Staging", "--key", "result-signer.key"])
        .args(["--result-out", "result.zb", "--secrets", "secrets.toml"])
        .args([
            "--ledger",
            "import.ledger",
            "--server",
            secure.pci.url.as_str(),
        ])
        .args(["--json"])
        .env("OCTOPUS_API_KEY", PCI_KEY)
        .ok()
        .json();
    assert_eq!(deployed["state"], "success", "{deployed}");
    let log = decompressed(&secure.site.path("result.zb"));
    let log = String::from_utf8_lossy(&log);
    assert!(log.contains(&sha256("pstg-Pq6&Vt3nXw8Kc1")), "{log}");
    assert!(!log.contains(&sha256("unscoped-default")), "{log}");
    Ok(())
}

/// The SHA-256 of `text` in hex, as `sha256sum` prints it.
fn sha256(text: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sha256sum: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("cannot write to sha256sum: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("sha256sum failed: {e}"));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}
