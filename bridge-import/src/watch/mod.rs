//! `watch`: the secure side's unattended import. The generic engine ([`carriers::inbox`])
//! watches the inbox, settles, orders by channel and moves files; [`handler`] does what a
//! bundle means here:
//!
//! ```text
//!  engine: settled file, head peeked (channel, sequence; not trusted), in channel order
//!    handler.next_expected(channel) = ledger's last + 1, past bundles skipped   handler.rs
//!    handler.handle(file):
//!      import (the `import` pipeline, in-process): verify, resolve, write, ledger
//!        refused ──> Refused(code): the engine quarantines or retries by code
//!        already imported ──> a duplicate (or a re-run after a crash)
//!      for each --deploy "PROJECT=ENVIRONMENT" naming its project:
//!        deploy (the `deploy` pipeline: ledger first, one deployment per request,
//!        followed to its end), result bundle written in the results outbox's
//!        staging folder under its outbox name                                   results.rs
//!      publish every staged result the ledger recorded into the results outbox  results.rs
//!        a deploy or publish that fails: Retry (the bundle is fine, it was imported;
//!        the next attempt's import is a no-op and the deploy goes on)
//!    ──> Done / AlreadyDone: the engine moves the file to done/
//! ```
//!
//! # Exactly once, killed anywhere
//!
//! Each step is idempotent on its own, and the file stays in the inbox until every step has
//! finished, so a kill at any point means the whole handling runs again: the import is a
//! no-op the second time (the ledger accepted the bundle), the deploy follows the deployment
//! it already asked for (the ledger records the request before Octopus is asked, and the
//! request token finds a deployment created just before a kill), and a deployment that has
//! ended is not started again. The result bundle is written under its final outbox name
//! (result channel and sequence) in the staging folder beside the results outbox, then the
//! ledger records it, then it is renamed into the outbox. Killed after the write and before
//! the record, the deploy writes it again (same name, same bytes for an ended deployment);
//! killed after the record and before the rename, the staged file is published by the next
//! handling or at start-up, because the ledger knows its digest. So each result appears in
//! the outbox once, complete.

pub mod handler;
pub mod results;
