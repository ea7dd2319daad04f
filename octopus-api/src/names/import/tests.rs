//! Names -> ids: renames, drops, every unresolved name at once, id reuse, sensitive properties,
//! and the round trip through the export direction.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::names::directory::{Directory, Table};
use crate::names::export::{OwnerType, process_to_names, variables_to_names};
use crate::names::model::{NamedProcess, NamedVariableSet};
use crate::resources::{DeploymentProcess, PropertyValue, VariableSet};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The secure instance: PCI Staging, Production and DR, the built-in feed, one team.
fn target() -> Directory {
    Directory {
        environments: Table::new([
            ("Environments-1", "PCI Staging"),
            ("Environments-2", "Production"),
            ("Environments-3", "DR"),
        ]),
        channels: Table::new([("Channels-7", "Default")]),
        feeds: Table::new([("feeds-builtin", "Octopus Server (built-in)")]),
        worker_pools: Table::new([("WorkerPools-2", "PCI Linux Workers")]),
        teams: Table::new([("Teams-4", "PCI Change Approvers")]),
        machines: Table::default(),
        ..Directory::default()
    }
}

fn staging_to_pci() -> NameMap {
    let mut map = NameMap::new();
    map.rename(NameKind::Environment, "Staging", "PCI Staging");
    map
}

fn empty_process() -> Result<DeploymentProcess, serde_json::Error> {
    serde_json::from_value(json!({"Id": "deploymentprocess-Projects-3", "Version": 0, "Steps": []}))
}

fn named_process() -> Result<NamedProcess, serde_json::Error> {
    serde_json::from_value(json!({
        "Project": "Payments API",
        "Steps": [
            {"Name": "Approve", "Condition": "Success", "Properties": {},
             "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual", "WorkerPool": null,
                "Environments": ["Production"], "ExcludedEnvironments": [], "Channels": [],
                "Packages": [],
                "Properties": {"Octopus.Action.Manual.ResponsibleTeamIds": "PCI Change Approvers"}}]},
            {"Name": "Deploy", "Properties": {"Octopus.Action.TargetRoles": "web"},
             "Actions": [{"Name": "Deploy", "ActionType": "Octopus.TentaclePackage", "WorkerPool": "PCI Linux Workers",
                "Environments": ["Staging", "Production"], "ExcludedEnvironments": ["Development"], "Channels": ["Default"],
                "Packages": [{"Name": "", "PackageId": "Payments.Api", "Feed": "Octopus Server (built-in)", "AcquisitionLocation": "Server"}],
                "Properties": {"Octopus.Action.Package.FeedId": "Octopus Server (built-in)",
                    "Api.Token": {"HasValue": true, "NewValue": null}}}]}
        ]
    }))
}

#[test]
fn a_process_gets_the_targets_ids_and_renames() -> TestResult {
    let directory = target();
    let mut map = staging_to_pci();
    map.set_unmapped(NameKind::Environment, Unmapped::Drop);
    let mut resolver = Resolver::new(&directory, &map);
    let imported = resolver.process(&named_process()?, &empty_process()?);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    let approve = &imported.steps[0].actions[0];
    assert_eq!(approve.environments, ["Environments-2"]);
    assert_eq!(
        approve
            .properties
            .get("Octopus.Action.Manual.ResponsibleTeamIds"),
        Some(&PropertyValue::Text("Teams-4".into()))
    );
    let deploy = &imported.steps[1].actions[0];
    assert_eq!(deploy.environments, ["Environments-1", "Environments-2"]);
    // Development is not on the target and not mapped: dropped from the exclusions.
    assert!(deploy.excluded_environments.is_empty());
    assert_eq!(deploy.channels, ["Channels-7"]);
    assert_eq!(
        deploy.other.get("WorkerPoolId"),
        Some(&json!("WorkerPools-2"))
    );
    assert_eq!(deploy.packages[0].feed_id, "feeds-builtin");
    assert_eq!(
        deploy.properties.get("Octopus.Action.Package.FeedId"),
        Some(&PropertyValue::Text("feeds-builtin".into()))
    );
    assert_eq!(
        imported.steps[0].other.get("Condition"),
        Some(&json!("Success"))
    );
    // A new process: nothing to reuse, and the token needs a value.
    assert!(imported.steps.iter().all(|s| s.id.is_none()));
    assert_eq!(
        imported.needs_values,
        [PropertySlot {
            action: "Deploy".into(),
            property: "Api.Token".into()
        }]
    );
    Ok(())
}

#[test]
fn every_unresolved_name_is_reported_at_once_with_where_it_is_used() -> TestResult {
    let directory = target();
    let mut map = NameMap::new();
    map.rename(NameKind::Feed, "Octopus Server (built-in)", "Artifactory");
    let mut resolver = Resolver::new(&directory, &map);
    let _ = resolver.process(&named_process()?, &empty_process()?);
    let unresolved = resolver.finish().err().ok_or("expected unresolved names")?;
    let lines: Vec<String> = unresolved.iter().map(ToString::to_string).collect();
    assert_eq!(unresolved.len(), 3, "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "environment \"Staging\": not on the target (used in action \"Deploy\" Environments)"
        )),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("environment \"Development\": not on the target"))
    );
    let feed = unresolved
        .iter()
        .find(|u| u.kind == Some(NameKind::Feed))
        .ok_or("the feed")?;
    assert_eq!(feed.renamed_to.as_deref(), Some("Artifactory"));
    assert_eq!(
        feed.used_in,
        [
            "package Payments.Api of action \"Deploy\"",
            "property Octopus.Action.Package.FeedId of action \"Deploy\""
        ]
    );
    Ok(())
}

#[test]
fn dropping_every_environment_of_an_action_filter_is_refused() -> TestResult {
    let directory = target();
    let mut map = NameMap::new();
    map.set_unmapped(NameKind::Environment, Unmapped::Drop);
    let named: NamedProcess = serde_json::from_value(
        json!({"Project": "P", "Steps": [{"Name": "S",
        "Actions": [{"Name": "Dev only", "ActionType": "Octopus.Script", "Environments": ["Development"]}]}]}),
    )?;
    let mut resolver = Resolver::new(&directory, &map);
    let _ = resolver.process(&named, &empty_process()?);
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    assert_eq!(unresolved[0].problem, Problem::FilterWouldWiden);
    assert!(
        unresolved[0]
            .to_string()
            .contains("would run in every environment")
    );
    Ok(())
}

#[test]
fn existing_ids_are_reused_and_stored_secrets_kept() -> TestResult {
    let existing: DeploymentProcess = serde_json::from_value(json!({
        "Id": "deploymentprocess-Projects-3", "Version": 4,
        "Steps": [{"Id": "step-guid", "Name": "deploy", "Actions": [{"Id": "action-guid", "Name": "DEPLOY",
            "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Id": "package-guid", "Name": "", "PackageId": "Payments.Api", "FeedId": "feeds-builtin"}],
            "Properties": {"Api.Token": {"HasValue": true, "NewValue": null}}}]}]
    }))?;
    let directory = target();
    let map = staging_to_pci();
    let mut resolver = Resolver::new(&directory, &map);
    let imported = resolver.process(&named_process()?, &existing);
    assert!(
        resolver
            .unresolved()
            .iter()
            .all(|u| u.name == "Development")
    );
    let deploy = &imported.steps[1];
    assert_eq!(deploy.id.as_deref(), Some("step-guid"));
    assert_eq!(deploy.actions[0].id.as_deref(), Some("action-guid"));
    assert_eq!(
        deploy.actions[0].packages[0].id.as_deref(),
        Some("package-guid")
    );
    assert!(
        imported.needs_values.is_empty(),
        "the target stores the token"
    );
    assert_eq!(imported.steps[0].id, None);
    let table = imported.action_table();
    assert_eq!(table.id_of("Deploy"), Some("action-guid"));
    assert_eq!(table.id_of("Approve"), Some("new-action:Approve"));
    Ok(())
}

#[test]
fn a_filled_secret_is_sent_as_a_new_value() -> TestResult {
    let directory = target();
    let map = NameMap::new();
    let named: NamedProcess = serde_json::from_value(
        json!({"Project": "P", "Steps": [{"Name": "S",
        "Actions": [{"Name": "A", "ActionType": "Octopus.Script",
            "Properties": {"Token": {"HasValue": true, "NewValue": null}, "Off": {"HasValue": false, "NewValue": null}}}]}]}),
    )?;
    let mut resolver = Resolver::new(&directory, &map);
    let mut imported = resolver.process(&named, &empty_process()?);
    let slot = imported.needs_values.first().cloned().ok_or("a slot")?;
    imported.fill(&slot, "s3cret");
    let sent = serde_json::to_value(&imported.steps[0].actions[0].properties)?;
    assert_eq!(
        sent["Token"],
        json!({"HasValue": true, "NewValue": "s3cret"})
    );
    assert_eq!(sent["Off"], json!({"HasValue": false, "NewValue": null}));
    Ok(())
}

#[test]
fn a_stored_secret_is_kept_even_where_the_bundle_says_it_has_no_value() -> TestResult {
    let existing: DeploymentProcess = serde_json::from_value(json!({
        "Id": "deploymentprocess-Projects-3", "Version": 4,
        "Steps": [{"Id": "s", "Name": "S", "Actions": [{"Id": "a", "Name": "A",
            "ActionType": "Octopus.Script",
            "Properties": {"Token": {"HasValue": true, "NewValue": null}, "Off": {"HasValue": false, "NewValue": null}}}]}]
    }))?;
    let directory = target();
    let map = NameMap::new();
    for token in [
        json!({"HasValue": false, "NewValue": null}),
        json!({"NewValue": null}),
        json!({"HasValue": true, "NewValue": null}),
    ] {
        let named: NamedProcess =
            serde_json::from_value(json!({"Project": "P", "Steps": [{"Name": "S",
            "Actions": [{"Name": "A", "ActionType": "Octopus.Script",
                "Properties": {"Token": token, "Off": {"HasValue": false}}}]}]}))?;
        let mut resolver = Resolver::new(&directory, &map);
        let imported = resolver.process(&named, &existing);
        assert!(imported.needs_values.is_empty(), "{token}");
        let sent = serde_json::to_value(&imported.steps[0].actions[0].properties)?;
        assert_eq!(
            sent["Token"],
            json!({"HasValue": true, "NewValue": null}),
            "{token}"
        );
        assert_eq!(
            sent["Off"],
            json!({"HasValue": false, "NewValue": null}),
            "{token}"
        );
    }
    Ok(())
}

fn named_variables() -> Result<NamedVariableSet, serde_json::Error> {
    serde_json::from_value(json!({
        "OwnerType": "Project", "Owner": "Fraud Rules",
        "Variables": [
            {"Name": "Url", "Value": "https://dev", "Scope": {"Environment": ["Development"]}, "Type": "String", "IsSensitive": false},
            {"Name": "Url", "Value": "https://stg", "Scope": {"Environment": ["Staging"]}, "Type": "String", "IsSensitive": false},
            {"Name": "Threshold", "Value": "820", "Scope": {"Environment": ["Development", "Staging"], "Role": ["web"]}, "Type": "String", "IsSensitive": false, "Description": "d"},
            {"Name": "Token", "Value": null, "Scope": {"Environment": ["Staging"], "Action": ["Deploy"]}, "Type": "Sensitive", "IsSensitive": true},
            {"Name": "Global", "Value": "1", "Scope": {}, "Type": "String", "IsSensitive": false}
        ]
    }))
}

#[test]
fn variables_with_a_scope_dropped_to_nothing_are_skipped_never_unscoped() -> TestResult {
    let directory = target();
    let mut map = staging_to_pci();
    map.set_unmapped(NameKind::Environment, Unmapped::Drop);
    let mut resolver = Resolver::new(&directory, &map);
    resolver.set_table(NameKind::Action, Table::new([("action-guid", "Deploy")]));
    let imported = resolver.variables(&named_variables()?);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    let names: Vec<(&str, BTreeMap<String, Vec<String>>)> = imported
        .variables
        .iter()
        .map(|v| (v.variable.name.as_str(), v.variable.scope.clone()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "Url",
                BTreeMap::from([("Environment".into(), vec!["Environments-1".into()])])
            ),
            (
                "Threshold",
                BTreeMap::from([
                    ("Environment".into(), vec!["Environments-1".into()]),
                    ("Role".into(), vec!["web".into()])
                ])
            ),
            (
                "Token",
                BTreeMap::from([
                    ("Action".into(), vec!["action-guid".into()]),
                    ("Environment".into(), vec!["Environments-1".into()])
                ])
            ),
            ("Global", BTreeMap::new()),
        ]
    );
    assert_eq!(imported.skipped.len(), 1);
    assert_eq!(imported.skipped[0].name, "Url");
    assert_eq!(imported.skipped[0].dropped, ["Development"]);
    let token = &imported.variables[2];
    assert!(token.variable.is_sensitive && token.variable.value.is_none());
    assert_eq!(
        token.scope_names,
        BTreeMap::from([
            ("Action".into(), vec!["Deploy".into()]),
            ("Environment".into(), vec!["PCI Staging".into()])
        ])
    );
    assert_eq!(
        imported.variables[1].variable.other.get("Description"),
        Some(&json!("d"))
    );
    Ok(())
}

#[test]
fn without_a_drop_rule_every_unknown_environment_is_refused() -> TestResult {
    let directory = target();
    let map = staging_to_pci();
    let mut resolver = Resolver::new(&directory, &map);
    resolver.set_table(NameKind::Action, Table::new([("action-guid", "Deploy")]));
    let _ = resolver.variables(&named_variables()?);
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    assert_eq!(unresolved.len(), 1);
    assert_eq!(unresolved[0].name, "Development");
    assert_eq!(
        unresolved[0].used_in,
        [
            "variable Url of project \"Fraud Rules\"",
            "variable Threshold of project \"Fraud Rules\""
        ]
    );
    Ok(())
}

#[test]
fn an_explicit_rename_to_a_missing_name_is_never_dropped() -> TestResult {
    let directory = target();
    let mut map = NameMap::new();
    map.rename(NameKind::Environment, "Staging", "Stagging");
    map.set_unmapped(NameKind::Environment, Unmapped::Drop);
    let mut resolver = Resolver::new(&directory, &map);
    let scope = BTreeMap::from([("Environment".to_owned(), vec!["Staging".to_owned()])]);
    let _ = resolver.scope(&scope, "variable X");
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    assert!(
        unresolved[0]
            .to_string()
            .contains("renames it to \"Stagging\"")
    );
    Ok(())
}

#[test]
fn unknown_scope_dimensions_are_refused_and_action_names_must_exist() -> TestResult {
    let directory = target();
    let map = NameMap::new();
    let mut resolver = Resolver::new(&directory, &map);
    resolver.set_table(NameKind::Action, Table::default());
    let scope = BTreeMap::from([
        ("ProcessOwner".to_owned(), vec!["Projects-3".to_owned()]),
        ("Action".to_owned(), vec!["Gone".to_owned()]),
    ]);
    let _ = resolver.scope(&scope, "variable X");
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    assert_eq!(unresolved.len(), 2);
    assert!(
        unresolved
            .iter()
            .any(|u| u.problem == Problem::UnknownScope)
    );
    assert!(unresolved.iter().any(|u| u.kind == Some(NameKind::Action)));
    Ok(())
}

#[test]
fn names_match_ignoring_case_and_scopes_compare_as_sets() {
    let a = BTreeMap::from([
        (
            "Environment".to_owned(),
            vec!["B".to_owned(), "a".to_owned()],
        ),
        ("Role".to_owned(), Vec::new()),
    ]);
    let b = BTreeMap::from([(
        "Environment".to_owned(),
        vec!["A".to_owned(), "b".to_owned()],
    )]);
    assert_eq!(scope_key(&a), scope_key(&b));
    assert_eq!(scope_text(&b), "Environment = A, b");
    assert_eq!(scope_text(&BTreeMap::new()), "unscoped");
    let mut map = NameMap::new();
    assert_eq!(map.rename(NameKind::Team, "Ops", "PCI Ops"), None);
    assert_eq!(
        map.rename(NameKind::Team, "OPS", "Other"),
        Some("PCI Ops".to_owned())
    );
    assert_eq!(map.target_name(NameKind::Team, "ops"), "Other");
    assert_eq!(map.target_name(NameKind::Feed, "ops"), "ops");
}

#[test]
fn import_then_export_on_the_target_gives_the_mapped_bundle_back() -> TestResult {
    let directory = target();
    let map = staging_to_pci();
    let mut named = named_process()?;
    // Without the development-only exclusion, every name exists after the rename.
    named.steps[1].actions[0].excluded_environments.clear();
    let mut resolver = Resolver::new(&directory, &map);
    let imported = resolver.process(&named, &empty_process()?);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    let process: DeploymentProcess = serde_json::from_value(json!({"Id": "p", "Version": 1}))?;
    let process = DeploymentProcess {
        steps: imported.steps.clone(),
        ..process
    };
    let back = serde_json::to_value(
        process_to_names(&process, "Payments API", &directory).map_err(|e| e.join(", "))?,
    )?;
    let deploy = &back["Steps"][1]["Actions"][0];
    assert_eq!(deploy["Environments"], json!(["PCI Staging", "Production"]));
    assert_eq!(deploy["WorkerPool"], "PCI Linux Workers");
    assert_eq!(deploy["Packages"][0]["Feed"], "Octopus Server (built-in)");
    assert_eq!(
        back["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Manual.ResponsibleTeamIds"],
        "PCI Change Approvers"
    );

    let mut resolver = Resolver::new(&directory, &map);
    resolver.set_table(NameKind::Action, imported.action_table());
    let mut set = named_variables()?;
    set.variables
        .retain(|v| v.name != "Url" && v.name != "Threshold");
    // New actions have placeholder ids until the process is written.
    let mut placeholder = resolver.variables(&set);
    assert_eq!(
        placeholder.variables[0].variable.scope.get("Action"),
        Some(&vec!["new-action:Deploy".to_owned()])
    );
    placeholder.with_actions(&Table::new([("action-guid", "Deploy")]));
    assert_eq!(
        placeholder.variables[0].variable.scope.get("Action"),
        Some(&vec!["action-guid".to_owned()])
    );
    let variables = resolver.variables(&set);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    let target_set: VariableSet =
        serde_json::from_value(json!({"Id": "v", "OwnerId": "Projects-3"}))?;
    let target_set = VariableSet {
        variables: variables
            .variables
            .into_iter()
            .map(|v| v.variable)
            .collect(),
        ..target_set
    };
    let back = serde_json::to_value(
        variables_to_names(
            &target_set,
            OwnerType::Project,
            "Fraud Rules",
            &directory,
            &imported.action_table(),
        )
        .map_err(|e| e.join(", "))?,
    )?;
    assert_eq!(
        back["Variables"][0]["Scope"],
        json!({"Action": ["Deploy"], "Environment": ["PCI Staging"]})
    );
    Ok(())
}

#[test]
fn a_feed_expression_round_trips_as_written_and_a_named_feed_resolves() -> TestResult {
    let named: NamedProcess = serde_json::from_value(json!({
        "Project": "Payments API",
        "Steps": [{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.KubernetesDeployContainers",
            "Packages": [
                {"Name": "api", "PackageId": "payments/api", "Feed": "#{Kubernetes.Feed}"},
                {"Name": "chart", "PackageId": "payments", "Feed": "Charts"}
            ],
            "Properties": {"Octopus.Action.Package.FeedId": "#{Kubernetes.Feed}"}}]}]
    }))?;
    let mut directory = target();
    directory.feeds.insert("Feeds-7", "Charts");
    let map = NameMap::new();
    let mut resolver = Resolver::new(&directory, &map);
    let process = resolver.process(&named, &empty_process()?);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    let action = &process.steps[0].actions[0];
    assert_eq!(action.packages[0].feed_id, "#{Kubernetes.Feed}");
    assert_eq!(action.packages[1].feed_id, "Feeds-7");
    assert_eq!(
        action.properties.get("Octopus.Action.Package.FeedId"),
        Some(&PropertyValue::Text("#{Kubernetes.Feed}".to_owned()))
    );
    // And back: the export direction keeps the expression and names the feed.
    let process = DeploymentProcess {
        id: String::new(),
        version: 0,
        steps: process.steps,
        other: crate::resources::Other::new(),
    };
    let back = serde_json::to_value(
        process_to_names(&process, "Payments API", &directory).map_err(|e| e.join(", "))?,
    )?;
    let packages = &back["Steps"][0]["Actions"][0]["Packages"];
    assert_eq!(packages[0]["Feed"], "#{Kubernetes.Feed}");
    assert_eq!(packages[1]["Feed"], "Charts");
    // A feed the target lacks is still refused by name.
    let mut without = target();
    without.feeds = Table::new([("feeds-builtin", "Octopus Server (built-in)")]);
    let mut resolver = Resolver::new(&without, &map);
    let _ = resolver.process(&named, &empty_process()?);
    let missing = resolver.finish().err().ok_or("expected Charts missing")?;
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].name, "Charts");
    Ok(())
}
