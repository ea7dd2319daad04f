//! The services' metrics file, in Prometheus's text exposition format (version 0.0.4), for
//! node_exporter's textfile collector or any scraper that reads a file: rewritten whole
//! (atomically) after every change, so a reader never sees half of it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::publish::{PublishError, write_atomically};

/// A metric's type, as `# TYPE` states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only ever goes up (since the service started, or over the ledger's life).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One metric with its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name, such as `zonebridge_inbox_bundles_total`: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub name: &'static str,
    /// What it counts, for `# HELP`.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Its samples: label pairs and a value.
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Metric {
    /// A metric with one sample and no labels.
    pub fn single(name: &'static str, help: &'static str, kind: MetricKind, value: f64) -> Self {
        Self {
            name,
            help,
            kind,
            samples: vec![(Vec::new(), value)],
        }
    }
}

/// The metrics as text: `# HELP`, `# TYPE`, then one line per sample, label values escaped
/// as the format requires (backslash, double quote, line feed).
pub fn render(metrics: &[Metric]) -> String {
    let mut out = String::new();
    for metric in metrics {
        let kind = match metric.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        };
        let help = metric.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {} {help}", metric.name);
        let _ = writeln!(out, "# TYPE {} {kind}", metric.name);
        for (labels, value) in &metric.samples {
            out.push_str(metric.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (key, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let escaped = value
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n");
                    let _ = write!(out, "{key}=\"{escaped}\"");
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", format_value(*value));
        }
    }
    out
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Writes `metrics` to `path` atomically (its folder must exist).
pub fn write(path: &Path, metrics: &[Metric]) -> Result<PathBuf, PublishError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| PublishError::NoParent(path.to_owned()))?;
    write_atomically(dir, name, render(metrics).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let metrics = [
            Metric::single(
                "zonebridge_inbox_queue_length",
                "Bundles waiting in the inbox.",
                MetricKind::Gauge,
                3.0,
            ),
            Metric {
                name: "zonebridge_inbox_bundles_total",
                help: "Bundles taken from the inbox, by outcome.",
                kind: MetricKind::Counter,
                samples: vec![
                    (vec![("outcome", "done".into())], 17.0),
                    (vec![("outcome", "quarantine\"d\\\n".into())], 0.5),
                ],
            },
        ];
        assert_eq!(
            render(&metrics),
            "# HELP zonebridge_inbox_queue_length Bundles waiting in the inbox.\n\
             # TYPE zonebridge_inbox_queue_length gauge\n\
             zonebridge_inbox_queue_length 3\n\
             # HELP zonebridge_inbox_bundles_total Bundles taken from the inbox, by outcome.\n\
             # TYPE zonebridge_inbox_bundles_total counter\n\
             zonebridge_inbox_bundles_total{outcome=\"done\"} 17\n\
             zonebridge_inbox_bundles_total{outcome=\"quarantine\\\"d\\\\\\n\"} 0.5\n"
        );
    }

    #[test]
    fn odd_values_use_the_formats_words() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(-0.25), "-0.25");
        assert_eq!(format_value(1_796_212_800.0), "1796212800");
    }
}
