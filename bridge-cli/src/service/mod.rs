//! What the long-running commands (`bridge-export run`, `bridge-import watch`,
//! `bridge-export watch`) share: [`logging`] (text or JSON lines, for a SIEM) and [`stop`]
//! (a graceful end on SIGTERM or SIGINT), and [`inbox`] (the flags, run and report of both
//! watches around the `carriers::inbox` engine).

pub mod inbox;
pub mod logging;
pub mod stop;
