//! Following a deployment's task until it ends or the wait runs out: `GET tasks/{id}` with
//! backoff (a quarter of a second, doubling to at most five), then the task's activity tree and,
//! while it waits for a person, the pending interruption that says why.

use std::time::{Duration, Instant};

use octopus_api::Client;
use octopus_api::resources::{Interruption, Task, TaskDetails};

/// The first pause between two looks at the task.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause between two looks.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The task as it was when following stopped.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The task and its activity tree.
    pub details: TaskDetails,
    /// The interruption it waits on, if it has not ended and waits for a person.
    pub pending: Option<Interruption>,
}

/// Follows task `task_id` until it ends or `wait` has passed (`wait` zero: look once);
/// `on_change` hears each new task state (and each start or end of a wait for a person).
pub fn follow(
    client: &Client,
    task_id: &str,
    wait: Duration,
    on_change: &mut dyn FnMut(&Task),
) -> anyhow::Result<Followed> {
    let deadline = Instant::now().checked_add(wait);
    let mut pause = FIRST_PAUSE;
    let mut last: Option<(String, bool)> = None;
    loop {
        let task: Task = client.get(&format!("tasks/{task_id}"))?;
        let now_seen = (task.state.clone(), task.has_pending_interruptions);
        if last.as_ref() != Some(&now_seen) {
            on_change(&task);
            last = Some(now_seen);
        }
        let now = Instant::now();
        let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
        if task.is_completed || left.is_zero() {
            break;
        }
        std::thread::sleep(pause.min(left));
        pause = pause.saturating_mul(2).min(LONGEST_PAUSE);
    }
    let details: TaskDetails = client.get(&format!("tasks/{task_id}/details"))?;
    let pending = if details.task.is_completed || !details.task.has_pending_interruptions {
        None
    } else {
        let open: Vec<Interruption> = client.get_all(&format!(
            "interruptions?regarding={}&pendingOnly=true",
            octopus_api::segment(task_id)
        ))?;
        open.into_iter().find(|i| i.is_pending)
    };
    Ok(Followed { details, pending })
}
