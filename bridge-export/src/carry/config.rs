//! The carry file (`bridge-export run --config carry.toml`): which releases go to which zone,
//! from where, into which outbox, on which schedule. Read once, with a size bound; every key
//! checked here, so that nothing downstream touches the raw file (STYLE.md, practice 9).
//!
//! Every refusal is a configuration error (exit 3) naming the file, the line, the key, and the
//! fix. Relative paths are taken from the carry file's folder, so that the file means the same
//! whatever the service's working folder is.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::failure::ConfigError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::time_arg::parse_rfc3339;
use bridge_cli::toml_lines::{error_line, line_of};
use bundle_format::names::ZoneId;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use time::OffsetDateTime;
use toml::Spanned;

/// The largest carry file read.
pub const MAX_CARRY_FILE: u64 = 256 * 1024;

/// The most rules, schedule entries and patterns per rule a carry file may hold.
pub const MAX_ITEMS: usize = 256;

/// The largest `newest`.
pub const MAX_NEWEST: u32 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    source_zone: Spanned<String>,
    outbox: Spanned<String>,
    keys: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    ledger: Option<Spanned<String>>,
    #[serde(default)]
    state: Option<Spanned<String>>,
    #[serde(default)]
    metrics: Option<Spanned<String>>,
    #[serde(default)]
    schedule: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    octopus: RawOctopus,
    #[serde(default)]
    carry: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOctopus {
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    api_key_file: Option<Spanned<String>>,
    #[serde(default)]
    space: Option<String>,
    #[serde(default)]
    ca_file: Option<Spanned<String>>,
    #[serde(default)]
    request_timeout: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    target_zone: Spanned<String>,
    projects: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    channels: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    gate: Option<RawGate>,
    #[serde(default)]
    since: Option<Spanned<String>>,
    #[serde(default)]
    newest: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    environment: Spanned<String>,
}

/// A project pattern of a rule: an exact name, or a glob (`Fraud *`) when it has `*`, `?` or
/// `[`.
#[derive(Debug, Clone)]
pub struct ProjectPattern {
    /// As written.
    pub text: String,
    glob: Option<GlobMatcher>,
}

impl ProjectPattern {
    /// Whether `name` (a project's name) matches.
    pub fn matches(&self, name: &str) -> bool {
        match &self.glob {
            Some(glob) => glob.is_match(name),
            None => self.text == name,
        }
    }

    /// Whether it is a glob rather than an exact name.
    pub fn is_glob(&self) -> bool {
        self.glob.is_some()
    }
}

/// One `[[carry]]` rule, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its position in the file (0-based), for messages: `carry[0]`.
    pub index: usize,
    /// The zone its bundles go to.
    pub target_zone: ZoneId,
    /// Which projects.
    pub projects: Vec<ProjectPattern>,
    /// Which channels, by name; empty: every channel.
    pub channels: Vec<String>,
    /// The environment the release must have been deployed to successfully, if any.
    pub gate: Option<String>,
    /// Only releases assembled at or after this time (the first-run flood guard).
    pub since: Option<OffsetDateTime>,
    /// Only the newest N qualifying releases of each project (the first-run flood guard).
    pub newest: Option<u32>,
}

impl Rule {
    /// `carry[N]`, as messages name the rule.
    pub fn name(&self) -> String {
        format!("carry[{}]", self.index)
    }

    /// Whether the rule takes channel `name`.
    pub fn takes_channel(&self, name: &str) -> bool {
        self.channels.is_empty() || self.channels.iter().any(|c| c == name)
    }
}

/// The carry file, checked: nothing after [`read`] looks at the raw file.
#[derive(Debug)]
pub struct CarryFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// This side's zone.
    pub source_zone: ZoneId,
    /// The outbox folder (it exists and is a folder).
    pub outbox: PathBuf,
    /// Signing keys.
    pub keys: Vec<PathBuf>,
    /// The export ledger (`None`: as `--ledger` defaults).
    pub ledger: Option<PathBuf>,
    /// The state folder: last runs, health.json.
    pub state: PathBuf,
    /// The metrics file, if any.
    pub metrics: Option<PathBuf>,
    /// The schedule, with each expression as written.
    pub schedule: Vec<(String, Cron)>,
    /// How to reach Octopus (environment variables fill what the file leaves out).
    pub octopus: OctopusArgs,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// Reads and checks the carry file at `path`.
pub fn read(path: &Path) -> anyhow::Result<CarryFile> {
    let (file, _) = bundle_format::regular_file::open_nonempty(path)
        .with_context(|| format!("cannot read the carry file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CARRY_FILE.saturating_add(1))
        .read_to_string(&mut text)
        .with_context(|| {
            format!(
                "cannot read the carry file {} as UTF-8 text",
                path.display()
            )
        })?;
    if text.len() as u64 > MAX_CARRY_FILE {
        return Err(ConfigError(format!(
            "the carry file {} is larger than {MAX_CARRY_FILE} bytes\nHint: a carry file holds a few rules; check that --config names the right file",
            path.display()
        ))
        .into());
    }
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base, &Env::from_process())
        .map_err(|detail| ConfigError(format!("carry file {}: {detail}", path.display())).into())
        .map(|mut carry: CarryFile| {
            carry.path = path.to_owned();
            carry
        })
}

/// The environment variables a carry file falls back on, as the Octopus flags do.
#[derive(Debug, Default, Clone)]
pub struct Env {
    /// `OCTOPUS_URL`.
    pub url: Option<String>,
    /// `OCTOPUS_API_KEY`.
    pub api_key: Option<String>,
    /// `OCTOPUS_SPACE`.
    pub space: Option<String>,
}

impl Env {
    /// This process's.
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            url: var("OCTOPUS_URL"),
            api_key: var("OCTOPUS_API_KEY"),
            space: var("OCTOPUS_SPACE"),
        }
    }
}

/// Parses and checks a carry file's text; relative paths are taken from `base`. Errors name
/// the line and the key, and end with a hint.
pub fn parse(text: &str, base: &Path, env: &Env) -> Result<CarryFile, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        format!(
            "{}{}\nHint: the keys are source_zone, outbox, keys, ledger, state, metrics, schedule, [octopus] (server, api_key_file, space, ca_file, request_timeout) and [[carry]] rules (target_zone, projects, channels, gate, since, newest); see the operator guide, \"Scheduled export\"",
            error_line(text, &e),
            e.message().trim_end()
        )
    })?;
    let at = |offset: usize| format!("line {}", line_of(text, offset));
    let path_of = |value: &Spanned<String>, key: &str| -> Result<PathBuf, String> {
        if value.get_ref().trim().is_empty() {
            return Err(format!(
                "{}: {key} is empty\nHint: give a path",
                at(value.span().start)
            ));
        }
        Ok(base.join(value.get_ref()))
    };

    let source_zone = zone(&raw.source_zone, "source_zone", &at)?;
    let outbox = path_of(&raw.outbox, "outbox")?;
    match std::fs::metadata(&outbox) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "{}: outbox = {:?} is not a folder\nHint: name the outbox folder (the transfer picks up the *.zb files in it)",
                at(raw.outbox.span().start),
                raw.outbox.get_ref()
            ));
        }
        Err(e) => {
            return Err(format!(
                "{}: outbox = {:?} cannot be used: {e}\nHint: create it first (mkdir -p), owned by the user the export runs as",
                at(raw.outbox.span().start),
                raw.outbox.get_ref()
            ));
        }
    }
    if outbox.parent().is_none() {
        return Err(format!(
            "{}: outbox = {:?} has no parent folder to stage bundles in\nHint: give a folder below another, such as /var/spool/zonebridge/outbox",
            at(raw.outbox.span().start),
            raw.outbox.get_ref()
        ));
    }
    if raw.keys.get_ref().is_empty() {
        return Err(format!(
            "{}: keys is empty\nHint: name the signing key file(s): keys = [\"/etc/zonebridge/release-signer.key\"]",
            at(raw.keys.span().start)
        ));
    }
    if raw.keys.get_ref().len() > MAX_ITEMS {
        return Err(format!(
            "{}: keys holds more than {MAX_ITEMS} entries\nHint: name the signing keys only",
            at(raw.keys.span().start)
        ));
    }
    let keys = raw
        .keys
        .get_ref()
        .iter()
        .enumerate()
        .map(|(i, key)| path_of(key, &format!("keys[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let ledger = raw
        .ledger
        .as_ref()
        .map(|l| path_of(l, "ledger"))
        .transpose()?;
    let state = match &raw.state {
        Some(state) => path_of(state, "state")?,
        None => default_state(ledger.as_deref(), base),
    };
    let metrics = raw
        .metrics
        .as_ref()
        .map(|m| path_of(m, "metrics"))
        .transpose()?;
    if let (Some(path), Some(raw_metrics)) = (&metrics, &raw.metrics) {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        if path.is_dir() || folder.is_some_and(|f| !f.is_dir()) {
            return Err(format!(
                "{}: metrics = {:?} is a folder, or its folder does not exist\nHint: name a file in an existing folder, such as /var/lib/zonebridge/metrics/export.prom (node_exporter's textfile folder)",
                at(raw_metrics.span().start),
                raw_metrics.get_ref()
            ));
        }
    }
    let schedule = match &raw.schedule {
        None => Vec::new(),
        Some(list) => {
            if list.get_ref().len() > MAX_ITEMS {
                return Err(format!(
                    "{}: schedule holds more than {MAX_ITEMS} expressions\nHint: a few cron expressions are enough",
                    at(list.span().start)
                ));
            }
            let mut parsed = Vec::new();
            for (i, entry) in list.get_ref().iter().enumerate() {
                let expression = entry.get_ref();
                let cron = parse_cron(expression).map_err(|e| {
                    format!(
                        "{}: schedule[{i}] = {expression:?} is not a cron expression: {e}\nHint: six fields, seconds first, in UTC: \"0 30 1 * * *\" is 01:30:00 every day",
                        at(entry.span().start)
                    )
                })?;
                if parsed.iter().any(|(e, _): &(String, Cron)| e == expression) {
                    return Err(format!(
                        "{}: schedule[{i}] = {expression:?} is given twice\nHint: list each expression once",
                        at(entry.span().start)
                    ));
                }
                parsed.push((expression.clone(), cron));
            }
            parsed
        }
    };
    let octopus = octopus_args(&raw.octopus, base, env, &at)?;
    if raw.carry.is_empty() {
        return Err(
            "there is no [[carry]] rule\nHint: add one: [[carry]] target_zone = \"pci\", projects = [\"Payments API\"]"
                .to_owned(),
        );
    }
    if raw.carry.len() > MAX_ITEMS {
        return Err(format!(
            "more than {MAX_ITEMS} [[carry]] rules\nHint: use project patterns (\"Payments *\") to say more with fewer rules"
        ));
    }
    let mut rules = Vec::new();
    // (target zone, pattern) -> the rule that has it: a pattern twice for one zone is a duplicate.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (index, spanned) in raw.carry.iter().enumerate() {
        let raw_rule = spanned.get_ref();
        let name = format!("carry[{index}]");
        let target_zone = zone(&raw_rule.target_zone, &format!("{name}.target_zone"), &at)?;
        if target_zone == source_zone {
            return Err(format!(
                "{}: {name}.target_zone = {:?} is the source_zone; a bundle goes from one zone to another\nHint: name the zone the releases are carried to, such as \"pci\"",
                at(raw_rule.target_zone.span().start),
                raw_rule.target_zone.get_ref()
            ));
        }
        let projects = raw_rule.projects.get_ref();
        if projects.is_empty() {
            return Err(format!(
                "{}: {name}.projects is empty\nHint: name at least one project, or a pattern such as \"Payments *\"",
                at(raw_rule.projects.span().start)
            ));
        }
        if projects.len() > MAX_ITEMS {
            return Err(format!(
                "{}: {name}.projects holds more than {MAX_ITEMS} entries\nHint: use patterns",
                at(raw_rule.projects.span().start)
            ));
        }
        let mut patterns = Vec::new();
        for (i, project) in projects.iter().enumerate() {
            let text_value = project.get_ref();
            let key = format!("{name}.projects[{i}]");
            let pattern = project_pattern(text_value)
                .map_err(|e| format!("{}: {key} = {text_value:?} {e}", at(project.span().start)))?;
            let seen_key = (target_zone.to_string(), text_value.clone());
            if let Some(first) = seen.insert(seen_key, index) {
                let hint = if first == index {
                    "list each project once".to_owned()
                } else {
                    format!(
                        "merge the two rules, or drop it from one of them (carry[{first}] already carries it to {target_zone})"
                    )
                };
                return Err(format!(
                    "{}: {key} = {text_value:?} is a duplicate: the same project pattern for zone {target_zone} twice\nHint: {hint}",
                    at(project.span().start)
                ));
            }
            patterns.push(pattern);
        }
        let channels = match &raw_rule.channels {
            None => Vec::new(),
            Some(list) if list.get_ref().is_empty() => {
                return Err(format!(
                    "{}: {name}.channels is empty, which would carry nothing\nHint: leave channels out to take every channel, or name them: channels = [\"Default\"]",
                    at(list.span().start)
                ));
            }
            Some(list) => {
                let mut names: Vec<String> = Vec::new();
                for (i, channel) in list.get_ref().iter().enumerate() {
                    let value = channel.get_ref();
                    if value.trim().is_empty() || names.contains(value) {
                        return Err(format!(
                            "{}: {name}.channels[{i}] = {value:?} is empty or given twice\nHint: name each channel once, exactly as Octopus shows it",
                            at(channel.span().start)
                        ));
                    }
                    names.push(value.clone());
                }
                names
            }
        };
        let gate = match &raw_rule.gate {
            None => None,
            Some(gate) if gate.environment.get_ref().trim().is_empty() => {
                return Err(format!(
                    "{}: {name}.gate.environment is empty\nHint: name the environment the release must have been deployed to, such as \"Staging\", or leave gate out",
                    at(gate.environment.span().start)
                ));
            }
            Some(gate) => Some(gate.environment.get_ref().clone()),
        };
        let since = raw_rule
            .since
            .as_ref()
            .map(|since| {
                parse_rfc3339(since.get_ref()).map_err(|e| {
                    format!(
                        "{}: {name}.since = {:?} is not an RFC 3339 time ({e})\nHint: such as since = \"2026-01-01T00:00:00Z\"",
                        at(since.span().start),
                        since.get_ref()
                    )
                })
            })
            .transpose()?;
        let newest = raw_rule
            .newest
            .as_ref()
            .map(|newest| {
                u32::try_from(*newest.get_ref())
                    .ok()
                    .filter(|n| (1..=MAX_NEWEST).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "{}: {name}.newest = {} is out of range\nHint: a number from 1 to {MAX_NEWEST}: how many of each project's newest qualifying releases a run considers",
                            at(newest.span().start),
                            newest.get_ref()
                        )
                    })
            })
            .transpose()?;
        rules.push(Rule {
            index,
            target_zone,
            projects: patterns,
            channels,
            gate,
            since,
            newest,
        });
    }
    Ok(CarryFile {
        path: PathBuf::new(),
        source_zone,
        outbox,
        keys,
        ledger,
        state,
        metrics,
        schedule,
        octopus,
        rules,
    })
}

/// The state folder when the carry file names none: `carry-state` beside the ledger, else
/// beside the carry file.
fn default_state(ledger: Option<&Path>, base: &Path) -> PathBuf {
    match ledger.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("carry-state"),
        _ => base.join("carry-state"),
    }
}

fn zone(
    value: &Spanned<String>,
    key: &str,
    at: &dyn Fn(usize) -> String,
) -> Result<ZoneId, String> {
    ZoneId::new(value.get_ref()).map_err(|e| {
        format!(
            "{}: {key} = {:?} is not a zone id: {e}\nHint: lower-case letters, digits, '.', '_' and '-', such as \"dev\" or \"pci\"",
            at(value.span().start),
            value.get_ref()
        )
    })
}

/// Parses one schedule expression: five fields, or six with seconds first (croner).
pub fn parse_cron(expression: &str) -> Result<Cron, String> {
    if expression.len() > 256 {
        return Err("it is longer than 256 characters".to_owned());
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|e| e.to_string())
}

/// A project pattern: an exact name, or a glob when it has `*`, `?` or `[`.
fn project_pattern(text: &str) -> Result<ProjectPattern, String> {
    if text.trim().is_empty() {
        return Err("is empty\nHint: name a project exactly as Octopus shows it, or give a pattern such as \"Payments *\"".to_owned());
    }
    if text.len() > 200 {
        return Err(
            "is longer than 200 characters\nHint: name a project, or a shorter pattern".to_owned(),
        );
    }
    if !text.contains(['*', '?', '[', '{']) {
        return Ok(ProjectPattern {
            text: text.to_owned(),
            glob: None,
        });
    }
    let glob = Glob::new(text).map_err(|e| {
        format!(
            "is not a valid pattern: {}\nHint: '*' matches any run of characters, '?' one character, [abc] one of a set; quote a project whose name has them as a pattern of its own ([*])",
            e.kind()
        )
    })?;
    Ok(ProjectPattern {
        text: text.to_owned(),
        glob: Some(glob.compile_matcher()),
    })
}

fn octopus_args(
    raw: &RawOctopus,
    base: &Path,
    env: &Env,
    at: &dyn Fn(usize) -> String,
) -> Result<OctopusArgs, String> {
    let request_timeout = match &raw.request_timeout {
        None => 60,
        Some(t) if (1..=3600).contains(t.get_ref()) => *t.get_ref(),
        Some(t) => {
            return Err(format!(
                "{}: octopus.request_timeout = {} is out of range\nHint: seconds, from 1 to 3600",
                at(t.span().start),
                t.get_ref()
            ));
        }
    };
    let file = |value: &Option<Spanned<String>>, key: &str| -> Result<Option<PathBuf>, String> {
        match value {
            None => Ok(None),
            Some(v) if v.get_ref().trim().is_empty() => Err(format!(
                "{}: {key} is empty\nHint: give a path, or leave the key out",
                at(v.span().start)
            )),
            Some(v) => Ok(Some(base.join(v.get_ref()))),
        }
    };
    let api_key_file = file(&raw.api_key_file, "octopus.api_key_file")?;
    let server = raw.server.clone().or_else(|| env.url.clone());
    if server.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(
            "[octopus] server is missing\nHint: add server = \"https://octopus.dev.example.com\" under [octopus], or set OCTOPUS_URL in the service's environment"
                .to_owned(),
        );
    }
    if api_key_file.is_none() && env.api_key.is_none() {
        return Err(
            "[octopus] api_key_file is missing, and OCTOPUS_API_KEY is not set\nHint: add api_key_file = \"/etc/zonebridge/octopus-api-key\" (a file only its owner can read) under [octopus]"
                .to_owned(),
        );
    }
    Ok(OctopusArgs {
        server,
        // A key in the file itself is not offered: the file is readable by operators.
        api_key: if api_key_file.is_some() {
            None
        } else {
            env.api_key.clone()
        },
        api_key_file,
        space: raw
            .space
            .clone()
            .or_else(|| env.space.clone())
            .unwrap_or_default(),
        ca_file: file(&raw.ca_file, "octopus.ca_file")?,
        request_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
source_zone = "dev"
outbox = "outbox"
keys = ["signer.key"]
schedule = ["0 30 1 * * *"]
[octopus]
server = "https://octopus.dev.example.com"
api_key_file = "api-key"
[[carry]]
target_zone = "pci"
projects = ["Payments API", "Fraud *"]
channels = ["Default"]
gate = { environment = "Staging" }
newest = 3
"#;

    fn site() -> Result<tempfile::TempDir, std::io::Error> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("outbox"))?;
        std::fs::write(dir.path().join("not-a-folder"), b"x")?;
        Ok(dir)
    }

    fn parsed(text: &str) -> Result<CarryFile, String> {
        let dir = site().map_err(|e| e.to_string())?;
        parse(text, dir.path(), &Env::default())
    }

    fn refused(text: &str) -> String {
        match parsed(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_good_file_is_read_with_paths_from_its_folder() -> Result<(), String> {
        let dir = site().map_err(|e| e.to_string())?;
        let carry = parse(GOOD, dir.path(), &Env::default())?;
        assert_eq!(carry.outbox, dir.path().join("outbox"));
        assert_eq!(carry.keys, [dir.path().join("signer.key")]);
        assert_eq!(carry.state, dir.path().join("carry-state"));
        assert_eq!(carry.rules.len(), 1);
        let rule = carry.rules.first().ok_or("no rule")?;
        assert!(rule.projects.iter().any(|p| p.matches("Fraud Rules")));
        assert!(rule.projects.iter().any(|p| p.matches("Payments API")));
        assert!(!rule.projects.iter().any(|p| p.matches("Payments API v2")));
        assert!(!rule.projects.iter().any(|p| p.matches("fraud rules")));
        assert!(rule.takes_channel("Default") && !rule.takes_channel("Hotfix"));
        assert_eq!(rule.gate.as_deref(), Some("Staging"));
        assert_eq!(rule.newest, Some(3));
        Ok(())
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        for (text, line, key) in [
            (
                GOOD.replace("newest = 3", "newest = 3\nnewset = 3"),
                15,
                "newset",
            ),
            (
                GOOD.replace("[octopus]", "[octopus]\napi_key = \"API-X\""),
                7,
                "api_key",
            ),
            (GOOD.replace("schedule", "schedul"), 5, "schedul"),
            (
                GOOD.replace(
                    "gate = { environment = \"Staging\" }",
                    "gate = { environment = \"Staging\", tenant = \"A\" }",
                ),
                13,
                "tenant",
            ),
        ] {
            let e = refused(&text);
            assert!(e.starts_with(&format!("line {line}: ")), "{e}");
            assert!(e.contains(key) && e.contains("Hint: "), "{e}");
        }
    }

    #[test]
    fn bad_cron_expressions_are_refused() {
        for bad in [
            "",
            "every day",
            "0 61 1 * * *",
            "* * * * * * * *",
            "0 30 1 * * MON-FUNDAY",
        ] {
            let e = refused(&GOOD.replace("0 30 1 * * *", bad));
            assert!(
                e.starts_with("line 5: schedule[0] = ") && e.contains("is not a cron expression"),
                "{bad}: {e}"
            );
        }
        let e = refused(&GOOD.replace("\"0 30 1 * * *\"", "\"0 30 1 * * *\", \"0 30 1 * * *\""));
        assert!(
            e.contains("schedule[1]") && e.contains("given twice"),
            "{e}"
        );
    }

    #[test]
    fn bad_globs_and_empty_projects_are_refused() {
        for bad in ["Fraud [", "Fraud {a,", "Pay**[z-a]"] {
            let e = refused(&GOOD.replace("Fraud *", bad));
            assert!(
                e.contains("carry[0].projects[1]") && e.contains("is not a valid pattern"),
                "{bad}: {e}"
            );
        }
        let e = refused(&GOOD.replace(r#"["Payments API", "Fraud *"]"#, "[]"));
        assert!(e.starts_with("line 11: carry[0].projects is empty"), "{e}");
        let e = refused(&GOOD.replace("\"Fraud *\"", "\"  \""));
        assert!(
            e.contains("carry[0].projects[1]") && e.contains("is empty"),
            "{e}"
        );
        let e = refused(&GOOD.replace(r#"channels = ["Default"]"#, "channels = []"));
        assert!(e.contains("carry[0].channels is empty"), "{e}");
    }

    #[test]
    fn zones_outbox_and_duplicates_are_checked() {
        let e = refused(&GOOD.replace("target_zone = \"pci\"", "target_zone = \"dev\""));
        assert!(
            e.contains("carry[0].target_zone = \"dev\" is the source_zone"),
            "{e}"
        );
        let e = refused(&GOOD.replace("target_zone = \"pci\"", "target_zone = \"PCI zone\""));
        assert!(e.contains("is not a zone id"), "{e}");
        let e = refused(&GOOD.replace("outbox = \"outbox\"", "outbox = \"missing\""));
        assert!(
            e.starts_with("line 3: outbox = \"missing\" cannot be used"),
            "{e}"
        );
        let e = refused(&GOOD.replace("outbox = \"outbox\"", "outbox = \"not-a-folder\""));
        assert!(e.contains("is not a folder"), "{e}");
        let twice = format!(
            "{GOOD}[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Ledger Worker\", \"Fraud *\"]\n"
        );
        let e = refused(&twice);
        assert!(
            e.contains("carry[1].projects[1] = \"Fraud *\" is a duplicate")
                && e.contains("carry[0] already carries it to pci"),
            "{e}"
        );
        let other_zone = format!(
            "{GOOD}[[carry]]\ntarget_zone = \"dr\"\nprojects = [\"Ledger Worker\", \"Fraud *\"]\n"
        );
        assert!(
            parsed(&other_zone).is_ok(),
            "the same pattern for another zone"
        );
        let e = refused(&GOOD.replace(r#""Fraud *""#, r#""Payments API""#));
        assert!(e.contains("list each project once"), "{e}");
    }

    #[test]
    fn flood_guard_values_are_checked() {
        for bad in ["newest = 0", "newest = -1", "newest = 10001"] {
            let e = refused(&GOOD.replace("newest = 3", bad));
            assert!(
                e.contains("carry[0].newest") && e.contains("out of range"),
                "{e}"
            );
        }
        let e = refused(&GOOD.replace("newest = 3", "since = \"last week\""));
        assert!(
            e.contains("carry[0].since") && e.contains("RFC 3339"),
            "{e}"
        );
        assert!(parsed(&GOOD.replace("newest = 3", "since = \"2026-01-01T00:00:00Z\"")).is_ok());
    }

    #[test]
    fn octopus_settings_come_from_the_file_or_the_environment() -> Result<(), String> {
        let e = refused(&GOOD.replace("server = \"https://octopus.dev.example.com\"\n", ""));
        assert!(
            e.starts_with("[octopus] server is missing") && e.contains("OCTOPUS_URL"),
            "{e}"
        );
        let e = refused(&GOOD.replace("api_key_file = \"api-key\"\n", ""));
        assert!(e.starts_with("[octopus] api_key_file is missing"), "{e}");
        let dir = site().map_err(|e| e.to_string())?;
        let env = Env {
            url: Some("https://from.env.example.com".into()),
            api_key: Some("API-FROMENV".into()),
            space: Some("Spaces-2".into()),
        };
        let bare = GOOD
            .replace("server = \"https://octopus.dev.example.com\"\n", "")
            .replace("api_key_file = \"api-key\"\n", "");
        let carry = parse(&bare, dir.path(), &env)?;
        assert_eq!(
            carry.octopus.server.as_deref(),
            Some("https://from.env.example.com")
        );
        assert_eq!(carry.octopus.api_key.as_deref(), Some("API-FROMENV"));
        assert_eq!(carry.octopus.space, "Spaces-2");
        let e = refused(&GOOD.replace("[octopus]\n", "[octopus]\nrequest_timeout = 0\n"));
        assert!(
            e.contains("octopus.request_timeout = 0 is out of range"),
            "{e}"
        );
        Ok(())
    }

    #[test]
    fn the_metrics_file_must_be_in_an_existing_folder() {
        let with = |m: &str| GOOD.replace("schedule =", &format!("metrics = \"{m}\"\nschedule ="));
        assert!(parsed(&with("export.prom")).is_ok());
        for bad in ["missing/export.prom", "outbox"] {
            let e = refused(&with(bad));
            assert!(
                e.starts_with("line 5: metrics = ") && e.contains("Hint: "),
                "{e}"
            );
        }
    }

    #[test]
    fn no_rule_or_no_key_is_refused() {
        let e = refused(GOOD.split("[[carry]]").next().unwrap_or_default());
        assert!(e.contains("there is no [[carry]] rule"), "{e}");
        let e = refused(&GOOD.replace("keys = [\"signer.key\"]", "keys = []"));
        assert!(e.contains("keys is empty"), "{e}");
        let e = refused(&GOOD.replace("keys = [\"signer.key\"]\n", ""));
        assert!(e.contains("missing field `keys`"), "{e}");
    }
}
