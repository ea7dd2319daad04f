//! The watch's metrics (Prometheus text format through [`crate::metrics`]); their names and
//! meanings are listed in the operator guide ("The watched inbox").

use super::engine::Summary;
use super::health::Health;
use crate::metrics::{Metric, MetricKind};

/// The metrics of a watch, from its health and this run's summary; `last_success` is the
/// Unix time of the last success of this run, if any.
pub(crate) fn metrics(
    service_name: &str,
    health: &Health,
    summary: &Summary,
    last_success: Option<i64>,
) -> Vec<Metric> {
    let service = || vec![("service", service_name.to_owned())];
    let with =
        |k: &'static str, v: &str| vec![("service", service_name.to_owned()), (k, v.to_owned())];
    let c = &health.counts;
    let oldest = health
        .oldest_waiting
        .as_ref()
        .map_or(0.0, |w| w.age_seconds as f64);
    let mut list = vec![
        Metric {
            name: "zonebridge_inbox_bundles_total",
            help: "Files this run of the watch handled, by outcome.",
            kind: MetricKind::Counter,
            samples: vec![
                (
                    with("outcome", "done"),
                    (summary.done - summary.duplicates) as f64,
                ),
                (with("outcome", "duplicate"), summary.duplicates as f64),
                (with("outcome", "quarantined"), summary.quarantined as f64),
                (with("outcome", "retry"), summary.retried as f64),
            ],
        },
        Metric {
            name: "zonebridge_inbox_done_files",
            help: "Files in the inbox's done/ folder.",
            kind: MetricKind::Gauge,
            samples: vec![(service(), c.done as f64)],
        },
        Metric {
            name: "zonebridge_inbox_quarantined_files",
            help: "Files in the inbox's quarantine/ folder.",
            kind: MetricKind::Gauge,
            samples: vec![(service(), c.quarantined as f64)],
        },
        Metric {
            name: "zonebridge_inbox_queue_length",
            help: "Files in the inbox not yet done or quarantined.",
            kind: MetricKind::Gauge,
            samples: vec![(service(), health.queue_length as f64)],
        },
        Metric {
            name: "zonebridge_inbox_oldest_waiting_seconds",
            help: "How long the oldest file in the inbox has waited (0 if none).",
            kind: MetricKind::Gauge,
            samples: vec![(service(), oldest)],
        },
        Metric {
            name: "zonebridge_inbox_ignored_entries",
            help: "Entries named like bundles that are not regular files (links, folders).",
            kind: MetricKind::Gauge,
            samples: vec![(service(), c.ignored as f64)],
        },
        Metric {
            name: "zonebridge_inbox_unknown_refusal_codes",
            help: "Refusal codes seen that the watch does not know (retried).",
            kind: MetricKind::Gauge,
            samples: vec![(service(), health.unknown_codes.len() as f64)],
        },
        Metric {
            name: "zonebridge_inbox_last_round_timestamp_seconds",
            help: "When the watch last looked at its inbox (Unix time).",
            kind: MetricKind::Gauge,
            samples: vec![(
                service(),
                time::OffsetDateTime::now_utc().unix_timestamp() as f64,
            )],
        },
    ];
    if let Some(at) = last_success {
        list.push(Metric {
            name: "zonebridge_inbox_last_success_timestamp_seconds",
            help: "When the watch last handled a bundle successfully (Unix time).",
            kind: MetricKind::Gauge,
            samples: vec![(service(), at as f64)],
        });
    }
    list
}
