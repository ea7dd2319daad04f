//! A graceful end for services. Once [`enter_service_mode`] is called, the first SIGTERM or
//! SIGINT does not end the process: it sets the stop flag, which the service checks between
//! pieces of work ([`stopping`]) and which wakes it from its waits ([`sleep`]), so that it
//! finishes the bundle in hand and exits 0. A second signal ends the process at once as any
//! command ends (temporary files removed, exit 130 or 143); what was in hand is then taken up
//! again by the next start, as after a SIGKILL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

static SERVICE_MODE: AtomicBool = AtomicBool::new(false);
static STOPPING: Mutex<bool> = Mutex::new(false);
static WAKE: Condvar = Condvar::new();

/// From now on the first SIGTERM or SIGINT asks the service to stop instead of ending it.
pub fn enter_service_mode() {
    SERVICE_MODE.store(true, Ordering::SeqCst);
}

/// Whether the first signal should only ask to stop (called by the signal thread).
pub(crate) fn in_service_mode() -> bool {
    SERVICE_MODE.load(Ordering::SeqCst)
}

/// Asks the service to stop and wakes it; true the first time (the signal thread ends the
/// process on the second).
pub fn request_stop() -> bool {
    let mut stopping = STOPPING.lock().unwrap_or_else(|p| p.into_inner());
    let first = !*stopping;
    *stopping = true;
    WAKE.notify_all();
    first
}

/// Whether a stop was asked for.
pub fn stopping() -> bool {
    *STOPPING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits `duration`, or less if a stop is asked for; returns false if the service should
/// stop.
pub fn sleep(duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    let mut stopping = STOPPING.lock().unwrap_or_else(|p| p.into_inner());
    while !*stopping {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        stopping = match WAKE.wait_timeout(stopping, deadline - now) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_wakes_a_sleeping_service() {
        let started = Instant::now();
        let sleeper = std::thread::spawn(|| sleep(Duration::from_secs(600)));
        std::thread::sleep(Duration::from_millis(50));
        assert!(request_stop(), "the first request");
        assert!(!request_stop(), "a second request is not the first");
        assert_eq!(sleeper.join().ok(), Some(false), "woken to stop");
        assert!(stopping());
        assert!(!sleep(Duration::from_secs(600)), "no wait once stopping");
        assert!(started.elapsed() < Duration::from_secs(600));
    }
}
