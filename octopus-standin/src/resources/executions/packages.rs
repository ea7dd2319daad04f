//! The package versions of a release command: `PackageVersion` for every package, then each
//! entry of `Packages` over it, then the built-in feed's latest version for what is still
//! unset.
//!
//! An entry is `StepName:Version`, `PackageId:Version` or `StepName:PackageReferenceName:Version`
//! (octo `create-release --package`, Octopus CLI docs); `*` stands for any step, package or
//! reference; `:`, `/` and `=` all separate, and a backslash escapes one of them. Which
//! package an entry means follows the server's order as the Octopus CLI copies it
//! (`OctopusDeploy/cli`, `pkg/packages/packages.go`, `ResolvePackageOverride`): step and
//! reference, then package id and reference, then reference alone, then step alone, then
//! package id alone.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::store::{BUILTIN_FEED, Doc, Store, items, text};

/// One package reference of an enabled action of the process.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The step's name.
    pub step: String,
    /// The action's name.
    pub action: String,
    /// The package reference's name (empty for an action's primary package).
    pub reference: String,
    /// The package id.
    pub package_id: String,
    /// The feed id.
    pub feed: String,
    /// The version chosen so far.
    pub version: Option<String>,
}

/// Every package reference of every enabled action of `process`.
pub fn slots(process: &Doc) -> Vec<Slot> {
    let mut out = Vec::new();
    for step in items(process, "Steps").filter_map(Value::as_object) {
        for action in items(step, "Actions").filter_map(Value::as_object) {
            if action.get("IsDisabled") == Some(&Value::Bool(true)) {
                continue;
            }
            for package in items(action, "Packages").filter_map(Value::as_object) {
                out.push(Slot {
                    step: text(step, "Name").unwrap_or("").to_owned(),
                    action: text(action, "Name").unwrap_or("").to_owned(),
                    reference: text(package, "Name").unwrap_or("").to_owned(),
                    package_id: text(package, "PackageId").unwrap_or("").to_owned(),
                    feed: text(package, "FeedId").unwrap_or("").to_owned(),
                    version: None,
                });
            }
        }
    }
    out
}

/// An entry of `Packages`, parsed: step or package id, reference, version (`None` for `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    step_or_package: Option<String>,
    reference: Option<String>,
    version: String,
}

fn split(entry: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = entry.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars
                .peek()
                .is_some_and(|n| matches!(n, ':' | '/' | '=' | '\\')) =>
            {
                if let (Some(next), Some(last)) = (chars.next(), parts.last_mut()) {
                    last.push(next);
                }
            }
            ':' | '/' | '=' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

fn parse(entry: &str) -> ApiResult<Entry> {
    let wild = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty() && s != "*");
    let bad = || {
        ApiError::invalid(format!(
            "The package version specification '{entry}' does not use the expected format: StepName:Version, PackageId:Version or StepName:PackageReferenceName:Version."
        ))
    };
    let parts = split(entry);
    let (first, reference, version) = match parts.as_slice() {
        [first, version] => (wild(first), None, version.clone()),
        [first, reference, version] => (wild(first), wild(reference), version.clone()),
        _ => return Err(bad()),
    };
    if version.is_empty() || version == "*" {
        return Err(bad());
    }
    Ok(Entry {
        step_or_package: first,
        reference,
        version,
    })
}

/// Which slots an entry sets: the best kind of match the process has, all of its kind.
fn targets(entry: &Entry, slots: &[Slot]) -> Option<Vec<usize>> {
    let named = entry.step_or_package.as_deref();
    let reference = entry.reference.as_deref();
    let is_step = |s: &Slot, n: &str| s.action == n || s.step == n;
    let ref_is = |s: &Slot| reference.is_none_or(|r| s.reference == r);
    let rules: [&dyn Fn(&Slot) -> bool; 5] = [
        &|s| named.is_some_and(|n| is_step(s, n)) && ref_is(s),
        &|s| named.is_some_and(|n| s.package_id == n) && ref_is(s),
        &|s| reference.is_some_and(|r| s.reference == r),
        &|s| named.is_some_and(|n| is_step(s, n)) && reference.is_none(),
        &|s| named.is_some_and(|n| s.package_id == n) && reference.is_none(),
    ];
    if named.is_none() && reference.is_none() {
        return Some((0..slots.len()).collect());
    }
    rules.iter().find_map(|rule| {
        let hit: Vec<usize> = (0..slots.len())
            .filter(|&i| slots.get(i).is_some_and(rule))
            .collect();
        Some(hit).filter(|h| !h.is_empty())
    })
}

/// Chooses a version for every slot: `default` (`PackageVersion`), then each of `entries` in
/// order, then the built-in feed's latest. An entry that matches nothing is refused.
pub fn choose(
    store: &Store,
    slots: &mut [Slot],
    default: Option<&str>,
    entries: &[String],
) -> ApiResult<()> {
    if let Some(version) = default {
        for slot in slots.iter_mut() {
            slot.version = Some(version.to_owned());
        }
    }
    let mut errors = Vec::new();
    for raw in entries {
        let entry = parse(raw)?;
        match targets(&entry, slots) {
            Some(hit) => {
                for i in hit {
                    if let Some(slot) = slots.get_mut(i) {
                        slot.version = Some(entry.version.clone());
                    }
                }
            }
            None => errors.push(format!(
                "The package version specification '{raw}' matches no step, package id or package reference of the project's deployment process."
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    for slot in slots.iter_mut().filter(|s| s.version.is_none()) {
        if slot.feed == BUILTIN_FEED {
            slot.version = crate::resources::automatic::latest(store, &slot.package_id);
        }
    }
    Ok(())
}

/// The slots as a release's `SelectedPackages`; a slot without a version is left out, so the
/// classic route names it ("No version was selected for package ...").
pub fn selected(slots: &[Slot]) -> Value {
    Value::Array(
        slots
            .iter()
            .filter_map(|s| {
                s.version.as_ref().map(|v| {
                    json!({
                        "ActionName": s.action,
                        "PackageReferenceName": s.reference,
                        "Version": v,
                    })
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(step: &str, reference: &str, package: &str) -> Slot {
        Slot {
            step: step.into(),
            action: step.into(),
            reference: reference.into(),
            package_id: package.into(),
            feed: "Feeds-9".into(),
            version: None,
        }
    }

    fn versions(slots: &[Slot]) -> Vec<Option<&str>> {
        slots.iter().map(|s| s.version.as_deref()).collect()
    }

    #[test]
    fn entries_split_on_every_delimiter_and_honour_escapes() {
        assert_eq!(split("Deploy:1.0"), ["Deploy", "1.0"]);
        assert_eq!(split("Deploy/sidecar=2.0"), ["Deploy", "sidecar", "2.0"]);
        assert_eq!(split(r"A\:B:1.0"), ["A:B", "1.0"]);
        assert!(parse("1.0").is_err());
        assert!(parse("A:B:C:1.0").is_err());
        assert!(parse("Deploy:").is_err());
        assert!(parse("Deploy:*").is_err());
        assert_eq!(
            parse("*:web:3.0").ok(),
            Some(Entry {
                step_or_package: None,
                reference: Some("web".into()),
                version: "3.0".into()
            })
        );
    }

    #[test]
    fn entries_pick_the_best_kind_of_match_as_the_server_does() -> Result<(), ApiError> {
        let store = Store::default();
        let mut slots = vec![
            slot("Deploy", "", "Api"),
            slot("Deploy", "web", "Web"),
            slot("Other", "", "Api"),
        ];
        choose(&store, &mut slots, Some("1.0.0"), &[])?;
        assert_eq!(versions(&slots), [Some("1.0.0"); 3]);
        // A step name sets every package of that step; a package id every use of it.
        choose(&store, &mut slots, None, &["Deploy:2.0".into()])?;
        assert_eq!(versions(&slots), [Some("2.0"), Some("2.0"), Some("1.0.0")]);
        choose(&store, &mut slots, None, &["Api:3.0".into()])?;
        assert_eq!(versions(&slots), [Some("3.0"), Some("2.0"), Some("3.0")]);
        // Step and reference: that one package only.
        choose(&store, &mut slots, None, &["Deploy:web:4.0".into()])?;
        assert_eq!(versions(&slots), [Some("3.0"), Some("4.0"), Some("3.0")]);
        // A wildcard step with a reference; a bare wildcard sets everything.
        choose(&store, &mut slots, None, &["*:web:5.0".into()])?;
        assert_eq!(versions(&slots), [Some("3.0"), Some("5.0"), Some("3.0")]);
        choose(&store, &mut slots, None, &["*:6.0".into()])?;
        assert_eq!(versions(&slots), [Some("6.0"); 3]);
        Ok(())
    }

    #[test]
    fn an_entry_matching_nothing_is_refused() {
        let store = Store::default();
        let mut slots = vec![slot("Deploy", "", "Api")];
        let refused = choose(
            &store,
            &mut slots,
            None,
            &["Nope:1.0".into(), "Deploy:nope:1.0".into()],
        );
        assert!(
            refused.is_err_and(|e| e.errors.len() == 2
                && e.errors.first().is_some_and(|m| m.contains("'Nope:1.0'")))
        );
    }
}
