//! The receiver's metrics file (Prometheus text format, [`carriers::metrics`]).

use std::path::Path;

use carriers::diode::receive::Receiver;
use carriers::metrics::{Metric, MetricKind};

/// Rewrites the metrics file; a failure is logged, never fatal.
pub fn write(path: &Path, receiver: &Receiver, queue_full: u64) {
    let totals = receiver.totals();
    let mut dropped: Vec<(Vec<(&'static str, String)>, f64)> = receiver
        .drops()
        .iter()
        .map(|(reason, n)| (vec![("reason", (*reason).to_owned())], *n as f64))
        .collect();
    dropped.push((vec![("reason", "queue-full".to_owned())], queue_full as f64));
    let metrics = [
        Metric::single(
            "zonebridge_diode_delivered_total",
            "Bundles delivered into the inbox.",
            MetricKind::Counter,
            totals.delivered as f64,
        ),
        Metric::single(
            "zonebridge_diode_delivered_bytes_total",
            "Bytes of bundles delivered into the inbox.",
            MetricKind::Counter,
            totals.delivered_bytes as f64,
        ),
        Metric::single(
            "zonebridge_diode_datagrams_total",
            "Datagrams received.",
            MetricKind::Counter,
            totals.datagrams as f64,
        ),
        Metric {
            name: "zonebridge_diode_dropped_total",
            help: "Datagrams dropped, by reason.",
            kind: MetricKind::Counter,
            samples: dropped,
        },
        Metric::single(
            "zonebridge_diode_forged_headers_total",
            "Headers refused by the trust policy or their signature.",
            MetricKind::Counter,
            totals.forged_headers as f64,
        ),
        Metric::single(
            "zonebridge_diode_memory_bytes",
            "Bytes of symbols, pending blocks and tables held.",
            MetricKind::Gauge,
            receiver.memory_held() as f64,
        ),
        Metric::single(
            "zonebridge_diode_disk_bytes",
            "Bytes of partial files held (their full sizes).",
            MetricKind::Gauge,
            receiver.disk_held() as f64,
        ),
        Metric::single(
            "zonebridge_diode_transfers",
            "Transfers known (collected or closed with their file kept).",
            MetricKind::Gauge,
            receiver.transfers() as f64,
        ),
        Metric::single(
            "zonebridge_diode_link_silent",
            "1 while nothing authenticated arrives for --silence.",
            MetricKind::Gauge,
            if receiver.link_silent() { 1.0 } else { 0.0 },
        ),
        Metric::single(
            "zonebridge_diode_last_delivery_timestamp_seconds",
            "When the last bundle was delivered (Unix time; 0: none yet).",
            MetricKind::Gauge,
            totals
                .last_delivery
                .map_or(0.0, |t| t.unix_timestamp() as f64),
        ),
    ];
    if let Err(e) = carriers::metrics::write(path, &metrics) {
        tracing::warn!(error = %e, "cannot write the metrics file");
    }
}
