//! The commands only `bridge-import` has; `keygen`, `policy` and `inspect` come from
//! `bridge-cli`.

pub mod deploy;
pub mod health;
pub mod import;
pub mod receive;
pub mod unpack;
pub mod verify;
pub mod watch;
