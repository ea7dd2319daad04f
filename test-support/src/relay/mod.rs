//! The seeded lossy relay `zb-relay` puts between a diode's sender and receiver in the tests
//! (docs: `zb-relay --help`): [`rng`] draws, [`impair`] decides each datagram's fate.

pub mod impair;
pub mod rng;
