//! Where a running task writes: the nodes and lines of its activity log, every line masked of
//! the release's sensitive values and bounded in size.

use crate::app::App;
use crate::store::now;
use crate::tasklog::{LogLine, LogNode};

use super::variables;

/// The most lines one log node keeps; a script that prints more has the rest dropped, with a
/// note, so a chatty script cannot exhaust the stand-in's memory.
const MAX_LINES_PER_NODE: usize = 20_000;

/// The longest log line kept, in bytes; longer lines are cut with a note.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// One task's log, with the secrets to mask.
pub struct Out<'a> {
    /// The instance.
    pub app: &'a App,
    /// The task id (also the id of the log's root node).
    pub task: &'a str,
    /// Sensitive values, longest first.
    pub secrets: &'a [String],
}

impl Out<'_> {
    /// Appends a line, masked and bounded, to a node.
    pub fn line(&self, node: &str, category: &str, line: &str) {
        let mut text = variables::mask(line, self.secrets);
        if text.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(" [line cut by the stand-in]");
        }
        let entry = LogLine {
            category: category.to_owned(),
            text,
            at: now(),
        };
        self.app.touch(|s| {
            if let Some(n) = s.log_mut(self.task).and_then(|root| root.find_mut(node)) {
                match n.lines.len() {
                    len if len < MAX_LINES_PER_NODE => n.lines.push(entry),
                    len if len == MAX_LINES_PER_NODE => n.lines.push(LogLine {
                        category: "Warning".to_owned(),
                        text: format!(
                            "The stand-in keeps {MAX_LINES_PER_NODE} lines per step; later output is dropped."
                        ),
                        at: entry.at,
                    }),
                    _ => {}
                }
            }
        });
    }

    /// Sets a node's status, stamping its start and (unless still running) its end.
    pub fn status(&self, node: &str, status: &str) {
        let at = now();
        self.app.touch(|s| {
            if let Some(n) = s.log_mut(self.task).and_then(|root| root.find_mut(node)) {
                if n.started.is_none() {
                    n.started = Some(at.clone());
                }
                if !matches!(status, "Running" | "Pending") {
                    n.ended = Some(at);
                }
                n.status = status.to_owned();
            }
        });
    }

    /// Adds a pending child node under `parent`.
    pub fn child(&self, parent: &str, id: &str, name: &str) {
        let node = LogNode::new(id.to_owned(), name.to_owned());
        self.app.touch(|s| {
            if let Some(p) = s.log_mut(self.task).and_then(|root| root.find_mut(parent)) {
                p.children.push(node);
            }
        });
    }
}
