//! `results`: a result bundle from a secure zone is verified, checked against what this side
//! exported, recorded, and noted on the development instance's release.
//!
//! ```text
//!  FILE ──verify (spec 8, the same as import) into a private staging folder──> Staged
//!    │ refused: the ledger records it (reason), exit 1, nothing else changes
//!  kind must be `result`
//!  ledger: digest accepted before? ── yes ──> "already recorded" (the note is written again)
//!  ledger: channel <zone>->dev/result ──check_sequence (spec 9)──> next | after skipped
//!    │ replay = already recorded; rollback, chain broken, gap, skipped: refused
//!  `answers`: a release bundle this side exported, to that zone, same id, sequence,
//!             project and version ── otherwise refused (spec 9.2: "the receiver of a
//!             result checks that it exported that release")
//!  ledger: result accepted + deployment state + promotion "result returned" (one transaction)
//!  ledger: the secure ledger's head the result carries (spec 5.4), and whether it went back
//!  note on the release in the development instance (unless --no-note)            note.rs
//!    every cell escaped: result text is hostile even when signed                markdown.rs
//! ```
//!
//! [`receive::receive`] is the whole of it for one bundle, called by `results FILE` and, for
//! each file of a results inbox, by `watch`.

pub mod markdown;
pub mod note;
pub mod receive;
pub mod take;
