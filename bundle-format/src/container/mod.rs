//! The container (spec section 4): three zstd frames holding ustar records.
//!
//! ```text
//! +-------------------------+-------------------------+--------------------------------------+
//! | F1: zstd frame          | F2: zstd frame          | F3: zstd frame (multithreaded)       |
//! |  ustar record           |  ustar record           |  ustar record per manifest entry,    |
//! |  zonebridge/            |  zonebridge/            |  in manifest order, then two zero    |
//! |  signatures.cbor        |  manifest.cbor          |  blocks (end of archive)             |
//! +-------------------------+-------------------------+--------------------------------------+
//! ```
//! Concatenated, the frames decompress to one tar stream that `zstd -dc | tar -t` lists.

pub(crate) mod blocks;
pub(crate) mod frame;
pub(crate) mod reader;
pub(crate) mod ustar;
pub mod writer;
