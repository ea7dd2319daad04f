//! Signing keys and public keys (spec 6.3): Ed25519, PKCS#8 and SubjectPublicKeyInfo PEM files
//! that OpenSSL reads, and key ids derived from the public key.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use sha2::Digest as _;

use crate::bounded::BoundedReadError;
use crate::names::KeyId;

/// Largest key file read: a PEM key is a few hundred bytes.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("cannot {action} key file {}: {source}", path.display())]
    Io {
        /// Read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The private key file can be read by group or others.
    #[error(
        "private key file {} is readable by others (mode {mode:03o}); refusing to use it\nHint: run `chmod 600 {}`",
        path.display(), path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a PEM Ed25519 key of the expected kind.
    #[error("{} is not {expected}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What kind of key file was expected.
        expected: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// The public key is a small-order ("weak") point that could verify forged signatures.
    #[error("the public key {} is weak (small order) and is refused", path.display())]
    Weak {
        /// The file.
        path: PathBuf,
    },
    /// The file to create already exists.
    #[error("{} already exists; refusing to overwrite a key\nHint: choose another --out name, or remove the old key first", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The operating system gave no randomness.
    #[error("cannot get randomness from the operating system: {0}")]
    Random(String),
    /// A public key file was given where the private key is needed (`--key NAME.pub`).
    #[error(
        "{} is a public key (\"BEGIN PUBLIC KEY\"); signing needs the private key\nHint: give the private key file {} (keygen writes NAME.key, the private key, beside NAME.pub)",
        path.display(), private.display()
    )]
    PublicNotPrivate {
        /// The file given.
        path: PathBuf,
        /// Where the matching private key would be (`NAME.key` beside `NAME.pub`).
        private: PathBuf,
    },
    /// A private key file was given where a public key is expected (`policy trust NAME.key`).
    #[error(
        "{} is a private key; a policy trusts public keys\nHint: give the public key file {} (keygen writes NAME.pub beside NAME.key), and keep the private key where it is",
        path.display(), public.display()
    )]
    PrivateNotPublic {
        /// The file given.
        path: PathBuf,
        /// Where the matching public key would be.
        public: PathBuf,
    },
}

/// A public key, checked to be a valid, non-weak Ed25519 point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Wraps 32 raw bytes, refusing invalid and weak keys.
    pub fn from_raw(bytes: &[u8; 32]) -> Result<Self, String> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
        if key.is_weak() {
            return Err("a weak (small-order) Ed25519 public key".to_owned());
        }
        Ok(Self(key))
    }

    /// Reads a SubjectPublicKeyInfo PEM file (`NAME.pub`).
    pub fn read_pem_file(path: &Path) -> Result<Self, KeyError> {
        let (text, _) = read_small(path)?;
        if text.contains("PRIVATE KEY-----") {
            return Err(KeyError::PrivateNotPublic {
                path: path.to_owned(),
                public: with_suffix(&path.with_extension(""), "pub"),
            });
        }
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(text.trim()).map_err(|err| {
            KeyError::Malformed {
                path: path.to_owned(),
                expected: "an Ed25519 public key in PEM (\"BEGIN PUBLIC KEY\")",
                detail: err.to_string(),
            }
        })?;
        if key.is_weak() {
            return Err(KeyError::Weak {
                path: path.to_owned(),
            });
        }
        Ok(Self(key))
    }

    /// The key id of spec 2.2.
    pub fn key_id(&self) -> KeyId {
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        let mut id = [0u8; 16];
        for (slot, byte) in id.iter_mut().zip(digest.iter()) {
            *slot = *byte;
        }
        KeyId::from_bytes(id)
    }

    /// The raw 32 bytes.
    pub fn to_raw(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Whether `signature` is this key's over `message` in `domain` ([`SigningKey::sign_in`]),
    /// checked with `verify_strict` as bundle signatures are.
    pub fn verify_in(&self, domain: SigningDomain, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0
            .verify_strict(&domain.input(message), &signature)
            .is_ok()
    }

    /// The PEM text of the public key.
    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_else(|err| unreachable!("encoding a 32-byte public key failed: {err}"))
    }

    pub(crate) fn verifying_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.0
    }
}

/// A private signing key. It never leaves the process except through [`SigningKey::write_files`].
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|err| KeyError::Random(err.to_string()))?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A key from a 32-byte seed; for test vectors, never for production keys.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Reads a PKCS#8 PEM private key, refusing files readable by group or others, and saying
    /// so when the file is the public key instead.
    pub fn read_pem_file(path: &Path) -> Result<Self, KeyError> {
        let (text, meta) = read_small(path)?;
        // Before the mode check: a public key is meant to be readable, and `chmod 600` on it
        // would be the wrong fix.
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            return Err(KeyError::PublicNotPrivate {
                path: path.to_owned(),
                private: with_suffix(&path.with_extension(""), "key"),
            });
        }
        check_private_mode(path, &meta)?;
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim()).map_err(|err| {
            KeyError::Malformed {
                path: path.to_owned(),
                expected: "an Ed25519 private key in PKCS#8 PEM (\"BEGIN PRIVATE KEY\")",
                detail: err.to_string(),
            }
        })?;
        Ok(Self(key))
    }

    /// Writes `<stem>.key` (mode 0600, PKCS#8 v1 as `openssl genpkey` writes it) and
    /// `<stem>.pub`, refusing to overwrite either. Returns both paths.
    pub fn write_files(&self, stem: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
        let key_path = with_suffix(stem, "key");
        let pub_path = with_suffix(stem, "pub");
        for path in [&key_path, &pub_path] {
            if path.exists() {
                return Err(KeyError::Exists { path: path.clone() });
            }
        }
        // Version 1 (no embedded public key) is what OpenSSL itself writes for Ed25519.
        let bytes = KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        let pem = bytes
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| KeyError::Malformed {
                path: key_path.clone(),
                expected: "an encodable key",
                detail: err.to_string(),
            })?;
        write_new(&key_path, pem.as_bytes(), 0o600)?;
        write_new(&pub_path, self.public_key().to_pem().as_bytes(), 0o644)?;
        Ok((key_path, pub_path))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.0.sign(message).to_bytes()
    }

    /// Signs `message` for a carrier (`domain`'s prefix first), never as a manifest: the
    /// prefixes differ, so a signature made here can never pass as a bundle's (spec 6.2).
    pub fn sign_in(&self, domain: SigningDomain, message: &[u8]) -> [u8; 64] {
        self.sign(&domain.input(message))
    }
}

/// What else than a manifest a Zonebridge key signs; each has its own prefix (domain
/// separation), distinct from the manifest's `zonebridge bundle manifest v1\0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningDomain {
    /// The diode's transfer header (docs/diode.md, "Header").
    DiodeHeader,
    /// The diode's heartbeat (docs/diode.md, "Heartbeat").
    DiodeHeartbeat,
}

impl SigningDomain {
    /// The prefix signed before the message.
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Self::DiodeHeader => b"zonebridge diode header v1\0",
            Self::DiodeHeartbeat => b"zonebridge diode heartbeat v1\0",
        }
    }

    fn input(self, message: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(self.prefix().len() + message.len());
        input.extend_from_slice(self.prefix());
        input.extend_from_slice(message);
        input
    }
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The key file's text and the metadata of the very file read (a regular, non-empty file).
fn read_small(path: &Path) -> Result<(String, fs::Metadata), KeyError> {
    crate::bounded::read_nonempty(path, MAX_KEY_FILE_BYTES).map_err(|err| match err {
        BoundedReadError::Io(source) => KeyError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        },
        BoundedReadError::TooLarge => KeyError::Malformed {
            path: path.to_owned(),
            expected: "a PEM key file",
            detail: format!("it is larger than {MAX_KEY_FILE_BYTES} bytes"),
        },
    })
}

#[cfg(unix)]
fn check_private_mode(path: &Path, meta: &fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path, _meta: &fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_modes_are_enforced() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = SigningKey::generate()?;
        let (key_path, pub_path) = key.write_files(&dir.path().join("alice"))?;
        let read = SigningKey::read_pem_file(&key_path)?;
        assert_eq!(read.public_key(), key.public_key());
        assert_eq!(PublicKey::read_pem_file(&pub_path)?, key.public_key());
        assert!(matches!(
            key.write_files(&dir.path().join("alice")),
            Err(KeyError::Exists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&key_path, fs::Permissions::from_mode(0o640))?;
            assert!(matches!(
                SigningKey::read_pem_file(&key_path),
                Err(KeyError::TooOpen { mode: 0o640, .. })
            ));
        }
        Ok(())
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point, encoded: a small-order key that "verifies" forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_raw(&identity).is_err());
    }
}

#[cfg(test)]
mod signing_domain_tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_in_its_own_domain() {
        let key = SigningKey::from_seed(&[7; 32]);
        let public = key.public_key();
        let signature = key.sign_in(SigningDomain::DiodeHeader, b"header");
        assert!(public.verify_in(SigningDomain::DiodeHeader, b"header", &signature));
        assert!(!public.verify_in(SigningDomain::DiodeHeartbeat, b"header", &signature));
        assert!(!public.verify_in(SigningDomain::DiodeHeader, b"headeR", &signature));
        let manifest_signature = key.sign(&crate::signature::signing_input(b"header"));
        assert!(!public.verify_in(SigningDomain::DiodeHeader, b"header", &manifest_signature));
        let other = SigningKey::from_seed(&[8; 32]).public_key();
        assert!(!other.verify_in(SigningDomain::DiodeHeader, b"header", &signature));
    }
}
