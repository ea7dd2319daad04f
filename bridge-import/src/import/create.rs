//! Step 3b: what the target lacks of the release's project, from the bundle's `project.json`
//! (see [`octopus_api::names::NamedProject`]), and `--create-missing`, which creates it.
//!
//! ```text
//!  project.json ─┬─ project (by name, [projects])             missing -> create (group and
//!                │                                              lifecycle resolved by name)
//!                ├─ library variable sets ([library_variable_sets]) missing -> create, with templates
//!                │                                              not included -> include
//!                └─ channels ([channels])                     missing -> create, with rules
//!                                                             rules differ -> update rules
//!  without --create-missing: one refusal lists every missing one (`missing-on-target`), and
//!  rules that differ on the release's channel are refused naming both (`channel-rules-differ`)
//!  project groups and lifecycles are never created: missing ones are refused (`unresolved-names`)
//! ```
//!
//! Creation comes before anything else is written and is found again by name on a re-run, so
//! a crash between two creations leaves a state the next run completes, and a run after a
//! complete import creates nothing. Without `--create-missing` nothing is written before the
//! refusal. Without `project.json` (a bundle from an older exporter) nothing is created and the
//! import resolves names as before.

use octopus_api::Client;
use octopus_api::names::{NameKind, NameMap, NamedChannel, NamedProject, Table};
use octopus_api::resources::{Channel, LibraryVariableSet, Other, Project};
use serde_json::{Value, json};

use super::hook::Writes;
use super::plan::PlanStep;
use super::record::AuditStep;
use super::refuse::refused;
use super::target::Catalog;

/// What the target lacks, and what creating it needs.
#[derive(Debug, Clone, Default)]
pub struct Creation {
    /// The project's name on the target.
    pub project_name: String,
    /// The project to create, with its group's and lifecycle's ids on the target.
    pub project: Option<NewProject>,
    /// Library variable sets to create.
    pub libraries: Vec<octopus_api::names::NamedLibrarySet>,
    /// Library variable sets (target names) the project must include.
    pub include: Vec<String>,
    /// Channels to create, each with its lifecycle's id on the target (`None`: the project's).
    pub channels: Vec<(NamedChannel, Option<String>)>,
    /// Existing channels whose rules become the bundle's: the target's channel and the rules.
    pub rules: Vec<(Channel, NamedChannel)>,
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// The bundle's project, with the target's name.
    pub named: NamedProject,
    /// Its project group's id on the target.
    pub group_id: String,
    /// Its lifecycle's id on the target.
    pub lifecycle_id: String,
}

impl Creation {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.project.is_none()
            && self.libraries.is_empty()
            && self.include.is_empty()
            && self.channels.is_empty()
            && self.rules.is_empty()
    }

    /// The plan's lines for it.
    pub fn plan(&self) -> Vec<PlanStep> {
        let mut steps = Vec::new();
        if let Some(new) = &self.project {
            steps.push(PlanStep {
                step: "project",
                subject: format!("project {:?}", new.named.name),
                action: "create",
                detail: format!(
                    "group {:?}, lifecycle {:?}",
                    new.named.project_group, new.named.lifecycle
                ),
            });
        }
        for library in &self.libraries {
            steps.push(PlanStep {
                step: "library",
                subject: format!("library variable set {:?}", library.name),
                action: "create",
                detail: format!("{} template(s)", library.templates.len()),
            });
        }
        for name in &self.include {
            steps.push(PlanStep {
                step: "library",
                subject: format!("library variable set {name:?}"),
                action: "include",
                detail: "included in the project".to_owned(),
            });
        }
        for (channel, _) in &self.channels {
            steps.push(PlanStep {
                step: "channel",
                subject: format!("channel {:?}", channel.name),
                action: "create",
                detail: format!("{} version rule(s)", channel.rules.len()),
            });
        }
        for (existing, named) in &self.rules {
            steps.push(PlanStep {
                step: "channel",
                subject: format!("channel {:?}", existing.name),
                action: "update",
                detail: format!("version rules as in the bundle: {}", rules_text(named)),
            });
        }
        steps
    }
}

/// The rules of a channel for people: `Deploy: [1.0,2.0) tag ^$`, or `none`.
fn rules_text(channel: &NamedChannel) -> String {
    if channel.rules.is_empty() {
        return "none".to_owned();
    }
    channel
        .rules
        .iter()
        .map(|r| {
            let actions: Vec<&str> = r
                .action_packages
                .iter()
                .map(|p| p.deployment_action.as_str())
                .collect();
            format!(
                "{}: range {:?}, tag {:?}",
                actions.join(", "),
                r.version_range,
                r.tag
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn rules_of(channel: &Channel) -> Vec<octopus_api::names::NamedChannelRule> {
    channel
        .other
        .get("Rules")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn same_rules(a: &[octopus_api::names::NamedChannelRule], b: &NamedChannel) -> bool {
    let mut left: Vec<_> = a.iter().map(|r| r.key()).collect();
    let mut right: Vec<_> = b.rules.iter().map(|r| r.key()).collect();
    left.sort();
    right.sort();
    left == right
}

/// How [`plan`] decides.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The mapping file's renames.
    pub map: &'a NameMap,
    /// `--create-missing`.
    pub create_missing: bool,
    /// The target, for messages.
    pub target: &'a str,
}

/// One line of the missing list: `project "X": not on the target`, or, renamed by the
/// mapping file, what it was renamed to (as the other unresolved names say it).
fn missing_line(kind: NameKind, bundle: &str, target: &str) -> String {
    if bundle.eq_ignore_ascii_case(target) {
        format!("{kind} {bundle:?}: not on the target")
    } else {
        format!(
            "{kind} {bundle:?}: the mapping file renames it to {target:?}, which the target does not have"
        )
    }
}

/// Checks that `project.json` describes the release's project consistently: its name is the
/// release's project, it lists the release's channel, and no channel or library variable set
/// appears twice (ignoring case), nor two default channels. A bundle can verify and still be
/// inconsistent; creating from it would make something other than what the release needs.
pub fn validate(doc: &NamedProject, project: &str, channel: &str) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    if !doc.name.eq_ignore_ascii_case(project) {
        problems.push(format!(
            "project.json describes project {:?}, the release belongs to {project:?}",
            doc.name
        ));
    }
    if !doc
        .channels
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(channel))
    {
        problems.push(format!(
            "project.json does not list the release's channel {channel:?}"
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in doc.channels.iter().map(|c| &c.name) {
        if !seen.insert(name.to_lowercase()) {
            problems.push(format!("project.json lists channel {name:?} twice"));
        }
    }
    if doc.channels.iter().filter(|c| c.is_default).count() > 1 {
        problems.push("project.json has more than one default channel".to_owned());
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in doc.library_variable_sets.iter().map(|l| &l.name) {
        if !seen.insert(name.to_lowercase()) {
            problems.push(format!(
                "project.json lists library variable set {name:?} twice"
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(refused(
        "release-invalid",
        format!(
            "the bundle's release cannot be imported:{}\nHint: the bundle verified, so it is what the development zone sent; report it to the sender",
            bridge_cli::safe::bullets(&problems)
        ),
    ))
}

/// Finds what the target lacks of `doc`'s project for a release in channel `release_channel`;
/// refuses, before anything is written, what cannot or may not be created. A refusal for what
/// is missing also lists what `others` finds (the names that do not depend on the project).
pub fn plan(
    client: &Client,
    doc: &NamedProject,
    release_channel: &str,
    catalog: &Catalog,
    options: Options<'_>,
    others: impl FnOnce() -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<Creation> {
    let Options {
        map,
        create_missing,
        target,
    } = options;
    let project_name = map.target_name(NameKind::Project, &doc.name);
    let project = catalog
        .projects
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(project_name));
    let mut creation = Creation {
        project_name: project_name.to_owned(),
        ..Creation::default()
    };
    let mut missing = Vec::new();
    if project.is_none() {
        missing.push(missing_line(NameKind::Project, &doc.name, project_name));
    }
    for library in &doc.library_variable_sets {
        let name = map.target_name(NameKind::LibraryVariableSet, &library.name);
        match catalog
            .libraries
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
        {
            None => {
                missing.push(missing_line(
                    NameKind::LibraryVariableSet,
                    &library.name,
                    name,
                ));
                creation
                    .libraries
                    .push(octopus_api::names::NamedLibrarySet {
                        name: name.to_owned(),
                        ..library.clone()
                    });
                creation.include.push(name.to_owned());
            }
            Some(found) => {
                let included = project
                    .is_some_and(|p| p.included_library_variable_set_ids.contains(&found.id));
                if !included && create_missing {
                    creation.include.push(found.name.clone());
                }
            }
        }
    }
    let target_channels: Vec<Channel> = match project {
        Some(p) => client.get_all(&format!("projects/{}/channels", p.id))?,
        None => Vec::new(),
    };
    let mut differ = Vec::new();
    for channel in &doc.channels {
        let name = map.target_name(NameKind::Channel, &channel.name);
        let is_release_channel = channel.name.eq_ignore_ascii_case(release_channel);
        let renamed = NamedChannel {
            name: name.to_owned(),
            ..channel.clone()
        };
        match target_channels
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
        {
            None if create_missing || is_release_channel || project.is_none() => {
                missing.push(missing_line(NameKind::Channel, &channel.name, name));
                creation.channels.push((renamed, None));
            }
            None => {}
            Some(found) if !same_rules(&rules_of(found), channel) => {
                if create_missing {
                    creation.rules.push((found.clone(), renamed));
                } else if is_release_channel {
                    differ.push(format!(
                        "channel {name:?}: the target's version rules are {}; the bundle's are {}",
                        rules_text(&NamedChannel {
                            rules: rules_of(found),
                            ..renamed.clone()
                        }),
                        rules_text(channel)
                    ));
                }
            }
            Some(_) => {}
        }
    }
    if !create_missing && !missing.is_empty() {
        // One run names everything it can: the names that do not depend on the project too.
        let others = others()?;
        let mut hint = "Hint: pass --create-missing to create them from the bundle's project.json (project groups and lifecycles must exist), or create them on the target, or rename them in the mapping file ([projects], [channels], [library_variable_sets])".to_owned();
        if !others.is_empty() {
            hint.push('\n');
            hint.push_str(super::resolve::NAMES_HINT);
        }
        missing.extend(others);
        return Err(refused(
            "missing-on-target",
            format!(
                "the target {target} lacks what release channel {release_channel:?} of project {:?} needs; nothing was written:{}\n{hint}",
                doc.name,
                bridge_cli::safe::bullets(&missing)
            ),
        ));
    }
    if !differ.is_empty() {
        return Err(refused(
            "channel-rules-differ",
            format!(
                "the version rules of the release's channel differ between the bundle and the target {target}; nothing was written:{}\nHint: pass --create-missing to give the target's channel the bundle's rules, or change the channel on the target or in the development zone",
                bridge_cli::safe::bullets(&differ)
            ),
        ));
    }
    if !create_missing {
        return Ok(Creation::default());
    }
    resolve_lifecycles(client, doc, project, &mut creation, map, target)?;
    Ok(creation)
}

/// Resolves the project's group and lifecycle and each new channel's lifecycle: they are the
/// secure side's own policy, so they are never created; every missing one is named at once.
fn resolve_lifecycles(
    client: &Client,
    doc: &NamedProject,
    project: Option<&Project>,
    creation: &mut Creation,
    map: &NameMap,
    target: &str,
) -> anyhow::Result<()> {
    let needs_lifecycles =
        project.is_none() || creation.channels.iter().any(|(c, _)| c.lifecycle.is_some());
    if !needs_lifecycles {
        return Ok(());
    }
    let lifecycles = table(client.get_all::<Value>("lifecycles")?);
    let mut unresolved = Vec::new();
    let mut find = |table: &Table, kind: NameKind, name: &str, used_in: &str| -> Option<String> {
        let wanted = map.target_name(kind, name);
        let found = table.id_of(wanted).map(str::to_owned);
        if found.is_none() {
            let renamed = if wanted == name {
                String::new()
            } else {
                format!(" (the mapping file renames it to {wanted:?})")
            };
            unresolved.push(format!(
                "{kind} {name:?}{renamed}: not on the target (used in {used_in})"
            ));
        }
        found
    };
    for (channel, lifecycle_id) in &mut creation.channels {
        if let Some(lifecycle) = &channel.lifecycle {
            *lifecycle_id = find(
                &lifecycles,
                NameKind::Lifecycle,
                lifecycle,
                &format!("channel {:?}", channel.name),
            );
        }
    }
    if project.is_none() {
        let groups = table(client.get_all::<Value>("projectgroups")?);
        let group = find(
            &groups,
            NameKind::ProjectGroup,
            &doc.project_group,
            "the project",
        );
        let lifecycle = find(
            &lifecycles,
            NameKind::Lifecycle,
            &doc.lifecycle,
            "the project",
        );
        if let (Some(group_id), Some(lifecycle_id)) = (group, lifecycle) {
            creation.project = Some(NewProject {
                named: NamedProject {
                    name: map.target_name(NameKind::Project, &doc.name).to_owned(),
                    ..doc.clone()
                },
                group_id,
                lifecycle_id,
            });
        }
    }
    if unresolved.is_empty() {
        return Ok(());
    }
    let count = unresolved.len();
    Err(refused(
        "unresolved-names",
        format!(
            "{count} name(s) the project needs cannot be resolved on the target {target}; nothing was written:{}\nHint: project groups and lifecycles are the secure side's own and are never created: create them on the target, or rename them in the mapping file under [project_groups] and [lifecycles]",
            bridge_cli::safe::bullets(&unresolved)
        ),
    ))
}

fn table(items: Vec<Value>) -> Table {
    let pairs: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| {
            Some((
                i.get("Id")?.as_str()?.to_owned(),
                i.get("Name")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    Table::new(pairs.iter().map(|(id, name)| (id.as_str(), name.as_str())))
}

/// Creates what `creation` lists, each thing found by name first (a re-run after a crash finds
/// what the crashed run created and goes on); returns one audit entry per write.
pub fn apply(
    client: &Client,
    creation: &Creation,
    writes: &mut Writes,
) -> anyhow::Result<Vec<AuditStep>> {
    let mut audit = Vec::new();
    let mut library_ids = Vec::new();
    for library in &creation.libraries {
        let existing = client.find_by_name::<LibraryVariableSet>(
            "libraryvariablesets",
            &library.name,
            |l| &l.name,
        )?;
        let id = match existing {
            Some(found) => found.id,
            None => {
                let mut body = library.other.clone();
                body.insert("Name".into(), json!(library.name));
                body.insert("Description".into(), json!(library.description));
                body.insert("Templates".into(), json!(library.templates));
                let created: LibraryVariableSet = client.post("libraryvariablesets", &body)?;
                writes.done("library variable set")?;
                audit.push(created_entry(
                    "library variable set",
                    &created.name,
                    &created.id,
                ));
                created.id
            }
        };
        library_ids.push(id);
    }
    let project = match &creation.project {
        Some(new) => create_project(client, new, writes, &mut audit)?,
        None if creation.channels.is_empty()
            && creation.include.is_empty()
            && creation.rules.is_empty() =>
        {
            return Ok(audit);
        }
        None => client
            .find_by_name::<Project>("projects", &creation.project_name, |p| &p.name)?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "project {:?} disappeared from the target during the import",
                    creation.project_name
                )
            })?,
    };
    include_libraries(client, &project, &creation.include, writes, &mut audit)?;
    for (channel, lifecycle_id) in &creation.channels {
        create_channel(
            client,
            &project,
            channel,
            lifecycle_id.as_deref(),
            writes,
            &mut audit,
        )?;
    }
    for (existing, named) in &creation.rules {
        let mut body = existing.clone();
        body.other.insert("Rules".into(), rules_json(named));
        let _: Value = client.put(&format!("channels/{}", existing.id), &body)?;
        writes.done("channel rules")?;
        audit.push(AuditStep {
            event: "import.create",
            detail: json!({"kind": "channel", "name": existing.name, "id": existing.id, "action": "rules updated"}),
        });
    }
    Ok(audit)
}

fn created_entry(kind: &str, name: &str, id: &str) -> AuditStep {
    AuditStep {
        event: "import.create",
        detail: json!({"kind": kind, "name": name, "id": id, "action": "created"}),
    }
}

fn rules_json(channel: &NamedChannel) -> Value {
    json!(channel.rules)
}

/// The project, created unless a crashed run created it; then whatever project exists of that
/// name is the one (its group and settings are not rewritten).
fn create_project(
    client: &Client,
    new: &NewProject,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<Project> {
    if let Some(found) = client.find_by_name::<Project>("projects", &new.named.name, |p| &p.name)? {
        return Ok(found);
    }
    let mut body: Other = new.named.settings.clone();
    body.insert("Name".into(), json!(new.named.name));
    body.insert("Description".into(), json!(new.named.description));
    body.insert("ProjectGroupId".into(), json!(new.group_id));
    body.insert("LifecycleId".into(), json!(new.lifecycle_id));
    // Nothing starts by itself on the secure side: a created project never creates releases
    // on its own, whatever the development zone's project does.
    body.insert("AutoCreateRelease".into(), json!(false));
    // The release-creation strategy names a channel by name in the bundle; Octopus wants its
    // id, which exists only once the channels do. It drives automatic release creation, which
    // is off here, so it is left out.
    body.remove("ReleaseCreationStrategy");
    body.insert("IncludedLibraryVariableSetIds".into(), json!([]));
    let created: Project = client.post("projects", &body)?;
    writes.done("project")?;
    audit.push(created_entry("project", &created.name, &created.id));
    Ok(created)
}

fn include_libraries(
    client: &Client,
    project: &Project,
    include: &[String],
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<()> {
    if include.is_empty() {
        return Ok(());
    }
    let libraries: Vec<LibraryVariableSet> = client.get_all("libraryvariablesets")?;
    let mut current: Project = client.get(&format!("projects/{}", project.id))?;
    let before = current.included_library_variable_set_ids.clone();
    for name in include {
        if let Some(library) = libraries.iter().find(|l| l.name.eq_ignore_ascii_case(name))
            && !current
                .included_library_variable_set_ids
                .contains(&library.id)
        {
            current
                .included_library_variable_set_ids
                .push(library.id.clone());
        }
    }
    if current.included_library_variable_set_ids == before {
        return Ok(());
    }
    let _: Value = client.put(&format!("projects/{}", project.id), &current)?;
    writes.done("project libraries")?;
    audit.push(AuditStep {
        event: "import.create",
        detail: json!({"kind": "project", "name": project.name, "id": project.id, "action": "library variable sets included", "included": include}),
    });
    Ok(())
}

/// A channel, created unless it exists; the project's automatic `Default` channel, or one a
/// crashed run created, gets the bundle's rules, description and default flag instead.
fn create_channel(
    client: &Client,
    project: &Project,
    channel: &NamedChannel,
    lifecycle_id: Option<&str>,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<()> {
    let existing: Vec<Channel> = client.get_all(&format!("projects/{}/channels", project.id))?;
    let mut body = channel.other.clone();
    body.insert("Name".into(), json!(channel.name));
    body.insert("Description".into(), json!(channel.description));
    body.insert("ProjectId".into(), json!(project.id));
    body.insert("IsDefault".into(), json!(channel.is_default));
    body.insert("TenantTags".into(), json!(channel.tenant_tags));
    body.insert("Rules".into(), rules_json(channel));
    if let Some(id) = lifecycle_id {
        body.insert("LifecycleId".into(), json!(id));
    }
    match existing
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&channel.name))
    {
        Some(found) if same_rules(&rules_of(found), channel) => Ok(()),
        Some(found) => {
            let _: Value = client.put(&format!("channels/{}", found.id), &body)?;
            writes.done("channel")?;
            audit.push(AuditStep {
                event: "import.create",
                detail: json!({"kind": "channel", "name": found.name, "id": found.id, "action": "rules updated"}),
            });
            Ok(())
        }
        None => {
            let created: Channel = client.post("channels", &body)?;
            writes.done("channel")?;
            audit.push(created_entry("channel", &created.name, &created.id));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use octopus_api::names::NamedChannelRule;
    use serde_json::json;

    use super::*;

    fn named(rules: serde_json::Value) -> Result<NamedChannel, serde_json::Error> {
        serde_json::from_value(json!({"Name": "Default", "IsDefault": true, "Rules": rules}))
    }

    fn target(rules: serde_json::Value) -> Result<Channel, serde_json::Error> {
        serde_json::from_value(json!({"Id": "Channels-1", "Name": "Default", "Rules": rules}))
    }

    #[test]
    fn rules_compare_by_what_they_demand() -> Result<(), serde_json::Error> {
        let a = json!([
            {"Id": "r1", "VersionRange": "[1.0,2.0)", "Tag": "^$", "ActionPackages": [
                {"DeploymentAction": "Deploy", "PackageReference": ""},
                {"DeploymentAction": "Migrate"}]}
        ]);
        // Other rule ids, other order of references, other case of action names, a null tag
        // for an empty one: the same demand.
        let same = json!([
            {"Id": "r9", "VersionRange": "[1.0,2.0)", "Tag": "^$", "ActionPackages": [
                {"DeploymentAction": "migrate", "PackageReference": null},
                {"DeploymentAction": "DEPLOY", "PackageReference": ""}]}
        ]);
        assert!(same_rules(&rules_of(&target(same)?), &named(a.clone())?));
        for other in [
            json!([]),
            json!([{"VersionRange": "[1.0,3.0)", "Tag": "^$", "ActionPackages": [{"DeploymentAction": "Deploy"}, {"DeploymentAction": "Migrate"}]}]),
            json!([{"VersionRange": "[1.0,2.0)", "Tag": "", "ActionPackages": [{"DeploymentAction": "Deploy"}, {"DeploymentAction": "Migrate"}]}]),
            json!([{"VersionRange": "[1.0,2.0)", "Tag": "^$", "ActionPackages": [{"DeploymentAction": "Deploy"}]}]),
        ] {
            assert!(
                !same_rules(&rules_of(&target(other.clone())?), &named(a.clone())?),
                "{other}"
            );
        }
        let none = named(json!([]))?;
        assert_eq!(rules_text(&none), "none");
        let rules: Vec<NamedChannelRule> = named(a)?.rules;
        let text = rules_text(&NamedChannel { rules, ..none });
        assert_eq!(text, "Deploy, Migrate: range \"[1.0,2.0)\", tag \"^$\"");
        Ok(())
    }

    fn doc(value: serde_json::Value) -> Result<NamedProject, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn an_inconsistent_project_json_is_refused_naming_every_problem()
    -> Result<(), serde_json::Error> {
        let good = json!({
            "Name": "Fraud Rules", "ProjectGroup": "Risk", "Lifecycle": "Dev",
            "Channels": [{"Name": "Default", "IsDefault": true}, {"Name": "Hotfix"}],
            "LibraryVariableSets": [{"Name": "Common"}]
        });
        assert!(validate(&doc(good.clone())?, "fraud rules", "DEFAULT").is_ok());
        let cases = [
            (
                good.clone(),
                "Payments API",
                "Default",
                "describes project \"Fraud Rules\", the release belongs to \"Payments API\"",
            ),
            (
                good.clone(),
                "Fraud Rules",
                "Nightly",
                "does not list the release's channel \"Nightly\"",
            ),
            (
                json!({"Name": "Fraud Rules", "ProjectGroup": "Risk", "Lifecycle": "Dev",
                "Channels": [{"Name": "Default"}, {"Name": "default"}]}),
                "Fraud Rules",
                "Default",
                "lists channel \"default\" twice",
            ),
            (
                json!({"Name": "Fraud Rules", "ProjectGroup": "Risk", "Lifecycle": "Dev",
                "Channels": [{"Name": "Default", "IsDefault": true}, {"Name": "Hotfix", "IsDefault": true}]}),
                "Fraud Rules",
                "Default",
                "more than one default channel",
            ),
            (
                json!({"Name": "Fraud Rules", "ProjectGroup": "Risk", "Lifecycle": "Dev",
                "Channels": [{"Name": "Default"}],
                "LibraryVariableSets": [{"Name": "Common"}, {"Name": "COMMON"}]}),
                "Fraud Rules",
                "Default",
                "lists library variable set \"COMMON\" twice",
            ),
        ];
        for (value, project, channel, words) in cases {
            let err = validate(&doc(value)?, project, channel)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(words), "{words}: {err}");
            assert!(err.contains("Hint: "), "{err}");
        }
        // A project.json that is not the model at all is refused when it is read
        // (`content.document`, release-invalid): a missing ProjectGroup, say.
        assert!(doc(json!({"Name": "Fraud Rules", "Lifecycle": "Dev"})).is_err());
        Ok(())
    }

    #[test]
    fn an_empty_creation_plans_and_writes_nothing() {
        let creation = Creation::default();
        assert!(creation.is_empty());
        assert!(creation.plan().is_empty());
    }
}
