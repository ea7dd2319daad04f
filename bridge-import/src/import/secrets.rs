//! The secrets file (`--secrets FILE`): values for sensitive variables and sensitive action
//! properties that this instance does not store yet. Values never travel in a bundle; this
//! file is where the secure zone supplies the ones its Octopus does not hold.
//!
//! ```toml
//! [[secret]]
//! owner = "Fraud Rules"                        # project or library variable set, as named HERE
//! name = "Fraud.ScoringEngine.ApiToken"        # variable name (or action property key)
//! scope = { Environment = ["PCI Staging"] }     # as named HERE; {} for unscoped
//! value = "..."
//!
//! [[secret]]                                   # a sensitive action property:
//! owner = "Payments API"                       #   the project
//! name = "Octopus.Action.Script.Password"      #   the property key
//! scope = { Action = ["Run database migrations"] }
//! value = "..."
//! ```
//!
//! A sensitive tenant value (a tenant's value for a sensitive variable template) adds the
//! tenant; owner is the project (or the library variable set of a common template), name the
//! template, scope the environment of a project template's value (`{}` for a common one):
//!
//! ```toml
//! [[secret]]
//! tenant = "Acquirer EU"                       # the tenant, as named HERE
//! owner = "Payments API"
//! name = "Merchant.Token"
//! scope = { Environment = ["PCI Staging"] }
//! value = "..."
//! ```
//!
//! The file must be readable by its owner only (mode 0600 or 0400): otherwise it is refused,
//! as private key files are. Values are never printed, logged, put in an error or recorded
//! in the ledger: [`SecretValue`] has no `Display` and a `Debug` that hides it, and parse
//! errors are built from the TOML parser's short message and line, never from the text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use bridge_cli::toml_lines::{error_line, line_of};
use octopus_api::names::{scope_key, scope_text};
use serde::Deserialize;
use toml::Spanned;

use super::files::{PrivateFile, config_error, read_private};

/// The largest secrets file read.
pub const MAX_SECRETS_BYTES: u64 = 1024 * 1024;

const EXPECTED: &str = "a valid secrets file";

/// A secret value. It is shown to nobody: `Debug` prints `<redacted>`, there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// The value, for the one place that needs it: the request body that stores it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// One `[[secret]]` of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEntry {
    /// The tenant, for a sensitive tenant value; `None` for a variable or action property.
    pub tenant: Option<String>,
    /// Project or library variable set, by its name on this instance.
    pub owner: String,
    /// Variable name, or action property key.
    pub name: String,
    /// Scope dimension -> names on this instance.
    pub scope: BTreeMap<String, Vec<String>>,
    /// The value.
    pub value: SecretValue,
    /// The line of its `name`, for messages.
    pub line: usize,
}

impl SecretEntry {
    /// `owner / name (scope)`, for people; never the value.
    pub fn describe(&self) -> String {
        let tenant = self
            .tenant
            .as_ref()
            .map(|t| format!("tenant {t}: "))
            .unwrap_or_default();
        format!(
            "{tenant}{} / {} ({})",
            self.owner,
            self.name,
            scope_text(&self.scope)
        )
    }

    fn matches(
        &self,
        tenant: Option<&str>,
        owner: &str,
        name: &str,
        scope: &BTreeMap<String, Vec<String>>,
    ) -> bool {
        let same_tenant = match (self.tenant.as_deref(), tenant) {
            (None, None) => true,
            (Some(mine), Some(wanted)) => mine.eq_ignore_ascii_case(wanted),
            _ => false,
        };
        same_tenant
            && self.owner.eq_ignore_ascii_case(owner)
            && self.name.eq_ignore_ascii_case(name)
            && scope_key(&self.scope) == scope_key(scope)
    }
}

/// The secrets file's entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsFile {
    /// In file order.
    pub entries: Vec<SecretEntry>,
}

impl SecretsFile {
    /// The entry for a variable (or property) of `owner` named `name` with exactly this
    /// scope (names on this instance, matched ignoring case and order).
    pub fn find(
        &self,
        owner: &str,
        name: &str,
        scope: &BTreeMap<String, Vec<String>>,
    ) -> Option<&SecretEntry> {
        self.entries
            .iter()
            .find(|e| e.matches(None, owner, name, scope))
    }

    /// The entry for tenant `tenant`'s value of template `name` of `owner` (the project or a
    /// library variable set) with exactly this scope (names on this instance).
    pub fn find_tenant(
        &self,
        tenant: &str,
        owner: &str,
        name: &str,
        scope: &BTreeMap<String, Vec<String>>,
    ) -> Option<&SecretEntry> {
        self.entries
            .iter()
            .find(|e| e.matches(Some(tenant), owner, name, scope))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsToml {
    #[serde(default)]
    secret: Vec<SecretToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretToml {
    #[serde(default)]
    tenant: Option<String>,
    owner: String,
    name: Spanned<String>,
    #[serde(default)]
    scope: BTreeMap<String, Vec<String>>,
    // Any TOML value, so that a wrong type is reported by us, without quoting it.
    value: Spanned<toml::Value>,
}

/// The secrets file at `path` if one is given (`--secrets`), else none.
pub fn read_optional(path: Option<&Path>) -> anyhow::Result<SecretsFile> {
    path.map_or_else(|| Ok(SecretsFile::default()), read)
}

/// Reads the secrets file at `path`: refused unless only its owner can read it.
pub fn read(path: &Path) -> anyhow::Result<SecretsFile> {
    let text = read_private(
        path,
        MAX_SECRETS_BYTES,
        &PrivateFile {
            name: "the secrets file",
            expected: "a secrets file",
            private: "a private secrets file",
            why: "refusing to use it",
        },
    )?;
    parse(&text).map_err(|detail| config_error(path, EXPECTED, detail))
}

/// Parses a secrets file's text. Errors name the line and never quote the file.
pub fn parse(text: &str) -> Result<SecretsFile, String> {
    let file: SecretsToml = toml::from_str(text).map_err(|e| {
        format!(
            "{}{}\nHint: each [[secret]] has owner, name, scope (optional) and value",
            error_line(text, &e),
            e.message().trim_end()
        )
    })?;
    let mut entries: Vec<SecretEntry> = Vec::new();
    for secret in file.secret {
        let line = line_of(text, secret.name.span().start);
        let name = secret.name.into_inner();
        let where_ = format!("line {line}: [[secret]] {} / {name}", secret.owner);
        if secret.owner.trim().is_empty() || name.trim().is_empty() {
            return Err(format!("{where_}: owner and name may not be empty"));
        }
        if secret.tenant.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(format!("{where_}: tenant may not be empty"));
        }
        if secret.scope.values().flatten().any(|v| v.trim().is_empty()) {
            return Err(format!("{where_}: scope names may not be empty"));
        }
        let value_line = line_of(text, secret.value.span().start);
        let value = match secret.value.into_inner() {
            toml::Value::String(value) if !value.is_empty() => SecretValue(value),
            _ => {
                return Err(format!(
                    "line {value_line}: [[secret]] {} / {name}: value must be a non-empty string",
                    secret.owner
                ));
            }
        };
        let entry = SecretEntry {
            tenant: secret.tenant,
            owner: secret.owner,
            name,
            scope: secret.scope,
            value,
            line,
        };
        if let Some(earlier) = entries.iter().find(|e| {
            e.matches(
                entry.tenant.as_deref(),
                &entry.owner,
                &entry.name,
                &entry.scope,
            )
        }) {
            return Err(format!(
                "{where_}: a second value for {} (the first is on line {})",
                entry.describe(),
                earlier.line
            ));
        }
        entries.push(entry);
    }
    Ok(SecretsFile { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const GOOD: &str = r#"
[[secret]]
owner = "Fraud Rules"
name = "Fraud.ScoringEngine.ApiToken"
scope = { Environment = ["PCI Staging"] }
value = "tok-3Hc"

[[secret]]
owner = "Common Settings"
name = "Smtp.Password"
value = "smtp-9x"
"#;

    #[test]
    fn entries_are_found_by_owner_name_and_scope_ignoring_case_and_order() -> TestResult {
        let file = parse(GOOD)?;
        assert_eq!(file.entries.len(), 2);
        let scope = BTreeMap::from([("Environment".to_owned(), vec!["pci staging".to_owned()])]);
        let found = file
            .find("fraud rules", "FRAUD.SCORINGENGINE.APITOKEN", &scope)
            .ok_or("not found")?;
        assert_eq!(found.value.expose(), "tok-3Hc");
        assert_eq!(found.line, 4);
        assert!(
            file.find(
                "Fraud Rules",
                "Fraud.ScoringEngine.ApiToken",
                &BTreeMap::new()
            )
            .is_none()
        );
        assert!(
            file.find("Common Settings", "Smtp.Password", &BTreeMap::new())
                .is_some()
        );
        Ok(())
    }

    #[test]
    fn values_never_show_in_debug_or_errors() -> TestResult {
        let file = parse(GOOD)?;
        let shown = format!("{file:?}");
        assert!(
            !shown.contains("tok-3Hc") && shown.contains("<redacted>"),
            "{shown}"
        );
        for (text, line) in [
            (
                "[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = \"s3cr3t-\\q\"\n",
                4,
            ),
            (
                "[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = 987654321\n",
                4,
            ),
            (
                "[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = \"s3cr3t-unterminated\n",
                4,
            ),
            (
                "[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = \"s3cr3t-1\"\nvalue = \"s3cr3t-2\"\n",
                5,
            ),
        ] {
            let err = parse(text).err().ok_or("expected a refusal")?;
            assert!(
                !err.contains("s3cr3t") && !err.contains("987654321"),
                "{err}"
            );
            assert!(err.starts_with(&format!("line {line}:")), "{err}");
        }
        Ok(())
    }

    #[test]
    fn a_tenant_entry_answers_only_for_its_tenant() -> TestResult {
        let text = "[[secret]]\ntenant = \"Acquirer EU\"\nowner = \"Payments API\"\nname = \"Merchant.Token\"\nscope = { Environment = [\"PCI Staging\"] }\nvalue = \"t-1\"\n[[secret]]\nowner = \"Payments API\"\nname = \"Merchant.Token\"\nscope = { Environment = [\"PCI Staging\"] }\nvalue = \"v-1\"\n";
        let file = parse(text)?;
        let scope = BTreeMap::from([("Environment".to_owned(), vec!["PCI Staging".to_owned()])]);
        let tenant = file
            .find_tenant("acquirer eu", "Payments API", "Merchant.Token", &scope)
            .ok_or("tenant entry not found")?;
        assert_eq!(tenant.value.expose(), "t-1");
        assert!(
            tenant
                .describe()
                .starts_with("tenant Acquirer EU: Payments API / Merchant.Token")
        );
        let variable = file
            .find("Payments API", "Merchant.Token", &scope)
            .ok_or("variable entry not found")?;
        assert_eq!(variable.value.expose(), "v-1");
        assert!(
            file.find_tenant("Acquirer UK", "Payments API", "Merchant.Token", &scope)
                .is_none()
        );
        let twice = format!(
            "{text}[[secret]]\ntenant = \"ACQUIRER EU\"\nowner = \"Payments API\"\nname = \"Merchant.Token\"\nscope = {{ Environment = [\"PCI Staging\"] }}\nvalue = \"t-2\"\n"
        );
        let err = parse(&twice).err().ok_or("expected a refusal")?;
        assert!(
            err.contains("a second value for tenant ACQUIRER EU") && err.contains("line 4"),
            "{err}"
        );
        let err = parse("[[secret]]\ntenant = \" \"\nowner = \"O\"\nname = \"N\"\nvalue = \"x\"\n")
            .err()
            .ok_or("expected a refusal")?;
        assert!(err.contains("tenant may not be empty"), "{err}");
        Ok(())
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_line() -> TestResult {
        let err = parse("[[secret]]\nowner = \"O\"\nname = \"N\"\nvalu = \"x\"\n")
            .err()
            .ok_or("expected a refusal")?;
        assert!(err.contains("valu"), "{err}");
        let err = parse("[secrets]\n").err().ok_or("expected a refusal")?;
        assert!(
            err.starts_with("line 1") && err.contains("secrets"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn empty_values_and_duplicates_are_refused() -> TestResult {
        let err = parse("[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = \"\"\n")
            .err()
            .ok_or("expected a refusal")?;
        assert_eq!(
            err,
            "line 4: [[secret]] O / N: value must be a non-empty string"
        );
        let twice = "[[secret]]\nowner = \"O\"\nname = \"N\"\nvalue = \"a\"\n[[secret]]\nowner = \"o\"\nname = \"n\"\nscope = {}\nvalue = \"b\"\n";
        let err = parse(twice).err().ok_or("expected a refusal")?;
        assert!(
            err.starts_with("line 7:") && err.contains("first is on line 3"),
            "{err}"
        );
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() -> TestResult {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, GOOD)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
        let err = read(&path).err().ok_or("expected a refusal")?;
        let text = format!("{err:#}");
        assert!(
            text.contains("mode 640") && text.contains("chmod 600"),
            "{text}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        assert_eq!(read(&path)?.entries.len(), 2);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn an_oversize_file_is_refused() -> TestResult {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.toml");
        let size = usize::try_from(MAX_SECRETS_BYTES)?.saturating_add(1);
        std::fs::write(&path, "#".repeat(size))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let err = read(&path).err().ok_or("expected a refusal")?;
        assert!(err.to_string().contains("larger than the limit"), "{err}");
        Ok(())
    }
}
