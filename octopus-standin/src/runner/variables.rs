//! The variables a deployment sees: the release's snapshots (library sets first, the
//! project's own last so they win), resolved for the deployment's scope, plus Octopus's
//! system variables; `#{Name}` substitution; and masking of sensitive values in logs.
//!
//! Scope rule (Octopus documentation, "Scoping variables"): a value applies when every scope
//! it names contains the deployment's value for it; roles, machines and tenant tags never
//! match here (the stand-in has no deployment targets). Among the values that apply, the most
//! specific wins: action over environment over channel over unscoped; the project's own
//! variables win over library variables at equal specificity.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::kind::Kind;
use crate::store::{Store, items, string_lists, text};

/// The most bytes of variable values one substitution adds (see [`Variables::substitute`]).
pub const MAX_SUBSTITUTED_BYTES: usize = 4 * 1024 * 1024;
/// What a value's scope is matched against.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The target environment id.
    pub environment: String,
    /// The release's channel id.
    pub channel: String,
    /// The action being run, if any.
    pub action: Option<String>,
    /// The project id (for `ProcessOwner` scopes).
    pub project: String,
}

/// One candidate value of a variable.
#[derive(Debug, Clone)]
struct Candidate {
    value: String,
    scope: BTreeMap<String, Vec<String>>,
    sensitive: bool,
    /// 0 for library sets, 1 for the project.
    source: u8,
}

/// The variables of a release, ready to be resolved per action.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    candidates: BTreeMap<String, Vec<Candidate>>,
    system: BTreeMap<String, String>,
}

/// How much a scope dimension counts towards specificity.
fn weight(dimension: &str) -> u32 {
    match dimension {
        "Action" => 8,
        "Environment" => 4,
        "Channel" => 2,
        "ProcessOwner" => 1,
        _ => 0,
    }
}

impl Variables {
    /// Loads the given variable-set snapshots (library sets first, then the project's) with
    /// their sensitive values from the store; a variable whose id is in `prompted` takes the
    /// value given for it when the deployment was created.
    pub fn load(
        store: &Store,
        library_sets: &[String],
        project_set: &str,
        prompted: &BTreeMap<String, String>,
    ) -> Self {
        let mut vars = Variables::default();
        let sets = library_sets
            .iter()
            .map(|s| (s.as_str(), 0u8))
            .chain(std::iter::once((project_set, 1u8)));
        for (set_id, source) in sets {
            let Some(set) = store.get(Kind::VariableSet, set_id) else {
                continue;
            };
            let secrets = store.secrets_of(set_id);
            for v in items(set, "Variables") {
                let Some(v) = v.as_object() else { continue };
                let name = text(v, "Name").unwrap_or("").to_owned();
                let id = text(v, "Id").unwrap_or("");
                let sensitive = v.get("IsSensitive") == Some(&Value::Bool(true));
                let value = if let Some(given) = prompted.get(id) {
                    given.clone()
                } else if sensitive {
                    match secrets.get(id) {
                        Some(secret) => secret.clone(),
                        None => continue,
                    }
                } else {
                    text(v, "Value").unwrap_or("").to_owned()
                };
                let scope = string_lists(v, "Scope");
                vars.candidates
                    .entry(name.to_lowercase())
                    .or_default()
                    .push(Candidate {
                        value,
                        scope,
                        sensitive,
                        source,
                    });
            }
        }
        vars
    }

    /// Sets a system variable (`Octopus.Release.Number` and the like).
    pub fn set_system(&mut self, name: &str, value: &str) {
        self.system.insert(name.to_lowercase(), value.to_owned());
    }

    /// The value of a variable in a context, if any value applies.
    pub fn get(&self, name: &str, context: &Context) -> Option<String> {
        let key = name.to_lowercase();
        if let Some(v) = self.system.get(&key) {
            return Some(v.clone());
        }
        self.candidates
            .get(&key)?
            .iter()
            .filter_map(|c| applies(c, context).map(|w| (w, c.source, c)))
            .max_by_key(|(w, source, _)| (*w, *source))
            .map(|(_, _, c)| c.value.clone())
    }

    /// Every sensitive value, longest first, for masking.
    pub fn secrets(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .candidates
            .values()
            .flatten()
            .filter(|c| c.sensitive && !c.value.is_empty())
            .map(|c| c.value.clone())
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        all
    }

    /// Replaces `#{Name}` with the variable's value, recursively (values may refer to other
    /// variables), up to a depth of 10; unknown names are left as written, and `##{` writes a
    /// literal `#{`. Values that refer to each other several times could grow without end, so
    /// substitution stops adding values once [`MAX_SUBSTITUTED_BYTES`] have been added: later
    /// references are then left as written.
    pub fn substitute(&self, template: &str, context: &Context) -> String {
        let mut budget = MAX_SUBSTITUTED_BYTES;
        self.substitute_depth(template, context, 0, &mut budget)
    }

    fn substitute_depth(
        &self,
        template: &str,
        context: &Context,
        depth: usize,
        budget: &mut usize,
    ) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(at) = rest.find("#{") {
            let escaped = at > 0 && rest.as_bytes().get(at - 1) == Some(&b'#');
            let (before, after) = rest.split_at(at);
            if escaped {
                out.push_str(before.get(..before.len() - 1).unwrap_or(""));
                out.push_str("#{");
                rest = after.get(2..).unwrap_or("");
                continue;
            }
            out.push_str(before);
            let Some(end) = after.find('}') else {
                out.push_str(after);
                return out;
            };
            let expression = after.get(2..end).unwrap_or("");
            let name = expression.split('|').next().unwrap_or("").trim();
            match self.get(name, context) {
                Some(value) if value.len() <= *budget => {
                    *budget -= value.len();
                    if depth < 10 {
                        let expanded = self.substitute_depth(&value, context, depth + 1, budget);
                        out.push_str(&expanded);
                    } else {
                        out.push_str(&value);
                    }
                }
                _ => out.push_str(after.get(..=end).unwrap_or("")),
            }
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}

/// The specificity of a candidate in a context, or `None` when it does not apply.
fn applies(candidate: &Candidate, context: &Context) -> Option<u32> {
    let mut specificity = 0;
    for (dimension, ids) in &candidate.scope {
        if ids.is_empty() {
            continue;
        }
        let current = match dimension.as_str() {
            "Environment" => Some(context.environment.as_str()),
            "Channel" => Some(context.channel.as_str()),
            "Action" => context.action.as_deref(),
            "ProcessOwner" => Some(context.project.as_str()),
            _ => None,
        };
        if !current.is_some_and(|c| ids.iter().any(|i| i == c)) {
            return None;
        }
        specificity += weight(dimension);
    }
    Some(specificity)
}

/// Replaces every sensitive value in a log line with `********`, as Octopus masks them.
pub fn mask(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "********");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(value: &str, scope: &[(&str, &str)], source: u8) -> Candidate {
        Candidate {
            value: value.to_owned(),
            scope: scope
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect(),
            sensitive: false,
            source,
        }
    }

    fn context() -> Context {
        Context {
            environment: "Environments-2".into(),
            channel: "Channels-1".into(),
            action: Some("a1".into()),
            project: "Projects-1".into(),
        }
    }

    #[test]
    fn the_most_specific_value_wins_and_the_project_beats_libraries() {
        let mut vars = Variables::default();
        vars.candidates.insert(
            "url".into(),
            vec![
                candidate("lib-any", &[], 0),
                candidate("proj-any", &[], 1),
                candidate("proj-prod", &[("Environment", "Environments-2")], 1),
                candidate("proj-dev", &[("Environment", "Environments-1")], 1),
                candidate("proj-role", &[("Role", "web")], 1),
            ],
        );
        assert_eq!(vars.get("Url", &context()).as_deref(), Some("proj-prod"));
        if let Some(c) = vars.candidates.get_mut("url") {
            c.retain(|c| c.value != "proj-prod");
        }
        assert_eq!(vars.get("url", &context()).as_deref(), Some("proj-any"));
    }

    #[test]
    fn substitution_is_recursive_leaves_unknown_names_and_honours_escapes() {
        let mut vars = Variables::default();
        vars.candidates
            .insert("host".into(), vec![candidate("db.prod", &[], 1)]);
        vars.candidates
            .insert("conn".into(), vec![candidate("Server=#{Host};", &[], 1)]);
        vars.set_system("Octopus.Release.Number", "1.4.0");
        let got = vars.substitute(
            "#{Conn} #{Octopus.Release.Number} #{Missing} ##{Host} #{Host | ToUpper}",
            &context(),
        );
        assert_eq!(got, "Server=db.prod; 1.4.0 #{Missing} #{Host} db.prod");
    }

    #[test]
    fn values_that_refer_to_each_other_many_times_stop_at_the_budget() {
        let mut vars = Variables::default();
        let four = "#{A}#{A}#{A}#{A}".repeat(64);
        vars.candidates
            .insert("a".into(), vec![candidate(&four, &[], 1)]);
        let got = vars.substitute("#{A}", &context());
        assert!(
            got.len() <= MAX_SUBSTITUTED_BYTES + four.len(),
            "{}",
            got.len()
        );
        assert!(got.contains("#{A}"), "later references are left as written");
    }

    #[test]
    fn masking_replaces_every_secret() {
        let secrets = vec!["hunter22".to_owned(), "pw".to_owned()];
        assert_eq!(
            mask("pw=hunter22 and pw", &secrets),
            "********=******** and ********"
        );
    }
}
