//! The mapping file (`--map FILE`): renames from the development zone's names to this
//! instance's, and what to do with scope names this instance does not have.
//!
//! ```toml
//! [environments]                 # development-zone name = name on this instance
//! "Staging" = "PCI Staging"
//!
//! [channels]                     # likewise [feeds], [worker_pools], [teams], [machines],
//! "Hotfix" = "Emergency"         # [projects], [library_variable_sets], [accounts],
//!                                # [certificates], [git_credentials], [tenants],
//!                                # [tenant_tags], [runbooks], [step_templates],
//!                                # [lifecycles], [project_groups]
//!
//! [unmapped]                     # names this instance lacks and no table renames:
//! environments = "drop"          # "drop": left out of scopes and filters; "refuse" (default)
//! channels = "refuse"
//! machines = "refuse"
//! ```
//!
//! Names match ignoring case, as Octopus's do. The file is refused (exit 3), naming the line,
//! when it is larger than [`MAX_MAPPING_BYTES`], is not TOML, has a table or key not shown
//! above, has an empty name, or renames the same name twice.

use std::collections::BTreeMap;
use std::path::Path;

use bridge_cli::toml_lines::line_of;
use octopus_api::names::{NameKind, NameMap, Unmapped};
use serde::Deserialize;
use toml::Spanned;

use super::files::{config_error, read_bounded};

/// The largest mapping file read.
pub const MAX_MAPPING_BYTES: u64 = 1024 * 1024;

const EXPECTED: &str = "a valid mapping file";

type Renames = BTreeMap<String, Spanned<String>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingToml {
    #[serde(default)]
    environments: Renames,
    #[serde(default)]
    channels: Renames,
    #[serde(default)]
    feeds: Renames,
    #[serde(default)]
    worker_pools: Renames,
    #[serde(default)]
    teams: Renames,
    #[serde(default)]
    machines: Renames,
    #[serde(default)]
    projects: Renames,
    #[serde(default)]
    library_variable_sets: Renames,
    #[serde(default)]
    accounts: Renames,
    #[serde(default)]
    certificates: Renames,
    #[serde(default)]
    git_credentials: Renames,
    #[serde(default)]
    tenants: Renames,
    #[serde(default)]
    tenant_tags: Renames,
    #[serde(default)]
    runbooks: Renames,
    #[serde(default)]
    step_templates: Renames,
    #[serde(default)]
    lifecycles: Renames,
    #[serde(default)]
    project_groups: Renames,
    #[serde(default)]
    unmapped: UnmappedToml,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnmappedToml {
    environments: Option<Rule>,
    channels: Option<Rule>,
    machines: Option<Rule>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Rule {
    Drop,
    Refuse,
}

impl From<Rule> for Unmapped {
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::Drop => Unmapped::Drop,
            Rule::Refuse => Unmapped::Refuse,
        }
    }
}

/// The mapping file at `path` if one is given (`--map`), else no renames.
pub fn read_optional(path: Option<&Path>) -> anyhow::Result<NameMap> {
    path.map_or_else(|| Ok(NameMap::new()), read)
}

/// Reads and checks the mapping file at `path`.
pub fn read(path: &Path) -> anyhow::Result<NameMap> {
    let text = read_bounded(path, MAX_MAPPING_BYTES, "a mapping file")?;
    parse(&text).map_err(|detail| config_error(path, EXPECTED, detail))
}

/// Parses a mapping file's text; the error names the line.
pub fn parse(text: &str) -> Result<NameMap, String> {
    let file: MappingToml = toml::from_str(text).map_err(|e| {
        format!("{}\nHint: the tables are [environments], [channels], [feeds], [worker_pools], [teams], [machines], [projects], [library_variable_sets], [accounts], [certificates], [git_credentials], [tenants], [tenant_tags], [runbooks], [step_templates], [lifecycles], [project_groups] and [unmapped]", e.to_string().trim_end())
    })?;
    let mut map = NameMap::new();
    let tables = [
        (NameKind::Environment, &file.environments),
        (NameKind::Channel, &file.channels),
        (NameKind::Feed, &file.feeds),
        (NameKind::WorkerPool, &file.worker_pools),
        (NameKind::Team, &file.teams),
        (NameKind::Machine, &file.machines),
        (NameKind::Project, &file.projects),
        (NameKind::LibraryVariableSet, &file.library_variable_sets),
        (NameKind::Account, &file.accounts),
        (NameKind::Certificate, &file.certificates),
        (NameKind::GitCredential, &file.git_credentials),
        (NameKind::Tenant, &file.tenants),
        (NameKind::TenantTag, &file.tenant_tags),
        (NameKind::Runbook, &file.runbooks),
        (NameKind::StepTemplate, &file.step_templates),
        (NameKind::Lifecycle, &file.lifecycles),
        (NameKind::ProjectGroup, &file.project_groups),
    ];
    for (kind, renames) in tables {
        let table = kind.table().unwrap_or("?");
        for (from, to) in renames {
            let line = line_of(text, to.span().start);
            if from.trim().is_empty() || to.get_ref().trim().is_empty() {
                return Err(format!(
                    "line {line}: [{table}] renames {from:?} to {:?}; names may not be empty",
                    to.get_ref()
                ));
            }
            if let Some(earlier) = map.rename(kind, from, to.get_ref()) {
                return Err(format!(
                    "line {line}: [{table}] renames {from:?} a second time (names match ignoring case; it was renamed to {earlier:?} already)"
                ));
            }
        }
    }
    let rules = [
        (NameKind::Environment, file.unmapped.environments),
        (NameKind::Channel, file.unmapped.channels),
        (NameKind::Machine, file.unmapped.machines),
    ];
    for (kind, rule) in rules {
        if let Some(rule) = rule {
            map.set_unmapped(kind, rule.into());
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_and_rules_are_read() -> Result<(), String> {
        let map = parse(
            "[environments]\nStaging = \"PCI Staging\"\n\"Prod EU\" = \"Production\"\n\n[feeds]\n\"Octopus Server (built-in)\" = \"Octopus Server (built-in)\"\n\n[unmapped]\nenvironments = \"drop\"\nchannels = \"refuse\"\n",
        )?;
        assert_eq!(
            map.target_name(NameKind::Environment, "staging"),
            "PCI Staging"
        );
        assert_eq!(
            map.target_name(NameKind::Environment, "Prod EU"),
            "Production"
        );
        assert_eq!(map.target_name(NameKind::Environment, "Test"), "Test");
        assert_eq!(map.unmapped(NameKind::Environment), Unmapped::Drop);
        assert_eq!(map.unmapped(NameKind::Channel), Unmapped::Refuse);
        assert_eq!(map.unmapped(NameKind::Machine), Unmapped::Refuse);
        assert_eq!(map.len(), 3);
        Ok(())
    }

    #[test]
    fn an_empty_file_maps_nothing_and_refuses_unmapped_names() -> Result<(), String> {
        let map = parse("# nothing to rename\n")?;
        assert!(map.is_empty());
        assert_eq!(map.unmapped(NameKind::Environment), Unmapped::Refuse);
        Ok(())
    }

    fn refusal(text: &str) -> String {
        parse(text).err().unwrap_or_default()
    }

    #[test]
    fn an_unknown_table_or_key_is_refused_naming_the_line() {
        let err =
            refusal("[environments]\nStaging = \"PCI Staging\"\n\n[enviroments]\nTest = \"DR\"\n");
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("enviroments"), "{err}");
        assert!(err.contains("Hint: the tables are"), "{err}");
        let err = refusal("[unmapped]\nenvironment = \"drop\"\n");
        assert!(
            err.contains("line 2") && err.contains("environment"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_rule_or_value_is_refused_naming_the_line() {
        let err = refusal("[unmapped]\n\nenvironments = \"dorp\"\n");
        assert!(err.contains("line 3") && err.contains("dorp"), "{err}");
        let err = refusal("[environments]\nStaging = 3\n");
        assert!(err.contains("line 2"), "{err}");
        let err = refusal("[environments]\nStaging = \"\"\n");
        assert!(err.starts_with("line 2: [environments]"), "{err}");
    }

    #[test]
    fn a_name_renamed_twice_ignoring_case_is_refused() {
        let err = refusal("[teams]\nOps = \"PCI Ops\"\nOPS = \"Other\"\n");
        // Keys come in byte order: "OPS" first, then "Ops" on line 2.
        assert!(
            err.starts_with("line 2: [teams] renames \"Ops\" a second time"),
            "{err}"
        );
        assert!(err.contains("renamed to \"Other\" already"), "{err}");
    }

    #[test]
    fn an_oversize_file_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("mapping.toml");
        let line = "# padding padding padding padding padding padding padding padding\n";
        let copies = usize::try_from(MAX_MAPPING_BYTES)? / line.len() + 1;
        std::fs::write(&path, line.repeat(copies))?;
        let err = read(&path).err().ok_or("expected a refusal")?;
        assert!(
            err.to_string()
                .contains("larger than the limit of 1048576 bytes"),
            "{err}"
        );
        Ok(())
    }
}
