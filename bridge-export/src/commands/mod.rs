//! The commands only `bridge-export` has; `keygen`, `policy` and `inspect` come from
//! `bridge-cli`.

pub mod export;
pub mod health;
pub mod pack;
pub mod results;
pub mod run;
pub mod send;
pub mod sign;
pub mod status;
pub mod watch;
