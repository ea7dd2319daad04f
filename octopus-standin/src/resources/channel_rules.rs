//! Channel version rules: a NuGet version range and a pre-release tag pattern per set of
//! package references. Octopus checks them when a release is created (unless it is told to
//! ignore them) and answers `channels/rule-test`, which its clients (the Octopus CLI's
//! release planner) ask before creating a release.
//!
//! The version rules follow NuGet's: `1.0` is `>= 1.0`, `[1.0]` exactly 1.0, `(1.0,)` above
//! 1.0, `[1.0,2.0)` from 1.0 to below 2.0; versions compare as SemVer 2 (a pre-release is lower
//! than its release). The tag is a regular expression matched against the version's pre-release
//! label (`^$`: no label), as Octopus.Versioning's `SatisfiesPreReleaseTag` does.

use std::cmp::Ordering;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store::{Doc, items, text};

/// A parsed version: numeric parts (up to four) and the pre-release identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    numbers: [u64; 4],
    pre: Vec<String>,
}

impl Version {
    /// `1.2.3`, `1.2`, `1.2.3.4`, `1.2.3-beta.1`, `v1.2.3`, `1.2.3+build`.
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let text = text.split('+').next().unwrap_or("");
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return None;
        }
        let mut numbers = [0u64; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some("") => return None,
            Some(p) => p.split('.').map(str::to_owned).collect(),
        };
        Some(Version { numbers, pre })
    }

    /// The pre-release label (`beta.1`), empty for a release.
    fn label(&self) -> String {
        self.pre.join(".")
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_labels(&self.pre, &other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// SemVer 2, 11.4: numeric identifiers numerically and below alphanumeric ones, which compare
/// as text (ignoring case, as NuGet does); a shorter list of equal identifiers is lower.
fn compare_labels(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.to_lowercase().cmp(&y.to_lowercase()),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// One end of a range: the version and whether it is included.
type Bound = Option<(Version, bool)>;

/// A NuGet version range.
#[derive(Debug)]
struct Range {
    low: Bound,
    high: Bound,
}

impl Range {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (first, last) = (text.chars().next()?, text.chars().last()?);
        if !matches!(first, '[' | '(') {
            // A bare version is a minimum, included.
            return Some(Range {
                low: Some((Version::parse(text)?, true)),
                high: None,
            });
        }
        if !matches!(last, ']' | ')') || text.len() < 2 {
            return None;
        }
        let inner = text.get(1..text.len().saturating_sub(1))?;
        let (low_inc, high_inc) = (first == '[', last == ']');
        let bound = |t: &str, inclusive: bool| -> Option<Bound> {
            let t = t.trim();
            if t.is_empty() {
                Some(None)
            } else {
                Some(Some((Version::parse(t)?, inclusive)))
            }
        };
        match inner.split_once(',') {
            // `[1.0]`: exactly that version; `(1.0)` means nothing and is refused, as by NuGet.
            None if low_inc && high_inc => {
                let v = Version::parse(inner)?;
                Some(Range {
                    low: Some((v.clone(), true)),
                    high: Some((v, true)),
                })
            }
            None => None,
            Some((low, high)) if !high.contains(',') => {
                let low = bound(low, low_inc)?;
                let high = bound(high, high_inc)?;
                if low.is_none() && high.is_none() {
                    return None;
                }
                Some(Range { low, high })
            }
            Some(_) => None,
        }
    }

    fn contains(&self, v: &Version) -> bool {
        let above = self.low.as_ref().is_none_or(
            |(low, inclusive)| {
                if *inclusive { v >= low } else { v > low }
            },
        );
        let below = self.high.as_ref().is_none_or(
            |(high, inclusive)| {
                if *inclusive { v <= high } else { v < high }
            },
        );
        above && below
    }
}

/// The outcome of testing one version against one rule, as `channels/rule-test` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTest {
    /// The version is inside the range (or there is none).
    pub range: bool,
    /// The pre-release label matches the tag pattern (or there is none).
    pub tag: bool,
    /// Why the test could not be made (an unparseable version, range or pattern).
    pub errors: Vec<String>,
}

impl RuleTest {
    /// Whether the version satisfies the rule.
    pub fn passed(&self) -> bool {
        self.range && self.tag && self.errors.is_empty()
    }
}

/// Tests `version` against a rule's `range` and `tag` (either may be empty).
pub fn test(version: &str, range: &str, tag: &str) -> RuleTest {
    let mut errors = Vec::new();
    let parsed = Version::parse(version);
    if parsed.is_none() {
        errors.push(format!("'{version}' is not a valid version."));
    }
    let in_range = match (range.trim().is_empty(), &parsed) {
        (true, _) => true,
        (false, None) => false,
        (false, Some(v)) => match Range::parse(range) {
            Some(r) => r.contains(v),
            None => {
                errors.push(format!("'{range}' is not a valid version range."));
                false
            }
        },
    };
    let tag_ok = match (tag.trim().is_empty(), &parsed) {
        (true, _) => true,
        (false, None) => false,
        (false, Some(v)) => match regex::Regex::new(tag) {
            Ok(re) => re.is_match(&v.label()),
            Err(_) => {
                errors.push(format!("'{tag}' is not a valid regular expression."));
                false
            }
        },
    };
    RuleTest {
        range: in_range,
        tag: tag_ok,
        errors,
    }
}

/// Refuses rules a real server refuses when a channel is saved: a rule must name a package
/// step, its range must parse and its tag must be a regular expression.
pub fn check_rules(channel: &Doc) -> ApiResult<()> {
    let mut errors = Vec::new();
    for rule in items(channel, "Rules") {
        if items(rule, "ActionPackages").next().is_none() {
            errors.push("Version rules must specify a package step.".to_owned());
        }
        let range = rule
            .get("VersionRange")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !range.trim().is_empty() && Range::parse(range).is_none() {
            errors.push(format!("'{range}' is not a valid version range."));
        }
        let tag = rule.get("Tag").and_then(Value::as_str).unwrap_or("");
        if !tag.trim().is_empty() && regex::Regex::new(tag).is_err() {
            errors.push(format!("'{tag}' is not a valid regular expression."));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// Refuses a release whose selected package versions break its channel's rules: each rule
/// applies to the package references it names (`ActionPackages`: action name and reference).
pub fn check_release(channel: &Doc, selected: &[Value]) -> ApiResult<()> {
    let channel_name = text(channel, "Name").unwrap_or("");
    let mut errors = Vec::new();
    for rule in items(channel, "Rules") {
        let range = rule
            .get("VersionRange")
            .and_then(Value::as_str)
            .unwrap_or("");
        let tag = rule.get("Tag").and_then(Value::as_str).unwrap_or("");
        for target in items(rule, "ActionPackages") {
            let action = target
                .get("DeploymentAction")
                .and_then(Value::as_str)
                .unwrap_or("");
            let reference = target
                .get("PackageReference")
                .and_then(Value::as_str)
                .unwrap_or("");
            for s in selected {
                let picked = s.get("ActionName").and_then(Value::as_str).unwrap_or("");
                let picked_ref = s
                    .get("PackageReferenceName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !picked.eq_ignore_ascii_case(action)
                    || !picked_ref.eq_ignore_ascii_case(reference)
                {
                    continue;
                }
                let version = s.get("Version").and_then(Value::as_str).unwrap_or("");
                if !test(version, range, tag).passed() {
                    errors.push(format!(
                        "The version {version} selected for step '{action}' does not satisfy the version rules of channel '{channel_name}' (version range '{range}', pre-release tag '{tag}')."
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// `GET` or `POST channels/rule-test`: the query's (or, for `POST`, the body's) `version`,
/// `versionRange` and `preReleaseTag`.
pub fn rule_test(params: &Params, body: Option<&Value>) -> ApiResult<Value> {
    let field = |name: &str| -> String {
        params
            .get(name)
            .map(str::to_owned)
            .or_else(|| {
                body.and_then(|b| {
                    b.as_object()?
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str().map(str::to_owned))
                })
            })
            .unwrap_or_default()
    };
    let version = field("version");
    if version.trim().is_empty() {
        return Err(ApiError::invalid("The version to test is required."));
    }
    let result = test(&version, &field("versionRange"), &field("preReleaseTag"));
    Ok(json!({
        "SatisfiesVersionRange": result.range,
        "SatisfiesPreReleaseTag": result.tag,
        "Errors": result.errors,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_nuget() {
        let cases = [
            ("1.5.0", "[1.0,2.0)", true),
            ("2.0.0", "[1.0,2.0)", false),
            ("2.0.0", "[1.0,2.0]", true),
            ("1.0.0", "(1.0,2.0)", false),
            ("0.9.0", "1.0", false),
            ("7.0.0", "1.0", true),
            ("1.0.0", "[1.0]", true),
            ("1.0.1", "[1.0]", false),
            ("3.13.0", "(,3.13)", false),
            ("3.12.9", "(,3.13)", true),
            ("2.0.0-beta", "[1.0,2.0)", true),
            ("1.0.0-beta", "[1.0,2.0)", false),
        ];
        for (version, range, expected) in cases {
            let result = test(version, range, "");
            assert_eq!(result.range, expected, "{version} in {range}");
            assert!(result.errors.is_empty(), "{version} {range}");
        }
    }

    #[test]
    fn tags_match_the_prerelease_label() {
        assert!(test("1.0.0", "", "^$").tag);
        assert!(!test("1.0.0-beta.1", "", "^$").tag);
        assert!(test("1.0.0-beta.1", "", "^beta").tag);
        assert!(!test("1.0.0-alpha", "", "^beta").tag);
    }

    #[test]
    fn nonsense_is_reported_not_passed() {
        for (version, range, tag) in [
            ("one", "", ""),
            ("1.0", "[1.0", ""),
            ("1.0", "(1.0)", ""),
            ("1.0", "[,]", ""),
            ("1.0", "", "(unclosed"),
        ] {
            let result = test(version, range, tag);
            assert!(!result.passed(), "{version} {range} {tag}");
            assert!(!result.errors.is_empty(), "{version} {range} {tag}");
        }
    }
}
