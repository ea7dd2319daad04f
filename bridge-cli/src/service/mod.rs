//! What the long-running commands (`bridge-export run`, `bridge-import watch`,
//! `bridge-export watch`) share: [`logging`] (text or JSON lines, for a SIEM) and [`stop`]
//! (a graceful end on SIGTERM or SIGINT).

pub mod logging;
pub mod stop;
