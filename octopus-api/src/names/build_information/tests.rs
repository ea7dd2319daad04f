use serde_json::json;

use super::*;

fn entry() -> PackageBuildInformation {
    PackageBuildInformation {
        package_id: "Payments.Api".into(),
        version: "1.4.0".into(),
        build_environment: Some("GitHub Actions".into()),
        build_number: Some("288".into()),
        build_url: Some("https://ci.example/runs/288".into()),
        branch: Some("main".into()),
        vcs_type: Some("Git".into()),
        vcs_root: Some("https://github.com/acme/payments".into()),
        vcs_commit_number: Some("314cf2c3".into()),
        vcs_commit_url: None,
        commits: vec![Commit {
            id: Some("314cf2c3".into()),
            comment: Some("PAY-12 retry\nthe ledger call".into()),
            link_url: None,
        }],
        work_items: vec![],
    }
}

fn doc(entries: Vec<PackageBuildInformation>) -> BuildInformationDocument {
    BuildInformationDocument { packages: entries }
}

#[test]
fn a_good_document_passes_and_round_trips() -> Result<(), Box<dyn std::error::Error>> {
    let document = doc(vec![entry(), {
        let mut other = entry();
        other.version = "1.5.0-rc.1+sha.5".into();
        other
    }]);
    assert_eq!(document.validate(), Ok(()));
    let json = serde_json::to_string(&document)?;
    let back: BuildInformationDocument = serde_json::from_str(&json)?;
    assert_eq!(back, document);
    assert!(document.of("payments.api", "1.4.0").is_some());
    assert!(document.of("Payments.Api", "1.6.0").is_none());
    Ok(())
}

#[test]
fn hostile_values_are_refused_naming_package_and_field() {
    type Change = fn(&mut PackageBuildInformation);
    let cases: Vec<(Change, &str)> = vec![
        (
            |e| e.build_url = Some("https://bot:ghp_token@ci.example/runs/1".into()),
            "Payments.Api 1.4.0: BuildUrl carries credentials",
        ),
        (
            |e| e.vcs_root = Some("https://x-access-token@github.com/acme/p".into()),
            "Payments.Api 1.4.0: VcsRoot carries credentials",
        ),
        (
            |e| {
                e.commits[0].link_url = Some("http://u:p@git.example/c/1".into());
            },
            "Payments.Api 1.4.0: Commits[0].LinkUrl carries credentials",
        ),
        (
            |e| e.branch = Some("b".repeat(MAX_TEXT_CHARS + 1)),
            "Payments.Api 1.4.0: Branch is 2049 characters long; at most 2048",
        ),
        (
            |e| e.commits[0].comment = Some("c".repeat(MAX_COMMENT_CHARS + 1)),
            "Commits[0].Comment is 16385 characters long; at most 16384",
        ),
        (
            |e| e.commits = vec![Commit::default(); MAX_COMMITS + 1],
            "Payments.Api 1.4.0: Commits has 1001 entries; at most 1000",
        ),
        (
            |e| e.work_items = vec![WorkItem::default(); MAX_WORK_ITEMS + 1],
            "WorkItems has 1001 entries",
        ),
        (
            |e| e.build_number = Some("288\u{1b}[2J".into()),
            "Payments.Api 1.4.0: BuildNumber holds a control character (U+001B)",
        ),
        (
            |e| e.commits[0].comment = Some("fine\u{7}".into()),
            "Commits[0].Comment holds a control character (U+0007)",
        ),
        (
            |e| e.package_id = "../../etc".into(),
            "PackageId \"../../etc\" is not a valid package id or version",
        ),
        (
            |e| e.version = "latest".into(),
            "Payments.Api: Version \"latest\" is not a valid",
        ),
    ];
    for (change, want) in cases {
        let mut bad = entry();
        change(&mut bad);
        let err = doc(vec![bad]).validate().err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(want)),
            "want {want:?}, got {err:?}"
        );
    }
}

#[test]
fn too_many_packages_and_duplicates_are_refused() {
    let many = doc(vec![entry(); MAX_PACKAGES + 1]);
    assert!(matches!(
        many.validate(),
        Err(BuildInformationError::TooMany {
            count: 1001,
            limit: 1000,
            ..
        })
    ));
    let mut twice = entry();
    twice.package_id = "payments.API".into();
    assert!(matches!(
        doc(vec![entry(), twice]).validate(),
        Err(BuildInformationError::Duplicate { .. })
    ));
}

#[test]
fn wrong_types_and_unknown_fields_do_not_parse() {
    let cases = [
        json!({"Packages": [{"PackageId": "A", "Version": 1}]}),
        json!({"Packages": [{"PackageId": "A", "Version": "1.0", "Commits": {"Id": "x"}}]}),
        json!({"Packages": [{"PackageId": "A", "Version": "1.0", "Commits": [{"Id": 5}]}]}),
        json!({"Packages": [{"PackageId": "A", "Version": "1.0", "Password": "x"}]}),
        json!({"Packages": {"PackageId": "A"}}),
        json!({"Packages": [], "Extra": true}),
        json!({}),
    ];
    for case in cases {
        assert!(
            serde_json::from_value::<BuildInformationDocument>(case.clone()).is_err(),
            "{case}"
        );
    }
}

#[test]
fn credentials_are_stripped_from_urls_only_where_a_scheme_has_them() {
    let cases = [
        (
            "https://user:pass@ci.example/x",
            Some("https://ci.example/x"),
        ),
        (
            "https://token@github.com/a/b",
            Some("https://github.com/a/b"),
        ),
        ("ssh://git:pw@host:22/repo", Some("ssh://host:22/repo")),
        ("https://ci.example/x?mail=a@b", None),
        ("https://ci.example/u@x", None),
        ("git@github.com:acme/payments.git", None),
        ("not a url", None),
    ];
    for (url, want) in cases {
        assert_eq!(without_credentials(url).as_deref(), want, "{url}");
    }
}

#[test]
fn a_release_entry_is_taken_without_server_fields_and_stripped()
-> Result<(), Box<dyn std::error::Error>> {
    let shown = json!({
        "PackageId": "Payments.Api", "Version": "1.4.0", "BuildNumber": "288",
        "BuildUrl": "https://bot:secret@ci.example/runs/288",
        "IssueTrackerName": null, "Id": "BuildInformation-3",
        "Commits": [{"Id": "a1", "Comment": "x", "LinkUrl": null, "Extra": 1}],
        "WorkItems": [{"Id": "PAY-12", "Description": "d", "LinkUrl": "https://u:p@jira/PAY-12", "Source": "Jira"}]
    });
    let (entry, stripped) = PackageBuildInformation::from_release_entry(&shown)?;
    assert_eq!(
        entry.build_url.as_deref(),
        Some("https://ci.example/runs/288")
    );
    assert_eq!(
        entry.work_items[0].link_url.as_deref(),
        Some("https://jira/PAY-12")
    );
    assert_eq!(
        stripped,
        [
            "Payments.Api 1.4.0: BuildUrl",
            "Payments.Api 1.4.0: WorkItems[0].LinkUrl"
        ]
    );
    assert_eq!(doc(vec![entry]).validate(), Ok(()));
    assert!(PackageBuildInformation::from_release_entry(&json!({"PackageId": 3})).is_err());
    Ok(())
}

#[test]
fn the_push_body_and_the_comparison_use_what_a_build_server_sets() {
    let e = entry();
    let command = e.to_command();
    assert_eq!(command["PackageId"], "Payments.Api");
    assert_eq!(command["OctopusBuildInformation"]["BuildNumber"], "288");
    assert_eq!(
        command["OctopusBuildInformation"]["Commits"][0]["Comment"],
        "PAY-12 retry\nthe ledger call"
    );
    assert!(
        command["OctopusBuildInformation"]
            .get("WorkItems")
            .is_none()
    );
    // What the server shows back, with the fields it derives, is the same.
    let mut shown = command["OctopusBuildInformation"].clone();
    shown["VcsCommitUrl"] = json!("https://github.com/acme/payments/commit/314cf2c3");
    shown["WorkItems"] = json!([]);
    assert_eq!(e.difference(&shown), None);
    let mut other = shown.clone();
    other["BuildNumber"] = json!("289");
    assert!(
        e.difference(&other)
            .is_some_and(|d| d.contains("BuildNumber"))
    );
    let mut fewer = shown;
    fewer["Commits"] = json!([]);
    assert!(
        e.difference(&fewer)
            .is_some_and(|d| d.contains("commits differ"))
    );
}
