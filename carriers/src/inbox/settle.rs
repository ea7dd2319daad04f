//! The settle rule: a file is complete once its [`Stamp`] stayed the same for the settle
//! time (measured on this process's monotonic clock, so a sender's clock does not matter),
//! or at once if it arrived by a rename into the inbox and has not changed since.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::candidate::Stamp;

#[derive(Debug, Clone, Copy)]
struct Seen {
    stamp: Stamp,
    since: Instant,
    renamed_in: bool,
}

/// What the engine knows of each candidate's stability.
#[derive(Debug, Default)]
pub(crate) struct Settle {
    files: BTreeMap<String, Seen>,
}

impl Settle {
    /// Records that `name` arrived by a rename into the inbox (inotify `MOVED_TO`) with
    /// `stamp`.
    pub fn renamed_in(&mut self, name: &str, stamp: Stamp, now: Instant) {
        self.files.insert(
            name.to_owned(),
            Seen {
                stamp,
                since: now,
                renamed_in: true,
            },
        );
    }

    /// Records a look at `name`; returns when it will be settled (`now` or earlier if it is).
    pub fn observe(&mut self, name: &str, stamp: Stamp, now: Instant, settle: Duration) -> Instant {
        let seen = self.files.entry(name.to_owned()).or_insert(Seen {
            stamp,
            since: now,
            renamed_in: false,
        });
        if seen.stamp != stamp {
            *seen = Seen {
                stamp,
                since: now,
                renamed_in: false,
            };
        }
        if seen.renamed_in {
            seen.since
        } else {
            seen.since + settle
        }
    }

    /// Puts `name` back to wait the whole settle time from `now` (it changed while handled,
    /// or looked truncated while young).
    pub fn reset(&mut self, name: &str, stamp: Stamp, now: Instant) {
        self.files.insert(
            name.to_owned(),
            Seen {
                stamp,
                since: now,
                renamed_in: false,
            },
        );
    }

    /// Forgets files no longer in the inbox.
    pub fn retain(&mut self, present: impl Fn(&str) -> bool) {
        self.files.retain(|name, _| present(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64, inode: u64) -> Stamp {
        Stamp {
            size,
            modified: None,
            inode,
            device: 1,
        }
    }

    #[test]
    fn a_growing_file_waits_again_after_each_change() {
        let mut settle = Settle::default();
        let t0 = Instant::now();
        let wait = Duration::from_secs(5);
        assert_eq!(settle.observe("a.zb", stamp(10, 1), t0, wait), t0 + wait);
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(settle.observe("a.zb", stamp(20, 1), t1, wait), t1 + wait);
        let t2 = t1 + Duration::from_secs(5);
        assert!(settle.observe("a.zb", stamp(20, 1), t2, wait) <= t2);
    }

    #[test]
    fn a_file_replaced_under_the_same_name_waits_again() {
        let mut settle = Settle::default();
        let t0 = Instant::now();
        let wait = Duration::from_secs(5);
        settle.observe("a.zb", stamp(10, 1), t0, wait);
        let t1 = t0 + Duration::from_secs(6);
        assert_eq!(settle.observe("a.zb", stamp(10, 2), t1, wait), t1 + wait);
    }

    #[test]
    fn a_file_renamed_in_is_taken_at_once_unless_it_changes() {
        let mut settle = Settle::default();
        let t0 = Instant::now();
        let wait = Duration::from_secs(5);
        settle.renamed_in("a.zb", stamp(10, 1), t0);
        assert!(settle.observe("a.zb", stamp(10, 1), t0, wait) <= t0);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(settle.observe("a.zb", stamp(11, 1), t1, wait), t1 + wait);
        settle.reset("a.zb", stamp(11, 1), t1);
        assert_eq!(settle.observe("a.zb", stamp(11, 1), t1, wait), t1 + wait);
    }
}
