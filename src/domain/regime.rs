//! Privacy-law regimes as data: one [`RegimeRules`] row per regime.
//!
//! Every built-in value is cited in `docs/regimes.md`. A deployment can override any
//! value per regime (`[regimes.<name>]` in the configuration) through [`RegimeOverride`].
//! Pure: no I/O, no clock reads; all date arithmetic saturates at [`NaiveDate::MAX`].

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::deadline::{ClockStart, Regime};

/// How the days of a period are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Calendar months: the same day number, or that month's last day when it has none.
    CalendarMonths,
    /// Every calendar day.
    CalendarDays,
    /// Monday to Friday. Public holidays are not known to Rightsdesk and count as
    /// business days (override a regime's period if your counsel says otherwise).
    BusinessDays,
}

/// A length of time counted from a start day (the start day itself is day 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// How many units.
    pub length: u32,
    /// Which units.
    pub count: Count,
}

/// Largest period length accepted in text form (about ten years of days).
const MAX_LENGTH: u32 = 3650;

impl Period {
    /// `n` calendar days.
    pub const fn days(n: u32) -> Self {
        Period {
            length: n,
            count: Count::CalendarDays,
        }
    }

    /// `n` calendar months.
    pub const fn months(n: u32) -> Self {
        Period {
            length: n,
            count: Count::CalendarMonths,
        }
    }

    /// `n` business days (Monday to Friday).
    pub const fn business_days(n: u32) -> Self {
        Period {
            length: n,
            count: Count::BusinessDays,
        }
    }

    /// The last day of the period that starts on `start`.
    pub fn after(self, start: NaiveDate) -> NaiveDate {
        match self.count {
            Count::CalendarMonths => start
                .checked_add_months(Months::new(self.length))
                .unwrap_or(NaiveDate::MAX),
            Count::CalendarDays => start
                .checked_add_days(Days::new(u64::from(self.length)))
                .unwrap_or(NaiveDate::MAX),
            Count::BusinessDays => add_business_days(start, self.length),
        }
    }
}

fn is_business_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The `n`th Monday-to-Friday day after `start` (`start` itself is not counted).
fn add_business_days(start: NaiveDate, n: u32) -> NaiveDate {
    // Whole weeks first, so a long period does not walk day by day.
    let weeks = n / 5;
    let mut day = match start.checked_add_days(Days::new(u64::from(weeks) * 7)) {
        Some(d) => d,
        None => return NaiveDate::MAX,
    };
    let mut left = n % 5;
    while left > 0 {
        day = match day.succ_opt() {
            Some(d) => d,
            None => return NaiveDate::MAX,
        };
        if is_business_day(day) {
            left -= 1;
        }
    }
    // A start on a weekend with a whole number of weeks lands on a weekend: the
    // period ends on the last business day counted, which is the Friday before.
    if n > 0 && n % 5 == 0 && !is_business_day(day) {
        while !is_business_day(day) {
            day = match day.pred_opt() {
                Some(d) => d,
                None => return day,
            };
        }
    }
    day
}

/// A period in text form that is not `N day(s)`, `N month(s)` or `N business day(s)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a period: expected \"N days\", \"N months\" or \"N business days\" with N from 1 to 3650"
)]
pub struct PeriodParseError {
    /// The text that was rejected.
    pub input: String,
}

impl std::str::FromStr for Period {
    type Err = PeriodParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PeriodParseError {
            input: s.to_owned(),
        };
        let (digits, unit) = s.trim().split_once(' ').ok_or_else(err)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let length: u32 = digits.parse().map_err(|_| err())?;
        if !(1..=MAX_LENGTH).contains(&length) {
            return Err(err());
        }
        let count = match unit.trim() {
            "day" | "days" | "calendar day" | "calendar days" => Count::CalendarDays,
            "month" | "months" | "calendar month" | "calendar months" => Count::CalendarMonths,
            "business day" | "business days" => Count::BusinessDays,
            _ => return Err(err()),
        };
        Ok(Period { length, count })
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.count {
            Count::CalendarDays => "day",
            Count::CalendarMonths => "month",
            Count::BusinessDays => "business day",
        };
        let plural = if self.length == 1 { "" } else { "s" };
        write!(f, "{} {unit}{plural}", self.length)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A period that may also be switched off: text `"none"` means the regime has no such
/// period (no extension, no appeal, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybePeriod(pub Option<Period>);

impl serde::Serialize for MaybePeriod {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(p) => serializer.collect_str(&p),
            None => serializer.serialize_str("none"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MaybePeriod {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim() == "none" {
            return Ok(MaybePeriod(None));
        }
        text.parse::<Period>()
            .map(|p| MaybePeriod(Some(p)))
            .map_err(|e| serde::de::Error::custom(format!("{e}, or \"none\"")))
    }
}

/// Where a subject may complain about how their request was handled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Authority {
    /// The authority's name as the subject will search for it.
    pub name: String,
    /// Its complaint page (or home page when it has no complaint page).
    pub url: String,
}

/// One regime as data. Built-in rows come from [`Regime::rules`]; see `docs/regimes.md`
/// for the statute behind every value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegimeRules {
    /// Time to answer a request, counted from the clock start day.
    pub response: Period,
    /// The clock starts on receipt whatever `deadlines.clock_starts` says.
    pub clock_from_receipt: bool,
    /// Longest single extension, counted from the unextended due date; `None`: no extension.
    pub extension: Option<Period>,
    /// The subject must be told of the extension before the original due date passes.
    pub extension_notice_before_due: bool,
    /// Time to confirm receipt of a request, from the day it was received.
    pub acknowledge: Option<Period>,
    /// A hold (waiting for the subject) may pause the clock.
    pub hold_pauses: bool,
    /// Time to decide an appeal, from the day it was received; `None`: no appeal right.
    pub appeal: Option<Period>,
    /// Longest extension of an appeal decision, from the unextended appeal due date.
    pub appeal_extension: Option<Period>,
    /// Time to honour an opt-out (of sale, sharing, targeted advertising), from receipt.
    pub opt_out: Option<Period>,
    /// Where the subject may complain.
    pub authority: Option<Authority>,
}

fn authority(name: &str, url: &str) -> Option<Authority> {
    Some(Authority {
        name: name.into(),
        url: url.into(),
    })
}

/// The row shared by the US state laws modelled on Virginia's: 45 days from receipt, one
/// extension of 45 days told within the first 45, no statutory acknowledgement, no pause.
fn us_state(appeal: Option<Period>, appeal_extension: Option<Period>) -> RegimeRules {
    RegimeRules {
        response: Period::days(45),
        clock_from_receipt: true,
        extension: Some(Period::days(45)),
        extension_notice_before_due: true,
        acknowledge: None,
        hold_pauses: false,
        appeal,
        appeal_extension,
        opt_out: Some(Period::days(45)),
        authority: None,
    }
}

impl Regime {
    /// The built-in row for this regime (before any configured override).
    pub fn rules(self) -> RegimeRules {
        match self {
            Regime::Gdpr => RegimeRules {
                response: Period::months(1),
                clock_from_receipt: false,
                extension: Some(Period::months(2)),
                extension_notice_before_due: true,
                acknowledge: None,
                hold_pauses: true,
                appeal: None,
                appeal_extension: None,
                opt_out: Some(Period::months(1)),
                authority: authority(
                    "The data protection supervisory authority of your EU/EEA country",
                    "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
                ),
            },
            Regime::UkGdpr => RegimeRules {
                authority: authority(
                    "Information Commissioner's Office (ICO)",
                    "https://ico.org.uk/make-a-complaint/",
                ),
                ..Regime::Gdpr.rules()
            },
            Regime::Lgpd => RegimeRules {
                response: Period::days(15),
                clock_from_receipt: false,
                extension: None,
                extension_notice_before_due: false,
                acknowledge: None,
                hold_pauses: true,
                appeal: None,
                appeal_extension: None,
                opt_out: Some(Period::days(15)),
                authority: authority(
                    "Autoridade Nacional de Proteção de Dados (ANPD)",
                    "https://www.gov.br/anpd/",
                ),
            },
            Regime::Ccpa => RegimeRules {
                response: Period::days(45),
                clock_from_receipt: true,
                extension: Some(Period::days(45)),
                extension_notice_before_due: true,
                acknowledge: Some(Period::business_days(10)),
                // Kept from earlier releases; see docs/regimes.md before relying on it.
                hold_pauses: true,
                appeal: None,
                appeal_extension: None,
                opt_out: Some(Period::business_days(15)),
                authority: authority(
                    "California Privacy Protection Agency",
                    "https://cppa.ca.gov/webapplications/complaint",
                ),
            },
            Regime::Vcdpa => RegimeRules {
                authority: authority(
                    "Office of the Attorney General of Virginia",
                    "https://www.oag.state.va.us/consumer-protection/",
                ),
                ..us_state(Some(Period::days(60)), None)
            },
            Regime::Cpa => RegimeRules {
                authority: authority(
                    "Colorado Attorney General",
                    "https://coag.gov/resources/colorado-privacy-act/",
                ),
                ..us_state(Some(Period::days(45)), Some(Period::days(60)))
            },
            Regime::Ctdpa => RegimeRules {
                authority: authority(
                    "Connecticut Office of the Attorney General",
                    "https://portal.ct.gov/ag",
                ),
                ..us_state(Some(Period::days(60)), None)
            },
            Regime::Tdpsa => RegimeRules {
                authority: authority(
                    "Texas Attorney General",
                    "https://www.texasattorneygeneral.gov/consumer-protection",
                ),
                ..us_state(Some(Period::days(60)), None)
            },
            Regime::Ocpa => RegimeRules {
                // ORS 646A.576(5)(d): no duty to comply until the consumer gives what is
                // needed to authenticate, so waiting for the subject pauses the clock.
                hold_pauses: true,
                authority: authority(
                    "Oregon Department of Justice",
                    "https://www.doj.state.or.us/consumer-protection/",
                ),
                ..us_state(Some(Period::days(45)), None)
            },
            Regime::Ucpa => RegimeRules {
                authority: authority(
                    "Utah Division of Consumer Protection",
                    "https://dcp.utah.gov/",
                ),
                ..us_state(None, None)
            },
            Regime::Icdpa => RegimeRules {
                response: Period::days(90),
                opt_out: Some(Period::days(90)),
                authority: authority(
                    "Iowa Attorney General",
                    "https://www.iowaattorneygeneral.gov/",
                ),
                ..us_state(Some(Period::days(60)), None)
            },
            Regime::Days(n) => RegimeRules {
                response: Period::days(n),
                clock_from_receipt: false,
                extension: None,
                extension_notice_before_due: false,
                acknowledge: None,
                hold_pauses: true,
                appeal: None,
                appeal_extension: None,
                opt_out: None,
                authority: None,
            },
        }
    }
}

impl RegimeRules {
    /// Statutory due date from the clock start day.
    pub fn statutory_due(&self, start: NaiveDate) -> NaiveDate {
        self.response.after(start)
    }

    /// The clock start that applies: receipt when the regime says so, else `configured`.
    pub fn clock_start(&self, configured: ClockStart) -> ClockStart {
        if self.clock_from_receipt {
            ClockStart::Received
        } else {
            configured
        }
    }

    /// Latest date an extension may reach from the current (unextended) due date.
    pub fn max_extension(&self, due: NaiveDate) -> Option<NaiveDate> {
        self.extension.map(|p| p.after(due))
    }

    /// Date by which receipt must be confirmed, when the regime requires it.
    pub fn acknowledge_by(&self, received: NaiveDate) -> Option<NaiveDate> {
        self.acknowledge.map(|p| p.after(received))
    }

    /// Due date of an appeal received on `received`; `None` when there is no appeal right.
    pub fn appeal_due(&self, received: NaiveDate) -> Option<NaiveDate> {
        self.appeal.map(|p| p.after(received))
    }

    /// Latest date an appeal decision may be extended to, from its unextended due date.
    pub fn appeal_max_extension(&self, appeal_due: NaiveDate) -> Option<NaiveDate> {
        self.appeal.and(self.appeal_extension).map(|p| p.after(appeal_due))
    }

    /// Date by which an opt-out received on `received` must be honoured.
    pub fn opt_out_due(&self, received: NaiveDate) -> Option<NaiveDate> {
        self.opt_out.map(|p| p.after(received))
    }

    /// This row with a configured override applied (every value given replaces the built-in).
    pub fn with(mut self, o: &RegimeOverride) -> Self {
        if let Some(p) = o.response {
            self.response = p;
        }
        if let Some(b) = o.clock_from_receipt {
            self.clock_from_receipt = b;
        }
        if let Some(p) = o.extension {
            self.extension = p.0;
        }
        if let Some(b) = o.extension_notice_before_due {
            self.extension_notice_before_due = b;
        }
        if let Some(p) = o.acknowledge {
            self.acknowledge = p.0;
        }
        if let Some(b) = o.hold_pauses {
            self.hold_pauses = b;
        }
        if let Some(p) = o.appeal {
            self.appeal = p.0;
        }
        if let Some(p) = o.appeal_extension {
            self.appeal_extension = p.0;
        }
        if let Some(p) = o.opt_out {
            self.opt_out = p.0;
        }
        match (&o.authority_name, &o.authority_url) {
            (Some(name), Some(url)) => {
                self.authority = authority(name, url);
            }
            (Some(name), None) => {
                let url = self.authority.map(|a| a.url).unwrap_or_default();
                self.authority = authority(name, &url);
            }
            (None, Some(url)) => {
                let name = self.authority.map(|a| a.name).unwrap_or_default();
                self.authority = authority(&name, url);
            }
            (None, None) => {}
        }
        self
    }
}

/// `[regimes.<name>]`: values that replace the built-in row of one regime. Periods are
/// text (`"45 days"`, `"1 month"`, `"15 business days"`); optional ones also take `"none"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegimeOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_from_receipt: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<MaybePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_notice_before_due: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<MaybePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_pauses: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<MaybePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_extension: Option<MaybePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<MaybePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
}

impl RegimeOverride {
    /// Problems serde cannot see, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(name) = &self.authority_name
            && name.trim().is_empty()
        {
            out.push(("authority_name", "must not be empty".to_string()));
        }
        if let Some(url) = &self.authority_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            out.push((
                "authority_url",
                "must start with https:// or http://".to_string(),
            ));
        }
        if let (Some(MaybePeriod(Some(_))), Some(MaybePeriod(None))) =
            (self.appeal_extension, self.appeal)
        {
            out.push((
                "appeal_extension",
                "is set while `appeal = \"none\"`: an appeal extension needs an appeal".into(),
            ));
        }
        out
    }
}
