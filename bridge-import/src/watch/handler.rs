//! What a bundle in the secure side's inbox means: import it (the `import` pipeline,
//! in-process), deploy it where `--deploy` says, publish its results. See [`super`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use bridge_cli::input::BundleInput;
use bridge_cli::output::{GlobalArgs, Output};
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::inbox::refusal;
use bundle_format::channel::Channel;
use bundle_format::keys::SigningKey;
use bundle_format::manifest::BundleKind;
use carriers::inbox::{Handler, Outcome, Refusal, Taken};
use ledger::Ledger;
use octopus_api::Endpoint;
use time::format_description::well_known::Rfc3339;

use super::results::ResultsOutbox;
use crate::deploy::prompted::PromptedValues;
use crate::deploy::run::{self, DeploySettings};
use crate::deploy::scrub::Scrubber;
use crate::import::hook::Writes;
use crate::import::pipeline::{self, Settings};
use crate::import::report::Report;
use crate::import::{mapping, secrets};

/// One `--deploy "PROJECT=ENVIRONMENT"`: the project as the bundle names it, the environment
/// as this instance (or the mapping file) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRule {
    /// The project's name as the release bundle carries it.
    pub project: String,
    /// The environment to deploy it to.
    pub environment: String,
}

/// Everything the handler needs, checked once at start-up. The policy, mapping and secrets
/// files are read again for every bundle, so that a fix an operator makes there (a secret
/// added, a name mapped, a signer trusted) is taken at the next retry without a restart.
#[derive(Debug)]
pub struct ImportWatch {
    /// This zone's trust policy file.
    pub policy: PathBuf,
    /// The mapping file.
    pub map: Option<PathBuf>,
    /// The secrets file.
    pub secrets: Option<PathBuf>,
    /// The ledger file.
    pub ledger: PathBuf,
    /// The secure-zone instance.
    pub endpoint: Endpoint,
    /// `--create-missing`.
    pub create_missing: bool,
    /// `--allow-automatic-start`.
    pub allow_automatic_start: bool,
    /// Where to deploy what.
    pub deploys: Vec<DeployRule>,
    /// The result-signer keys (needed when `deploys` is not empty).
    pub keys: Vec<SigningKey>,
    /// The results outbox (needed when `deploys` is not empty).
    pub results: Option<ResultsOutbox>,
    /// How long to follow one deployment.
    pub deploy_timeout: Duration,
    /// The crash-safety test hook's write counter (`ZONEBRIDGE_TEST_KILL_AFTER_WRITES`).
    pub writes: Writes,
}

impl ImportWatch {
    fn open_ledger(&self) -> anyhow::Result<Ledger> {
        Ledger::open(&self.ledger)
            .with_context(|| format!("cannot open the ledger {}", self.ledger.display()))
    }

    /// Publishes the results the ledger recorded but a kill kept in the staging folder.
    pub fn publish_recorded(&self) -> anyhow::Result<()> {
        if let Some(results) = &self.results {
            results.publish_recorded(&self.open_ledger()?)?;
        }
        Ok(())
    }

    fn import(&mut self, path: &Path) -> anyhow::Result<Report> {
        let settings = Settings {
            input: BundleInput::File(path.to_owned()),
            policy: load_policy(&self.policy)?,
            map: mapping::read_optional(self.map.as_deref())?,
            secrets: secrets::read_optional(self.secrets.as_deref())?,
            ledger: self.ledger.clone(),
            endpoint: self.endpoint.clone(),
            dry_run: false,
            allow_automatic_start: self.allow_automatic_start,
            create_missing: self.create_missing,
        };
        let quiet = Output::new(GlobalArgs {
            json: false,
            quiet: true,
        });
        pipeline::import(settings, &mut self.writes, &quiet)
    }

    /// Deploys the imported release to `environment`, its result staged under its outbox
    /// name; returns the deploy's outcome word and state.
    fn deploy(&mut self, report: &Report, environment: &str) -> anyhow::Result<String> {
        let results = self
            .results
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--deploy needs --results-outbox"))?;
        let release_channel: Channel = report.channel.parse().map_err(|e: String| {
            anyhow::anyhow!("the import reported channel {}: {e}", report.channel)
        })?;
        let result_channel = Channel {
            source: release_channel.target.clone(),
            target: release_channel.source.clone(),
            kind: BundleKind::Result,
        };
        let last = self
            .open_ledger()?
            .channel_state(&result_channel)?
            .map(|s| s.sequence);
        let result_out = results.staged_path(
            &result_channel,
            last,
            [&report.project, &report.version, environment],
        );
        let map = mapping::read_optional(self.map.as_deref())?;
        let secrets = secrets::read_optional(self.secrets.as_deref())?;
        let settings = DeploySettings {
            project: report.project.clone(),
            version: report.version.clone(),
            environment: environment.to_owned(),
            tenant: None,
            map,
            endpoint: self.endpoint.clone(),
            ledger: self.ledger.clone(),
            // Keys are not copied: lent to the deploy and taken back below.
            keys: std::mem::take(&mut self.keys),
            result_out,
            wait: self.deploy_timeout,
            scrubber: Scrubber::new(&secrets)?,
            redeploy: false,
            guided_failure: false,
            prompted: PromptedValues::new(&[], Vec::new())?,
        };
        let deployed = run::deploy(&settings, &mut self.writes, &mut |_| {});
        self.keys = settings.keys;
        let deployed = deployed?;
        let state = serde_json::to_value(&deployed)
            .ok()
            .and_then(|v| v["state"].as_str().map(str::to_owned))
            .unwrap_or_default();
        tracing::info!(
            project = %report.project,
            version = %report.version,
            environment = %deployed.environment,
            outcome = deployed.outcome,
            state = %state,
            task = deployed.task.as_deref().unwrap_or(""),
            "deployment"
        );
        Ok(format!("{} to {environment} ({state})", deployed.outcome))
    }

    /// Deploys `report`'s release where `--deploy` says and publishes the results; an error
    /// here is never the bundle's fault (it was verified and imported), so it is retried.
    fn deploy_all(&mut self, report: &Report) -> anyhow::Result<Vec<String>> {
        let rules: Vec<DeployRule> = self
            .deploys
            .iter()
            .filter(|r| r.project == report.project)
            .cloned()
            .collect();
        let mut deployed = Vec::new();
        for rule in rules {
            deployed.push(self.deploy(report, &rule.environment)?);
        }
        self.publish_recorded()?;
        Ok(deployed)
    }
}

impl Handler for ImportWatch {
    fn next_expected(&mut self, channel: &Channel) -> Result<u64, Refusal> {
        let expected = || -> anyhow::Result<u64> {
            let ledger = self.open_ledger()?;
            let mut next = ledger
                .channel_state(channel)?
                .map_or(1, |s| s.sequence.saturating_add(1));
            let skipped = ledger.skipped(channel)?;
            while skipped.contains(&next) {
                next = next.saturating_add(1);
            }
            Ok(next)
        };
        expected().map_err(|e| refusal(&e))
    }

    fn handle(&mut self, bundle: &Taken) -> Outcome {
        let report = match self.import(&bundle.path) {
            Ok(report) => report,
            Err(err) => return Outcome::Refused(refusal(&err)),
        };
        match self.deploy_all(&report) {
            Ok(deployed) => {
                let mut detail = format!(
                    "{} {} {} (bundle {} on {})",
                    report.outcome, report.project, report.version, report.sequence, report.channel
                );
                if !deployed.is_empty() {
                    detail.push_str("; ");
                    detail.push_str(&deployed.join("; "));
                }
                if report.outcome == "already-imported" {
                    Outcome::AlreadyDone(detail)
                } else {
                    Outcome::Done(detail)
                }
            }
            Err(err) => Outcome::Retry(refusal(&err)),
        }
    }

    fn last_refusal(&mut self, channel: &Channel, sequence: u64) -> Option<String> {
        let refused = self
            .open_ledger()
            .ok()?
            .last_refusal(channel, sequence)
            .ok()??;
        let at = refused
            .at
            .format(&Rfc3339)
            .unwrap_or_else(|_| refused.at.to_string());
        Some(format!(
            "at {at}: {}",
            refused.reason.as_deref().unwrap_or("no reason recorded")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_refusals_with_the_command_lines_code_and_hint() {
        let err = bridge_cli::failure::refused(
            "secrets-missing",
            "2 secrets are missing\nHint: add them to the secrets file".to_owned(),
        );
        let r = refusal(&err.context("cannot import x.zb"));
        assert_eq!(r.code, "secrets-missing");
        assert!(r.message.contains("2 secrets are missing"), "{r:?}");
        assert_eq!(r.hint.as_deref(), Some("add them to the secrets file"));
    }
}
