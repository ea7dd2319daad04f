//! Scrubbing a task log of every secret value the secure side knows, before the log leaves the
//! zone in a result bundle (ARCHITECTURE, principle 7).
//!
//! Octopus masks the sensitive values it stores as `********` in its own logs; Zonebridge
//! cannot read those values (the API never returns them), so it cannot check that masking.
//! What it can do is remove every value it does know: each value of the secrets file, whole
//! and line by line (a multi-line value may be printed one line at a time), replaced by the
//! same mask. Matching is leftmost-longest, so a value that contains a shorter one is masked
//! whole.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::import::secrets::SecretsFile;

/// What every scrubbed value becomes (Octopus's own mask).
pub const MASK: &str = "********";

/// Masks known secret values in text. Its `Debug` shows how many values it masks, never them.
pub struct Scrubber {
    matcher: Option<AhoCorasick>,
    /// The values, to build a scrubber that also masks more ([`Scrubber::with`]).
    values: Vec<String>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} values)", self.values.len())
    }
}

impl Scrubber {
    /// A scrubber for every value in `secrets` (whole, and each of its non-blank lines).
    pub fn new(secrets: &SecretsFile) -> anyhow::Result<Self> {
        Self::from_values(secrets.entries.iter().map(|e| e.value.expose()))
    }

    /// A scrubber for these values.
    pub fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Self> {
        let values: Vec<String> = values.into_iter().map(str::to_owned).collect();
        let mut patterns: Vec<&str> = Vec::new();
        for value in &values {
            patterns.push(value);
            patterns.extend(value.lines().map(str::trim).filter(|line| !line.is_empty()));
        }
        patterns.retain(|p| !p.is_empty());
        patterns.sort_unstable();
        patterns.dedup();
        if patterns.is_empty() {
            return Ok(Self {
                matcher: None,
                values,
            });
        }
        let matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|e| anyhow::anyhow!("cannot prepare the secret values for scrubbing: {e}"))?;
        Ok(Self {
            matcher: Some(matcher),
            values,
        })
    }

    /// A scrubber for these values and `more` (the sensitive prompted values of a deploy).
    pub fn with(&self, more: &[String]) -> anyhow::Result<Self> {
        Self::from_values(self.values.iter().chain(more).map(String::as_str))
    }

    /// Whether nothing would be masked.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every known value replaced by [`MASK`], and how many were replaced.
    pub fn scrub(&self, text: &str) -> (String, usize) {
        let Some(matcher) = &self.matcher else {
            return (text.to_owned(), 0);
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut count = 0;
        for found in matcher.find_iter(text) {
            out.push_str(text.get(last..found.start()).unwrap_or_default());
            out.push_str(MASK);
            last = found.end();
            count += 1;
        }
        out.push_str(text.get(last..).unwrap_or_default());
        (out, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_value_is_masked_longest_first() -> anyhow::Result<()> {
        let scrubber = Scrubber::from_values(["pw-1", "pw-1-long", "tok\nsecond-line"])?;
        let (text, count) = scrubber
            .scrub("db=pw-1-long other=pw-1\nheader: tok\nsecond-line\nline alone: second-line\n");
        assert_eq!(
            text,
            "db=******** other=********\nheader: ********\nline alone: ********\n"
        );
        assert_eq!(count, 4);
        Ok(())
    }

    #[test]
    fn no_values_leave_the_text_alone() -> anyhow::Result<()> {
        let scrubber = Scrubber::from_values([""])?;
        assert!(scrubber.is_empty());
        assert_eq!(scrubber.scrub("a\u{e9}b").0, "a\u{e9}b");
        Ok(())
    }

    #[test]
    fn values_inside_multibyte_text_are_found() -> anyhow::Result<()> {
        let scrubber = Scrubber::from_values(["s\u{e9}cret"])?;
        assert_eq!(
            scrubber.scrub("\u{2192}s\u{e9}cret\u{2190}").0,
            "\u{2192}********\u{2190}"
        );
        Ok(())
    }
}
