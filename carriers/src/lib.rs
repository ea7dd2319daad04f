//! How bundles move between zones, apart from what is in them (ARCHITECTURE.md, "Carriers"):
//!
//! - [`outbox_name`]: the names bundles get in an outbox, which sort by channel and sequence.
//! - [`publish`]: a file appears in an outbox only complete (staged beside it, synced, renamed).
//! - [`inbox`]: the watched inbox: settle, order by channel, hand to a [`inbox::Handler`], move to done/ or quarantine/.
//! - [`diode`]: the one-way UDP diode: datagrams, signed headers, RaptorQ, sender and receiver.
//! - [`metrics`]: the services' metrics file, in Prometheus's text format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod diode;
pub mod inbox;
pub mod metrics;
pub mod outbox_name;
pub mod publish;

#[cfg(test)]
mod test_bundle;
