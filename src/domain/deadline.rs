//! Due dates: statutory regimes, the company's policy promise, extensions and holds.
//!
//! Everything here is pure: no I/O and no clock reads. Callers pass in the
//! dates and instants they mean (for example "today" in the deployment's
//! timezone). All date arithmetic is checked; a result that would fall past
//! the last representable date saturates to [`NaiveDate::MAX`] instead of
//! panicking.

use chrono::{DateTime, Days, NaiveDate, Utc};

pub use super::regime::RegimeRules;

/// Largest `N` accepted in the `days:N` regime form (about ten years).
const MAX_CUSTOM_DAYS: u32 = 3650;

/// Which event starts the response clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// The day the requester's identity was verified.
    Verified,
    /// The day the request was received.
    Received,
}

/// Statutory regime. Text form: "gdpr", "uk_gdpr", "ccpa", "lgpd", "vcdpa", "cpa",
/// "ctdpa", "tdpsa", "ocpa", "ucpa", "icdpa", "days:N" (N in 1..=3650).
///
/// Each regime's rules are data: see [`Regime::rules`] and `docs/regimes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Regime {
    /// EU GDPR, Art. 12(3): one calendar month, extendable by two more.
    Gdpr,
    /// UK GDPR: same rules as the EU GDPR.
    UkGdpr,
    /// California CCPA/CPRA: 45 calendar days from receipt, extendable by 45 more.
    Ccpa,
    /// Brazil LGPD: 15 days, no extension.
    Lgpd,
    /// Virginia Consumer Data Protection Act.
    Vcdpa,
    /// Colorado Privacy Act.
    Cpa,
    /// Connecticut Data Privacy Act.
    Ctdpa,
    /// Texas Data Privacy and Security Act.
    Tdpsa,
    /// Oregon Consumer Privacy Act.
    Ocpa,
    /// Utah Consumer Privacy Act.
    Ucpa,
    /// Iowa Consumer Data Protection Act.
    Icdpa,
    /// A custom deadline of `N` calendar days, no extension.
    Days(u32),
}

/// A regime string that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown regime {input:?}: expected \"gdpr\", \"uk_gdpr\", \"lgpd\", \"ccpa\", \"vcdpa\", \"cpa\", \"ctdpa\", \"tdpsa\", \"ocpa\", \"ucpa\", \"icdpa\" or \"days:N\" with N from 1 to 3650"
)]
pub struct RegimeParseError {
    /// The text that was rejected.
    pub input: String,
}

impl std::str::FromStr for Regime {
    type Err = RegimeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RegimeParseError {
            input: s.to_owned(),
        };
        match s {
            "gdpr" => Ok(Regime::Gdpr),
            "uk_gdpr" => Ok(Regime::UkGdpr),
            "ccpa" => Ok(Regime::Ccpa),
            "lgpd" => Ok(Regime::Lgpd),
            "vcdpa" => Ok(Regime::Vcdpa),
            "cpa" => Ok(Regime::Cpa),
            "ctdpa" => Ok(Regime::Ctdpa),
            "tdpsa" => Ok(Regime::Tdpsa),
            "ocpa" => Ok(Regime::Ocpa),
            "ucpa" => Ok(Regime::Ucpa),
            "icdpa" => Ok(Regime::Icdpa),
            _ => {
                let digits = s.strip_prefix("days:").ok_or_else(err)?;
                // Plain ASCII digits only: `u32::from_str` would also take "+5".
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                let n: u32 = digits.parse().map_err(|_| err())?;
                if (1..=MAX_CUSTOM_DAYS).contains(&n) {
                    Ok(Regime::Days(n))
                } else {
                    Err(err())
                }
            }
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Regime::Gdpr => f.write_str("gdpr"),
            Regime::UkGdpr => f.write_str("uk_gdpr"),
            Regime::Ccpa => f.write_str("ccpa"),
            Regime::Lgpd => f.write_str("lgpd"),
            Regime::Vcdpa => f.write_str("vcdpa"),
            Regime::Cpa => f.write_str("cpa"),
            Regime::Ctdpa => f.write_str("ctdpa"),
            Regime::Tdpsa => f.write_str("tdpsa"),
            Regime::Ocpa => f.write_str("ocpa"),
            Regime::Ucpa => f.write_str("ucpa"),
            Regime::Icdpa => f.write_str("icdpa"),
            Regime::Days(n) => write!(f, "days:{n}"),
        }
    }
}

impl serde::Serialize for Regime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Regime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `date + days`, saturating at `NaiveDate::MAX`.
fn add_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

impl Regime {
    /// Every named built-in regime (`days:N` aside), in the order the docs list them.
    pub const NAMED: [Regime; 11] = [
        Regime::Gdpr,
        Regime::UkGdpr,
        Regime::Lgpd,
        Regime::Ccpa,
        Regime::Vcdpa,
        Regime::Cpa,
        Regime::Ctdpa,
        Regime::Tdpsa,
        Regime::Ocpa,
        Regime::Ucpa,
        Regime::Icdpa,
    ];

    /// Statutory due date from the clock start day (built-in rules).
    pub fn statutory_due(self, start: NaiveDate) -> NaiveDate {
        self.rules().statutory_due(start)
    }

    /// Regimes that count from receipt (CCPA and the US state laws) ignore `configured`.
    pub fn clock_start(self, configured: ClockStart) -> ClockStart {
        self.rules().clock_start(configured)
    }

    /// Latest date an extension may reach from the current (unextended) due date:
    /// GDPR/UK: due + 2 calendar months (month-end clamped); CCPA and the US state laws:
    /// due + 45 days; LGPD and days:N: None (no extension allowed).
    pub fn max_extension(self, due: NaiveDate) -> Option<NaiveDate> {
        self.rules().max_extension(due)
    }
}

/// Everything needed to compute a due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePolicy {
    /// The statutory regime that applies.
    pub regime: Regime,
    /// The company's own promise in days from the clock start; 0 means none.
    pub policy_days: u32,
    /// The configured clock start (the regime may override it).
    pub clock_starts: ClockStart,
}

impl DeadlinePolicy {
    /// The day the clock starts: `received` or `verified` per the regime's clock_start.
    pub fn start_day(&self, received: NaiveDate, verified: NaiveDate) -> NaiveDate {
        self.start_day_under(&self.regime.rules(), received, verified)
    }

    /// Due date = the earlier of statutory due and (start + policy_days); policy_days = 0 means no policy deadline.
    pub fn due_date(&self, received: NaiveDate, verified: NaiveDate) -> NaiveDate {
        self.due_date_under(&self.regime.rules(), received, verified)
    }

    /// [`Self::start_day`] under `rules` (the regime's row with any configured override).
    pub fn start_day_under(
        &self,
        rules: &RegimeRules,
        received: NaiveDate,
        verified: NaiveDate,
    ) -> NaiveDate {
        match rules.clock_start(self.clock_starts) {
            ClockStart::Received => received,
            ClockStart::Verified => verified,
        }
    }

    /// [`Self::due_date`] under `rules` (the regime's row with any configured override).
    pub fn due_date_under(
        &self,
        rules: &RegimeRules,
        received: NaiveDate,
        verified: NaiveDate,
    ) -> NaiveDate {
        let start = self.start_day_under(rules, received, verified);
        let statutory = rules.statutory_due(start);
        if self.policy_days == 0 {
            statutory
        } else {
            statutory.min(add_days(start, u64::from(self.policy_days)))
        }
    }
}

/// Why an extension was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The request already had its one extension.
    #[error("the request has already been extended once")]
    AlreadyExtended,
    /// Today is past the current due date.
    #[error("an extension must be given before the due date ({due})")]
    TooLate {
        /// The current due date.
        due: NaiveDate,
    },
    /// The regime has no extension (LGPD, `days:N`).
    #[error("this regime does not allow an extension")]
    NotAllowed,
    /// The requested date is on or before the current due date.
    #[error("the extended due date must be after the current due date ({due})")]
    NotLater {
        /// The current due date.
        due: NaiveDate,
    },
    /// The requested date is past the regime's maximum.
    #[error("the extended due date may be at most {max}")]
    TooFar {
        /// The latest date the regime allows.
        max: NaiveDate,
    },
    /// The reason was empty or only whitespace.
    #[error("an extension needs a reason")]
    MissingReason,
}

/// Decide the new due date of an extension.
/// `today` is the current date in the deployment's timezone; an extension is allowed while today <= due.
/// `until` None means the regime's maximum. `reason` must be non-blank (after trim).
///
/// Checks, in order: `MissingReason`, `AlreadyExtended`, `NotAllowed`,
/// `TooLate`, `NotLater`, `TooFar`.
pub fn extend(
    regime: Regime,
    due: NaiveDate,
    already_extended: bool,
    today: NaiveDate,
    until: Option<NaiveDate>,
    reason: &str,
) -> Result<NaiveDate, ExtensionError> {
    extend_under(&regime.rules(), due, already_extended, today, until, reason)
}

/// [`extend`] under `rules` (a regime's row with any configured override). When the rules
/// do not require notice before the due date, a late extension is not `TooLate`.
pub fn extend_under(
    rules: &RegimeRules,
    due: NaiveDate,
    already_extended: bool,
    today: NaiveDate,
    until: Option<NaiveDate>,
    reason: &str,
) -> Result<NaiveDate, ExtensionError> {
    if reason.trim().is_empty() {
        return Err(ExtensionError::MissingReason);
    }
    if already_extended {
        return Err(ExtensionError::AlreadyExtended);
    }
    let max = rules.max_extension(due).ok_or(ExtensionError::NotAllowed)?;
    if rules.extension_notice_before_due && today > due {
        return Err(ExtensionError::TooLate { due });
    }
    let new_due = until.unwrap_or(max);
    if new_due <= due {
        return Err(ExtensionError::NotLater { due });
    }
    if new_due > max {
        return Err(ExtensionError::TooFar { max });
    }
    Ok(new_due)
}

/// Whole days spent on hold (floor of the elapsed duration in days, never negative).
pub fn whole_days_on_hold(held_at: DateTime<Utc>, resumed_at: DateTime<Utc>) -> u32 {
    // For a non-negative duration, truncation toward zero is the floor.
    let days = resumed_at.signed_duration_since(held_at).num_days();
    if days <= 0 {
        0
    } else {
        u32::try_from(days).unwrap_or(u32::MAX)
    }
}

/// The due date after a hold: due + whole days on hold.
pub fn due_after_hold(
    due: NaiveDate,
    held_at: DateTime<Utc>,
    resumed_at: DateTime<Utc>,
) -> NaiveDate {
    add_days(due, u64::from(whole_days_on_hold(held_at, resumed_at)))
}

/// Days from `today` until `due` (negative when past).
pub fn days_until(today: NaiveDate, due: NaiveDate) -> i64 {
    due.signed_duration_since(today).num_days()
}

/// A request is overdue from the day after its due date.
pub fn is_overdue(today: NaiveDate, due: NaiveDate) -> bool {
    today > due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    /// A calendar date, written the way the test vectors read.
    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    /// An instant in UTC.
    fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        d(year, month, day)
            .and_hms_opt(hour, minute, 0)
            .expect("valid test time")
            .and_utc()
    }

    /// Only the regime counts: no policy promise, clock from receipt.
    fn regime_only(regime: Regime) -> DeadlinePolicy {
        DeadlinePolicy {
            regime,
            policy_days: 0,
            clock_starts: ClockStart::Received,
        }
    }

    fn is_last_day_of_month(date: NaiveDate) -> bool {
        date.succ_opt()
            .is_none_or(|next| next.month() != date.month())
    }

    // ---- statutory due dates -------------------------------------------------

    #[test]
    fn gdpr_is_one_calendar_month_clamped_to_month_end() {
        let cases = [
            (d(2026, 1, 31), d(2026, 2, 28)),
            (d(2024, 1, 31), d(2024, 2, 29)),
            (d(2026, 3, 15), d(2026, 4, 15)),
            (d(2026, 3, 31), d(2026, 4, 30)),
            (d(2026, 12, 15), d(2027, 1, 15)),
            (d(2026, 2, 28), d(2026, 3, 28)),
        ];
        for (start, due) in cases {
            assert_eq!(Regime::Gdpr.statutory_due(start), due, "gdpr from {start}");
            assert_eq!(
                regime_only(Regime::Gdpr).due_date(start, start),
                due,
                "gdpr policy from {start}"
            );
        }
    }

    #[test]
    fn uk_gdpr_follows_the_same_rules_as_gdpr() {
        let cases = [
            (d(2026, 1, 31), d(2026, 2, 28)),
            (d(2024, 1, 31), d(2024, 2, 29)),
            (d(2026, 3, 15), d(2026, 4, 15)),
        ];
        for (start, due) in cases {
            assert_eq!(Regime::UkGdpr.statutory_due(start), due, "uk from {start}");
            assert_eq!(regime_only(Regime::UkGdpr).due_date(start, start), due);
        }
    }

    #[test]
    fn ccpa_is_45_calendar_days() {
        assert_eq!(Regime::Ccpa.statutory_due(d(2026, 11, 20)), d(2027, 1, 4));
        assert_eq!(
            regime_only(Regime::Ccpa).due_date(d(2026, 11, 20), d(2026, 11, 20)),
            d(2027, 1, 4)
        );
    }

    #[test]
    fn lgpd_is_15_days() {
        assert_eq!(Regime::Lgpd.statutory_due(d(2026, 11, 1)), d(2026, 11, 16));
        assert_eq!(
            regime_only(Regime::Lgpd).due_date(d(2026, 11, 1), d(2026, 11, 1)),
            d(2026, 11, 16)
        );
    }

    #[test]
    fn custom_days_regime_adds_n_days() {
        let regime: Regime = "days:30".parse().expect("days:30 parses");
        assert_eq!(regime.statutory_due(d(2026, 11, 1)), d(2026, 12, 1));
        assert_eq!(
            regime_only(regime).due_date(d(2026, 11, 1), d(2026, 11, 1)),
            d(2026, 12, 1)
        );
        assert_eq!(
            Regime::Days(1).statutory_due(d(2026, 12, 31)),
            d(2027, 1, 1)
        );
    }

    #[test]
    fn gdpr_due_is_within_a_month_for_every_start_day_2020_to_2030() {
        let mut start = d(2020, 1, 1);
        let last = d(2030, 12, 31);
        let mut checked = 0;
        while start <= last {
            for regime in [Regime::Gdpr, Regime::UkGdpr] {
                let due = regime.statutory_due(start);
                assert!(due > start, "{regime} from {start}: {due} not after start");
                assert!(
                    days_until(start, due) <= 31,
                    "{regime} from {start}: {due} more than 31 days later"
                );
                assert!(
                    due.day() == start.day() || is_last_day_of_month(due),
                    "{regime} from {start}: {due} neither same day nor month end"
                );
            }
            checked += 1;
            start = start.succ_opt().expect("inside chrono's range");
        }
        assert_eq!(checked, 4018, "eleven years of days, three of them leap");
    }

    #[test]
    fn statutory_due_saturates_instead_of_overflowing() {
        for regime in [
            Regime::Gdpr,
            Regime::UkGdpr,
            Regime::Ccpa,
            Regime::Lgpd,
            Regime::Days(1),
            Regime::Days(u32::MAX),
        ] {
            assert_eq!(regime.statutory_due(NaiveDate::MAX), NaiveDate::MAX);
            let near_end = NaiveDate::MAX - Days::new(3);
            assert!(regime.statutory_due(near_end) >= near_end);
        }
        assert_eq!(
            Regime::Ccpa.statutory_due(NaiveDate::MAX - Days::new(10)),
            NaiveDate::MAX
        );
    }

    // ---- policy promise and clock start --------------------------------------

    #[test]
    fn policy_days_wins_only_when_earlier() {
        let policy = DeadlinePolicy {
            regime: Regime::Gdpr,
            policy_days: 30,
            clock_starts: ClockStart::Received,
        };
        // February: statutory 2026-03-01 comes before start + 30 = 2026-03-03.
        assert_eq!(policy.due_date(d(2026, 2, 1), d(2026, 2, 1)), d(2026, 3, 1));
        // A 31-day month: start + 30 = 2026-04-14 comes before 2026-04-15.
        assert_eq!(
            policy.due_date(d(2026, 3, 15), d(2026, 3, 15)),
            d(2026, 4, 14)
        );
    }

    #[test]
    fn policy_days_zero_means_no_policy_deadline() {
        let policy = DeadlinePolicy {
            regime: Regime::Ccpa,
            policy_days: 0,
            clock_starts: ClockStart::Received,
        };
        assert_eq!(
            policy.due_date(d(2026, 1, 1), d(2026, 1, 1)),
            d(2026, 2, 15)
        );
        let shorter = DeadlinePolicy {
            policy_days: 10,
            ..policy
        };
        assert_eq!(
            shorter.due_date(d(2026, 1, 1), d(2026, 1, 1)),
            d(2026, 1, 11)
        );
    }

    #[test]
    fn policy_days_saturates_instead_of_overflowing() {
        let policy = DeadlinePolicy {
            regime: Regime::Days(3650),
            policy_days: u32::MAX,
            clock_starts: ClockStart::Received,
        };
        let start = NaiveDate::MAX - Days::new(5);
        assert_eq!(policy.due_date(start, start), NaiveDate::MAX);
    }

    #[test]
    fn clock_starts_at_verification_or_receipt_as_configured() {
        let received = d(2026, 3, 1);
        let verified = d(2026, 3, 5);
        let from_verified = DeadlinePolicy {
            regime: Regime::Gdpr,
            policy_days: 0,
            clock_starts: ClockStart::Verified,
        };
        let from_received = DeadlinePolicy {
            clock_starts: ClockStart::Received,
            ..from_verified
        };
        assert_eq!(from_verified.start_day(received, verified), verified);
        assert_eq!(from_verified.due_date(received, verified), d(2026, 4, 5));
        assert_eq!(from_received.start_day(received, verified), received);
        assert_eq!(from_received.due_date(received, verified), d(2026, 4, 1));
    }

    #[test]
    fn ccpa_counts_from_receipt_even_when_configured_for_verification() {
        assert_eq!(
            Regime::Ccpa.clock_start(ClockStart::Verified),
            ClockStart::Received
        );
        assert_eq!(
            Regime::Ccpa.clock_start(ClockStart::Received),
            ClockStart::Received
        );
        let policy = DeadlinePolicy {
            regime: Regime::Ccpa,
            policy_days: 0,
            clock_starts: ClockStart::Verified,
        };
        let received = d(2026, 11, 20);
        let verified = d(2026, 11, 25);
        assert_eq!(policy.start_day(received, verified), received);
        assert_eq!(policy.due_date(received, verified), d(2027, 1, 4));
    }

    #[test]
    fn other_regimes_use_the_configured_clock_start() {
        for regime in [Regime::Gdpr, Regime::UkGdpr, Regime::Lgpd, Regime::Days(7)] {
            for configured in [ClockStart::Verified, ClockStart::Received] {
                assert_eq!(regime.clock_start(configured), configured, "{regime}");
            }
        }
    }

    // ---- extensions ----------------------------------------------------------

    #[test]
    fn max_extension_per_regime() {
        assert_eq!(
            Regime::Gdpr.max_extension(d(2026, 2, 28)),
            Some(d(2026, 4, 28))
        );
        assert_eq!(
            Regime::Gdpr.max_extension(d(2026, 3, 31)),
            Some(d(2026, 5, 31))
        );
        assert_eq!(
            Regime::Gdpr.max_extension(d(2025, 12, 31)),
            Some(d(2026, 2, 28))
        );
        assert_eq!(
            Regime::UkGdpr.max_extension(d(2025, 12, 31)),
            Some(d(2026, 2, 28))
        );
        assert_eq!(
            Regime::Ccpa.max_extension(d(2027, 1, 4)),
            Some(d(2027, 2, 18))
        );
        assert_eq!(Regime::Lgpd.max_extension(d(2026, 11, 16)), None);
        assert_eq!(Regime::Days(30).max_extension(d(2026, 12, 1)), None);
        assert_eq!(
            Regime::Gdpr.max_extension(NaiveDate::MAX),
            Some(NaiveDate::MAX)
        );
        assert_eq!(
            Regime::Ccpa.max_extension(NaiveDate::MAX),
            Some(NaiveDate::MAX)
        );
    }

    #[test]
    fn extend_to_the_regime_maximum_by_default() {
        let cases = [
            (Regime::Gdpr, d(2026, 2, 28), d(2026, 4, 28)),
            (Regime::Gdpr, d(2026, 3, 31), d(2026, 5, 31)),
            (Regime::Gdpr, d(2025, 12, 31), d(2026, 2, 28)),
            (Regime::UkGdpr, d(2026, 3, 31), d(2026, 5, 31)),
            (Regime::Ccpa, d(2027, 1, 4), d(2027, 2, 18)),
        ];
        for (regime, due, max) in cases {
            assert_eq!(
                extend(
                    regime,
                    due,
                    false,
                    due - Days::new(3),
                    None,
                    "complex request"
                ),
                Ok(max),
                "{regime} due {due}"
            );
        }
    }

    #[test]
    fn extend_to_an_explicit_date_within_range() {
        let due = d(2026, 2, 28);
        for until in [d(2026, 3, 1), d(2026, 3, 31), d(2026, 4, 28)] {
            assert_eq!(
                extend(
                    Regime::Gdpr,
                    due,
                    false,
                    d(2026, 2, 20),
                    Some(until),
                    "many records"
                ),
                Ok(until)
            );
        }
    }

    #[test]
    fn extend_beyond_the_maximum_is_too_far() {
        assert_eq!(
            extend(
                Regime::Gdpr,
                d(2026, 2, 28),
                false,
                d(2026, 2, 20),
                Some(d(2026, 4, 29)),
                "many records"
            ),
            Err(ExtensionError::TooFar {
                max: d(2026, 4, 28)
            })
        );
        assert_eq!(
            extend(
                Regime::Ccpa,
                d(2027, 1, 4),
                false,
                d(2027, 1, 1),
                Some(d(2027, 2, 19)),
                "many records"
            ),
            Err(ExtensionError::TooFar {
                max: d(2027, 2, 18)
            })
        );
    }

    #[test]
    fn extend_to_a_date_not_after_due_is_not_later() {
        let due = d(2026, 2, 28);
        for until in [due, d(2026, 2, 1)] {
            assert_eq!(
                extend(
                    Regime::Gdpr,
                    due,
                    false,
                    d(2026, 2, 20),
                    Some(until),
                    "reason"
                ),
                Err(ExtensionError::NotLater { due })
            );
        }
    }

    #[test]
    fn extend_at_the_last_representable_date_is_not_later() {
        assert_eq!(
            extend(
                Regime::Gdpr,
                NaiveDate::MAX,
                false,
                NaiveDate::MAX,
                None,
                "reason"
            ),
            Err(ExtensionError::NotLater {
                due: NaiveDate::MAX
            })
        );
    }

    #[test]
    fn a_second_extension_is_refused() {
        assert_eq!(
            extend(
                Regime::Gdpr,
                d(2026, 4, 28),
                true,
                d(2026, 3, 1),
                None,
                "again"
            ),
            Err(ExtensionError::AlreadyExtended)
        );
    }

    #[test]
    fn extension_after_the_due_date_is_too_late() {
        let due = d(2026, 2, 28);
        assert_eq!(
            extend(Regime::Gdpr, due, false, d(2026, 3, 1), None, "late"),
            Err(ExtensionError::TooLate { due })
        );
    }

    #[test]
    fn extension_on_the_due_date_itself_is_allowed() {
        let due = d(2026, 2, 28);
        assert_eq!(
            extend(Regime::Gdpr, due, false, due, None, "just in time"),
            Ok(d(2026, 4, 28))
        );
    }

    #[test]
    fn extension_needs_a_non_blank_reason() {
        for reason in ["", " ", "\t\n  "] {
            assert_eq!(
                extend(
                    Regime::Gdpr,
                    d(2026, 2, 28),
                    false,
                    d(2026, 2, 1),
                    None,
                    reason
                ),
                Err(ExtensionError::MissingReason),
                "reason {reason:?}"
            );
        }
        assert!(
            extend(
                Regime::Gdpr,
                d(2026, 2, 28),
                false,
                d(2026, 2, 1),
                None,
                "  x  "
            )
            .is_ok()
        );
    }

    #[test]
    fn lgpd_and_custom_days_do_not_allow_extensions() {
        for regime in [Regime::Lgpd, Regime::Days(30)] {
            assert_eq!(
                extend(
                    regime,
                    d(2026, 11, 16),
                    false,
                    d(2026, 11, 10),
                    None,
                    "reason"
                ),
                Err(ExtensionError::NotAllowed),
                "{regime}"
            );
        }
    }

    #[test]
    fn extension_checks_run_in_the_documented_order() {
        let due = d(2026, 2, 28);
        let late = d(2026, 3, 10);
        let bad_until = Some(d(2026, 1, 1));
        // Everything wrong at once: the reason is reported first.
        assert_eq!(
            extend(Regime::Lgpd, due, true, late, bad_until, " "),
            Err(ExtensionError::MissingReason)
        );
        // Then the earlier extension.
        assert_eq!(
            extend(Regime::Lgpd, due, true, late, bad_until, "r"),
            Err(ExtensionError::AlreadyExtended)
        );
        // Then the regime.
        assert_eq!(
            extend(Regime::Lgpd, due, false, late, bad_until, "r"),
            Err(ExtensionError::NotAllowed)
        );
        // Then the timing.
        assert_eq!(
            extend(Regime::Gdpr, due, false, late, bad_until, "r"),
            Err(ExtensionError::TooLate { due })
        );
        // Then the requested date, too early before too far.
        assert_eq!(
            extend(Regime::Gdpr, due, false, due, bad_until, "r"),
            Err(ExtensionError::NotLater { due })
        );
        assert_eq!(
            extend(Regime::Gdpr, due, false, due, Some(d(2027, 1, 1)), "r"),
            Err(ExtensionError::TooFar {
                max: d(2026, 4, 28)
            })
        );
    }

    #[test]
    fn extension_error_messages_name_the_dates() {
        assert_eq!(
            ExtensionError::TooLate {
                due: d(2026, 2, 28)
            }
            .to_string(),
            "an extension must be given before the due date (2026-02-28)"
        );
        assert_eq!(
            ExtensionError::NotLater {
                due: d(2026, 2, 28)
            }
            .to_string(),
            "the extended due date must be after the current due date (2026-02-28)"
        );
        assert_eq!(
            ExtensionError::TooFar {
                max: d(2026, 4, 28)
            }
            .to_string(),
            "the extended due date may be at most 2026-04-28"
        );
        assert_eq!(
            ExtensionError::AlreadyExtended.to_string(),
            "the request has already been extended once"
        );
        assert_eq!(
            ExtensionError::NotAllowed.to_string(),
            "this regime does not allow an extension"
        );
        assert_eq!(
            ExtensionError::MissingReason.to_string(),
            "an extension needs a reason"
        );
    }

    // ---- holds ---------------------------------------------------------------

    #[test]
    fn hold_counts_whole_days_only() {
        let held = at(2026, 3, 1, 10, 0);
        assert_eq!(
            whole_days_on_hold(held, at(2026, 3, 4, 9, 0)),
            2,
            "2 days 23 hours"
        );
        assert_eq!(
            whole_days_on_hold(held, at(2026, 3, 2, 9, 0)),
            0,
            "23 hours"
        );
        assert_eq!(
            whole_days_on_hold(held, at(2026, 3, 2, 10, 0)),
            1,
            "exactly 24 hours"
        );
        assert_eq!(whole_days_on_hold(held, held), 0, "no time at all");
    }

    #[test]
    fn hold_resumed_before_it_started_counts_zero() {
        let held = at(2026, 3, 10, 12, 0);
        assert_eq!(whole_days_on_hold(held, at(2026, 3, 1, 12, 0)), 0);
        assert_eq!(
            whole_days_on_hold(DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC),
            0
        );
    }

    #[test]
    fn hold_over_the_whole_range_does_not_overflow() {
        let days = whole_days_on_hold(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert!(days > 190_000_000, "{days}");
    }

    #[test]
    fn due_date_moves_by_the_whole_days_on_hold() {
        let due = d(2026, 3, 31);
        let held = at(2026, 3, 1, 10, 0);
        assert_eq!(
            due_after_hold(due, held, at(2026, 3, 4, 9, 0)),
            d(2026, 4, 2)
        );
        assert_eq!(due_after_hold(due, held, at(2026, 3, 2, 9, 0)), due);
        assert_eq!(due_after_hold(due, held, at(2026, 2, 1, 9, 0)), due);
        assert_eq!(
            due_after_hold(
                NaiveDate::MAX,
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC
            ),
            NaiveDate::MAX
        );
    }

    // ---- countdown -----------------------------------------------------------

    #[test]
    fn days_until_counts_down_and_goes_negative() {
        let due = d(2026, 3, 31);
        assert_eq!(days_until(d(2026, 3, 1), due), 30);
        assert_eq!(days_until(d(2026, 3, 30), due), 1);
        assert_eq!(days_until(due, due), 0);
        assert_eq!(days_until(d(2026, 4, 1), due), -1);
        assert_eq!(days_until(d(2026, 5, 1), due), -31);
        assert!(days_until(NaiveDate::MIN, NaiveDate::MAX) > 0);
        assert!(days_until(NaiveDate::MAX, NaiveDate::MIN) < 0);
    }

    #[test]
    fn overdue_from_the_day_after_the_due_date() {
        let due = d(2026, 3, 31);
        assert!(!is_overdue(d(2026, 3, 30), due));
        assert!(!is_overdue(due, due));
        assert!(is_overdue(d(2026, 4, 1), due));
    }

    // ---- regime text form ----------------------------------------------------

    #[test]
    fn regime_text_round_trips_for_every_form() {
        let cases = [
            ("gdpr", Regime::Gdpr),
            ("uk_gdpr", Regime::UkGdpr),
            ("ccpa", Regime::Ccpa),
            ("lgpd", Regime::Lgpd),
            ("days:1", Regime::Days(1)),
            ("days:30", Regime::Days(30)),
            ("days:3650", Regime::Days(3650)),
        ];
        for (text, regime) in cases {
            assert_eq!(text.parse::<Regime>(), Ok(regime), "{text}");
            assert_eq!(regime.to_string(), text);
            assert_eq!(regime.to_string().parse::<Regime>(), Ok(regime));
        }
        for n in 1..=MAX_CUSTOM_DAYS {
            let regime = Regime::Days(n);
            assert_eq!(regime.to_string().parse::<Regime>(), Ok(regime));
        }
    }

    #[test]
    fn bad_regime_text_is_rejected() {
        for text in [
            "days:0",
            "days:x",
            "eu",
            "",
            "days:",
            "days:3651",
            "days:-1",
            "days:+5",
            "days: 5",
            "days:5 ",
            "days:99999999999",
            "GDPR",
            " gdpr",
            "gdpr ",
            "uk-gdpr",
            "days",
            "days30",
        ] {
            let err = text.parse::<Regime>().expect_err(text);
            assert_eq!(err.input, text);
        }
    }

    #[test]
    fn regime_parse_error_says_which_forms_are_accepted() {
        let message = "eu".parse::<Regime>().expect_err("eu").to_string();
        for form in [
            "\"eu\"", "gdpr", "uk_gdpr", "ccpa", "lgpd", "days:N", "3650",
        ] {
            assert!(message.contains(form), "{message:?} lacks {form}");
        }
    }

    #[test]
    fn regime_serde_uses_the_text_form() {
        assert_eq!(
            serde_json::to_string(&Regime::UkGdpr).expect("serialize"),
            "\"uk_gdpr\""
        );
        assert_eq!(
            serde_json::to_string(&Regime::Days(30)).expect("serialize"),
            "\"days:30\""
        );
        assert_eq!(
            serde_json::from_str::<Regime>("\"days:45\"").expect("deserialize"),
            Regime::Days(45)
        );
        assert_eq!(
            serde_json::from_str::<Regime>("\"ccpa\"").expect("deserialize"),
            Regime::Ccpa
        );
        let err = serde_json::from_str::<Regime>("\"days:0\"").expect_err("days:0");
        assert!(err.to_string().contains("days:N"), "{err}");
        assert!(serde_json::from_str::<Regime>("30").is_err());
    }

    #[test]
    fn clock_start_serde_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&ClockStart::Verified).expect("serialize"),
            "\"verified\""
        );
        assert_eq!(
            serde_json::to_string(&ClockStart::Received).expect("serialize"),
            "\"received\""
        );
        assert_eq!(
            serde_json::from_str::<ClockStart>("\"received\"").expect("deserialize"),
            ClockStart::Received
        );
        assert!(serde_json::from_str::<ClockStart>("\"Verified\"").is_err());
    }
}
