//! 429 Too Many Requests: wait what `Retry-After` asks (seconds or an HTTP date), within a
//! bound, then give up naming it.
//!
//! Octopus's rate limiting (2026.3 and later; Octopus documentation "Rate limiting") answers
//! 429 with `Retry-After`. A 429 means the request was not processed, so every request,
//! writes included, may be sent again. The bound is per request: at most
//! [`RateLimitPolicy::max_retries`] waits, together at most [`RateLimitPolicy::max_total_wait`];
//! a `Retry-After` that asks for more than what is left is refused at once instead of sleeping
//! towards a certain failure.

use std::time::{Duration, SystemTime};

/// How long to wait on 429 answers, per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// Retries after a 429 (the request is sent at most this many times more).
    pub max_retries: u32,
    /// The most all waits of one request may add up to.
    pub max_total_wait: Duration,
    /// The wait when a 429 has no (or an unreadable) `Retry-After`.
    pub default_wait: Duration,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        RateLimitPolicy {
            max_retries: 5,
            max_total_wait: Duration::from_secs(120),
            default_wait: Duration::from_secs(5),
        }
    }
}

/// What `Retry-After` asks for: a number of seconds, or an HTTP date (RFC 9110, 10.2.3); a
/// date in the past means now. `None` when absent or unreadable.
pub(crate) fn retry_after(value: Option<&str>, now: SystemTime) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The waits one request has had.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    retries: u32,
    waited: Duration,
}

impl Budget {
    /// The wait before sending again after a 429 that asked for `asked`, or why not to.
    pub(crate) fn next(
        &mut self,
        policy: &RateLimitPolicy,
        asked: Option<Duration>,
    ) -> Result<Duration, String> {
        let wait = asked.unwrap_or(policy.default_wait);
        if self.retries >= policy.max_retries {
            return Err(format!(
                "still 429 after {} retries ({} s waited in all; the bound is {} retries)",
                self.retries,
                self.waited.as_secs(),
                policy.max_retries
            ));
        }
        let left = policy.max_total_wait.saturating_sub(self.waited);
        if wait > left {
            return Err(format!(
                "it asked to wait {} s (Retry-After), more than the {} s left of the {} s bound",
                wait.as_secs(),
                left.as_secs(),
                policy.max_total_wait.as_secs()
            ));
        }
        self.retries += 1;
        self.waited += wait;
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after(Some("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some(" 0 "), now), Some(Duration::ZERO));
        // 2015-10-21 07:28:00 GMT is `now`; ten seconds later.
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:10 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:27:00 GMT"), now),
            Some(Duration::ZERO)
        );
        for bad in ["-1", "soon", "1.5", ""] {
            assert_eq!(retry_after(Some(bad), now), None, "{bad}");
        }
        assert_eq!(retry_after(None, now), None);
    }

    #[test]
    fn the_budget_bounds_retries_and_total_wait() {
        let policy = RateLimitPolicy {
            max_retries: 3,
            max_total_wait: Duration::from_secs(10),
            default_wait: Duration::from_secs(2),
        };
        let mut budget = Budget::default();
        assert_eq!(
            budget.next(&policy, Some(Duration::from_secs(4))),
            Ok(Duration::from_secs(4))
        );
        assert_eq!(budget.next(&policy, None), Ok(Duration::from_secs(2)));
        let too_long = budget.next(&policy, Some(Duration::from_secs(5)));
        assert_eq!(
            too_long,
            Err(
                "it asked to wait 5 s (Retry-After), more than the 4 s left of the 10 s bound"
                    .to_owned()
            )
        );
        assert_eq!(
            budget.next(&policy, Some(Duration::from_secs(1))),
            Ok(Duration::from_secs(1))
        );
        assert_eq!(
            budget.next(&policy, Some(Duration::ZERO)),
            Err("still 429 after 3 retries (7 s waited in all; the bound is 3 retries)".to_owned())
        );
    }
}
