//! What the receiver dropped, by reason: counted always, reported as one `diode.ignored`
//! event at most every [`REPORT_EVERY`] (a flood must not become a flood of log lines).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The shortest time between two reports of dropped datagrams.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Drop counters and the rate limit of their reports.
#[derive(Debug, Default)]
pub struct Drops {
    totals: BTreeMap<&'static str, u64>,
    unreported: BTreeMap<&'static str, u64>,
    detail: Option<String>,
    last_report: Option<Instant>,
}

/// One report: the drops since the last one, and the last reason worth a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropReport {
    /// Drops since the last report, by reason.
    pub counts: Vec<(&'static str, u64)>,
    /// The last refusal's text (a forged header, a bundle too big, ...), if any.
    pub detail: Option<String>,
}

impl Drops {
    /// Counts one drop for `reason`; `detail` says more, for the log.
    pub fn count(&mut self, reason: &'static str, detail: Option<String>) {
        *self.totals.entry(reason).or_default() += 1;
        *self.unreported.entry(reason).or_default() += 1;
        if detail.is_some() {
            self.detail = detail;
        }
    }

    /// Drops since the start, by reason.
    pub fn totals(&self) -> &BTreeMap<&'static str, u64> {
        &self.totals
    }

    /// Drops of `reason` since the start.
    pub fn total(&self, reason: &str) -> u64 {
        self.totals.get(reason).copied().unwrap_or(0)
    }

    /// The report due at `now`, if there are unreported drops and the last report is old
    /// enough.
    pub fn report(&mut self, now: Instant) -> Option<DropReport> {
        if self.unreported.is_empty()
            || self
                .last_report
                .is_some_and(|last| now.saturating_duration_since(last) < REPORT_EVERY)
        {
            return None;
        }
        self.last_report = Some(now);
        Some(DropReport {
            counts: std::mem::take(&mut self.unreported).into_iter().collect(),
            detail: self.detail.take(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_rate_limited_and_nothing_is_lost() {
        let start = Instant::now();
        let mut drops = Drops::default();
        assert_eq!(drops.report(start), None, "nothing to say");
        drops.count("crc", None);
        let first = drops.report(start);
        assert_eq!(first.map(|r| r.counts), Some(vec![("crc", 1)]));
        for _ in 0..1000 {
            drops.count("crc", None);
        }
        drops.count("forged-header", Some("signed by key x".into()));
        assert_eq!(drops.report(start + Duration::from_secs(1)), None);
        let second = drops.report(start + Duration::from_secs(11));
        assert_eq!(
            second,
            Some(DropReport {
                counts: vec![("crc", 1000), ("forged-header", 1)],
                detail: Some("signed by key x".into())
            })
        );
        assert_eq!(drops.total("crc"), 1001);
    }
}
