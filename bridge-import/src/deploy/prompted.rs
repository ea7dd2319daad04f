//! Values for prompted variables: `--prompted NAME=VALUE` (repeatable) and `--prompted-file
//! FILE`, matched against the deployment preview's form the way Octopus's own clients do (octo
//! `DeployReleaseCommand`: `GET releases/{id}/deployments/preview/{environment}[/{tenant}]`,
//! each `Form.Elements[]` whose `Control` names the variable; the value is sent as
//! `FormValues[element.Name]`, the variable's id).
//!
//! ```text
//! --prompted, --prompted-file ──parse (strict, bounded)──> PromptedValues   (settings)
//! preview form ──match by variable name──> FormValues                        (before the
//!    │ a NAME the form lacks: prompted-variable-unknown                        ledger's
//!    │ a required element without a value: prompted-variable-missing           "requested")
//! ```
//!
//! Values are never printed: `Debug` shows names only, refusals name variables, and the values
//! of sensitive prompted variables (`Control.IsSecure`) join the log scrubber.
//!
//! The file format: UTF-8, at most [`MAX_FILE_BYTES`], mode 0600 (it may hold secrets); one
//! `NAME=VALUE` per line, the value everything after the first `=` (kept as written, spaces
//! included); blank lines and lines starting with `#` are ignored; a NAME is not blank, has no
//! spaces at either end and no control characters; a NAME given twice (in the file or on the
//! command line, ignoring case) is refused. At most [`MAX_VALUES`] values in all.

use std::fmt;
use std::path::Path;

use octopus_api::Client;
use octopus_api::resources::DeploymentPreview;
use serde_json::{Map, Value};

use bridge_cli::failure::UsageError;
use bridge_cli::safe::{Shown, bullets};

use crate::import::files::config_error;
use crate::import::refuse::refused;

/// The largest prompted-values file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// The most prompted values one deployment takes.
pub const MAX_VALUES: usize = 256;

const EXPECTED: &str = "a prompted-values file (NAME=VALUE lines)";

/// Prompted values by variable name, in the order given. Its `Debug` never shows a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PromptedValues {
    values: Vec<(String, String)>,
}

impl fmt::Debug for PromptedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.values
                    .iter()
                    .map(|(name, _)| format!("{name}=<hidden>")),
            )
            .finish()
    }
}

impl PromptedValues {
    /// Joins the command line's values and the file's, refusing a name given twice.
    pub fn new(args: &[(String, String)], file: Vec<(String, String)>) -> Result<Self, UsageError> {
        let mut values: Vec<(String, String)> = Vec::new();
        for (name, value) in args.iter().cloned().chain(file) {
            if values.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(UsageError(format!(
                    "the prompted variable {} is given twice\nHint: give each --prompted NAME once, on the command line or in --prompted-file",
                    Shown(&name)
                )));
            }
            values.push((name, value));
        }
        if values.len() > MAX_VALUES {
            return Err(UsageError(format!(
                "{} prompted values were given; at most {MAX_VALUES} are taken",
                values.len()
            )));
        }
        Ok(Self { values })
    }
}

/// One `--prompted NAME=VALUE`; its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct PromptedArg(pub String, pub String);

impl fmt::Debug for PromptedArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=<hidden>", self.0)
    }
}

/// `--prompted NAME=VALUE`: the clap value parser.
pub fn parse_arg(arg: &str) -> Result<PromptedArg, String> {
    let (name, value) = arg
        .split_once('=')
        .ok_or("expected NAME=VALUE (the name of a prompted variable, =, its value)")?;
    check_name(name)?;
    Ok(PromptedArg(name.to_owned(), value.to_owned()))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the NAME before = is empty".into());
    }
    if name.trim() != name {
        return Err("the NAME has spaces at its start or end".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the NAME has a control character".into());
    }
    Ok(())
}

/// Reads `--prompted-file`: refused unless only its owner can read it.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = crate::import::files::read_private(
        path,
        MAX_FILE_BYTES,
        &crate::import::files::PrivateFile {
            name: "the prompted-values file",
            expected: EXPECTED,
            private: "a private prompted-values file",
            why: "it may hold sensitive values",
        },
    )?;
    parse_file(&text).map_err(|detail| config_error(path, EXPECTED, detail))
}

/// Parses the file's text; an error names the line, never its value.
pub fn parse_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut values: Vec<(String, String)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let number = number.saturating_add(1);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "line {number} is not NAME=VALUE\nHint: one NAME=VALUE per line; # starts a comment line"
            ));
        };
        check_name(name).map_err(|why| format!("line {number}: {why}"))?;
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!("line {number}: the value has a control character"));
        }
        if values.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "line {number}: the prompted variable {} is given twice",
                Shown(&name)
            ));
        }
        values.push((name.to_owned(), value.to_owned()));
    }
    Ok(values)
}

/// What a deployment sends: `FormValues`, and the values of sensitive prompted variables (to
/// scrub from the log).
#[derive(Default)]
pub struct Form {
    /// `FormValues`: value by form element name (the variable's id).
    pub values: Map<String, Value>,
    /// The values given for sensitive prompted variables.
    pub secrets: Vec<String>,
}

/// Reads the preview of deploying `release` to `environment` (for `tenant`), and matches
/// `given` against its form. Refuses every name the form lacks, then every required
/// element without a value, each naming all of them, before anything is started.
pub fn form(
    client: &Client,
    release: &str,
    environment: &str,
    tenant: Option<&str>,
    given: &PromptedValues,
) -> anyhow::Result<Form> {
    let mut path = format!(
        "releases/{}/deployments/preview/{}",
        octopus_api::segment(release),
        octopus_api::segment(environment)
    );
    if let Some(tenant) = tenant {
        path.push('/');
        path.push_str(&octopus_api::segment(tenant));
    }
    let preview: DeploymentPreview = client.get(&path)?;
    matched(&preview, given)
}

/// The matching itself, on a preview already read.
pub fn matched(preview: &DeploymentPreview, given: &PromptedValues) -> anyhow::Result<Form> {
    struct Element<'a> {
        key: &'a str,
        name: &'a str,
        label: &'a str,
        required: bool,
        secure: bool,
    }
    let elements: Vec<Element<'_>> = preview
        .elements()
        .iter()
        .filter_map(|e| {
            let control = e.control.as_ref()?;
            let name = control.name.as_deref().filter(|n| !n.is_empty())?;
            Some(Element {
                key: &e.name,
                name,
                label: control.label.as_deref().unwrap_or(name),
                required: e.is_value_required,
                secure: control.is_secure == Some(true),
            })
        })
        .collect();
    let mut form = Form::default();
    let mut unknown = Vec::new();
    for (name, value) in &given.values {
        match elements.iter().find(|e| e.name.eq_ignore_ascii_case(name)) {
            Some(element) => {
                form.values
                    .insert(element.key.to_owned(), Value::String(value.clone()));
                if element.secure && !value.is_empty() {
                    form.secrets.push(value.clone());
                }
            }
            None => unknown.push(format!("{name:?}")),
        }
    }
    let known: Vec<String> = elements
        .iter()
        .map(|e| {
            let required = if e.required { ", required" } else { "" };
            format!("{:?} ({:?}{required})", e.name, e.label)
        })
        .collect();
    if !unknown.is_empty() {
        let has = if known.is_empty() {
            "the release has no prompted variables in this environment".to_owned()
        } else {
            format!("its prompted variables are:{}", bullets(&known))
        };
        return Err(refused(
            "prompted-variable-unknown",
            format!(
                "no deployment was started: these names are not prompted variables of the release:{}\n{has}\nHint: --prompted takes the variable's name, as the project's variables name it",
                bullets(&unknown)
            ),
        ));
    }
    let missing: Vec<String> = elements
        .iter()
        .filter(|e| e.required)
        .filter(|e| {
            form.values
                .get(e.key)
                .and_then(Value::as_str)
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(|e| format!("{:?} ({:?})", e.name, e.label))
        .collect();
    if !missing.is_empty() {
        return Err(refused(
            "prompted-variable-missing",
            format!(
                "no deployment was started: the release needs a value for each required prompted variable:{}\nHint: give each with --prompted NAME=VALUE, or in a --prompted-file (NAME=VALUE lines, mode 0600)",
                bullets(&missing)
            ),
        ));
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn preview() -> Result<DeploymentPreview, serde_json::Error> {
        serde_json::from_value(json!({
            "StepsToExecute": [],
            "Form": {"Values": {"v-1": "", "v-2": ""}, "Elements": [
                {"Name": "v-1", "Control": {"Type": "VariableValue", "Name": "Change.Ticket", "Label": "Change ticket", "Description": "", "IsSecure": false}, "IsValueRequired": true},
                {"Name": "v-2", "Control": {"Type": "VariableValue", "Name": "Change.Token", "Label": "Token", "IsSecure": true}, "IsValueRequired": false},
                {"Name": "v-3", "Control": {"Type": "VariableValue", "Name": "Approver", "Label": null}, "IsValueRequired": true},
            ]},
        }))
    }

    fn given(pairs: &[(&str, &str)]) -> Result<PromptedValues, UsageError> {
        PromptedValues::new(
            &pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
            Vec::new(),
        )
    }

    fn code(err: &anyhow::Error) -> Option<&'static str> {
        err.downcast_ref::<bridge_cli::failure::Refused>()
            .map(|r| r.code)
    }

    #[test]
    fn values_are_sent_by_element_name_and_sensitive_ones_are_kept_for_scrubbing()
    -> anyhow::Result<()> {
        let form = matched(
            &preview()?,
            &given(&[
                ("change.ticket", "CHG-1"),
                ("Change.Token", "tok-secret"),
                ("Approver", "ana"),
            ])?,
        )?;
        assert_eq!(
            Value::Object(form.values),
            json!({"v-1": "CHG-1", "v-2": "tok-secret", "v-3": "ana"})
        );
        assert_eq!(form.secrets, ["tok-secret"]);
        Ok(())
    }

    #[test]
    fn every_missing_required_variable_is_named_and_no_value_is_shown() -> anyhow::Result<()> {
        let err = matched(&preview()?, &given(&[("Change.Token", "tok-secret")])?)
            .err()
            .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert_eq!(code(&err), Some("prompted-variable-missing"));
        let text = format!("{err:#}");
        assert!(
            text.contains("\"Change.Ticket\" (\"Change ticket\")"),
            "{text}"
        );
        assert!(text.contains("\"Approver\" (\"Approver\")"), "{text}");
        assert!(!text.contains("tok-secret"), "{text}");
        // A blank value is no value.
        let err = matched(
            &preview()?,
            &given(&[("Change.Ticket", "  "), ("Approver", "ana")])?,
        )
        .err()
        .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert!(format!("{err:#}").contains("Change.Ticket"));
        Ok(())
    }

    #[test]
    fn a_name_that_is_no_prompted_variable_is_refused_listing_the_ones_there_are()
    -> anyhow::Result<()> {
        let err = matched(
            &preview()?,
            &given(&[("Change.Tiket", "CHG-1"), ("Approver", "ana")])?,
        )
        .err()
        .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert_eq!(code(&err), Some("prompted-variable-unknown"));
        let text = format!("{err:#}");
        assert!(text.contains("\"Change.Tiket\""), "{text}");
        assert!(
            text.contains("\"Change.Ticket\" (\"Change ticket\", required)"),
            "{text}"
        );
        assert!(!text.contains("CHG-1"), "{text}");
        // Nothing to prompt for at all.
        let empty: DeploymentPreview = serde_json::from_value(json!({"Form": null}))?;
        let err = matched(&empty, &given(&[("X", "1")])?)
            .err()
            .ok_or_else(|| anyhow::anyhow!("accepted"))?;
        assert!(format!("{err:#}").contains("has no prompted variables"));
        assert!(matched(&empty, &PromptedValues::default()).is_ok());
        Ok(())
    }

    #[test]
    fn the_file_format_is_strict_and_its_errors_name_the_line_not_the_value() {
        assert_eq!(
            parse_file("# change\n\nChange.Ticket=CHG-1\nNote= a = b \r\n"),
            Ok(vec![
                ("Change.Ticket".to_owned(), "CHG-1".to_owned()),
                ("Note".to_owned(), " a = b ".to_owned()),
            ])
        );
        for (text, says) in [
            (
                "A=1\nno equals sign here-secret\n",
                "line 2 is not NAME=VALUE",
            ),
            ("=secret\n", "line 1: the NAME before = is empty"),
            (" A=secret\n", "line 1: the NAME has spaces"),
            (
                "A=1\na=secret\n",
                "line 2: the prompted variable a is given twice",
            ),
            (
                "A=sec\u{7}ret\n",
                "line 1: the value has a control character",
            ),
        ] {
            let err = parse_file(text).err().unwrap_or_default();
            assert!(err.starts_with(says), "{text:?}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn the_command_line_is_strict_too_and_debug_hides_values() -> Result<(), UsageError> {
        assert_eq!(
            parse_arg("Change.Ticket=CHG=1"),
            Ok(PromptedArg("Change.Ticket".to_owned(), "CHG=1".to_owned()))
        );
        assert_eq!(
            format!("{:?}", parse_arg("A=very-secret")),
            "Ok(A=<hidden>)"
        );
        assert!(parse_arg("no-equals").is_err());
        assert!(parse_arg("=x").is_err());
        let twice = PromptedValues::new(
            &[("A".to_owned(), "1".to_owned())],
            vec![("a".to_owned(), "2".to_owned())],
        );
        assert!(twice.is_err());
        let values = given(&[("A", "very-secret")])?;
        assert_eq!(format!("{values:?}"), "[\"A=<hidden>\"]");
        Ok(())
    }
}
