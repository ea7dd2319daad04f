//! `source.json`: which Octopus Server the release was exported from, so the secure side can
//! tell when its own server is older (issue 11, point 8). Only the version travels: the
//! server's URL and installation id name development-zone infrastructure.
//!
//! ```json
//! {"Server": {"Version": "2024.1.100"}}
//! ```

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// The document's name in the release folder and the bundle.
pub const SOURCE_DOCUMENT: &str = "source.json";

/// `source.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceDocument {
    /// The source server.
    pub server: SourceServer,
    /// Fields a later version may add, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The source server, as `GET /api` described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceServer {
    /// `RootResource.Version` (`2024.1.100`).
    pub version: String,
    /// Fields a later version may add, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl SourceDocument {
    /// The document for a server of `version`.
    pub fn new(version: &str) -> Self {
        SourceDocument {
            server: SourceServer {
                version: version.to_owned(),
                other: serde_json::Map::new(),
            },
            other: serde_json::Map::new(),
        }
    }
}

/// Compares two Octopus Server versions (`2023.2.12345`, `2024.1.100-hotfix`) by their numeric
/// parts (`year.release.build`, missing parts count as 0); `None` when either is not of that
/// form, so a version we cannot read is never taken for an older one.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    Some(numbers(a)?.cmp(&numbers(b)?))
}

fn numbers(version: &str) -> Option<[u64; 4]> {
    // The pre-release or build suffix (`-hotfix`, `+sha`) does not order Octopus releases.
    let core = version.trim().split(['-', '+']).next()?;
    let mut parts = [0u64; 4];
    let mut count = 0;
    for (slot, piece) in parts.iter_mut().zip(core.split('.')) {
        *slot = piece.parse().ok()?;
        count += 1;
    }
    (count >= 2 && core.split('.').count() <= 4).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        for (a, b, want) in [
            ("2020.5.0", "2024.1.100", Some(Ordering::Less)),
            ("2024.1.100", "2024.1.99", Some(Ordering::Greater)),
            ("2024.1", "2024.1.0", Some(Ordering::Equal)),
            ("2023.2.12345-hotfix", "2023.2.12345", Some(Ordering::Equal)),
            ("2025.10.1", "2025.9.7", Some(Ordering::Greater)),
            ("latest", "2024.1.0", None),
            ("2024", "2024.1.0", None),
            ("2024.x.1", "2024.1.0", None),
            ("1.2.3.4.5", "1.2.3", None),
        ] {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn the_document_keeps_unknown_fields() {
        let text = r#"{"Server":{"Version":"2024.1.100","Edition":"x"},"Later":1}"#;
        let doc: Result<SourceDocument, _> = serde_json::from_str(text);
        let back = doc.map(|d| serde_json::to_value(&d).ok());
        assert_eq!(
            back.ok().flatten(),
            serde_json::from_str::<serde_json::Value>(text).ok()
        );
    }
}
