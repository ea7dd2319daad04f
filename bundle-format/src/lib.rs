//! Zonebridge bundles: the signed, streaming, verify-before-trust container that carries a
//! release into a secure zone and a deployment result back out.
//!
//! The format is specified in `docs/bundle-format.md`; section numbers in doc comments refer
//! to it. This crate is pure: it reads from `Read` and writes to `Write` (and, for unpacking, a
//! private staging folder), and knows nothing of Octopus, networks or databases.
//!
//! - Writing: [`container::writer::PayloadWriter`] then [`pack::seal`], or
//!   [`release_dir::ReleaseDir::pack`] for a release folder.
//! - Verifying: [`verify::verify_bundle`] into a [`verify::EntrySink`] such as
//!   [`staging::Staging`]; it returns a [`verify::VerifiedBundle`] or a [`verify::VerifyError`].
//! - Trust: [`keys`] and [`policy`]; ordering: [`channel`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bounded;
mod cbor;
pub mod cbor_items;
mod cbor_profile;
pub mod channel;
pub mod container;
pub mod inspect;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod names;
pub mod pack;
pub mod policy;
pub mod pretrust;
pub mod regular_file;
pub mod release_dir;
pub mod signature;
pub mod staging;
pub mod verify;

#[cfg(fuzzing)]
pub mod fuzzing;
