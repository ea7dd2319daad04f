//! When the service runs: the carry file's cron expressions (croner), in UTC.
//!
//! A run was missed while the service was down when some expression had an occurrence after
//! the last recorded run and no later than now; the service then runs once at start-up (one
//! run, however many were missed: each run exports everything not yet exported).

use chrono::{DateTime, Utc};
use croner::Cron;
use time::OffsetDateTime;

/// `time` to `chrono` (whole seconds and nanoseconds).
pub fn to_chrono(t: OffsetDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

/// `chrono` to `time`.
pub fn from_chrono(t: DateTime<Utc>) -> Option<OffsetDateTime> {
    let nanos = i128::from(t.timestamp())
        .checked_mul(1_000_000_000)?
        .checked_add(i128::from(t.timestamp_subsec_nanos()))?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// The first occurrence of any expression strictly after `after`.
pub fn next_run(schedule: &[(String, Cron)], after: OffsetDateTime) -> Option<OffsetDateTime> {
    // Occurrences are whole seconds; croner keeps the fraction of the time it starts from.
    let after = to_chrono(after.replace_nanosecond(0).ok()?)?;
    schedule
        .iter()
        .filter_map(|(_, cron)| cron.find_next_occurrence(&after, false).ok())
        .min()
        .and_then(from_chrono)
}

/// The latest occurrence of any expression at or before `now`.
pub fn previous_run(schedule: &[(String, Cron)], now: OffsetDateTime) -> Option<OffsetDateTime> {
    let now = to_chrono(now)?;
    schedule
        .iter()
        .filter_map(|(_, cron)| cron.find_previous_occurrence(&now, true).ok())
        .max()
        .and_then(from_chrono)
}

/// Whether a scheduled run fell between `last_run` (exclusive) and `now` (inclusive). With
/// no recorded run there is nothing to catch up: the service waits for its schedule.
pub fn missed(
    schedule: &[(String, Cron)],
    last_run: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    match (last_run, previous_run(schedule, now)) {
        (Some(last), Some(previous)) => previous > last,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::carry::config::parse_cron;

    fn schedule(expressions: &[&str]) -> Result<Vec<(String, Cron)>, String> {
        expressions
            .iter()
            .map(|e| parse_cron(e).map(|c| ((*e).to_owned(), c)))
            .collect()
    }

    #[test]
    fn the_next_run_is_the_earliest_of_the_expressions() -> Result<(), String> {
        let s = schedule(&["0 30 1 * * *", "0 0 13 * * *"])?;
        let now = datetime!(2026-12-02 08:00:00 UTC);
        assert_eq!(next_run(&s, now), Some(datetime!(2026-12-02 13:00:00 UTC)));
        let now = datetime!(2026-12-02 12:59:59.5 UTC);
        assert_eq!(next_run(&s, now), Some(datetime!(2026-12-02 13:00:00 UTC)));
        let now = datetime!(2026-12-02 13:00:00 UTC);
        assert_eq!(
            next_run(&s, now),
            Some(datetime!(2026-12-03 01:30:00 UTC)),
            "strictly after"
        );
        Ok(())
    }

    #[test]
    fn a_run_missed_while_down_is_caught_up_once() -> Result<(), String> {
        let s = schedule(&["0 30 1 * * *"])?;
        let now = datetime!(2026-12-02 08:00:00 UTC);
        assert!(missed(&s, Some(datetime!(2026-12-01 01:30:00 UTC)), now));
        assert!(missed(&s, Some(datetime!(2026-11-20 00:00:00 UTC)), now));
        assert!(!missed(&s, Some(datetime!(2026-12-02 01:30:00 UTC)), now));
        assert!(!missed(&s, Some(datetime!(2026-12-02 07:00:00 UTC)), now));
        assert!(!missed(&s, None, now), "never ran: wait for the schedule");
        Ok(())
    }

    #[test]
    fn times_convert_both_ways() {
        let t = datetime!(2026-12-02 08:00:00.123456789 UTC);
        assert_eq!(to_chrono(t).and_then(from_chrono), Some(t));
    }
}
