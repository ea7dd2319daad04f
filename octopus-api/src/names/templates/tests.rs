use serde_json::json;

use super::*;
use crate::names::{NameMap, Table};

type Res = Result<(), Box<dyn std::error::Error>>;

fn directory() -> Directory {
    Directory {
        feeds: Table::new([
            ("feeds-builtin", "Octopus Server (built-in)"),
            ("Feeds-3", "Docker Hub"),
        ]),
        step_templates: Table::new([("ActionTemplates-7", "Check URL")]),
        ..Directory::default()
    }
}

fn template(
    script: &str,
    secret_default: serde_json::Value,
) -> Result<ActionTemplate, serde_json::Error> {
    serde_json::from_value(json!({
        "Id": "ActionTemplates-7", "SpaceId": "Spaces-1", "Version": 3, "Name": "Check URL",
        "Description": "Checks a URL.", "ActionType": "Octopus.Script",
        "CommunityActionTemplateId": "CommunityActionTemplates-88", "StepPackageId": "future",
        "LastModifiedOn": "2026-01-01T00:00:00.000+00:00", "LastModifiedBy": "alice",
        "Links": {"Self": "/api/Spaces-1/actiontemplates/ActionTemplates-7"},
        "Properties": {"Octopus.Action.Script.ScriptBody": script, "Octopus.Action.Package.FeedId": "Feeds-3",
                       "Token": {"HasValue": true, "NewValue": null}},
        "Packages": [{"Id": "p-guid", "Name": "tool", "PackageId": "Tool", "FeedId": "Feeds-3", "AcquisitionLocation": "Server", "Properties": {}}],
        "Parameters": [
            {"Id": "a-guid", "Name": "Url", "Label": "URL", "HelpText": "", "DefaultValue": "https://example.org",
             "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
            {"Id": "b-guid", "Name": "Password", "Label": "Password", "DefaultValue": secret_default,
             "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}
        ]
    }))
}

#[test]
fn a_template_travels_with_names_and_without_ids_or_secrets() -> Res {
    // A server that (wrongly, or an old one) sends a sensitive default as text: it never
    // travels either.
    for default in [json!({"HasValue": true, "NewValue": null}), json!("s3cret")] {
        let named = template_to_names(&template("curl $Url", default)?, &directory())
            .map_err(|e| e.join(", "))?;
        let text = serde_json::to_string(&named)?;
        for leaked in [
            "ActionTemplates-7",
            "Feeds-3",
            "Spaces-1",
            "CommunityActionTemplates-88",
            "a-guid",
            "p-guid",
            "s3cret",
            "alice",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert_eq!(named.version, 3);
        assert_eq!(named.packages[0].feed, "Docker Hub");
        assert_eq!(
            named.properties.get("Octopus.Action.Package.FeedId"),
            Some(&PropertyValue::Text("Docker Hub".into()))
        );
        assert_eq!(
            serde_json::to_value(&named.parameters[1].default_value)?,
            json!({"HasValue": true, "NewValue": null})
        );
        assert_eq!(
            named.other.get("StepPackageId"),
            Some(&json!("future")),
            "unknown fields travel"
        );
    }
    Ok(())
}

#[test]
fn every_feed_without_a_name_is_reported() -> Res {
    let mut t = template("x", json!(null))?;
    t.packages[0].feed_id = "Feeds-404".into();
    t.properties.insert(
        "Octopus.Action.Package.FeedId".into(),
        PropertyValue::Text("Feeds-77".into()),
    );
    let missing = template_to_names(&t, &directory())
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        missing,
        ["Octopus.Action.Package.FeedId Feeds-77", "feed Feeds-404"]
    );
    Ok(())
}

#[test]
fn same_content_ignores_version_instance_fields_and_secrets() -> Res {
    let dev = template_to_names(
        &template("curl $Url", json!({"HasValue": true, "NewValue": null}))?,
        &directory(),
    )
    .map_err(|e| e.join(", "))?;
    let mut target_raw = template("curl $Url", json!({"HasValue": false, "NewValue": null}))?;
    target_raw.id = Some("ActionTemplates-1".into());
    target_raw.version = 0;
    target_raw.parameters[0].id = Some("other-guid".into());
    target_raw.other.remove("CommunityActionTemplateId");
    let target = template_to_names(&target_raw, &directory()).map_err(|e| e.join(", "))?;
    assert_eq!(template_difference(&dev, &target), None);

    let changed = template_to_names(&template("curl -f $Url", json!(null))?, &directory())
        .map_err(|e| e.join(", "))?;
    assert_eq!(
        template_difference(&dev, &changed).as_deref(),
        Some(
            "Properties > Octopus.Action.Script.ScriptBody: the bundle has \"curl $Url\", the target \"curl -f $Url\""
        )
    );
    // What only the target has is a difference too: its template would not be the bundle's.
    let mut extra = target.clone();
    extra.properties.insert(
        "Octopus.Action.RunOnServer".into(),
        PropertyValue::Text("true".into()),
    );
    assert_eq!(
        template_difference(&dev, &extra).as_deref(),
        Some(
            "Properties > Octopus.Action.RunOnServer: the bundle has nothing, the target \"true\""
        )
    );
    let mut fewer = target.clone();
    fewer.parameters.pop();
    assert!(
        template_difference(&dev, &fewer)
            .is_some_and(|d| d.starts_with("Parameters: the bundle has ["))
    );
    let mut long = target;
    long.description = Some("x".repeat(500));
    assert!(
        template_difference(&dev, &long).is_some_and(|d| d.ends_with("xxx...") && d.len() < 200)
    );
    Ok(())
}

#[test]
fn the_target_template_reuses_ids_and_keeps_its_own_secrets() -> Res {
    let named = template_to_names(
        &template("curl $Url", json!({"HasValue": true, "NewValue": null}))?,
        &directory(),
    )
    .map_err(|e| e.join(", "))?;
    let target_dir = Directory {
        feeds: Table::new([("Feeds-9", "Docker Hub")]),
        ..Directory::default()
    };
    let map = NameMap::new();
    let mut resolver = Resolver::new(&target_dir, &map);
    let created = resolver.step_template(&named, "Check URL (secure)", None);
    assert_eq!(created.id, None);
    assert_eq!(created.name, "Check URL (secure)");
    assert_eq!(created.packages[0].feed_id, "Feeds-9");
    assert_eq!(created.packages[0].id, None);
    assert_eq!(
        serde_json::to_value(&created.parameters[1].default_value)?,
        json!({"HasValue": false, "NewValue": null}),
        "a bundle never sets a secret"
    );
    let mut existing = created.clone();
    existing.id = Some("ActionTemplates-2".into());
    existing.version = 4;
    existing.parameters[1].id = Some("secure-guid".into());
    existing.parameters[1].default_value = Some(PropertyValue::Sensitive(SensitiveValue {
        has_value: true,
        new_value: None,
        hint: None,
    }));
    existing.other.insert(
        "CommunityActionTemplateId".into(),
        json!("CommunityActionTemplates-1"),
    );
    let updated = resolver.step_template(&named, "Check URL (secure)", Some(&existing));
    assert_eq!(updated.id.as_deref(), Some("ActionTemplates-2"));
    assert_eq!(updated.version, 4, "the version read, for the PUT");
    assert_eq!(updated.parameters[1].id.as_deref(), Some("secure-guid"));
    assert_eq!(
        serde_json::to_value(&updated.parameters[1].default_value)?,
        json!({"HasValue": true, "NewValue": null}),
        "the secure zone's secret is kept"
    );
    assert_eq!(
        updated.other.get("CommunityActionTemplateId"),
        Some(&json!("CommunityActionTemplates-1"))
    );
    assert!(resolver.finish().is_ok());

    // A hostile bundle that carries a value for a sensitive default (as a new value, or as
    // text) sets nothing.
    let mut hostile = named.clone();
    hostile.parameters[1].default_value = Some(PropertyValue::Sensitive(SensitiveValue {
        has_value: true,
        new_value: Some("planted".into()),
        hint: None,
    }));
    hostile.properties.insert(
        "Token".into(),
        PropertyValue::Sensitive(SensitiveValue {
            has_value: true,
            new_value: Some("planted".into()),
            hint: None,
        }),
    );
    for bundle in [hostile.clone(), {
        let mut as_text = hostile;
        as_text.parameters[1].default_value = Some(PropertyValue::Text("planted".into()));
        as_text
    }] {
        for target in [None, Some(&existing)] {
            let mut fresh = Resolver::new(&target_dir, &map);
            let sent = serde_json::to_string(&fresh.step_template(&bundle, "T", target))?;
            assert!(!sent.contains("planted"), "{sent}");
        }
    }
    let mut lacking = Resolver::new(&Directory::default(), &map);
    lacking.step_template(&named, "Check URL", None);
    let unresolved = lacking.finish().err().ok_or("expected unresolved feeds")?;
    assert_eq!(
        unresolved[0].to_string(),
        "feed \"Docker Hub\": not on the target (used in package Tool of step template \"Check URL\"; property Octopus.Action.Package.FeedId of step template \"Check URL\")"
    );
    Ok(())
}

#[test]
fn template_uses_lists_actions_with_a_template() -> Res {
    let process: DeploymentProcess = serde_json::from_value(json!({
        "Id": "p", "Version": 1,
        "Steps": [{"Name": "S", "Actions": [
            {"Name": "A", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "ActionTemplates-7", "Octopus.Action.Template.Version": "3"}},
            {"Name": "B", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": " "}},
            {"Name": "C", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "ActionTemplates-8"}}]}]
    }))?;
    assert_eq!(
        template_uses(&process),
        [
            TemplateUse {
                action: "A".into(),
                template: "ActionTemplates-7".into(),
                version: Some("3".into())
            },
            TemplateUse {
                action: "C".into(),
                template: "ActionTemplates-8".into(),
                version: None
            },
        ]
    );
    Ok(())
}
