//! Accounts, certificates, git credentials, worker pools and runbooks: served with their
//! secrets never readable, and every id a process or variable set gives them checked (400 for
//! one that does not exist, as a real server answers); fields newer than the 2020.5 Swagger
//! (`GitDependencies`, `Inputs`, `StepPackageVersion`, `Container`, step `Type`) kept.

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect};

fn id(doc: &Value) -> Result<String, Box<dyn std::error::Error>> {
    Ok(doc["Id"].as_str().ok_or("no Id")?.to_owned())
}

struct Refs {
    project: String,
    account: String,
    certificate: String,
    credential: String,
    pool: String,
    runbook: String,
    feed: String,
}

fn seed(standin: &Standin) -> Result<Refs, Box<dyn std::error::Error>> {
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let account = id(&standin.create(
        "/api/Spaces-1/accounts",
        &json!({"Name": "AWS Prod", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AKIAEXAMPLE",
                "SecretKey": {"HasValue": true, "NewValue": "very-secret-key"}}),
    )?)?;
    let certificate = id(&standin.create(
        "/api/Spaces-1/certificates",
        &json!({"Name": "TLS Wildcard", "CertificateData": {"HasValue": true, "NewValue": "MIIBASE64DATA"}, "Password": "pfx-pass"}),
    )?)?;
    let credential = id(&standin.create(
        "/api/Spaces-1/git-credentials",
        &json!({"Name": "GitHub Bot", "Details": {"Type": "UsernamePassword", "Username": "bot", "Password": {"HasValue": true, "NewValue": "ghp_secret"}}}),
    )?)?;
    let pool = id(&standin.create(
        "/api/Spaces-1/workerpools",
        &json!({"Name": "Linux Workers", "WorkerPoolType": "StaticWorkerPool"}),
    )?)?;
    let runbook = id(&standin.create(
        "/api/Spaces-1/runbooks",
        &json!({"Name": "Rotate keys", "ProjectId": project}),
    )?)?;
    let feed = id(&standin.create(
        "/api/Spaces-1/feeds",
        &json!({"Name": "Docker Hub", "FeedType": "Docker"}),
    )?)?;
    Ok(Refs {
        project,
        account,
        certificate,
        credential,
        pool,
        runbook,
        feed,
    })
}

#[test]
fn secrets_of_accounts_certificates_and_git_credentials_are_never_read_back() -> TestResult {
    let standin = Standin::start()?;
    let refs = seed(&standin)?;
    let account = standin.ok(&format!("/api/Spaces-1/accounts/{}", refs.account))?;
    assert!(refs.account.starts_with("Accounts-"), "{}", refs.account);
    assert_eq!(
        account["SecretKey"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(account["AccessKey"], "AKIAEXAMPLE");
    let certificate = standin.ok(&format!("/api/Spaces-1/certificates/{}", refs.certificate))?;
    assert_eq!(
        certificate["CertificateData"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        certificate["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    let credential = standin.ok(&format!(
        "/api/Spaces-1/git-credentials/{}",
        refs.credential
    ))?;
    assert_eq!(
        credential["Details"]["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(credential["Details"]["Username"], "bot");
    for path in ["accounts", "certificates", "git-credentials"] {
        let all = standin
            .ok(&format!("/api/Spaces-1/{path}/all"))?
            .to_string();
        for secret in ["very-secret-key", "MIIBASE64DATA", "pfx-pass", "ghp_secret"] {
            assert!(!all.contains(secret), "{path} shows {secret}");
        }
    }
    // Updating an account without its secret keeps "has a value".
    let mut account = account;
    account["Description"] = json!("prod");
    let updated = expect(
        standin.put(
            &format!("/api/Spaces-1/accounts/{}", refs.account),
            &account,
        )?,
        200,
    )?;
    assert_eq!(updated["SecretKey"]["HasValue"], true);
    // A certificate needs its data; an account needs a known type.
    expect(
        standin.post("/api/Spaces-1/certificates", &json!({"Name": "Empty"}))?,
        400,
    )?;
    expect(
        standin.post(
            "/api/Spaces-1/accounts",
            &json!({"Name": "X", "AccountType": "Bogus"}),
        )?,
        400,
    )?;
    Ok(())
}

#[test]
fn runbooks_are_listed_per_project_and_need_an_existing_project() -> TestResult {
    let standin = Standin::start()?;
    let refs = seed(&standin)?;
    let list = standin.ok(&format!("/api/Spaces-1/projects/{}/runbooks", refs.project))?;
    assert_eq!(list["Items"][0]["Name"], "Rotate keys");
    assert_eq!(list["Items"][0]["ProjectId"], refs.project.as_str());
    assert_eq!(
        list["Items"][0]["RunbookProcessId"],
        format!("RunbookProcess-{}", refs.runbook)
    );
    let refused = expect(
        standin.post(
            "/api/Spaces-1/runbooks",
            &json!({"Name": "Orphan", "ProjectId": "Projects-999"}),
        )?,
        400,
    )?;
    assert!(refused.to_string().contains("Projects-999"), "{refused}");
    let pools = standin.ok("/api/Spaces-1/workerpools/all")?;
    assert_eq!(pools[0]["Name"], "Linux Workers");
    Ok(())
}

fn modern_action(refs: &Refs) -> Value {
    json!({
        "Name": "Deploy", "ActionType": "Octopus.KubernetesDeployContainers",
        "WorkerPoolId": refs.pool, "StepPackageVersion": "1.2.3",
        "Container": {"Image": "octopusdeploy/worker-tools:6", "FeedId": refs.feed},
        "GitDependencies": [{"Name": "", "RepositoryUri": "https://git.example/app.git", "DefaultBranch": "main",
            "GitCredentialType": "Library", "GitCredentialId": refs.credential, "FilePathFilters": []}],
        "Inputs": {"image": {"PackageId": "nginx", "FeedId": refs.feed}, "account": {"AccountId": refs.account}},
        "Properties": {"Octopus.Action.Azure.AccountId": refs.account,
                       "Octopus.Action.DeployRelease.ProjectId": refs.project}
    })
}

#[test]
fn a_process_keeps_modern_fields_and_every_foreign_id_gets_a_400() -> TestResult {
    let standin = Standin::start()?;
    let refs = seed(&standin)?;
    let stored = standin.set_steps(
        &refs.project,
        json!([{"Name": "Deploy", "Type": "FutureStepKind", "Actions": [modern_action(&refs)]}]),
    )?;
    let action = &stored["Steps"][0]["Actions"][0];
    assert_eq!(stored["Steps"][0]["Type"], "FutureStepKind");
    assert_eq!(action["StepPackageVersion"], "1.2.3");
    assert_eq!(action["Container"]["FeedId"], refs.feed.as_str());
    assert_eq!(
        action["GitDependencies"][0]["GitCredentialId"],
        refs.credential.as_str()
    );
    assert_eq!(action["Inputs"]["image"]["FeedId"], refs.feed.as_str());

    // Each reference replaced by an id of the other zone: all refused at once.
    let mut foreign = modern_action(&refs);
    foreign["WorkerPoolId"] = json!("WorkerPools-77");
    foreign["Container"]["FeedId"] = json!("Feeds-77");
    foreign["GitDependencies"][0]["GitCredentialId"] = json!("GitCredentials-77");
    foreign["Inputs"]["account"]["AccountId"] = json!("Accounts-78");
    foreign["Properties"]["Octopus.Action.Azure.AccountId"] = json!("Accounts-77");
    foreign["Properties"]["Octopus.Action.DeployRelease.ProjectId"] = json!("Projects-77");
    let path = format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{}",
        refs.project
    );
    let mut process = standin.ok(&path)?;
    process["Steps"] = json!([{"Name": "Deploy", "Actions": [foreign]}]);
    let refused = expect(standin.put(&path, &process)?, 400)?;
    let errors = refused["Errors"].to_string();
    for id in [
        "WorkerPools-77",
        "Feeds-77",
        "GitCredentials-77",
        "Accounts-77",
        "Accounts-78",
        "Projects-77",
    ] {
        assert!(errors.contains(id), "{id} not named: {errors}");
    }
    // Expressions are resolved at deployment time, never checked.
    let mut expressions = modern_action(&refs);
    expressions["Container"]["FeedId"] = json!("#{Kubernetes.Feed}");
    expressions["Properties"]["Octopus.Action.Azure.AccountId"] = json!("#{Azure.Account}");
    process["Steps"] = json!([{"Name": "Deploy", "Actions": [expressions]}]);
    expect(standin.put(&path, &process)?, 200)?;
    Ok(())
}

#[test]
fn variables_refer_to_existing_accounts_certificates_pools_runbooks_and_tenants() -> TestResult {
    let standin = Standin::start()?;
    let refs = seed(&standin)?;
    let set = standin.set_variables(
        &refs.project,
        json!([
            {"Name": "AWS", "Value": refs.account, "Type": "AmazonWebServicesAccount"},
            {"Name": "Tls", "Value": refs.certificate, "Type": "Certificate"},
            {"Name": "Pool", "Value": refs.pool, "Type": "WorkerPool"},
            {"Name": "Gcp", "Value": "#{Other}", "Type": "GoogleCloudAccount"},
            {"Name": "Age", "Value": "30", "Scope": {"ProcessOwner": [refs.runbook, refs.project], "TargetRole": ["k8s"]}}
        ]),
    )?;
    assert_eq!(set["Variables"][0]["Value"], refs.account.as_str());
    let processes = set["ScopeValues"]["Processes"].to_string();
    assert!(
        processes.contains(&refs.runbook) && processes.contains("Runbook"),
        "{processes}"
    );
    let path = format!("/api/Spaces-1/variables/variableset-{}", refs.project);
    let mut foreign = standin.ok(&path)?;
    foreign["Variables"] = json!([
        {"Name": "AWS", "Value": "Accounts-77", "Type": "AmazonWebServicesAccount"},
        {"Name": "Tls", "Value": "Certificates-77", "Type": "Certificate"},
        {"Name": "Pool", "Value": "WorkerPools-77", "Type": "WorkerPool"},
        {"Name": "Age", "Value": "30", "Scope": {"ProcessOwner": ["Runbooks-77"], "Tenant": ["Tenants-77"]}}
    ]);
    let refused = expect(standin.put(&path, &foreign)?, 400)?;
    let errors = refused["Errors"].to_string();
    for id in [
        "Accounts-77",
        "Certificates-77",
        "WorkerPools-77",
        "Runbooks-77",
        "Tenants-77",
    ] {
        assert!(errors.contains(id), "{id} not named: {errors}");
    }
    Ok(())
}
