//! Cron patterns (seconds first), parsed the same way by every replica so each computes
//! the same scheduled time for the same tick.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;

#[derive(Debug, thiserror::Error)]
#[error("`{pattern}` is not a cron pattern with seconds (like `0 */5 * * * *`): {message}")]
pub struct ScheduleError {
    pub pattern: String,
    pub message: String,
}

pub fn parse_cron(pattern: &str) -> Result<Cron, ScheduleError> {
    if pattern.split_whitespace().count() < 6 {
        return Err(ScheduleError {
            pattern: pattern.into(),
            message: "six fields are needed, seconds first".into(),
        });
    }
    Cron::from_str(pattern).map_err(|e| ScheduleError {
        pattern: pattern.into(),
        message: e.to_string(),
    })
}

/// The next tick strictly after `now`.
pub fn next_tick(cron: &Cron, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&now, false).ok()
}
