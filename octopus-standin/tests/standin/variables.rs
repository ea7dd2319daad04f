//! Variable sets: sensitive values never returned; re-sent with their `Id` they are kept,
//! without it they are wiped; scopes hold ids and `ScopeValues` names them; `Version`
//! optimistic concurrency.

use serde_json::{Value, json};

use crate::harness::{KEY, Standin, TestResult, expect, script_step};

const STALE: &str = "Changes to these variables could not be saved, because another user has made changes to the variables between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.";

fn variable<'a>(set: &'a Value, name: &str) -> Option<&'a Value> {
    set["Variables"]
        .as_array()?
        .iter()
        .find(|v| v["Name"] == name)
}

/// Deploys a release whose script prints the variable, and returns the raw log.
fn printed(
    standin: &Standin,
    project: &str,
    version: &str,
    env: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let release = standin.release(project, version, json!([]))?;
    let deployment = standin.deploy(crate::harness::id(&release)?.as_str(), env)?;
    let task = deployment["TaskId"].as_str().ok_or("no TaskId")?;
    let done = standin.wait_for_task(task, std::time::Duration::from_secs(30))?;
    assert_eq!(done["State"], "Success", "{done}");
    standin.raw_log(task)
}

#[test]
fn sensitive_values_are_never_returned() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let set = standin.set_variables(
        &project,
        json!([
            {"Name": "Db.Password", "Value": "pa55-w0rd-prod", "Type": "Sensitive", "IsSensitive": true},
            {"Name": "Db.Host", "Value": "db.internal"}
        ]),
    )?;
    let secret = variable(&set, "Db.Password").ok_or("no Db.Password")?;
    assert_eq!(secret["Value"], Value::Null);
    assert_eq!(secret["Type"], "Sensitive");
    assert_eq!(secret["IsSensitive"], true);
    assert_eq!(
        variable(&set, "Db.Host").ok_or("no Db.Host")?["Value"],
        "db.internal"
    );
    for path in [
        format!("/api/Spaces-1/variables/variableset-{project}"),
        "/api/Spaces-1/variables/all".to_owned(),
    ] {
        let text = standin
            .client()
            .get(format!("{}{path}", standin.url))
            .header("X-Octopus-ApiKey", KEY)
            .send()?
            .text()?;
        assert!(!text.contains("pa55-w0rd-prod"), "{path} leaks the secret");
    }
    Ok(())
}

#[test]
fn a_sensitive_variable_resent_with_its_id_keeps_its_secret_and_without_it_is_wiped() -> TestResult
{
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let project = standin.project("Ledger", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([script_step("Show", "echo \"token=[#{Api.Token}]\"")]),
    )?;
    let set = standin.set_variables(
        &project,
        json!([{"Name": "Api.Token", "Value": "tkn-12345", "Type": "Sensitive"}]),
    )?;
    // Sent back as read (Id, Value null): kept. The script sees it; the log masks it.
    let path = format!("/api/Spaces-1/variables/variableset-{project}");
    let kept = expect(standin.put(&path, &set)?, 200)?;
    let log = printed(&standin, &project, "1.0.0", &env)?;
    assert!(log.contains("token=[********]"), "{log}");
    assert!(
        !log.contains("tkn-12345"),
        "the raw log leaks the secret:\n{log}"
    );
    // Sent back without its Id: a new variable with no value; the secret is gone.
    let mut wiped = kept.clone();
    wiped["Variables"][0]
        .as_object_mut()
        .map(|v| v.remove("Id"));
    let wiped = expect(standin.put(&path, &wiped)?, 200)?;
    assert_ne!(wiped["Variables"][0]["Id"], kept["Variables"][0]["Id"]);
    let log = printed(&standin, &project, "1.0.1", &env)?;
    assert!(
        log.contains("token=[#{Api.Token}]"),
        "a wiped secret leaves the reference unresolved:\n{log}"
    );
    // An empty value with the Id keeps it as well (null and "" are the same, as measured).
    let mut again = standin.ok(&path)?;
    again["Variables"][0]["Value"] = json!("tkn-999");
    let again = expect(standin.put(&path, &again)?, 200)?;
    let mut empty = again.clone();
    empty["Variables"][0]["Value"] = json!("");
    expect(standin.put(&path, &empty)?, 200)?;
    let log = printed(&standin, &project, "1.0.2", &env)?;
    assert!(log.contains("token=[********]"), "{log}");
    Ok(())
}

#[test]
fn scopes_hold_ids_and_scope_values_names_them() -> TestResult {
    let standin = Standin::start()?;
    let dev = standin.environment("Development")?;
    let prod = standin.environment("Production")?;
    let project = standin.project("Fraud Rules", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([script_step("Print", "echo \"url=#{Rules.Url}\"")]),
    )?;
    let set = standin.set_variables(
        &project,
        json!([
            {"Name": "Rules.Url", "Value": "https://rules.dev", "Scope": {"Environment": [dev]}},
            {"Name": "Rules.Url", "Value": "https://rules.prod", "Scope": {"Environment": [prod]}},
            {"Name": "Rules.Url", "Value": "https://rules.default"}
        ]),
    )?;
    let names: Vec<&Value> = set["ScopeValues"]["Environments"]
        .as_array()
        .ok_or("no ScopeValues")?
        .iter()
        .collect();
    assert!(
        names.contains(&&json!({"Id": dev, "Name": "Development"})),
        "{names:?}"
    );
    assert_eq!(
        set["ScopeValues"]["Processes"][0]["ProcessType"],
        "Deployment"
    );
    assert_eq!(set["ScopeValues"]["Actions"][0]["Name"], "Print");
    // The most specific value applies.
    assert!(printed(&standin, &project, "2.0.0", &prod)?.contains("url=https://rules.prod"));
    // A scope naming an environment that does not exist is refused.
    let path = format!("/api/Spaces-1/variables/variableset-{project}");
    let mut bad = standin.ok(&path)?;
    bad["Variables"][0]["Scope"] = json!({"Environment": ["Environments-404"]});
    let refused = expect(standin.put(&path, &bad)?, 400)?;
    assert!(
        refused["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("Environments-404")),
        "{refused}"
    );
    Ok(())
}

#[test]
fn a_stale_variable_set_version_is_refused() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let path = format!("/api/Spaces-1/variables/variableset-{project}");
    let mut first = standin.ok(&path)?;
    let mut second = first.clone();
    first["Variables"] = json!([{"Name": "A", "Value": "1"}]);
    expect(standin.put(&path, &first)?, 200)?;
    second["Variables"] = json!([{"Name": "B", "Value": "2"}]);
    let refused = expect(standin.put(&path, &second)?, 400)?;
    assert_eq!(refused["Errors"][0], STALE);
    Ok(())
}

#[test]
fn library_variable_sets_have_their_own_variable_set() -> TestResult {
    let standin = Standin::start()?;
    let library = standin.create(
        "/api/Spaces-1/libraryvariablesets",
        &json!({"Name": "Common Settings"}),
    )?;
    assert_eq!(library["ContentType"], "Variables");
    let set_id = library["VariableSetId"]
        .as_str()
        .ok_or("no VariableSetId")?;
    let set = standin.ok(&format!("/api/Spaces-1/variables/{set_id}"))?;
    assert_eq!(set["OwnerId"], library["Id"]);
    assert_eq!(set["Version"], 0);
    Ok(())
}
