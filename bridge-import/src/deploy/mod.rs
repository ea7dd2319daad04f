//! `deploy`: a release imported by Zonebridge is deployed on the secure-zone Octopus, its task
//! followed, and its outcome written as a signed result bundle for the development zone.
//!
//! ```text
//!  ledger: the accepted release bundle of (project, version) ──> what the result answers
//!  instance: project, release, environment, tenant by name ──> ids              target.rs
//!  ledger: deployment (project, version, zone, environment, tenant)
//!    ├ before "requested": the preview's form ──> FormValues; a NAME that is no prompted
//!    │     variable, a required one without a value: refused, nothing started  prompted.rs
//!    ├ none, or ended and --redeploy: "requested" (LEDGER FIRST), then POST deployments
//!    │     once (Comments carry a request token), then "deploying" with the task id
//!    ├ "requested" (a crash came between): the deployment whose Comments carry the
//!    │     token is taken over, else created
//!    ├ "deploying" / "waiting": follow the same task again (never a second deployment)
//!    └ ended: nothing to do; reports the recorded outcome (--redeploy deploys again)
//!  follow the task: backoff, until it ends or --timeout                           follow.rs
//!  outcome: state, steps from the activity tree, what it waits for                 outcome.rs
//!  raw log (bounded) ──scrub every known secret value──> logs/task.log            scrub.rs
//!  result bundle: next on channel <zone>-><source zone>/result, signed ──> FILE    result.rs
//!  ledger: result exported + deployment state + promotion, one transaction (LAST)
//! ```
//!
//! A crash at any point leaves a state that the same command completes: at most one
//! deployment is created per request, and a result bundle counts once the ledger records it
//! (written again after a crash, it has the same bytes when the deployment had ended).

pub mod follow;
pub mod outcome;
pub mod prompted;
pub mod report;
pub mod result;
pub mod run;
pub mod scrub;
pub mod target;
