//! Time values from the command line and the environment: RFC 3339 arguments, and
//! `SOURCE_DATE_EPOCH` (reproducible-builds.org) for a bundle's creation time.

use std::ffi::OsStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::failure::UsageError;

/// The environment variable that fixes creation times for reproducible output.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Parses an RFC 3339 date-time with offset, such as `2026-11-03T12:00:00Z` (a clap value
/// parser).
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
        format!(
            "{text:?} is not an RFC 3339 date-time with offset, like 2026-11-03T12:00:00Z ({err})"
        )
    })
}

/// The longest duration accepted (a week): anything longer is more likely a typo.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Parses a duration such as `90s`, `30m`, `2h` or `0` (a bare number is seconds), at most
/// [`MAX_DURATION`] (a clap value parser).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not a duration like 90s, 30m or 2h (at most 168h)");
    let trimmed = text.trim();
    let (number, unit) = match trimmed.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, "s"),
    };
    let count: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => Some(count),
        "m" => count.checked_mul(60),
        "h" => count.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(bad)?;
    let duration = std::time::Duration::from_secs(seconds);
    if duration > MAX_DURATION {
        return Err(bad());
    }
    Ok(duration)
}

/// RFC 3339 text of `t`, for output.
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The creation time to use: `explicit` (`--created`), else `source_date_epoch` (the value of
/// `SOURCE_DATE_EPOCH`, whole seconds since 1970), else `now`.
pub fn creation_time(
    explicit: Option<OffsetDateTime>,
    source_date_epoch: Option<&OsStr>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, UsageError> {
    if let Some(t) = explicit {
        return Ok(t);
    }
    let Some(raw) = source_date_epoch else {
        return Ok(now);
    };
    let text = raw.to_string_lossy();
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .ok_or_else(|| {
            UsageError(format!(
                "{SOURCE_DATE_EPOCH}={text:?} is not a number of seconds since 1970-01-01\nHint: set it to an integer such as 1793750400, or unset it"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_and_hours() -> Result<(), String> {
        assert_eq!(parse_duration("0")?.as_secs(), 0);
        assert_eq!(parse_duration("90")?.as_secs(), 90);
        assert_eq!(parse_duration("90s")?.as_secs(), 90);
        assert_eq!(parse_duration("30m")?.as_secs(), 1800);
        assert_eq!(parse_duration("2h")?.as_secs(), 7200);
        for bad in [
            "",
            "m",
            "1d",
            "-1s",
            "1.5h",
            "169h",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn creation_time_prefers_the_argument_then_the_environment() -> Result<(), String> {
        let now = OffsetDateTime::from_unix_timestamp(2_000_000_000).map_err(|e| e.to_string())?;
        let arg = parse_rfc3339("2026-11-03T00:00:00Z")?;
        let epoch = OsStr::new("1793750400");
        let pick = |a, e| creation_time(a, e, now).map_err(|e| e.to_string());
        assert_eq!(pick(Some(arg), Some(epoch))?, arg);
        assert_eq!(pick(None, Some(epoch))?.unix_timestamp(), 1_793_750_400);
        assert_eq!(pick(None, None)?, now);
        assert!(pick(None, Some(OsStr::new("yesterday"))).is_err());
        assert!(parse_rfc3339("2026-11-03").is_err());
        assert_eq!(format_rfc3339(arg), "2026-11-03T00:00:00Z");
        Ok(())
    }
}
