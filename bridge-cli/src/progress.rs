//! Progress bars on stderr, drawn only for a person at a terminal (see
//! [`crate::output::Output::progress_allowed`]); otherwise nothing at all is drawn.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// A byte-counting progress bar that may be absent.
#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for `total` bytes (a spinner when unknown) labelled `label`, if `out` allows one.
    pub fn bytes(out: &Output, label: &str, total: Option<u64>) -> Self {
        if !out.progress_allowed() {
            return Self(None);
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "{msg} {spinner} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        // Labels may quote a file name: shown escaped, like every text from outside.
        bar.set_message(crate::safe::safe_text(label).into_owned());
        Self(Some(bar))
    }

    /// Counts `n` more bytes.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// A counter for code that wants a `Send` closure (such as a counting reader).
    pub fn counter(&self) -> impl FnMut(u64) + Send + 'static {
        let bar = self.0.clone();
        move |n| {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        }
    }

    /// Starts the bar over for another phase of the same work: label `label`, counting bytes
    /// towards `total`, or a spinner (with the bytes so far) when `total` is unknown.
    pub fn restart(&self, label: &str, total: Option<u64>) {
        let Some(bar) = &self.0 else {
            return;
        };
        let template = match total {
            Some(total) => {
                bar.set_length(total);
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
            }
            None => {
                bar.unset_length();
                "{msg} {spinner} {bytes} {bytes_per_sec}"
            }
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(0);
        bar.set_message(crate::safe::safe_text(label).into_owned());
        // A spinner must move even while no byte does (compressing, flushing to disk).
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
