//! The one-way UDP diode carrier (docs/diode.md): bundles cross a link where nothing can come
//! back, protected by RaptorQ forward error correction and announced by signed headers.
//!
//! - [`wire`]: the datagrams' framing (magic, version, type, CRC).
//! - [`announce`]: the signed bodies: the transfer header and the heartbeat.
//! - [`trust`]: whether the receiver's trust policy lets a header's signer announce it.
//! - [`fec`]: RaptorQ applied one block at a time.
//! - [`send`]: the sender: prepare a bundle, pace, interleave, repeat.
//! - [`receive`]: the receiver: authenticates, collects, verifies and delivers bundles.

pub mod announce;
pub mod fec;
pub mod receive;
pub mod send;
pub mod trust;
pub mod wire;

#[cfg(test)]
pub(crate) mod test_policy;
