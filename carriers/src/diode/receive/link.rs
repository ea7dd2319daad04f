//! The link as heartbeats show it: the sender's session (a new one is a sender restart),
//! link-level loss from its `sent` counter, and silence when nothing authenticated arrives.

use std::time::{Duration, Instant};

use super::super::announce::Heartbeat;

/// What the heartbeats tell.
#[derive(Debug)]
pub struct Link {
    session: Option<[u8; 8]>,
    sent: u64,
    received: u64,
    last_authenticated: Instant,
    silent: bool,
    /// Loss between the last two heartbeats (0..=1), once two of the same session arrived.
    pub loss: Option<f64>,
}

/// A change worth a log line.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkChange {
    /// A new sender session (the sender started or restarted).
    Session {
        /// The session id, hex.
        session: String,
        /// Whether a session was known before.
        restarted: bool,
    },
    /// Nothing authenticated arrived for this long.
    Silent(Duration),
    /// Authenticated datagrams arrive again after this long.
    Back(Duration),
}

impl Link {
    /// A link not heard yet (silence counts from `now`).
    pub fn new(now: Instant) -> Self {
        Self {
            session: None,
            sent: 0,
            received: 0,
            last_authenticated: now,
            silent: false,
            loss: None,
        }
    }

    /// Whether the link is reported silent.
    pub fn silent(&self) -> bool {
        self.silent
    }

    /// One more datagram arrived (any, even one dropped later).
    pub fn datagram(&mut self) {
        self.received += 1;
    }

    /// An authenticated header or heartbeat arrived.
    pub fn authenticated(&mut self, now: Instant) -> Option<LinkChange> {
        let quiet = now.saturating_duration_since(self.last_authenticated);
        self.last_authenticated = now;
        if self.silent {
            self.silent = false;
            return Some(LinkChange::Back(quiet));
        }
        None
    }

    /// An authenticated heartbeat.
    pub fn heartbeat(&mut self, beat: &Heartbeat, now: Instant) -> Vec<LinkChange> {
        let mut changes: Vec<LinkChange> = self.authenticated(now).into_iter().collect();
        if self.session == Some(beat.session) {
            let sent = beat.sent.saturating_sub(self.sent);
            if sent > 0 {
                let received = self.received.min(sent) as f64;
                self.loss = Some(1.0 - received / sent as f64);
            }
        } else {
            changes.push(LinkChange::Session {
                session: hex::encode(beat.session),
                restarted: self.session.is_some(),
            });
            self.session = Some(beat.session);
            self.loss = None;
        }
        self.sent = beat.sent;
        self.received = 0;
        changes
    }

    /// Reports silence once `silence` passed without anything authenticated.
    pub fn tick(&mut self, now: Instant, silence: Duration) -> Option<LinkChange> {
        let quiet = now.saturating_duration_since(self.last_authenticated);
        if !self.silent && quiet >= silence {
            self.silent = true;
            return Some(LinkChange::Silent(quiet));
        }
        None
    }
}
