//! The secure-zone seed (`secure.json`): the PCI zone Zonebridge promotes into. It has its own
//! environments, lifecycle and secrets, no releases, one tenant, and matches the development
//! zone by name.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::{TestResult, id};
use crate::seeds::{
    DEV_ONLY_GROUP, assert_masked, by_name, list, names, process_of, read_seed, seed_secrets,
    start, strings, text, variables_of,
};

#[test]
fn the_secure_seed_has_pci_environments_and_secrets_and_no_releases() -> TestResult {
    let seed = read_seed("secure.json")?;
    let secrets = seed_secrets(&seed);
    let s = start("secure.json")?;
    let envs = s.ok("/api/Spaces-1/environments/all")?;
    let env_names: Vec<&str> = list(&envs)
        .iter()
        .filter_map(|e| e["Name"].as_str())
        .collect();
    assert_eq!(env_names, ["PCI Staging", "Production", "DR"]);
    let env_ids = names(&s, "environments")?;
    let lifecycle = by_name(&s, "lifecycles")?
        .remove("PCI Release")
        .ok_or("no PCI Release lifecycle")?;
    let phases: Vec<(String, Vec<String>)> = list(&lifecycle["Phases"])
        .iter()
        .map(|p| {
            (
                p["Name"].as_str().unwrap_or_default().to_owned(),
                strings(&p["OptionalDeploymentTargets"])
                    .iter()
                    .filter_map(|e| env_ids.get(e).cloned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("PCI Staging".to_owned(), vec!["PCI Staging".to_owned()]),
            ("Production".to_owned(), vec!["Production".to_owned()]),
            ("DR".to_owned(), vec!["DR".to_owned()]),
        ]
    );

    assert_eq!(s.ok("/api/Spaces-1/releases")?["TotalResults"], 0);
    assert_eq!(s.ok("/api/Spaces-1/packages")?["TotalResults"], 0);

    let projects = by_name(&s, "projects")?;
    let project_names: Vec<&String> = projects.keys().collect();
    assert_eq!(
        project_names,
        ["Fraud Rules", "Ledger Worker", "Payments API"]
    );
    let mut everything = String::new();
    for (name, project) in &projects {
        assert_eq!(project["LifecycleId"], lifecycle["Id"], "{name}");
        assert_eq!(list(&process_of(&s, project)?["Steps"]).len(), 0, "{name}");
        let set = s.ok(&format!(
            "/api/Spaces-1/variables/{}",
            text(project, "VariableSetId")?
        ))?;
        let sensitive: Vec<&Value> = list(&set["Variables"])
            .iter()
            .filter(|v| v["IsSensitive"] == true)
            .collect();
        assert!(!sensitive.is_empty(), "{name} has no sensitive variable");
        for v in sensitive {
            assert_eq!(v["Type"], "Sensitive", "{v}");
            assert_eq!(v["Value"], Value::Null, "{v}");
        }
        everything.push_str(&set.to_string());
    }

    // Smtp.Password of Common Settings covers Production and DR.
    let common = by_name(&s, "libraryvariablesets")?
        .remove("Common Settings")
        .ok_or("no Common Settings")?;
    let common = s.ok(&format!(
        "/api/Spaces-1/variables/{}",
        text(&common, "VariableSetId")?
    ))?;
    let mut covered = BTreeSet::new();
    for v in list(&common["Variables"]) {
        if v["Name"] == "Smtp.Password" {
            assert_eq!(v["IsSensitive"], true, "{v}");
            assert_eq!(v["Value"], Value::Null, "{v}");
            covered.extend(
                strings(&v["Scope"]["Environment"])
                    .iter()
                    .filter_map(|e| env_ids.get(e).cloned()),
            );
        }
    }
    assert!(
        covered.contains("Production") && covered.contains("DR"),
        "{covered:?}"
    );
    everything.push_str(&common.to_string());
    assert_masked(&everything, &secrets)
}

#[test]
fn the_secure_seed_matches_the_dev_seed_by_name() -> TestResult {
    let dev = start("dev.json")?;
    let secure = start("secure.json")?;
    let dev_groups = names(&dev, "projectgroups")?;
    let secure_groups = names(&secure, "projectgroups")?;
    let dev_sets = names(&dev, "libraryvariablesets")?;
    let secure_sets = names(&secure, "libraryvariablesets")?;
    let production = id(&by_name(&secure, "environments")?["Production"])?;
    let dr = id(&by_name(&secure, "environments")?["DR"])?;
    let secure_projects = by_name(&secure, "projects")?;
    let mut promoted = 0;
    for (name, project) in by_name(&dev, "projects")? {
        let group = dev_groups
            .get(text(&project, "ProjectGroupId")?)
            .ok_or("no group")?;
        let Some(target) = secure_projects.get(&name) else {
            assert_eq!(
                group, DEV_ONLY_GROUP,
                "{name} is missing in the secure zone"
            );
            continue;
        };
        assert_ne!(group, DEV_ONLY_GROUP, "{name} is dev-only");
        promoted += 1;
        assert_eq!(
            secure_groups.get(text(target, "ProjectGroupId")?),
            Some(group),
            "{name}"
        );
        let set_names = |p: &Value, sets: &BTreeMap<String, String>| -> Vec<String> {
            strings(&p["IncludedLibraryVariableSetIds"])
                .iter()
                .filter_map(|i| sets.get(i).cloned())
                .collect()
        };
        assert_eq!(
            set_names(&project, &dev_sets),
            set_names(target, &secure_sets),
            "{name}"
        );
        // Every variable the development zone defines has a value in Production and DR,
        // sensitive where it is sensitive there.
        let secure_vars = variables_of(&secure, target)?;
        for v in variables_of(&dev, &project)? {
            let var = text(&v, "Name")?;
            for env in [&production, &dr] {
                let found = secure_vars.iter().find(|s| {
                    s["Name"] == var && {
                        let envs = strings(&s["Scope"]["Environment"]);
                        envs.is_empty() || envs.contains(env)
                    }
                });
                let found = found.ok_or_else(|| {
                    format!("{name}: {var} has no value for {env} in the secure zone")
                })?;
                assert_eq!(found["IsSensitive"], v["IsSensitive"], "{name}: {var}");
            }
        }
    }
    assert_eq!(promoted, 3);
    Ok(())
}

#[test]
fn the_secure_seed_has_one_tenant_connected_to_payments_api_in_pci_staging_and_production()
-> TestResult {
    let s = start("secure.json")?;
    let envs = by_name(&s, "environments")?;
    let projects = by_name(&s, "projects")?;
    let payments = id(&projects["Payments API"])?;
    let tenants = by_name(&s, "tenants")?;
    let names: Vec<&String> = tenants.keys().collect();
    assert_eq!(names, ["Acquirer EU"]);
    let tenant = &tenants["Acquirer EU"];
    assert_eq!(tenant["TenantTags"], serde_json::json!([]));
    let connected: BTreeMap<String, Vec<String>> = tenant["ProjectEnvironments"]
        .as_object()
        .ok_or("no ProjectEnvironments")?
        .iter()
        .map(|(project, envs)| (project.clone(), strings(envs)))
        .collect();
    let want = BTreeMap::from([(
        payments.clone(),
        vec![id(&envs["PCI Staging"])?, id(&envs["Production"])?],
    )]);
    assert_eq!(connected, want, "{tenant}");
    // Payments API allows tenanted and untenanted deployments; the others only untenanted.
    for (name, project) in &projects {
        let mode = if name == "Payments API" {
            "TenantedOrUntenanted"
        } else {
            "Untenanted"
        };
        assert_eq!(project["TenantedDeploymentMode"], mode, "{name}");
    }
    // The name filter Zonebridge looks it up by.
    let found = s.ok("/api/Spaces-1/tenants?name=Acquirer%20EU")?;
    assert_eq!(found["TotalResults"], 1);
    assert_eq!(found["Items"][0]["Id"], tenant["Id"]);
    let by_project = s.ok(&format!("/api/Spaces-1/tenants?projectId={payments}"))?;
    assert_eq!(by_project["TotalResults"], 1);
    Ok(())
}
