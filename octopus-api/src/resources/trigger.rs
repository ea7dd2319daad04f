//! Project triggers: what makes a server create a release or deploy without anyone asking.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Other;

/// `ProjectTriggerResource` (`GET projects/{id}/triggers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectTrigger {
    /// `ProjectTriggers-N`.
    pub id: String,
    /// Its name (unique in its project).
    pub name: String,
    /// A disabled trigger does nothing.
    #[serde(default)]
    pub is_disabled: bool,
    /// `TriggerFilterResource`: when it fires (`FilterType` and its own fields).
    #[serde(default)]
    pub filter: Value,
    /// `TriggerActionResource`: what it does (`ActionType` and its own fields).
    #[serde(default)]
    pub action: Value,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

impl ProjectTrigger {
    /// `Filter.FilterType` (`OnceDailySchedule`, `MachineFilter`, `FeedFilter`, ...).
    pub fn filter_type(&self) -> &str {
        self.filter
            .get("FilterType")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `Action.ActionType` (`AutoDeploy`, `DeployLatestRelease`, `DeployNewRelease`,
    /// `CreateRelease`, `RunRunbook`, ...).
    pub fn action_type(&self) -> &str {
        self.action
            .get("ActionType")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Whether it is enabled and would create a release or deploy one: every action but
    /// `RunRunbook`, and any action type this client does not know (a newer server's kind is
    /// assumed to start something until shown otherwise).
    pub fn starts_releases(&self) -> bool {
        !self.is_disabled && self.action_type() != "RunRunbook"
    }
}
