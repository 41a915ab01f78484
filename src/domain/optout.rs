//! Opt-outs under US state laws: of the sale or sharing of personal information (and
//! targeted advertising), and of the use of sensitive personal information; taking one
//! back (`opt_in`); and the deadline they run to.

use chrono::NaiveDate;

use super::deadline::DeadlinePolicy;
use super::regime::RegimeRules;
use super::request::Kind;

/// What an opt-out covers. Stored as the suppression list's scope and, on an `opt_in`
/// request, as its `scope` (the opt-out it takes back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptOutScope {
    /// Sale, sharing and targeted advertising (`opt_out_sale`, `[optout]`).
    Sale,
    /// The use of sensitive personal information (`limit_sensitive`, `[limit_sensitive]`).
    Sensitive,
}

impl OptOutScope {
    pub const ALL: [OptOutScope; 2] = [OptOutScope::Sale, OptOutScope::Sensitive];

    /// `sale` or `sensitive`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Sensitive => "sensitive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "sale" => Some(Self::Sale),
            "sensitive" => Some(Self::Sensitive),
            _ => None,
        }
    }

    /// The scope an opt-out kind puts on the suppression list (`None` for other kinds,
    /// `opt_in` included: it takes a scope off).
    pub fn of_opt_out(kind: Kind) -> Option<Self> {
        match kind {
            Kind::OptOutSale => Some(Self::Sale),
            Kind::LimitSensitive => Some(Self::Sensitive),
            _ => None,
        }
    }

    /// The scope of an `opt_in` request as stored (`sale` when none was stored).
    pub fn of_opt_in(stored: Option<&str>) -> Self {
        stored.and_then(Self::parse).unwrap_or(Self::Sale)
    }

    /// The opt-out kind of this scope.
    pub fn kind(self) -> Kind {
        match self {
            Self::Sale => Kind::OptOutSale,
            Self::Sensitive => Kind::LimitSensitive,
        }
    }
}

/// The kinds that run to the regime's opt-out deadline and need no identity check beyond
/// a working address: the two opt-outs and taking one back.
pub fn is_opt_out_kind(kind: Kind) -> bool {
    matches!(kind, Kind::OptOutSale | Kind::LimitSensitive | Kind::OptIn)
}

/// The due date of a request of `kind`: for the opt-out kinds the regime's opt-out period
/// counted from receipt (CCPA: 15 business days), capped by the ordinary due date; for
/// every other kind (or a regime without an opt-out period) the ordinary due date.
pub fn due_date(
    policy: &DeadlinePolicy,
    rules: &RegimeRules,
    kind: Kind,
    received: NaiveDate,
    verified: NaiveDate,
) -> NaiveDate {
    let ordinary = policy.due_date_under(rules, received, verified);
    if !is_opt_out_kind(kind) {
        return ordinary;
    }
    match rules.opt_out_due(received) {
        Some(d) => d.min(ordinary),
        None => ordinary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::{ClockStart, Regime};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ccpa_opt_outs_are_due_in_15_business_days_from_receipt() {
        let policy = DeadlinePolicy {
            regime: Regime::Ccpa,
            policy_days: 30,
            clock_starts: ClockStart::Verified,
        };
        let rules = Regime::Ccpa.rules();
        // Monday 7 December 2026 -> Monday 28 December, whatever the verification day.
        for kind in [Kind::OptOutSale, Kind::LimitSensitive, Kind::OptIn] {
            assert_eq!(
                due_date(&policy, &rules, kind, d(2026, 12, 7), d(2026, 12, 9)),
                d(2026, 12, 28),
                "{kind}"
            );
        }
        // Other kinds keep the ordinary deadline (the 30-day policy here).
        assert_eq!(
            due_date(
                &policy,
                &rules,
                Kind::Access,
                d(2026, 12, 7),
                d(2026, 12, 7)
            ),
            d(2027, 1, 6)
        );
    }

    #[test]
    fn scopes_round_trip() {
        for s in OptOutScope::ALL {
            assert_eq!(OptOutScope::parse(s.code()), Some(s));
            assert_eq!(OptOutScope::of_opt_out(s.kind()), Some(s));
        }
        assert_eq!(OptOutScope::of_opt_in(None), OptOutScope::Sale);
        assert_eq!(OptOutScope::of_opt_out(Kind::OptIn), None);
    }
}
