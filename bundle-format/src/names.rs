//! Validated names: zone ids, key ids, bundle ids, digests and entry paths.
//!
//! From the bundle spec, section 2: every identifier that arrives from outside is checked
//! once, when it is built, and cannot exist in an invalid state afterwards. None of these
//! types derefs to `str`; callers who need the text ask for it with `as_str`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// A zone id broke the rules of spec section 2.1.
    #[error(
        "zone id {value:?} is not valid: {reason}\nHint: zone ids are 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
    )]
    Zone {
        /// The refused text.
        value: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// An entry path broke the rules of spec section 2.3.
    #[error("entry path {value:?} is not valid: {reason}")]
    Path {
        /// The refused text.
        value: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A hex identifier (key id, bundle id, digest) had the wrong length or characters.
    #[error("{what} {value:?} is not valid: expected {expected} lowercase hex characters")]
    Hex {
        /// What kind of identifier it was meant to be.
        what: &'static str,
        /// The refused text.
        value: String,
        /// How many hex characters were expected.
        expected: usize,
    },
}

/// The longest zone id accepted (spec 2.1).
pub const MAX_ZONE_LEN: usize = 64;
/// The longest entry path accepted (spec 2.3); it is what a ustar prefix and name can hold.
pub const MAX_PATH_LEN: usize = 255;
/// The folder reserved for the signature block and the manifest (spec 2.3).
pub const RESERVED_FOLDER: &str = "zonebridge";

/// A zone id such as `dev` or `pci-prod`: who a bundle comes from or is meant for.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneId(String);

impl ZoneId {
    /// Checks `value` against spec 2.1 and wraps it.
    pub fn new(value: &str) -> Result<Self, NameError> {
        let refuse = |reason| NameError::Zone {
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(refuse("it is empty"));
        }
        if value.len() > MAX_ZONE_LEN {
            return Err(refuse("it is longer than 64 bytes"));
        }
        if !value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(refuse("it must start with a lowercase letter or a digit"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(refuse(
                "it contains a character outside a-z, 0-9, '.', '_', '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The zone id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for ZoneId {
    type Error = NameError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl std::str::FromStr for ZoneId {
    type Err = NameError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZoneId({:?})", self.0)
    }
}

impl Serialize for ZoneId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ZoneId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

/// A relative path inside a bundle, such as `packages/Payments.Api.1.2.3.zip` (spec 2.3).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryPath(String);

impl EntryPath {
    /// Checks `value` against spec 2.3 (and refuses the reserved `zonebridge/` folder) and wraps it.
    pub fn new(value: &str) -> Result<Self, NameError> {
        let path = Self::new_any(value)?;
        if path
            .0
            .split('/')
            .next()
            .is_some_and(|top| top.eq_ignore_ascii_case(RESERVED_FOLDER))
        {
            return Err(NameError::Path {
                value: value.to_owned(),
                reason: "the top folder `zonebridge/` is reserved for the signature block and the manifest",
            });
        }
        Ok(path)
    }

    /// Checks the shape rules of spec 2.3 only; the container uses it for its own two records.
    pub(crate) fn new_any(value: &str) -> Result<Self, NameError> {
        let refuse = |reason| NameError::Path {
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(refuse("it is empty"));
        }
        if value.len() > MAX_PATH_LEN {
            return Err(refuse("it is longer than 255 bytes"));
        }
        if value.starts_with('/') {
            return Err(refuse("it is absolute; entry paths are relative"));
        }
        for component in value.split('/') {
            match component {
                "" => return Err(refuse("it has an empty component (`//` or a trailing `/`)")),
                "." | ".." => return Err(refuse("it has a `.` or `..` component")),
                _ => {}
            }
            if !component.bytes().all(is_path_byte) {
                return Err(refuse(
                    "it contains a character outside A-Z, a-z, 0-9 and . _ + ~ @ = , -",
                ));
            }
        }
        if crate::container::ustar::split_path(value).is_none() {
            return Err(refuse(
                "it does not fit a ustar header (name at most 100 bytes after a prefix of at most 155)",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The path as text, always with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components, for building a file-system path under a staging folder.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._+~@=,-".contains(&b)
}

impl TryFrom<&str> for EntryPath {
    type Error = NameError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryPath({:?})", self.0)
    }
}

impl Serialize for EntryPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EntryPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

/// Fixed-size byte identifiers that travel as CBOR byte strings and show as lowercase hex.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Parses lowercase (or uppercase) hex of exactly the right length.
            pub fn from_hex(text: &str) -> Result<Self, NameError> {
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(text, &mut bytes).map_err(|_| NameError::Hex {
                    what: $what,
                    value: text.to_owned(),
                    expected: $len * 2,
                })?;
                Ok(Self(bytes))
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::from_hex(text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let bytes = crate::cbor::ByteBuf::deserialize(deserializer)?;
                let array: [u8; $len] = bytes.0.as_slice().try_into().map_err(|_| {
                    serde::de::Error::custom(format_args!(
                        "{} must be {} bytes, found {}",
                        $what,
                        $len,
                        bytes.0.len()
                    ))
                })?;
                Ok(Self(array))
            }
        }
    };
}

hex_id!(
    /// A key id: the first 16 bytes of SHA-256 of the raw Ed25519 public key (spec 2.2).
    KeyId, 16, "key id"
);
hex_id!(
    /// A bundle id: 16 bytes that name a bundle to people and logs (spec 2.4).
    BundleId, 16, "bundle id"
);
hex_id!(
    /// A SHA-256 digest: of an entry's bytes, or of the manifest bytes (the bundle digest).
    Digest, 32, "SHA-256 digest"
);
hex_id!(
    /// A SHA-1 digest, which Octopus uses to identify package files in its feeds.
    Sha1Digest, 20, "SHA-1 digest"
);

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(bytes).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids() {
        assert!(ZoneId::new("dev").is_ok());
        assert!(ZoneId::new("pci-prod.eu_1").is_ok());
        for bad in ["", "Dev", "-dev", "dev zone", "dév", &"a".repeat(65)] {
            assert!(ZoneId::new(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn entry_paths() {
        for good in [
            "process.json",
            "packages/Payments.Api.1.2.3+build.7.zip",
            "a/b/c",
        ] {
            assert!(EntryPath::new(good).is_ok(), "{good:?} should pass");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a b",
            "zonebridge/manifest.cbor",
            "ZoneBridge/x",
            "ünïcode",
            &"a".repeat(101),
            &"a".repeat(256),
        ] {
            assert!(EntryPath::new(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}/{}", "d".repeat(150), "f".repeat(100));
        assert!(EntryPath::new(&long).is_ok());
    }

    #[test]
    fn hex_ids_round_trip() {
        let id = KeyId::from_bytes([0xab; 16]);
        assert_eq!(KeyId::from_hex(&id.to_hex()), Ok(id));
        assert!(KeyId::from_hex("abc").is_err());
    }
}
