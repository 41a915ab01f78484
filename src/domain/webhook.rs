//! Outgoing webhook events: the closed set of event types an endpoint may subscribe to,
//! and which of them a request event stands for. Payloads carry references and statuses
//! only, never the subject's identity.

use crate::domain::request::Status;

/// The event types, as endpoints subscribe to them and as the payload's `type` says.
pub const EVENT_TYPES: &[&str] = &[
    "request.created",
    "request.verified",
    "request.status_changed",
    "request.due_soon",
    "request.overdue",
    "request.completed",
    "task.failed",
    "inbox.item",
];

/// The type of the event the "send test event" button sends (to one endpoint, whatever
/// it subscribed to).
pub const TEST_EVENT: &str = "webhook.test";

/// Whether `name` is one of [`EVENT_TYPES`].
pub fn is_event_type(name: &str) -> bool {
    EVENT_TYPES.contains(&name)
}

/// The webhook events a request event stands for: a new request is `request.created`;
/// a change of status is `request.status_changed`, and also `request.verified` when the
/// subject confirmed it and `request.completed` when it was completed. Events that change
/// nothing (a note, an assignment) are not sent.
pub fn for_request_event(from: Option<Status>, to: Status) -> Vec<&'static str> {
    let Some(from) = from else {
        return vec!["request.created"];
    };
    if from == to {
        return Vec::new();
    }
    let mut out = vec!["request.status_changed"];
    if from == Status::AwaitingVerification && to == Status::Open {
        out.push("request.verified");
    }
    if to == Status::Completed {
        out.push("request.completed");
    }
    out
}

/// The webhook event of a deadline notice (`overdue`, `reminder:N`), if it has one.
pub fn for_notice(notice: &str) -> Option<&'static str> {
    if notice == "overdue" {
        Some("request.overdue")
    } else if notice.starts_with("reminder:") {
        Some("request.due_soon")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_events_map_to_webhook_events() {
        assert_eq!(for_request_event(None, Status::Open), ["request.created"]);
        assert_eq!(
            for_request_event(Some(Status::AwaitingVerification), Status::Open),
            ["request.status_changed", "request.verified"]
        );
        assert_eq!(
            for_request_event(Some(Status::Review), Status::Completed),
            ["request.status_changed", "request.completed"]
        );
        assert!(for_request_event(Some(Status::Open), Status::Open).is_empty());
        assert_eq!(for_notice("reminder:3"), Some("request.due_soon"));
        assert_eq!(for_notice("overdue"), Some("request.overdue"));
        assert_eq!(for_notice("ccpa_ack"), None);
        assert!(EVENT_TYPES.iter().all(|e| is_event_type(e)));
    }
}
