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
