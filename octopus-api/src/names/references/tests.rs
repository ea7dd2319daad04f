//! Every reference kind of [`super`] named on the development side and resolved on the secure
//! side, where the same names have other ids; expressions and unknown fields unchanged; every
//! missing reference reported at once.

use serde_json::{Value, json};

use crate::names::directory::{Directory, Table};
use crate::names::export::{OwnerType, process_to_names, variables_to_names};
use crate::names::import::{NameKind, NameMap, Problem, Resolver, action_table};
use crate::resources::{DeploymentProcess, PropertyValue, VariableSet};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The development instance.
fn dev() -> Directory {
    Directory {
        environments: Table::new([("Environments-1", "Production")]),
        channels: Table::new([("Channels-1", "Default")]),
        feeds: Table::new([
            ("feeds-builtin", "Octopus Server (built-in)"),
            ("Feeds-1001", "Docker Hub"),
        ]),
        worker_pools: Table::new([("WorkerPools-1", "Linux Workers")]),
        accounts: Table::new([("Accounts-3", "AWS Prod"), ("Accounts-4", "Azure Prod")]),
        certificates: Table::new([("Certificates-2", "TLS Wildcard")]),
        git_credentials: Table::new([("GitCredentials-1", "GitHub Bot")]),
        tenants: Table::new([("Tenants-4", "Acme")]),
        tenant_tags: Table::new([("Region/West", "Region/West")]),
        runbooks: Table::new([("Runbooks-3", "Rotate keys")]),
        projects: Table::new([("Projects-1", "Payments API"), ("Projects-2", "Ledger")]),
        ..Directory::default()
    }
}

/// The secure instance: the same names, other ids.
fn secure() -> Directory {
    Directory {
        environments: Table::new([("Environments-31", "Production")]),
        channels: Table::new([("Channels-31", "Default")]),
        feeds: Table::new([
            ("feeds-builtin", "Octopus Server (built-in)"),
            ("Feeds-3101", "Docker Hub"),
        ]),
        worker_pools: Table::new([("WorkerPools-31", "Linux Workers")]),
        accounts: Table::new([("Accounts-33", "AWS Prod"), ("Accounts-34", "Azure Prod")]),
        certificates: Table::new([("Certificates-32", "TLS Wildcard")]),
        git_credentials: Table::new([("GitCredentials-31", "GitHub Bot")]),
        tenants: Table::new([("Tenants-34", "Acme")]),
        tenant_tags: Table::new([("Region/West", "Region/West")]),
        runbooks: Table::new([("Runbooks-33", "Rotate keys")]),
        projects: Table::new([("Projects-31", "Payments API"), ("Projects-32", "Ledger")]),
        ..Directory::default()
    }
}

fn dev_process() -> Result<DeploymentProcess, serde_json::Error> {
    serde_json::from_value(json!({
        "Id": "deploymentprocess-Projects-1", "Version": 4, "ProjectId": "Projects-1",
        "Steps": [{"Id": "s1", "Name": "Deploy", "Properties": {}, "Type": "StepWithFutureKind",
            "Actions": [{"Id": "a1", "Name": "Deploy", "ActionType": "Octopus.KubernetesDeployContainers",
                "WorkerPoolId": "WorkerPools-1", "StepPackageVersion": "1.2.3",
                "Container": {"Image": "octopusdeploy/worker-tools:6", "FeedId": "Feeds-1001"},
                "GitDependencies": [{"Name": "", "RepositoryUri": "https://git.example/app.git", "DefaultBranch": "main",
                    "GitCredentialType": "Library", "GitCredentialId": "GitCredentials-1", "FilePathFilters": []}],
                "Inputs": {"containers": [{"image": {"PackageId": "nginx", "FeedId": "Feeds-1001"}}],
                    "account": {"AccountId": "Accounts-3"}, "feedFromVariable": {"FeedId": "#{Kubernetes.Feed}"}},
                "Environments": [], "ExcludedEnvironments": [], "Channels": [], "Packages": [],
                "Properties": {
                    "Octopus.Action.Azure.AccountId": "Accounts-4",
                    "Octopus.Action.DeployRelease.ProjectId": "Projects-2",
                    "Octopus.Action.Package.FeedId": "#{Kubernetes.Feed}",
                    "Octopus.Action.AwsAccount.Variable": "AWS.Account"
                },
                "FutureField": {"Kept": [1, 2]}}]}]
    }))
}

fn dev_variables() -> Result<VariableSet, serde_json::Error> {
    serde_json::from_value(json!({
        "Id": "variableset-Projects-1", "OwnerId": "Projects-1", "Version": 2,
        "Variables": [
            {"Id": "v1", "Name": "AWS.Account", "Value": "Accounts-3", "Type": "AmazonWebServicesAccount", "Scope": {}},
            {"Id": "v2", "Name": "Azure", "Value": "Accounts-4", "Type": "AzureAccount", "Scope": {}},
            {"Id": "v3", "Name": "Tls", "Value": "Certificates-2", "Type": "Certificate", "Scope": {"Environment": ["Environments-1"]}},
            {"Id": "v4", "Name": "Pool", "Value": "WorkerPools-1", "Type": "WorkerPool", "Scope": {}},
            {"Id": "v5", "Name": "Key.Age", "Value": "30", "Type": "String",
                "Scope": {"ProcessOwner": ["Runbooks-3", "Projects-1"], "Tenant": ["Tenants-4"],
                          "TenantTag": ["Region/West"], "TargetRole": ["k8s"]}},
            {"Id": "v6", "Name": "Expr.Account", "Value": "#{AWS.Account}", "Type": "AmazonWebServicesAccount", "Scope": {}}
        ]
    }))
}

fn empty() -> Result<DeploymentProcess, serde_json::Error> {
    serde_json::from_value(
        json!({"Id": "deploymentprocess-Projects-31", "Version": 0, "Steps": []}),
    )
}

#[test]
fn every_reference_is_named_on_export() -> TestResult {
    let process = dev_process()?;
    let named = process_to_names(&process, "Payments API", &dev()).map_err(|e| e.join(", "))?;
    let named = serde_json::to_value(&named)?;
    let action = &named["Steps"][0]["Actions"][0];
    assert_eq!(named["Steps"][0]["Type"], "StepWithFutureKind");
    assert_eq!(action["WorkerPool"], "Linux Workers");
    assert_eq!(action["StepPackageVersion"], "1.2.3");
    assert_eq!(action["FutureField"], json!({"Kept": [1, 2]}));
    assert_eq!(
        action["Container"],
        json!({"Image": "octopusdeploy/worker-tools:6", "Feed": "Docker Hub"})
    );
    assert_eq!(action["GitDependencies"][0]["GitCredential"], "GitHub Bot");
    assert!(
        action["GitDependencies"][0]
            .get("GitCredentialId")
            .is_none()
    );
    assert_eq!(
        action["Inputs"]["containers"][0]["image"],
        json!({"PackageId": "nginx", "FeedId": "Docker Hub"})
    );
    assert_eq!(action["Inputs"]["account"]["AccountId"], "AWS Prod");
    assert_eq!(
        action["Inputs"]["feedFromVariable"]["FeedId"],
        "#{Kubernetes.Feed}"
    );
    let props = &action["Properties"];
    assert_eq!(props["Octopus.Action.Azure.AccountId"], "Azure Prod");
    assert_eq!(props["Octopus.Action.DeployRelease.ProjectId"], "Ledger");
    assert_eq!(props["Octopus.Action.Package.FeedId"], "#{Kubernetes.Feed}");
    assert_eq!(props["Octopus.Action.AwsAccount.Variable"], "AWS.Account");

    let set = variables_to_names(
        &dev_variables()?,
        OwnerType::Project,
        "Payments API",
        &dev(),
        &Table::default(),
    )
    .map_err(|e| e.join(", "))?;
    let values: Vec<Option<&str>> = set.variables.iter().map(|v| v.value.as_deref()).collect();
    assert_eq!(
        values,
        [
            Some("AWS Prod"),
            Some("Azure Prod"),
            Some("TLS Wildcard"),
            Some("Linux Workers"),
            Some("30"),
            Some("#{AWS.Account}")
        ]
    );
    let scope = &set.variables[4].scope;
    assert_eq!(
        scope.get("ProcessOwner"),
        Some(&vec![
            "Runbook/Rotate keys".to_owned(),
            "Project/Payments API".to_owned()
        ])
    );
    assert_eq!(scope.get("Tenant"), Some(&vec!["Acme".to_owned()]));
    assert_eq!(
        scope.get("TenantTag"),
        Some(&vec!["Region/West".to_owned()])
    );
    assert_eq!(scope.get("TargetRole"), Some(&vec!["k8s".to_owned()]));
    Ok(())
}

#[test]
fn every_reference_gets_the_targets_id_on_import_and_compares_equal() -> TestResult {
    let named =
        process_to_names(&dev_process()?, "Payments API", &dev()).map_err(|e| e.join(", "))?;
    let set = variables_to_names(
        &dev_variables()?,
        OwnerType::Project,
        "Payments API",
        &dev(),
        &Table::default(),
    )
    .map_err(|e| e.join(", "))?;
    let map = NameMap::new();
    let target = secure();
    let mut resolver = Resolver::new(&target, &map);
    let imported = resolver.process(&named, &empty()?);
    resolver.set_table(NameKind::Action, imported.action_table());
    let variables = resolver.variables(&set);
    resolver.finish().map_err(|u| format!("{u:?}"))?;

    let action = serde_json::to_value(&imported.steps[0].actions[0])?;
    assert_eq!(action["WorkerPoolId"], "WorkerPools-31");
    assert_eq!(action["Container"]["FeedId"], "Feeds-3101");
    assert_eq!(
        action["GitDependencies"][0]["GitCredentialId"],
        "GitCredentials-31"
    );
    assert_eq!(
        action["Inputs"]["containers"][0]["image"]["FeedId"],
        "Feeds-3101"
    );
    assert_eq!(action["Inputs"]["account"]["AccountId"], "Accounts-33");
    assert_eq!(
        action["Inputs"]["feedFromVariable"]["FeedId"],
        "#{Kubernetes.Feed}"
    );
    assert_eq!(
        action["Properties"]["Octopus.Action.Azure.AccountId"],
        "Accounts-34"
    );
    assert_eq!(
        action["Properties"]["Octopus.Action.DeployRelease.ProjectId"],
        "Projects-32"
    );
    assert_eq!(action["StepPackageVersion"], "1.2.3");
    assert_eq!(action["FutureField"], json!({"Kept": [1, 2]}));

    let values: Vec<Option<&str>> = variables
        .variables
        .iter()
        .map(|v| v.variable.value.as_deref())
        .collect();
    assert_eq!(
        values,
        [
            Some("Accounts-33"),
            Some("Accounts-34"),
            Some("Certificates-32"),
            Some("WorkerPools-31"),
            Some("30"),
            Some("#{AWS.Account}")
        ]
    );
    let scope = &variables.variables[4].variable.scope;
    assert_eq!(
        scope.get("ProcessOwner"),
        Some(&vec!["Runbooks-33".to_owned(), "Projects-31".to_owned()])
    );
    assert_eq!(scope.get("Tenant"), Some(&vec!["Tenants-34".to_owned()]));

    // Read back on the target (ids as the secure instance stores them), the same bundle.
    let written: DeploymentProcess = serde_json::from_value(json!({
        "Id": "deploymentprocess-Projects-31", "Version": 1,
        "Steps": serde_json::to_value(&imported.steps)?
    }))?;
    let again = process_to_names(&written, "Payments API", &target).map_err(|e| e.join(", "))?;
    assert_eq!(again, named);
    let written_set: VariableSet = serde_json::from_value(json!({
        "Id": "variableset-Projects-31", "OwnerId": "Projects-31", "Version": 1,
        "Variables": variables.variables.iter().map(|v| serde_json::to_value(&v.variable)).collect::<Result<Vec<Value>, _>>()?
    }))?;
    let again = variables_to_names(
        &written_set,
        OwnerType::Project,
        "Payments API",
        &target,
        &action_table(&imported.steps),
    )
    .map_err(|e| e.join(", "))?;
    assert_eq!(again.variables, set.variables);
    Ok(())
}

#[test]
fn every_missing_reference_is_refused_at_once() -> TestResult {
    let named =
        process_to_names(&dev_process()?, "Payments API", &dev()).map_err(|e| e.join(", "))?;
    let set = variables_to_names(
        &dev_variables()?,
        OwnerType::Project,
        "Payments API",
        &dev(),
        &Table::default(),
    )
    .map_err(|e| e.join(", "))?;
    let target = Directory {
        accounts: Table::default(),
        certificates: Table::default(),
        git_credentials: Table::default(),
        runbooks: Table::default(),
        tenant_tags: Table::default(),
        ..secure()
    };
    let map = NameMap::new();
    let mut resolver = Resolver::new(&target, &map);
    let imported = resolver.process(&named, &empty()?);
    resolver.set_table(NameKind::Action, imported.action_table());
    let _ = resolver.variables(&set);
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    let mut missing: Vec<(NameKind, &str)> = unresolved
        .iter()
        .filter(|u| u.problem == Problem::NotOnTarget)
        .filter_map(|u| Some((u.kind?, u.name.as_str())))
        .collect();
    missing.sort();
    assert_eq!(
        missing,
        [
            (NameKind::Account, "AWS Prod"),
            (NameKind::Account, "Azure Prod"),
            (NameKind::Certificate, "TLS Wildcard"),
            (NameKind::GitCredential, "GitHub Bot"),
            (NameKind::TenantTag, "Region/West"),
            (NameKind::Runbook, "Rotate keys"),
        ]
    );
    let text: Vec<String> = unresolved.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|t| t.starts_with("account \"AWS Prod\": not on the target (used in the inputs of action \"Deploy\"; the value of variable AWS.Account")),
        "{text:?}"
    );
    Ok(())
}

#[test]
fn a_mapping_file_renames_accounts_and_certificates() -> TestResult {
    let set = variables_to_names(
        &dev_variables()?,
        OwnerType::Project,
        "Payments API",
        &dev(),
        &Table::default(),
    )
    .map_err(|e| e.join(", "))?;
    let target = Directory {
        accounts: Table::new([("Accounts-90", "PCI AWS"), ("Accounts-91", "Azure Prod")]),
        certificates: Table::new([("Certificates-90", "PCI TLS")]),
        ..secure()
    };
    let mut map = NameMap::new();
    map.rename(NameKind::Account, "aws prod", "PCI AWS");
    map.rename(NameKind::Certificate, "TLS Wildcard", "PCI TLS");
    let mut resolver = Resolver::new(&target, &map);
    let variables = resolver.variables(&set);
    resolver.finish().map_err(|u| format!("{u:?}"))?;
    assert_eq!(
        variables.variables[0].variable.value.as_deref(),
        Some("Accounts-90")
    );
    assert_eq!(
        variables.variables[2].variable.value.as_deref(),
        Some("Certificates-90")
    );
    Ok(())
}

#[test]
fn ids_without_a_name_are_reported_on_export() -> TestResult {
    let mut process = dev_process()?;
    let action = &mut process.steps[0].actions[0];
    action.properties.insert(
        "Octopus.Action.Azure.AccountId".into(),
        PropertyValue::Text("Accounts-77".into()),
    );
    action.other.insert(
        "Container".into(),
        json!({"Image": "x", "FeedId": "Feeds-404"}),
    );
    let missing = process_to_names(&process, "Payments API", &dev())
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        missing,
        [
            "Octopus.Action.Azure.AccountId Accounts-77",
            "container feed Feeds-404"
        ]
    );
    let set: VariableSet = serde_json::from_value(json!({
        "Id": "v", "OwnerId": "Projects-1",
        "Variables": [
            {"Name": "C", "Value": "Certificates-9", "Type": "Certificate"},
            {"Name": "S", "Value": "1", "Scope": {"ProcessOwner": ["Runbooks-99"], "Tenant": ["Tenants-99"]}}
        ]
    }))?;
    let missing = variables_to_names(&set, OwnerType::Project, "P", &dev(), &Table::default())
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        missing,
        [
            "Certificate variable value Certificates-9",
            "process owner (runbook or project) Runbooks-99",
            "tenant Tenants-99"
        ]
    );
    Ok(())
}

#[test]
fn unknown_scope_kinds_and_malformed_process_owners_are_refused() -> TestResult {
    let set: crate::names::NamedVariableSet = serde_json::from_value(json!({
        "OwnerType": "Project", "Owner": "Payments API",
        "Variables": [
            {"Name": "A", "Value": "1", "Scope": {"User": ["Users-1"]}},
            {"Name": "B", "Value": "1", "Scope": {"ProcessOwner": ["Rotate keys"]}}
        ]
    }))?;
    let target = secure();
    let map = NameMap::new();
    let mut resolver = Resolver::new(&target, &map);
    let _ = resolver.variables(&set);
    let unresolved = resolver.finish().err().ok_or("expected a refusal")?;
    let names: Vec<(&str, Problem)> = unresolved
        .iter()
        .map(|u| (u.name.as_str(), u.problem))
        .collect();
    assert_eq!(
        names,
        [
            ("User", Problem::UnknownScope),
            ("ProcessOwner", Problem::UnknownScope)
        ]
    );
    Ok(())
}
