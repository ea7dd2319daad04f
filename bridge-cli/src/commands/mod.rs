//! The commands both binaries offer, each with its arguments and `run`.

pub mod channel;
pub mod inspect;
pub mod keygen;
pub mod ledger;
pub mod policy;
