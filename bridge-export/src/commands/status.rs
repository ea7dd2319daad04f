//! `status [--project P] [--json]`: each release's promotion across zones, from this side's
//! ledger alone: exported (when, which bundle), results received, deployed where and how, and
//! a mark on bundles sent long ago and never answered; and each secure zone's ledger head as
//! its result bundles carried it home, marked when it went backwards.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context as _;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::output::Output;
use bridge_cli::safe::Shown;
use bridge_cli::time_arg::{format_rfc3339, parse_duration};
use bundle_format::manifest::BundleKind;
use ledger::{DeploymentRecord, Ledger, PeerHead, StoredBundle, Verdict, head_went_backwards};
use serde::Serialize;
use time::OffsetDateTime;

/// Arguments of `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Only this project (by name).
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// A release bundle with no result after this long is marked unanswered (90s, 30m, 2h).
    #[arg(long, value_name = "DURATION", default_value = "72h", value_parser = parse_duration)]
    pub unanswered_after: Duration,
    /// This side's ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
}

/// One release promoted to one zone.
#[derive(Debug, Serialize)]
struct Promotion {
    project: String,
    version: String,
    zone: String,
    exported: String,
    bundle: String,
    channel: String,
    sequence: u64,
    /// Results taken in for this release in that zone.
    results: usize,
    deployments: Vec<Deployed>,
    /// Set when the newest bundle has had no result for longer than --unanswered-after.
    unanswered_for: Option<String>,
}

#[derive(Debug, Serialize)]
struct Deployed {
    environment: String,
    tenant: Option<String>,
    state: &'static str,
    waiting: Option<String>,
    completed: Option<String>,
    result_received: String,
}

/// The ledger head of a zone, as its result bundles carried it home (bundle spec 5.4).
#[derive(Debug, Serialize)]
struct ZoneHead {
    zone: String,
    /// The newest head received, as `ENTRIES:HASH` (what `bridge-import ledger verify
    /// --anchor` takes).
    head: String,
    /// How many heads were received from the zone.
    received: usize,
    /// Set when a head had no more entries than one received before it: the zone's ledger was
    /// cut or restored from a backup in between.
    went_backwards: Option<Backwards>,
}

#[derive(Debug, Serialize)]
struct Backwards {
    /// The earlier, longer head.
    from: String,
    /// The later head that went back.
    to: String,
    /// The result bundle that carried the later head.
    bundle: String,
}

#[derive(Debug, Serialize)]
struct Report {
    ledger: String,
    promotions: Vec<Promotion>,
    heads: Vec<ZoneHead>,
}

/// Reads the ledger and prints each promotion.
pub fn run(args: &StatusArgs, out: &Output) -> anyhow::Result<()> {
    let path = args.ledger.path(Side::Export)?;
    let ledger = Ledger::open_existing(&path)
        .with_context(|| format!("cannot open the ledger {}", path.display()))?;
    let report = Report {
        ledger: path.display().to_string(),
        promotions: promotions(
            &ledger,
            args.project.as_deref(),
            args.unanswered_after,
            OffsetDateTime::now_utc(),
        )?,
        heads: heads(&ledger)?,
    };
    out.success(&report, |w| render(w, &report))
}

fn promotions(
    ledger: &Ledger,
    project: Option<&str>,
    unanswered_after: Duration,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<Promotion>> {
    // The newest release bundle per (project, version, zone).
    let mut newest: BTreeMap<(String, String, String), StoredBundle> = BTreeMap::new();
    for bundle in ledger.bundles(Some(BundleKind::Release), Some(Verdict::Exported), project)? {
        let key = (
            bundle.project.clone().unwrap_or_default(),
            bundle.version.clone().unwrap_or_default(),
            bundle.channel.target.to_string(),
        );
        newest.insert(key, bundle);
    }
    let results = ledger.bundles(Some(BundleKind::Result), Some(Verdict::Accepted), project)?;
    let deployments = ledger.deployments(project)?;
    let mut rows = Vec::new();
    for ((project, version, zone), bundle) in newest {
        let ours = |d: &&DeploymentRecord| {
            d.key.project == project && d.key.version == version && d.key.target.as_str() == zone
        };
        let deployed: Vec<Deployed> = deployments
            .iter()
            .filter(ours)
            .map(|d| Deployed {
                environment: d.key.environment.clone(),
                tenant: d.key.tenant.clone(),
                state: d.state.as_str(),
                waiting: d.waiting.clone(),
                completed: d.completed.map(format_rfc3339),
                result_received: format_rfc3339(d.updated_at),
            })
            .collect();
        let answered = deployments
            .iter()
            .filter(ours)
            .any(|d| d.release_bundle == bundle.digest);
        let count = results
            .iter()
            .filter(|r| {
                r.project.as_deref() == Some(project.as_str())
                    && r.version.as_deref() == Some(version.as_str())
                    && r.channel.source.as_str() == zone
            })
            .count();
        let age = now - bundle.at;
        let unanswered_for = (!answered && age >= unanswered_after)
            .then(|| describe_age(age.whole_seconds().max(0).unsigned_abs()));
        rows.push(Promotion {
            exported: format_rfc3339(bundle.at),
            bundle: bundle.digest.to_hex(),
            channel: bundle.channel.to_string(),
            sequence: bundle.sequence,
            results: count,
            deployments: deployed,
            unanswered_for,
            project,
            version,
            zone,
        });
    }
    Ok(rows)
}

/// The heads received per zone, and the first one of each that went backwards.
fn heads(ledger: &Ledger) -> anyhow::Result<Vec<ZoneHead>> {
    let mut by_zone: BTreeMap<String, Vec<PeerHead>> = BTreeMap::new();
    for head in ledger.peer_heads(None)? {
        by_zone.entry(head.zone.to_string()).or_default().push(head);
    }
    Ok(by_zone
        .into_iter()
        .filter_map(|(zone, heads)| {
            let went_backwards = head_went_backwards(&heads).map(|(earlier, later)| Backwards {
                from: earlier.head.to_string(),
                to: later.head.to_string(),
                bundle: later.bundle.to_hex(),
            });
            Some(ZoneHead {
                head: heads.last()?.head.to_string(),
                received: heads.len(),
                went_backwards,
                zone,
            })
        })
        .collect())
}

/// "3 days", "5 hours", "12 minutes", "40 seconds".
fn describe_age(seconds: u64) -> String {
    let (count, unit) = match seconds {
        s if s >= 86_400 => (s / 86_400, "day"),
        s if s >= 3600 => (s / 3600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

fn render_heads(w: &mut dyn Write, heads: &[ZoneHead]) -> io::Result<()> {
    for h in heads {
        writeln!(
            w,
            "ledger head of {}: {} ({} received; check it there with `bridge-import ledger verify --anchor {}`)",
            h.zone, h.head, h.received, h.head
        )?;
        if let Some(back) = &h.went_backwards {
            writeln!(
                w,
                "  WENT BACKWARDS from {} to {} (result bundle {}): the {} ledger was cut or restored from a backup",
                back.from, back.to, back.bundle, h.zone
            )?;
        }
    }
    Ok(())
}

fn render(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    render_heads(w, &report.heads)?;
    if report.promotions.is_empty() {
        return writeln!(
            w,
            "No release was exported with this ledger ({}).",
            Shown(&report.ledger)
        );
    }
    for p in &report.promotions {
        writeln!(
            w,
            "{} {} -> {}",
            Shown(&p.project),
            Shown(&p.version),
            Shown(&p.zone)
        )?;
        let short = Shown(p.bundle.get(..12).unwrap_or(&p.bundle));
        writeln!(
            w,
            "  exported   {} as {} {} ({short})",
            Shown(&p.exported),
            Shown(&p.channel),
            p.sequence
        )?;
        if p.deployments.is_empty() {
            writeln!(w, "  deployed   no result received yet")?;
        }
        for d in &p.deployments {
            let place = match &d.tenant {
                Some(tenant) => format!("{} for {}", Shown(&d.environment), Shown(tenant)),
                None => Shown(&d.environment).to_string(),
            };
            let when = Shown(d.completed.as_deref().unwrap_or("not ended"));
            let waiting = d
                .waiting
                .as_deref()
                .map(|w| format!(", waiting for {}", Shown(w)))
                .unwrap_or_default();
            writeln!(
                w,
                "  deployed   {place}: {}{waiting} ({when}; result received {})",
                d.state,
                Shown(&d.result_received)
            )?;
        }
        if let Some(age) = &p.unanswered_for {
            writeln!(
                w,
                "  UNANSWERED no result for {age}: check that the bundle reached {} and was imported",
                Shown(&p.zone)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(describe_age(1), "1 second");
        assert_eq!(describe_age(120), "2 minutes");
        assert_eq!(describe_age(3 * 86_400 + 5), "3 days");
    }
}
