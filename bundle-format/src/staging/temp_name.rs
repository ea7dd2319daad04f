//! The names of temporary things beside an output: `.zonebridge-PID-RANDOM.PURPOSE`.
//!
//! Every staging folder, temporary output file and working folder that a Zonebridge command
//! makes beside its output carries the process id of its maker, so that the leftovers of a
//! process that was killed (SIGKILL, power loss) can be recognised, and removed, by the next
//! run that writes to the same folder: only when that process is gone, and only when the
//! leftover belongs to the user running (the CLI's `leftovers` sweep does it).

/// What every temporary name starts with.
pub const PREFIX: &str = ".zonebridge-";

/// What a temporary thing is for; the name's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A private staging folder (spec 8.10).
    Staging,
    /// A temporary output file, renamed over its final name when complete.
    Tmp,
    /// A working folder (`export`'s release folder read from Octopus).
    Work,
}

impl Purpose {
    /// The name's suffix, without the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            Purpose::Staging => "staging",
            Purpose::Tmp => "tmp",
            Purpose::Work => "work",
        }
    }

    fn from_suffix(suffix: &str) -> Option<Self> {
        [Purpose::Staging, Purpose::Tmp, Purpose::Work]
            .into_iter()
            .find(|p| p.suffix() == suffix)
    }
}

/// The prefix of this process's temporary names (`.zonebridge-PID-`), for builders that add
/// the random part and the suffix themselves.
pub fn own_prefix() -> String {
    format!("{PREFIX}{}-", std::process::id())
}

/// A new temporary name of this process for `purpose`, with `random` as its unique part
/// (letters and digits).
pub fn new(random: &str, purpose: Purpose) -> String {
    format!("{}{random}.{}", own_prefix(), purpose.suffix())
}

/// A temporary name taken apart: the process id of its maker and its purpose; `None` for any
/// other name (an operator's own files are never taken for leftovers).
pub fn parse(name: &str) -> Option<(u32, Purpose)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let (random, suffix) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !digits(pid) || !alnum(random) {
        return None;
    }
    Some((pid.parse().ok()?, Purpose::from_suffix(suffix)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let name = new("a1B2c3", Purpose::Staging);
        assert!(name.starts_with(".zonebridge-"));
        assert_eq!(parse(&name), Some((std::process::id(), Purpose::Staging)));
        assert_eq!(parse(".zonebridge-77-Xy9.tmp"), Some((77, Purpose::Tmp)));
        assert_eq!(parse(".zonebridge-1-w.work"), Some((1, Purpose::Work)));
    }

    #[test]
    fn other_names_are_not_leftovers() {
        for name in [
            "out.zb",
            ".zonebridge-.tmp",
            ".zonebridge-12.tmp",
            ".zonebridge-x1-abc.tmp",
            ".zonebridge-12-abc.zb",
            ".zonebridge-12-a/b.tmp",
            ".zonebridge-12-.staging",
            ".zonebridge-99999999999-abc.tmp",
            "zonebridge-12-abc.tmp",
            ".out.zb.zb-staging-abc",
        ] {
            assert_eq!(parse(name), None, "{name}");
        }
    }
}
