//! Request kinds, statuses and the one state machine that moves between them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: stringify!($name),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// A text that names none of a closed set's values.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {what}; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    pub what: &'static str,
    pub expected: &'static [&'static str],
}

text_enum!(
    /// What the subject asks for.
    Kind {
        Access => "access",
        Portability => "portability",
        Erasure => "erasure",
        Rectification => "rectification",
        Restriction => "restriction",
        Objection => "objection",
        // US state laws: opt-outs of sale/sharing and of sensitive-data use, and taking
        // an opt-out back (`domain::optout`).
        OptOutSale => "opt_out_sale",
        LimitSensitive => "limit_sensitive",
        OptIn => "opt_in",
        // A subject's appeal of a refusal, linked to the refused request (issue 21).
        Appeal => "appeal",
    }
);

text_enum!(
    /// Where a request stands.
    Status {
        AwaitingVerification => "awaiting_verification",
        Open => "open",
        InProgress => "in_progress",
        Review => "review",
        OnHold => "on_hold",
        Completed => "completed",
        Denied => "denied",
        Withdrawn => "withdrawn",
        Expired => "expired",
    }
);

text_enum!(
    /// Why a request is refused (the code; the subject also gets free text).
    DenyReason {
        InsufficientVerification => "insufficient_verification",
        NoMatch => "no_match",
        ManifestlyUnfounded => "manifestly_unfounded",
        Excessive => "excessive",
        LegalExemption => "legal_exemption",
        OutsideJurisdiction => "outside_jurisdiction",
        Other => "other",
        // Merged into an earlier open request of the same kind for the same person.
        Duplicate => "duplicate",
    }
);

text_enum!(
    /// Why a request is on hold. Only `awaiting_subject` (information needed to identify
    /// the subject or clarify the request) may pause the clock, and only where the
    /// regime lets a hold pause it (`RegimeRules::hold_pauses`).
    HoldReason {
        AwaitingSubject => "awaiting_subject",
        AwaitingThirdParty => "awaiting_third_party",
        Other => "other",
    }
);

impl HoldReason {
    /// Whether a hold for this reason stops the clock under a regime whose holds may.
    pub fn may_pause(self) -> bool {
        self == HoldReason::AwaitingSubject
    }
}

text_enum!(
    /// Who entered the request.
    Source {
        Subject => "subject",
        Staff => "staff",
    }
);

text_enum!(
    /// What moves a request between statuses.
    Action {
        Verify => "verify",
        Start => "start",
        TasksDone => "tasks_done",
        Complete => "complete",
        Deny => "deny",
        Hold => "hold",
        Resume => "resume",
        Withdraw => "withdraw",
        Expire => "expire",
        Extend => "extend",
        Assign => "assign",
        Rerun => "rerun",
        // An appeal decided (upheld or reversed): the appeal request is answered.
        Decide => "decide",
        // A refusal reversed on appeal: the refused request is worked again.
        Reopen => "reopen",
    }
);

impl Status {
    /// No action moves a request out of a final status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Denied | Status::Withdrawn | Status::Expired
        )
    }

    /// A human sentence for the subject's status page.
    pub fn plain_words(self) -> &'static str {
        match self {
            Status::AwaitingVerification => "Waiting for you to confirm your email address",
            Status::Open => "Received and confirmed; waiting to be worked on",
            Status::InProgress => "Being worked on",
            Status::Review => "Being reviewed before we answer",
            Status::OnHold => "On hold",
            Status::Completed => "Completed",
            Status::Denied => "Refused",
            Status::Withdrawn => "Withdrawn",
            Status::Expired => "Expired because the email address was never confirmed",
        }
    }
}

/// An action that the current status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a request that is {current}")]
pub struct IllegalTransition {
    pub action: Action,
    pub current: Status,
}

/// The state machine of DESIGN.md. `held_from` is the status a request had when it was
/// put on hold; `resume` returns to it.
pub fn transition(
    current: Status,
    action: Action,
    held_from: Option<Status>,
) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let illegal = || IllegalTransition { action, current };
    // The one way out of a final status: a refusal reversed on appeal.
    if (action, current) == (A::Reopen, S::Denied) {
        return Ok(S::Open);
    }
    if current.is_final() {
        return Err(illegal());
    }
    let next = match (action, current) {
        (A::Verify, S::AwaitingVerification) => S::Open,
        (A::Expire, S::AwaitingVerification) => S::Expired,
        (A::Start, S::Open) => S::InProgress,
        (A::TasksDone, S::InProgress) => S::Review,
        // A reviewed request run again (a rectification whose corrections staff edited).
        (A::Rerun, S::Review) => S::InProgress,
        (A::Complete, S::Review) => S::Completed,
        (A::Decide, S::Open | S::InProgress | S::Review) => S::Completed,
        (A::Hold, S::Open | S::InProgress | S::Review) => S::OnHold,
        (A::Resume, S::OnHold) => match held_from {
            Some(prev @ (S::Open | S::InProgress | S::Review)) => prev,
            _ => S::Open,
        },
        // An extension changes the due date, not the status.
        (A::Extend, S::Open | S::InProgress | S::Review | S::OnHold) => current,
        (A::Assign, _) => current,
        (A::Deny, _) => S::Denied,
        (A::Withdraw, _) => S::Withdrawn,
        _ => return Err(illegal()),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Status as S;

    #[test]
    fn happy_path() {
        let s = transition(S::AwaitingVerification, A::Verify, None).unwrap();
        assert_eq!(s, S::Open);
        let s = transition(s, A::Start, None).unwrap();
        assert_eq!(s, S::InProgress);
        let s = transition(s, A::TasksDone, None).unwrap();
        assert_eq!(s, S::Review);
        assert_eq!(transition(s, A::Rerun, None).unwrap(), S::InProgress);
        assert_eq!(transition(s, A::Complete, None).unwrap(), S::Completed);
        assert!(transition(S::Open, A::Rerun, None).is_err());
        assert!(transition(S::InProgress, A::Rerun, None).is_err());
    }

    #[test]
    fn hold_returns_to_previous_status() {
        for prev in [S::Open, S::InProgress, S::Review] {
            let held = transition(prev, A::Hold, None).unwrap();
            assert_eq!(held, S::OnHold);
            assert_eq!(transition(held, A::Resume, Some(prev)).unwrap(), prev);
        }
        assert!(transition(S::AwaitingVerification, A::Hold, None).is_err());
        assert!(transition(S::OnHold, A::Hold, None).is_err());
    }

    #[test]
    fn final_statuses_accept_nothing() {
        for s in [S::Completed, S::Denied, S::Withdrawn, S::Expired] {
            for a in Action::ALL
                .iter()
                .filter(|a| (**a, s) != (A::Reopen, S::Denied))
            {
                let err = transition(s, *a, None).unwrap_err();
                assert_eq!(err.current, s);
            }
        }
    }

    #[test]
    fn deny_and_withdraw_from_any_open_status() {
        for s in Status::ALL.iter().filter(|s| !s.is_final()) {
            assert_eq!(transition(*s, A::Deny, None).unwrap(), S::Denied);
            assert_eq!(transition(*s, A::Withdraw, None).unwrap(), S::Withdrawn);
        }
    }

    #[test]
    fn only_a_refusal_reopens_and_only_an_open_appeal_is_decided() {
        assert_eq!(transition(S::Denied, A::Reopen, None).unwrap(), S::Open);
        for s in Status::ALL.iter().filter(|s| **s != S::Denied) {
            assert!(transition(*s, A::Reopen, None).is_err(), "{s}");
        }
        for s in [S::Open, S::InProgress, S::Review] {
            assert_eq!(transition(s, A::Decide, None).unwrap(), S::Completed);
        }
        for s in [S::AwaitingVerification, S::OnHold, S::Completed, S::Denied] {
            assert!(transition(s, A::Decide, None).is_err(), "{s}");
        }
    }

    #[test]
    fn illegal_moves_name_the_current_status() {
        let err = transition(S::Open, A::Complete, None).unwrap_err();
        assert_eq!(err.to_string(), "cannot complete a request that is open");
        assert!(transition(S::Open, A::Verify, None).is_err());
        assert!(transition(S::InProgress, A::Start, None).is_err());
        assert!(transition(S::Open, A::Expire, None).is_err());
    }

    #[test]
    fn text_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
        }
        assert!("delete".parse::<Kind>().is_err());
    }
}
