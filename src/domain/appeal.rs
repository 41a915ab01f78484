//! Appeals of refusals (US state laws such as Virginia's): the outcome of an appeal and
//! the window in which a refusal may be appealed.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the appeal decided about the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The refusal stands.
    Upheld,
    /// The refusal is withdrawn: the refused request is worked again.
    Reversed,
}

impl AppealOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AppealOutcome::Upheld => "upheld",
            AppealOutcome::Reversed => "reversed",
        }
    }
}

impl std::fmt::Display for AppealOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AppealOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "upheld" => Ok(AppealOutcome::Upheld),
            "reversed" => Ok(AppealOutcome::Reversed),
            _ => Err(format!(
                "unknown appeal outcome `{s}`; expected upheld or reversed"
            )),
        }
    }
}

/// The last day a refusal made on `refused_on` may be appealed: `window_days` calendar
/// days later (the refusal day is day 0).
pub fn appeal_open_until(refused_on: NaiveDate, window_days: u32) -> NaiveDate {
    refused_on
        .checked_add_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether a refusal made on `refused_on` may still be appealed on `today`.
pub fn may_appeal(refused_on: NaiveDate, window_days: u32, today: NaiveDate) -> bool {
    today >= refused_on && today <= appeal_open_until(refused_on, window_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn the_window_counts_calendar_days_from_the_refusal() {
        assert_eq!(appeal_open_until(d(2026, 10, 10), 60), d(2026, 12, 9));
        assert!(may_appeal(d(2026, 10, 10), 60, d(2026, 10, 10)));
        assert!(may_appeal(d(2026, 10, 10), 60, d(2026, 12, 9)));
        assert!(!may_appeal(d(2026, 10, 10), 60, d(2026, 12, 10)));
        assert!(!may_appeal(d(2026, 10, 10), 60, d(2026, 10, 9)));
        assert_eq!(appeal_open_until(NaiveDate::MAX, 60), NaiveDate::MAX);
    }

    #[test]
    fn outcomes_round_trip() {
        for o in [AppealOutcome::Upheld, AppealOutcome::Reversed] {
            assert_eq!(o.as_str().parse::<AppealOutcome>(), Ok(o));
        }
        assert!("granted".parse::<AppealOutcome>().is_err());
    }
}
