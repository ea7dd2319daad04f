#!/usr/bin/env python3
"""Writes card-vault-dev.json and card-vault-secure.json: a Kubernetes-style project that uses
everything a real-world promotion meets (issue 11), and its secure-zone counterpart.

Run from this folder: python3 card-vault.py. The JSON files are committed; this script is how
they were made, so that a change to one zone is made to the other too.
"""
import json

SCRIPT = "echo \"Card Vault #{Octopus.Release.Number}: #{Vault.Url}, tier #{Vault.Tier}\""
# Variable templates keep the id a client gives them; each zone has its own.
TEMPLATE_IDS = {"dev": "0d5e7c1a-4b8f-4e2a-9c3d-1a2b3c4d5e6f",
                "secure": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}
NOTIFY = "echo \"notify #{Notify.Channel}: #{Octopus.Project.Name} #{Octopus.Release.Number}\""


def post(path, body, name=None):
    r = {"method": "POST", "path": "/api/Spaces-1/" + path, "body": body}
    if name:
        r["as"] = name
    return r


def common(zone):
    """What both zones have, by the same names (their ids differ: the secure zone creates
    decoys first)."""
    secure = zone == "secure"
    envs = ["PCI Staging", "Production"] if secure else ["Development", "Staging"]
    r = []
    if secure:
        # Decoys: the secure instance numbers every resource differently from the development one.
        r += [
            post("accounts", {"Name": "Legacy AWS", "AccountType": "AmazonWebServicesAccount",
                              "AccessKey": "AKIALEGACY", "SecretKey": "legacy-secret"}),
            post("certificates", {"Name": "Legacy TLS", "CertificateData": "MIIBlegacy",
                                  "Password": "legacy"}),
            post("workerpools", {"Name": "Windows Workers"}),
            post("feeds", {"Name": "Quay", "FeedType": "Docker", "FeedUri": "https://quay.io",
                           "StandinPackages": {}}),
            post("tenants", {"Name": "Acquirer US"}),
            post("actiontemplates", {"Name": "Page the on-call engineer", "ActionType": "Octopus.Script",
                                     "Properties": {"Octopus.Action.Script.Syntax": "Bash",
                                                    "Octopus.Action.Script.ScriptSource": "Inline",
                                                    "Octopus.Action.Script.ScriptBody": "echo page"}}),
        ]
    for i, env in enumerate(envs):
        r.append(post("environments", {"Name": env, "Description": f"{env} cluster"}, f"env{i}"))
    r += [
        post("lifecycles", {"Name": "Kubernetes", "Description": "Manual promotion through the clusters.",
                            "Phases": [{"Name": envs[0], "OptionalDeploymentTargets": ["${env0}"],
                                        "AutomaticDeploymentTargets": []},
                                       {"Name": envs[1], "OptionalDeploymentTargets": ["${env1}"],
                                        "AutomaticDeploymentTargets": []}]}, "lifecycle"),
        post("projectgroups", {"Name": "Platform", "Description": "Shared platform services."}, "group"),
        post("feeds", {"Name": "Docker Hub", "FeedType": "Docker", "FeedUri": "https://index.docker.io",
                       "StandinPackages": {"payments/card-vault": ["2.3.0", "2.4.0"],
                                           "octopusdeploy/worker-tools": ["6-ubuntu.22.04"]}}, "docker"),
        post("workerpools", {"Name": "Kubernetes Workers"}, "pool"),
        post("accounts", {"Name": "AWS Card Vault", "AccountType": "AmazonWebServicesAccount",
                          "AccessKey": f"AKIA{zone.upper()}", "SecretKey": f"{zone}-aws-secret"}, "aws"),
        post("certificates", {"Name": "Vault TLS", "CertificateData": f"MIIB{zone}",
                              "Password": f"{zone}-pfx"}, "cert"),
        post("tagsets", {"Name": "Region", "Tags": [{"Name": "EU"}, {"Name": "UK"}]}),
        post("tenants", {"Name": "Acquirer EU", "TenantTags": ["Region/EU"]}, "tenant_eu"),
        post("tenants", {"Name": "Acquirer UK", "TenantTags": ["Region/UK"]}, "tenant_uk"),
        post("projects", {"Name": "Card Vault", "Description": "Tokenises card numbers; runs on Kubernetes.",
                          "ProjectGroupId": "${group}", "LifecycleId": "${lifecycle}",
                          "TenantedDeploymentMode": "TenantedOrUntenanted",
                          "Templates": [{"Id": TEMPLATE_IDS[zone], "Name": "Vault.Region",
                                         "Label": "Region of the tenant's vault"}]},
             "project"),
        post("runbooks", {"Name": "Rotate vault keys", "ProjectId": "${project}"}, "runbook"),
    ]
    return r, envs


def dev():
    r, envs = common("dev")
    r += [
        post("actiontemplates", {
            "Name": "Notify Slack", "Description": "Posts a release note to a Slack channel.",
            "ActionType": "Octopus.Script",
            "Properties": {"Octopus.Action.Script.Syntax": "Bash",
                           "Octopus.Action.Script.ScriptSource": "Inline",
                           "Octopus.Action.Script.ScriptBody": NOTIFY},
            "Parameters": [
                {"Name": "Notify.Channel", "Label": "Channel", "DefaultValue": "#releases",
                 "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
                {"Name": "Notify.Webhook", "Label": "Webhook",
                 "DefaultValue": {"HasValue": True, "NewValue": "https://hooks.slack.example/dev-SECRET"},
                 "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]}, "notify"),
        {"method": "MODIFY", "path": "/api/Spaces-1/tenants/${tenant_eu}",
         "set": {"ProjectEnvironments": {"${project}": ["${env0}", "${env1}"]}}},
        {"method": "MODIFY", "path": "/api/Spaces-1/tenants/${tenant_uk}",
         "set": {"ProjectEnvironments": {"${project}": ["${env1}"]}}},
        {"method": "MODIFY", "path": "/api/Spaces-1/deploymentprocesses/deploymentprocess-${project}",
         "set": {"Steps": [
             {"Name": "Deploy Card Vault", "Condition": "Success", "StartTrigger": "StartAfterPrevious",
              "PackageRequirement": "LetOctopusDecide",
              "Properties": {"Octopus.Action.TargetRoles": "card-vault-cluster"},
              "Actions": [{"Name": "Deploy Card Vault", "ActionType": "Octopus.KubernetesDeployContainers",
                           "WorkerPoolId": "${pool}",
                           "Container": {"Image": "octopusdeploy/worker-tools:6-ubuntu.22.04", "FeedId": "${docker}"},
                           "Packages": [{"Name": "card-vault", "PackageId": "payments/card-vault",
                                         "FeedId": "${docker}", "AcquisitionLocation": "NotAcquired",
                                         "Properties": {"Extract": "False"}}],
                           "Properties": {"Octopus.Action.KubernetesContainers.Namespace": "card-vault",
                                          "Octopus.Action.AwsAccount.Variable": "Vault.AwsAccount",
                                          "Octopus.Action.KubernetesContainers.DeploymentName": "card-vault"}}]},
             {"Name": "Smoke test", "Condition": "Success", "StartTrigger": "StartAfterPrevious",
              "PackageRequirement": "LetOctopusDecide", "Properties": {},
              "Actions": [{"Name": "Smoke test", "ActionType": "Octopus.Script", "WorkerPoolId": "${pool}",
                           "Properties": {"Octopus.Action.Script.Syntax": "Bash",
                                          "Octopus.Action.Script.ScriptSource": "Inline",
                                          "Octopus.Action.Script.ScriptBody": SCRIPT}}]},
             {"Name": "Notify Slack", "Condition": "Success", "StartTrigger": "StartAfterPrevious",
              "PackageRequirement": "LetOctopusDecide", "Properties": {},
              "Actions": [{"Name": "Notify Slack", "ActionType": "Octopus.Script", "WorkerPoolId": "${pool}",
                           "Properties": {"Octopus.Action.Template.Id": "${notify}",
                                          "Octopus.Action.Template.Version": "0",
                                          "Octopus.Action.Script.Syntax": "Bash",
                                          "Octopus.Action.Script.ScriptSource": "Inline",
                                          "Octopus.Action.Script.ScriptBody": NOTIFY,
                                          "Notify.Channel": "#card-vault"}}]}]}},
        {"method": "MODIFY", "path": "/api/Spaces-1/variables/variableset-${project}",
         "set": {"Variables": [
             {"Name": "Vault.Url", "Value": "https://vault.staging.dev.example", "Type": "String",
              "Scope": {"Environment": ["${env1}"]}},
             {"Name": "Vault.Url", "Value": "https://vault.dev.example", "Type": "String",
              "Scope": {"Environment": ["${env0}"]}},
             {"Name": "Vault.AwsAccount", "Value": "${aws}", "Type": "AmazonWebServicesAccount", "Scope": {}},
             {"Name": "Vault.Certificate", "Value": "${cert}", "Type": "Certificate", "Scope": {}},
             {"Name": "Vault.WorkerPool", "Value": "${pool}", "Type": "WorkerPool", "Scope": {}},
             {"Name": "Vault.Token", "Value": "dev-vault-token-DO-NOT-CROSS", "Type": "Sensitive",
              "IsSensitive": True, "Scope": {"Environment": ["${env1}"]}},
             {"Name": "Vault.Tier", "Value": "standard", "Type": "String", "Scope": {}},
             {"Name": "Vault.Tier", "Value": "gold", "Type": "String", "Scope": {"Tenant": ["${tenant_eu}"]}},
             {"Name": "Vault.RotationWindow", "Value": "02:00-03:00", "Type": "String",
              "Scope": {"ProcessOwner": ["${runbook}"]}}]}},
        {"method": "PUT", "path": "/api/Spaces-1/tenants/${tenant_eu}/variables",
         "body": {"ProjectVariables": {"${project}": {"Variables": {
             "${env1}": {TEMPLATE_IDS["dev"]: "eu-west-1"},
             "${env0}": {TEMPLATE_IDS["dev"]: "eu-west-1"}}}}}},
        post("releases", {"ProjectId": "${project}", "Version": "2.4.0",
                          "ReleaseNotes": "- Card Vault on Kubernetes: tokenisation v2.",
                          "SelectedPackages": [{"ActionName": "Deploy Card Vault",
                                                "PackageReferenceName": "card-vault", "Version": "2.4.0"}]}),
    ]
    return r


def secure():
    r, envs = common("secure")
    r += [
        {"method": "MODIFY", "path": "/api/Spaces-1/variables/variableset-${project}",
         "set": {"Variables": [
             {"Name": "Vault.Token", "Value": "pci-vault-token-stays-here", "Type": "Sensitive",
              "IsSensitive": True, "Scope": {"Environment": ["${env0}"]}}]}},
    ]
    return r


for name, requests, description in [
    ("card-vault-dev.json", dev(),
     "Development zone of the Card Vault project (issue 11): a Kubernetes-style process with an "
     "execution container on Docker Hub, an external image, a worker pool, an AWS account, a "
     "certificate, a library step template with a sensitive default, tenants with tags and "
     "template values, tenant- and runbook-scoped variables, and release 2.4.0. Generated by "
     "card-vault.py."),
    ("card-vault-secure.json", secure(),
     "Secure zone counterpart of card-vault-dev.json: the same resources by name under other ids "
     "(decoys first), the vault token stored here, no step template yet (the import creates it). "
     "Generated by card-vault.py."),
]:
    with open(name, "w") as f:
        json.dump({"description": description, "requests": requests}, f, indent=1)
        f.write("\n")
