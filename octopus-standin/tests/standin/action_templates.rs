//! Library step templates: the collection routes, `Version` (0 on create, +1 per save), the
//! history served by `versions/{version}`, sensitive parameter defaults kept apart, unknown
//! fields kept, and processes that name a template (or a version) that does not exist.

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id};
use crate::swagger::conforms;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Every reason of a 400 validation failure.
fn reasons(reply: crate::harness::Reply) -> Res<Vec<String>> {
    let body = expect(reply, 400)?;
    assert_eq!(
        body["ErrorMessage"],
        "There was a problem with your request."
    );
    Ok(body["Errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

fn template(name: &str, script: &str, password: Value) -> Value {
    json!({
        "Name": name, "Description": "Checks a URL.", "ActionType": "Octopus.Script",
        "Version": 41, "Id": "ActionTemplates-999", "StepPackageId": "future-field",
        "Properties": {"Octopus.Action.Script.ScriptBody": script, "Octopus.Action.Script.Syntax": "Bash"},
        "Packages": [{"Name": "tool", "PackageId": "Tool", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {}}],
        "Parameters": [
            {"Name": "Url", "Label": "URL", "HelpText": "What to check", "DefaultValue": "https://example.org",
             "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}, "AllowClear": true},
            {"Name": "Password", "Label": "Password", "DefaultValue": password,
             "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}
        ]
    })
}

fn uses_template(template: &str, version: &str) -> Value {
    json!([{"Name": "Check", "Actions": [{"Name": "Check", "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.ScriptBody": "echo", "Octopus.Action.Template.Id": template,
                       "Octopus.Action.Template.Version": version}}]}])
}

#[test]
fn templates_are_created_at_version_0_and_each_save_is_a_new_version_kept() -> TestResult {
    let s = Standin::start()?;
    let created = s.create(
        "/api/Spaces-1/actiontemplates",
        &template(
            "Check URL",
            "curl $Url",
            json!({"HasValue": true, "NewValue": "s3cret-default"}),
        ),
    )?;
    // The 2020.5 Swagger spec predates `StepPackageId`; everything else conforms.
    let mut declared = created.clone();
    declared.as_object_mut().map(|o| o.remove("StepPackageId"));
    declared["Parameters"][0]
        .as_object_mut()
        .map(|o| o.remove("AllowClear"));
    conforms("ActionTemplateResource", &declared)?;
    let tid = id(&created)?;
    assert_eq!(
        tid, "ActionTemplates-1",
        "the body's Id is the server's to give"
    );
    assert_eq!(created["Version"], 0, "the body's Version is ignored");
    assert_eq!(
        created["StepPackageId"], "future-field",
        "unknown fields kept"
    );
    assert_eq!(
        created["Parameters"][1]["DefaultValue"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        created["Parameters"][0]["DefaultValue"],
        "https://example.org"
    );
    assert!(
        created["Parameters"][0]["Id"]
            .as_str()
            .is_some_and(|i| !i.is_empty())
    );
    assert!(
        !s.ok(&format!("/api/Spaces-1/actiontemplates/{tid}"))?
            .to_string()
            .contains("s3cret-default")
    );

    // Sent back as read: the stored default stays; the version goes up by one.
    let mut changed = created.clone();
    changed["Properties"]["Octopus.Action.Script.ScriptBody"] = json!("curl -f $Url");
    let v1 = expect(
        s.put(&format!("/api/Spaces-1/actiontemplates/{tid}"), &changed)?,
        200,
    )?;
    assert_eq!(v1["Version"], 1);
    assert_eq!(
        v1["Parameters"][1]["DefaultValue"],
        json!({"HasValue": true, "NewValue": null})
    );
    // `{"HasValue": false}` clears it.
    let mut cleared = v1.clone();
    cleared["Parameters"][1]["DefaultValue"] = json!({"HasValue": false, "NewValue": null});
    let v2 = expect(
        s.put(&format!("/api/Spaces-1/actiontemplates/{tid}"), &cleared)?,
        200,
    )?;
    assert_eq!(v2["Version"], 2);
    assert_eq!(v2["Parameters"][1]["DefaultValue"]["HasValue"], false);

    // History: each version as it was saved.
    let old = s.ok(&format!("/api/Spaces-1/actiontemplates/{tid}/versions/0"))?;
    assert_eq!(old["Version"], 0);
    assert_eq!(
        old["Properties"]["Octopus.Action.Script.ScriptBody"],
        "curl $Url"
    );
    assert_eq!(old["Parameters"][1]["DefaultValue"]["HasValue"], true);
    let at1 = s.ok(&format!("/api/actiontemplates/{tid}/versions/1"))?;
    assert_eq!(
        at1["Properties"]["Octopus.Action.Script.ScriptBody"],
        "curl -f $Url"
    );
    for missing in ["3", "-1", "one"] {
        let body = expect(
            s.get(&format!(
                "/api/Spaces-1/actiontemplates/{tid}/versions/{missing}"
            ))?,
            404,
        )?;
        assert!(
            body["ErrorMessage"]
                .as_str()
                .is_some_and(|m| m.contains(&tid))
        );
    }
    expect(
        s.get("/api/Spaces-1/actiontemplates/ActionTemplates-77/versions/0")?,
        404,
    )?;

    // Lists.
    let page = s.ok("/api/Spaces-1/actiontemplates")?;
    assert_eq!(page["ItemType"], "ActionTemplate");
    assert_eq!(page["TotalResults"], 1);
    let all = s.ok("/api/Spaces-1/actiontemplates/all")?;
    assert_eq!(all[0]["Version"], 2);
    let by_name = s.ok("/api/Spaces-1/actiontemplates?name=check%20url")?;
    assert_eq!(by_name["TotalResults"], 1);
    Ok(())
}

#[test]
fn a_sensitive_default_given_as_text_is_stored_apart_too() -> TestResult {
    let s = Standin::start()?;
    let created = s.create(
        "/api/Spaces-1/actiontemplates",
        &template("T", "echo", json!("plain-given-secret")),
    )?;
    assert_eq!(
        created["Parameters"][1]["DefaultValue"],
        json!({"HasValue": true, "NewValue": null})
    );
    let none = s.create(
        "/api/Spaces-1/actiontemplates",
        &template("U", "echo", Value::Null),
    )?;
    assert_eq!(
        none["Parameters"][1]["DefaultValue"],
        json!({"HasValue": false, "NewValue": null})
    );
    let state = s.ok("/api/Spaces-1/actiontemplates/all")?.to_string();
    assert!(!state.contains("plain-given-secret"));
    Ok(())
}

#[test]
fn invalid_templates_are_refused_with_every_reason() -> TestResult {
    let s = Standin::start()?;
    let errors = reasons(s.post(
        "/api/Spaces-1/actiontemplates",
        &json!({"Name": "T", "Packages": [{"PackageId": "X", "FeedId": "Feeds-404"}],
                "Properties": {"P": 3},
                "Parameters": [{"Name": "A"}, {"Name": "a"}, {"Label": "no name"}, {"Name": "B", "DefaultValue": 5}]}),
    )?)?;
    assert_eq!(
        errors,
        [
            "The ActionType field is required.",
            "A package of step template 'T' refers to feed 'Feeds-404', which does not exist.",
            "The step template property P must be a string, or {\"HasValue\", \"NewValue\"} for a sensitive value.",
            "Parameter names must be unique: 'a' is used twice.",
            "A parameter of step template 'T' has no Name.",
            "The DefaultValue of parameter 'B' must be a string, or {\"HasValue\", \"NewValue\"} for a sensitive value.",
        ]
    );
    assert_eq!(
        reasons(s.post(
            "/api/Spaces-1/actiontemplates",
            &json!({"ActionType": "Octopus.Script"})
        )?)?,
        ["The Name field is required."]
    );
    s.create(
        "/api/Spaces-1/actiontemplates",
        &template("Check URL", "echo", Value::Null),
    )?;
    assert_eq!(
        reasons(s.post(
            "/api/Spaces-1/actiontemplates",
            &template("check url", "echo", Value::Null)
        )?)?,
        [
            "A step template with the name 'check url' already exists. Please choose a different name."
        ]
    );
    expect(s.get("/api/Spaces-1/actiontemplates")?, 200)?;
    assert_eq!(
        s.ok("/api/Spaces-1/actiontemplates")?["TotalResults"],
        1,
        "nothing refused was stored"
    );
    Ok(())
}

#[test]
fn a_process_must_name_an_existing_template_at_a_version_it_had() -> TestResult {
    let s = Standin::start()?;
    let project = id(&s.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Payments API", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"}),
    )?)?;
    let tid = id(&s.create(
        "/api/Spaces-1/actiontemplates",
        &template("Check URL", "echo", Value::Null),
    )?)?;
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let put = |steps: Value| -> Res<crate::harness::Reply> {
        let process = s.ok(&path)?;
        let body = json!({"Version": process["Version"], "ProjectId": project, "Steps": steps});
        s.put(&path, &body)
    };
    assert_eq!(
        reasons(put(uses_template("ActionTemplates-42", "0"))?)?,
        [
            "Action 'Check' uses step template 'ActionTemplates-42', which does not exist in Spaces-1."
        ]
    );
    // A foreign id (another instance's numbering) is just as unknown.
    assert_eq!(
        reasons(put(uses_template("Check URL", "0"))?)?,
        ["Action 'Check' uses step template 'Check URL', which does not exist in Spaces-1."]
    );
    for version in ["1", "", "latest"] {
        assert_eq!(
            reasons(put(uses_template(&tid, version))?)?,
            [format!(
                "Action 'Check' uses version '{version}' of step template 'Check URL', which it never had (its current version is 0)."
            )]
        );
    }
    let written = expect(put(uses_template(&tid, "0"))?, 200)?;
    assert_eq!(
        written["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Template.Id"],
        tid.as_str()
    );
    // In use: it cannot be deleted; a later version leaves old ones valid.
    assert_eq!(
        reasons(s.send(
            "DELETE",
            &format!("/api/Spaces-1/actiontemplates/{tid}"),
            None
        )?)?,
        [
            "The step template 'Check URL' is used by 1 deployment process(es) and cannot be deleted."
        ]
    );
    let current = s.ok(&format!("/api/Spaces-1/actiontemplates/{tid}"))?;
    expect(
        s.put(&format!("/api/Spaces-1/actiontemplates/{tid}"), &current)?,
        200,
    )?;
    expect(put(uses_template(&tid, "0"))?, 200)?;
    expect(put(uses_template(&tid, "1"))?, 200)?;
    expect(put(json!([]))?, 200)?;
    expect(
        s.send(
            "DELETE",
            &format!("/api/Spaces-1/actiontemplates/{tid}"),
            None,
        )?,
        200,
    )?;
    expect(s.get(&format!("/api/Spaces-1/actiontemplates/{tid}"))?, 404)?;
    Ok(())
}
