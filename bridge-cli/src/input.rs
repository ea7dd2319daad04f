//! Bundle inputs: a file, or standard input when the argument is `-`.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Where a bundle is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleInput {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl BundleInput {
    /// `-` means standard input; anything else is a file path.
    pub fn from_arg(path: &Path) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdin
        } else {
            Self::File(path.to_owned())
        }
    }

    /// Opens the input for reading.
    pub fn open(&self) -> anyhow::Result<Box<dyn Read + Send>> {
        match self {
            Self::Stdin => Ok(Box::new(io::stdin())),
            Self::File(path) => {
                // A FIFO, device, socket or directory is refused at once, never waited on; `-`
                // is how a pipe is given. An empty file is left to the verifier, whose verdict
                // the spec fixes (8.1.1: `not-a-bundle`, "found an empty file").
                let (file, _) = bundle_format::regular_file::open_regular(path)
                    .with_context(|| format!("cannot open the bundle {self}"))?;
                Ok(Box::new(file))
            }
        }
    }

    /// The file's size, when it is a file (for progress bars).
    pub fn file_size(&self) -> Option<u64> {
        match self {
            Self::Stdin => None,
            Self::File(path) => fs::metadata(path).ok().map(|m| m.len()),
        }
    }
}

impl fmt::Display for BundleInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdin => f.write_str("standard input"),
            // A file name is text from outside: shown escaped, in messages too.
            Self::File(path) => write!(f, "{}", crate::safe::Shown(path.display())),
        }
    }
}

/// A `Read` that counts the bytes through it, for progress over a compressed input.
#[derive(Debug)]
pub struct Counting<R, F> {
    inner: R,
    on_read: F,
}

impl<R: Read, F: FnMut(u64)> Counting<R, F> {
    /// Wraps `inner`; `on_read` hears of every chunk read.
    pub fn new(inner: R, on_read: F) -> Self {
        Self { inner, on_read }
    }
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_read)(n as u64);
        Ok(n)
    }
}
