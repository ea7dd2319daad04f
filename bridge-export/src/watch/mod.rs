//! `watch`: result bundles coming home, taken in unattended. The `carriers::inbox` engine
//! watches the results inbox, settles files and orders them by channel; this module is its
//! [`carriers::inbox::Handler`] for result bundles, and does for each file exactly what
//! `results FILE` does ([`crate::results::receive::receive`]):
//!
//! ```text
//!  inbox/*.zb --engine: settled, head peeked, channel order--> ResultsHandler::handle
//!    next_expected(channel): the export ledger's last accepted result + 1, skips passed
//!    handle: policy read again (a `policy trust` counts without a restart)
//!            receive = take (verify, answers, record) + note on the development release
//!      recorded          -> Done        -> done/NAME
//!      already recorded  -> AlreadyDone -> done/NAME (the note is written again)
//!      refused           -> Refused { code, message, hint } -> the engine's codes decide:
//!                           quarantine/NAME + NAME.json, or left in the inbox and retried
//! ```

mod handler;

pub use handler::ResultsHandler;
