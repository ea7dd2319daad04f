//! The receiver's events as log lines: one per event, with its figures as fields, and
//! `event` naming it (`diode.delivered`, `diode.advice`, `diode.link-silent`,
//! `diode.link-back`, `diode.ignored`, ...) so a SIEM can select them from the JSON.

use carriers::diode::receive::Event;

/// Logs every event.
pub fn events(events: &[Event]) {
    events.iter().for_each(event);
}

fn event(event: &Event) {
    match event {
        Event::Opened {
            transfer,
            name,
            size,
            resumed_blocks,
        } => tracing::info!(
            event = "diode.opened",
            transfer = %transfer,
            name = %name,
            size,
            resumed_blocks,
            "transfer {transfer} of {name} ({size} bytes) opened ({resumed_blocks} block(s) already on disk)"
        ),
        Event::Delivered(d) => tracing::info!(
            event = "diode.delivered",
            transfer = %d.transfer,
            name = %d.name,
            path = %d.path.display(),
            size = d.size,
            packets = d.datagrams,
            symbols = d.symbols,
            duplicates = d.duplicates,
            loss_percent = d.loss_percent,
            repair_symbols = d.repair_used,
            recollected_blocks = d.recollected,
            late_blocks = d.late_blocks,
            duration_seconds = d.duration.as_secs_f64(),
            goodput_bps = d.goodput_bps,
            already_there = d.already_there,
            "delivered {} (transfer {}): {} packets, {:.2}% estimated loss, {} repair symbols used, {:.3}s, {:.1} Mbit/s",
            d.name,
            d.transfer,
            d.datagrams,
            d.loss_percent,
            d.repair_used,
            d.duration.as_secs_f64(),
            d.goodput_bps / 1e6
        ),
        Event::Advice {
            transfer,
            name,
            loss_percent,
            overhead_percent,
            needed_percent,
            late_blocks,
        } => tracing::warn!(
            event = "diode.advice",
            transfer = %transfer,
            name = %name,
            loss_percent,
            overhead_percent,
            needed_percent,
            late_blocks,
            "estimated loss {loss_percent:.2}% against an overhead of {overhead_percent:.1}% ({late_blocks} block(s) needed a later round): overhead {needed_percent:.0}% would have been needed (sender: --overhead {needed_percent:.0}%)"
        ),
        Event::Closed {
            transfer,
            name,
            verified_blocks,
            blocks,
        } => tracing::info!(
            event = "diode.closed",
            transfer = %transfer,
            name = %name,
            verified_blocks,
            blocks,
            "transfer {transfer} of {name} idle: closed with {verified_blocks} of {blocks} blocks on disk (a later repetition completes it)"
        ),
        Event::Failed {
            transfer,
            name,
            error,
        } => tracing::error!(
            event = "diode.failed",
            transfer = %transfer,
            name = %name,
            error = %error,
            "transfer {transfer} of {name} failed: {error}"
        ),
        Event::Session { session, restarted } => tracing::info!(
            event = "diode.session",
            session = %session,
            restarted,
            "sender session {session}{}",
            if *restarted { " (the sender restarted)" } else { "" }
        ),
        Event::LinkSilent(quiet) => tracing::warn!(
            event = "diode.link-silent",
            silent_seconds = quiet.as_secs_f64(),
            "nothing authenticated arrived for {:.0}s: the link or the sender is down",
            quiet.as_secs_f64()
        ),
        Event::LinkBack(quiet) => tracing::info!(
            event = "diode.link-back",
            silent_seconds = quiet.as_secs_f64(),
            "authenticated datagrams arrive again after {:.0}s of silence",
            quiet.as_secs_f64()
        ),
        Event::Ignored(report) => {
            let counts = report
                .counts
                .iter()
                .map(|(reason, n)| format!("{reason}={n}"))
                .collect::<Vec<_>>()
                .join(" ");
            let detail = report.detail.as_deref().unwrap_or("");
            tracing::warn!(
                event = "diode.ignored",
                counts = %counts,
                detail = %detail,
                "datagrams dropped since the last report: {counts}{}{detail}",
                if detail.is_empty() { "" } else { "; last: " }
            );
        }
    }
}
