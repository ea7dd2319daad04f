//! A task's activity log: the tree that `/details` shows as `ActivityLogs` and `/raw` prints.
//!
//! The tree follows Octopus's shape: one root per task ("Deploy Payments release 1.4.0 to
//! Production"), a child per step ("Step 1: Migrate database"), log lines on the nodes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One node of the activity tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogNode {
    /// Stable id within the task (`ServerTasks-7_1`).
    pub id: String,
    /// What the node stands for.
    pub name: String,
    /// `Pending`, `Running`, `Success`, `Failed`, `Skipped`, `Canceled` (the Swagger enum).
    pub status: String,
    /// When the node started running.
    pub started: Option<String>,
    /// When it ended.
    pub ended: Option<String>,
    /// Its log lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Its children, in order.
    pub children: Vec<LogNode>,
}

/// One log line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    /// `Info`, `Error`, `Warning`, `Verbose`.
    pub category: String,
    /// The text, already scrubbed of sensitive values.
    pub text: String,
    /// When it was written.
    pub at: String,
}

impl LogNode {
    /// A pending node.
    pub fn new(id: String, name: String) -> Self {
        LogNode {
            id,
            name,
            status: "Pending".to_owned(),
            started: None,
            ended: None,
            lines: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The node with this id, anywhere below (or at) this one.
    pub fn find_mut(&mut self, id: &str) -> Option<&mut LogNode> {
        if self.id == id {
            return Some(self);
        }
        self.children.iter_mut().find_map(|c| c.find_mut(id))
    }

    /// The node as `ActivityLogTreeNode`.
    pub fn to_json(&self) -> Value {
        json!({
            "Id": self.id,
            "Name": self.name,
            "Started": self.started,
            "Ended": self.ended,
            "Status": self.status,
            "ShowAtSummaryLevel": true,
            "ProgressPercentage": if self.ended.is_some() { 100 } else { 0 },
            "ProgressMessage": Value::Null,
            "LogElements": self.lines.iter().map(|l| json!({
                "Category": l.category,
                "MessageText": l.text,
                "Detail": Value::Null,
                "OccurredAt": l.at,
            })).collect::<Vec<_>>(),
            "Children": self.children.iter().map(LogNode::to_json).collect::<Vec<_>>(),
        })
    }

    /// Appends the raw-log rendering of this node and its children to `out`.
    ///
    /// Octopus's raw log writes each node as a `== Status: Name ==` header and each line as
    /// `HH:mm:ss   Category |   text`, two spaces deeper per level (Calamari PR #63).
    pub fn render_raw(&self, depth: usize, out: &mut String) {
        use std::fmt::Write as _;
        let indent = "  ".repeat(depth);
        let _ = writeln!(
            out,
            "{:20}| {indent}== {}: {} ==",
            "", self.status, self.name
        );
        for line in &self.lines {
            let clock = line.at.get(11..19).unwrap_or("");
            for text in line.text.lines() {
                let _ = writeln!(out, "{clock:8}   {:<9}| {indent}  {text}", line.category);
            }
        }
        for child in &self.children {
            child.render_raw(depth + 1, out);
        }
    }
}
