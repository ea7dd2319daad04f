//! The name of a bundle in an outbox: `SOURCE~TARGET~KIND~SEQUENCE~LABEL.zb`, such as
//! `dev~pci~release~000000000042~payments-api-1.4.1.zb`.
//!
//! Names sort by channel, then by sequence (twelve digits, zero-padded), so that a copy
//! script, `rsync` or a diode sender taking files in name order takes each channel in order.
//! `~` cannot occur in a zone id (spec 2.1), so the name splits back without ambiguity. The
//! receiving side never trusts a name: it reads the channel and sequence from the bundle and
//! verifies them; the name is for people and for the order of carriage.

use std::fmt;

use bundle_format::channel::Channel;

/// The file name extension of bundles.
pub const EXTENSION: &str = "zb";

/// The longest label kept in a name; a longer one is cut (names stay well under 255 bytes).
pub const MAX_LABEL: usize = 80;

/// A bundle's name in an outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxName {
    /// The bundle's channel.
    pub channel: Channel,
    /// Its sequence number on the channel.
    pub sequence: u64,
    /// What it carries, for people (`payments-api-1.4.1`): see [`label`].
    pub label: String,
}

impl fmt::Display for OutboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}~{}~{}~{:012}~{}.{EXTENSION}",
            self.channel.source, self.channel.target, self.channel.kind, self.sequence, self.label
        )
    }
}

impl OutboxName {
    /// Reads a name back; `None` for any file name not made by [`fmt::Display`].
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(&format!(".{EXTENSION}"))?;
        let mut parts = stem.splitn(5, '~');
        let (source, target, kind, sequence, label) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if sequence.len() < 12 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let channel = format!("{source}->{target}/{kind}")
            .parse::<Channel>()
            .ok()?;
        (label == self::label([label])).then_some(())?;
        Some(Self {
            channel,
            sequence: sequence.parse().ok()?,
            label: label.to_owned(),
        })
    }
}

/// A label from words such as a project name and a version: lower-case letters, digits, `.`
/// and `-` only (anything else becomes `-`, runs of `-` become one), joined by `-`, at most
/// [`MAX_LABEL`] bytes, never empty (`bundle`).
pub fn label<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in words {
        for c in word.chars() {
            let c = c.to_ascii_lowercase();
            let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.';
            let c = if keep { c } else { '-' };
            if c == '-' && (out.is_empty() || out.ends_with('-')) {
                continue;
            }
            out.push(c);
        }
        if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_LABEL);
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "bundle".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(channel: &str, sequence: u64, label: &str) -> Result<OutboxName, String> {
        Ok(OutboxName {
            channel: channel.parse()?,
            sequence,
            label: label.to_owned(),
        })
    }

    #[test]
    fn names_sort_by_channel_then_sequence() -> Result<(), String> {
        let mut names = [
            name("dev->pci/release", 10, "b-2")?.to_string(),
            name("dev->pci/release", 9, "z-9")?.to_string(),
            name("dev->dr/release", 11, "a-1")?.to_string(),
            name("dev->pci/release", 100, "a-1")?.to_string(),
        ];
        names.sort();
        assert_eq!(
            names,
            [
                "dev~dr~release~000000000011~a-1.zb",
                "dev~pci~release~000000000009~z-9.zb",
                "dev~pci~release~000000000010~b-2.zb",
                "dev~pci~release~000000000100~a-1.zb",
            ]
        );
        Ok(())
    }

    #[test]
    fn a_name_reads_back() -> Result<(), String> {
        let original = name("pci.eu->dev_1/result", 7, "payments-api-1.4.1-pci-staging")?;
        assert_eq!(
            OutboxName::parse(&original.to_string()),
            Some(original.clone())
        );
        for other in [
            "payments.zb",
            "dev~pci~release~42~x.zb",
            "dev~pci~release~000000000042~x.zb.part",
            "dev~pci~nothing~000000000042~x.zb",
            "dev~pci~release~000000000042~Upper.zb",
            ".dev~pci~release~000000000042~x.zb",
        ] {
            assert_eq!(OutboxName::parse(other), None, "{other}");
        }
        Ok(())
    }

    #[test]
    fn labels_are_safe_file_name_parts() {
        assert_eq!(label(["Payments API", "1.4.1"]), "payments-api-1.4.1");
        assert_eq!(label(["../../etc/passwd"]), "etc-passwd");
        assert_eq!(
            label(["Café ~ /x\n", "2026.1.0-rc.1+build"]),
            "caf-x-2026.1.0-rc.1-build"
        );
        assert_eq!(label(["", "~~~"]), "bundle");
        assert_eq!(label(["a".repeat(300).as_str()]).len(), MAX_LABEL);
    }
}
