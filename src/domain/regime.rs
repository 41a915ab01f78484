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
    if n > 0 && n.is_multiple_of(5) && !is_business_day(day) {
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
                // § 7021(b): the 45 days run "regardless of time required to verify"
                // (issue 20 item 5; earlier releases paused it).
                hold_pauses: false,
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
                // The company's own promise: no statute lets a hold stop it.
                hold_pauses: false,
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
        self.appeal
            .and(self.appeal_extension)
            .map(|p| p.after(appeal_due))
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

/// A residence that is not ISO 3166-1 alpha-2 (`BR`) or ISO 3166-2 (`US-VA`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a country code like `BR` or a country and region like `US-VA` (ISO 3166)")]
pub struct ResidenceError;

/// Normalise a residence: trimmed, upper case, `CC` or `CC-RRR` (region 1 to 3 letters or
/// digits).
pub fn parse_residence(text: &str) -> Result<String, ResidenceError> {
    let t = text.trim().to_ascii_uppercase();
    let (country, region) = match t.split_once('-') {
        Some((c, r)) => (c, Some(r)),
        None => (t.as_str(), None),
    };
    let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    let region_ok = region.is_none_or(|r| {
        (1..=3).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    if country_ok && region_ok {
        Ok(t)
    } else {
        Err(ResidenceError)
    }
}

/// EU member states and the other EEA countries (ISO 3166-1 alpha-2).
const EU_EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// The built-in residence -> regime table (`[deadlines.jurisdictions]` adds to it and
/// overrides it). `residence` is normalised ([`parse_residence`]).
pub fn default_jurisdiction(residence: &str) -> Option<Regime> {
    let by_region = match residence {
        "US-CA" => Some(Regime::Ccpa),
        "US-VA" => Some(Regime::Vcdpa),
        "US-CO" => Some(Regime::Cpa),
        "US-CT" => Some(Regime::Ctdpa),
        "US-TX" => Some(Regime::Tdpsa),
        "US-OR" => Some(Regime::Ocpa),
        "US-UT" => Some(Regime::Ucpa),
        "US-IA" => Some(Regime::Icdpa),
        _ => None,
    };
    if by_region.is_some() {
        return by_region;
    }
    let country = residence.split('-').next().unwrap_or(residence);
    if EU_EEA.contains(&country) {
        return Some(Regime::Gdpr);
    }
    match country {
        "GB" => Some(Regime::UkGdpr),
        "BR" => Some(Regime::Lgpd),
        _ => None,
    }
}

/// The regime for a residence, most specific first: the configured exact code, the
/// built-in exact code (`US-VA`), the configured country, the built-in country, else
/// `fallback` (`deadlines.regime`).
pub fn regime_for_residence(
    residence: Option<&str>,
    configured: &std::collections::BTreeMap<String, Regime>,
    fallback: Regime,
) -> Regime {
    let Some(r) = residence else { return fallback };
    let country = r.split('-').next().unwrap_or(r);
    let region = (country != r).then_some(r);
    region
        .and_then(|r| configured.get(r).copied())
        .or_else(|| region.and_then(builtin_region))
        .or_else(|| configured.get(country).copied())
        .or_else(|| default_jurisdiction(country))
        .unwrap_or(fallback)
}

fn builtin_region(residence: &str) -> Option<Regime> {
    default_jurisdiction(residence).filter(|_| residence.starts_with("US-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::{DeadlinePolicy, ExtensionError, extend_under};

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    /// One hand-written expectation about a regime, read from its statute.
    #[derive(Debug)]
    enum V {
        /// Clock start day -> due date (regime only, no policy promise).
        Due(NaiveDate, NaiveDate),
        /// Unextended due date -> latest extended due date (None: no extension).
        ExtMax(NaiveDate, Option<NaiveDate>),
        /// An extension asked on `today` for a request due on the first date.
        Extend(NaiveDate, NaiveDate, Result<NaiveDate, ExtensionError>),
        /// Received -> receipt must be confirmed by.
        Ack(NaiveDate, Option<NaiveDate>),
        /// Appeal received -> appeal decision due.
        Appeal(NaiveDate, Option<NaiveDate>),
        /// Appeal due -> latest extended appeal due.
        AppealExt(NaiveDate, Option<NaiveDate>),
        /// Opt-out received -> honoured by.
        OptOut(NaiveDate, Option<NaiveDate>),
        /// With `clock_starts = verified`, received and verified days -> clock start day.
        ClockStart(NaiveDate, NaiveDate, NaiveDate),
        /// Whether a hold pauses the clock.
        HoldPauses(bool),
        /// The complaint authority's URL contains this (None: no authority built in).
        Authority(Option<&'static str>),
    }

    fn run(regime: Regime, vectors: &[V]) {
        assert!(
            vectors.len() >= 8,
            "{regime}: at least 8 vectors, got {}",
            vectors.len()
        );
        let rules = regime.rules();
        let policy = DeadlinePolicy {
            regime,
            policy_days: 0,
            clock_starts: ClockStart::Verified,
        };
        for v in vectors {
            match v {
                V::Due(start, due) => {
                    assert_eq!(rules.statutory_due(*start), *due, "{regime} {v:?}");
                    assert_eq!(regime.statutory_due(*start), *due, "{regime} {v:?}");
                    assert_eq!(policy.due_date(*start, *start), *due, "{regime} {v:?}");
                }
                V::ExtMax(due, max) => {
                    assert_eq!(rules.max_extension(*due), *max, "{regime} {v:?}");
                    assert_eq!(regime.max_extension(*due), *max, "{regime} {v:?}");
                }
                V::Extend(due, today, result) => {
                    let got = extend_under(&rules, *due, false, *today, None, "many records");
                    assert_eq!(&got, result, "{regime} {v:?}");
                }
                V::Ack(received, by) => {
                    assert_eq!(rules.acknowledge_by(*received), *by, "{regime} {v:?}")
                }
                V::Appeal(received, due) => {
                    assert_eq!(rules.appeal_due(*received), *due, "{regime} {v:?}")
                }
                V::AppealExt(due, max) => {
                    assert_eq!(rules.appeal_max_extension(*due), *max, "{regime} {v:?}")
                }
                V::OptOut(received, by) => {
                    assert_eq!(rules.opt_out_due(*received), *by, "{regime} {v:?}")
                }
                V::ClockStart(received, verified, start) => {
                    assert_eq!(
                        policy.start_day(*received, *verified),
                        *start,
                        "{regime} {v:?}"
                    )
                }
                V::HoldPauses(b) => assert_eq!(rules.hold_pauses, *b, "{regime}"),
                V::Authority(None) => assert_eq!(rules.authority, None, "{regime}"),
                V::Authority(Some(part)) => {
                    let a = rules.authority.as_ref().expect("an authority");
                    assert!(a.url.contains(part), "{regime}: {a:?}");
                    assert!(a.url.starts_with("https://"), "{regime}: {a:?}");
                    assert!(!a.name.trim().is_empty(), "{regime}: {a:?}");
                }
            }
        }
    }

    fn too_late(due: NaiveDate) -> Result<NaiveDate, ExtensionError> {
        Err(ExtensionError::TooLate { due })
    }

    // ---- GDPR and UK GDPR: Art. 12(3), one month + two months --------------------

    fn gdpr_like() -> Vec<V> {
        use V::*;
        vec![
            Due(d(2026, 1, 31), d(2026, 2, 28)),
            Due(d(2024, 1, 31), d(2024, 2, 29)),
            Due(d(2026, 3, 31), d(2026, 4, 30)),
            Due(d(2026, 12, 15), d(2027, 1, 15)),
            ExtMax(d(2026, 2, 28), Some(d(2026, 4, 28))),
            ExtMax(d(2025, 12, 31), Some(d(2026, 2, 28))),
            Extend(d(2026, 2, 28), d(2026, 2, 28), Ok(d(2026, 4, 28))),
            Extend(d(2026, 2, 28), d(2026, 3, 1), too_late(d(2026, 2, 28))),
            Ack(d(2026, 3, 2), None),
            Appeal(d(2026, 3, 2), None),
            AppealExt(d(2026, 3, 2), None),
            OptOut(d(2026, 5, 31), Some(d(2026, 6, 30))),
            // The clock starts on verification when so configured.
            ClockStart(d(2026, 3, 2), d(2026, 3, 5), d(2026, 3, 5)),
            HoldPauses(true),
        ]
    }

    #[test]
    fn gdpr_vectors() {
        let mut v = gdpr_like();
        v.push(V::Authority(Some("edpb.europa.eu")));
        run(Regime::Gdpr, &v);
    }

    #[test]
    fn uk_gdpr_vectors() {
        let mut v = gdpr_like();
        v.push(V::Authority(Some("ico.org.uk")));
        run(Regime::UkGdpr, &v);
    }

    // ---- LGPD: Art. 19, II: 15 days ---------------------------------------------

    #[test]
    fn lgpd_vectors() {
        use V::*;
        run(
            Regime::Lgpd,
            &[
                Due(d(2026, 11, 1), d(2026, 11, 16)),
                Due(d(2026, 12, 20), d(2027, 1, 4)),
                Due(d(2024, 2, 20), d(2024, 3, 6)),
                Due(d(2026, 2, 20), d(2026, 3, 7)),
                ExtMax(d(2026, 11, 16), None),
                Extend(
                    d(2026, 11, 16),
                    d(2026, 11, 10),
                    Err(ExtensionError::NotAllowed),
                ),
                Ack(d(2026, 11, 1), None),
                Appeal(d(2026, 11, 1), None),
                OptOut(d(2026, 11, 1), Some(d(2026, 11, 16))),
                ClockStart(d(2026, 11, 1), d(2026, 11, 3), d(2026, 11, 3)),
                HoldPauses(true),
                Authority(Some("gov.br/anpd")),
            ],
        );
    }

    // ---- CCPA: Civ. Code 1798.130(a)(2); 11 CCR 7021, 7026 ------------------------

    #[test]
    fn ccpa_vectors() {
        use V::*;
        run(
            Regime::Ccpa,
            &[
                Due(d(2026, 11, 20), d(2027, 1, 4)),
                Due(d(2026, 1, 1), d(2026, 2, 15)),
                ExtMax(d(2027, 1, 4), Some(d(2027, 2, 18))),
                Extend(d(2027, 1, 4), d(2027, 1, 5), too_late(d(2027, 1, 4))),
                // 45 days from receipt "regardless of time required to verify".
                ClockStart(d(2026, 11, 20), d(2026, 11, 25), d(2026, 11, 20)),
                // 10 business days to confirm receipt: Friday -> Friday two weeks on.
                Ack(d(2026, 12, 4), Some(d(2026, 12, 18))),
                // Received on a Saturday: Monday is business day 1.
                Ack(d(2026, 12, 5), Some(d(2026, 12, 18))),
                // Wednesday: two weekends crossed.
                Ack(d(2026, 12, 9), Some(d(2026, 12, 23))),
                // 15 business days to honour an opt-out.
                OptOut(d(2026, 12, 7), Some(d(2026, 12, 28))),
                OptOut(d(2026, 12, 6), Some(d(2026, 12, 25))),
                OptOut(d(2026, 1, 30), Some(d(2026, 2, 20))),
                Appeal(d(2026, 12, 7), None),
                AppealExt(d(2026, 12, 7), None),
                HoldPauses(false),
                Authority(Some("cppa.ca.gov")),
            ],
        );
    }

    // ---- US state laws -----------------------------------------------------------

    /// Vectors every 45 + 45 day state law shares.
    fn us_45() -> Vec<V> {
        use V::*;
        vec![
            // 45 days from receipt, across a month end (Sunday due date stays).
            Due(d(2026, 1, 15), d(2026, 3, 1)),
            Due(d(2026, 11, 20), d(2027, 1, 4)),
            // Calendar days: from a Friday across seven weekends to a Monday.
            Due(d(2026, 12, 4), d(2027, 1, 18)),
            // Counted from receipt even when verification comes later.
            ClockStart(d(2026, 1, 15), d(2026, 1, 20), d(2026, 1, 15)),
            ExtMax(d(2026, 3, 1), Some(d(2026, 4, 15))),
            // The extension must be told within the initial 45 days.
            Extend(d(2026, 3, 1), d(2026, 3, 1), Ok(d(2026, 4, 15))),
            Extend(d(2026, 3, 1), d(2026, 3, 2), too_late(d(2026, 3, 1))),
            Ack(d(2026, 1, 15), None),
        ]
    }

    #[test]
    fn vcdpa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 4, 20), Some(d(2026, 6, 19))),
            Appeal(d(2026, 12, 31), Some(d(2027, 3, 1))),
            AppealExt(d(2026, 6, 19), None),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(false),
            Authority(Some("oag.state.va.us")),
        ]);
        run(Regime::Vcdpa, &v);
    }

    #[test]
    fn cpa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 6, 1), Some(d(2026, 7, 16))),
            AppealExt(d(2026, 7, 16), Some(d(2026, 9, 14))),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(false),
            Authority(Some("coag.gov")),
        ]);
        run(Regime::Cpa, &v);
    }

    #[test]
    fn ctdpa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 2, 28), Some(d(2026, 4, 29))),
            AppealExt(d(2026, 4, 29), None),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(false),
            Authority(Some("portal.ct.gov")),
        ]);
        run(Regime::Ctdpa, &v);
    }

    #[test]
    fn tdpsa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 4, 20), Some(d(2026, 6, 19))),
            AppealExt(d(2026, 6, 19), None),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(false),
            Authority(Some("texasattorneygeneral.gov")),
        ]);
        run(Regime::Tdpsa, &v);
    }

    #[test]
    fn ocpa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 6, 1), Some(d(2026, 7, 16))),
            AppealExt(d(2026, 7, 16), None),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(true),
            Authority(Some("doj.state.or.us")),
        ]);
        run(Regime::Ocpa, &v);
    }

    #[test]
    fn ucpa_vectors() {
        use V::*;
        let mut v = us_45();
        v.extend([
            Appeal(d(2026, 6, 1), None),
            AppealExt(d(2026, 7, 16), None),
            OptOut(d(2026, 1, 15), Some(d(2026, 3, 1))),
            HoldPauses(false),
            Authority(Some("dcp.utah.gov")),
        ]);
        run(Regime::Ucpa, &v);
    }

    #[test]
    fn icdpa_vectors() {
        use V::*;
        run(
            Regime::Icdpa,
            &[
                // 90 days from receipt.
                Due(d(2026, 1, 1), d(2026, 4, 1)),
                Due(d(2026, 11, 20), d(2027, 2, 18)),
                ClockStart(d(2026, 1, 1), d(2026, 1, 9), d(2026, 1, 1)),
                // One extension of 45 days, told within the initial 90.
                ExtMax(d(2026, 4, 1), Some(d(2026, 5, 16))),
                Extend(d(2026, 4, 1), d(2026, 3, 20), Ok(d(2026, 5, 16))),
                Extend(d(2026, 4, 1), d(2026, 4, 2), too_late(d(2026, 4, 1))),
                Appeal(d(2026, 4, 20), Some(d(2026, 6, 19))),
                AppealExt(d(2026, 6, 19), None),
                OptOut(d(2026, 1, 1), Some(d(2026, 4, 1))),
                Ack(d(2026, 1, 1), None),
                HoldPauses(false),
                Authority(Some("iowaattorneygeneral.gov")),
            ],
        );
    }

    #[test]
    fn custom_days_vectors() {
        use V::*;
        run(
            Regime::Days(30),
            &[
                Due(d(2026, 11, 1), d(2026, 12, 1)),
                Due(d(2026, 1, 31), d(2026, 3, 2)),
                Due(d(2024, 1, 31), d(2024, 3, 1)),
                ExtMax(d(2026, 12, 1), None),
                Extend(
                    d(2026, 12, 1),
                    d(2026, 11, 20),
                    Err(ExtensionError::NotAllowed),
                ),
                ClockStart(d(2026, 11, 1), d(2026, 11, 4), d(2026, 11, 4)),
                Appeal(d(2026, 11, 1), None),
                OptOut(d(2026, 11, 1), None),
                Ack(d(2026, 11, 1), None),
                HoldPauses(false),
                Authority(None),
            ],
        );
        assert_eq!(
            Regime::Days(1).statutory_due(d(2026, 12, 31)),
            d(2027, 1, 1)
        );
    }

    // ---- business days -------------------------------------------------------------

    #[test]
    fn business_days_skip_weekends_for_every_start_day_and_length() {
        let mut start = d(2026, 1, 1);
        while start < d(2027, 1, 1) {
            for n in 1..=25 {
                let end = Period::business_days(n).after(start);
                assert!(is_business_day(end), "{start} + {n}: {end} is a weekend");
                let mut counted = 0;
                let mut day = start;
                while day < end {
                    day = day.succ_opt().expect("in range");
                    if is_business_day(day) {
                        counted += 1;
                    }
                }
                assert_eq!(counted, n, "{start} + {n} business days = {end}");
            }
            start = start.succ_opt().expect("in range");
        }
    }

    #[test]
    fn periods_saturate_at_the_last_date() {
        for p in [
            Period::days(45),
            Period::months(1),
            Period::business_days(15),
            Period::business_days(5),
        ] {
            assert_eq!(p.after(NaiveDate::MAX), NaiveDate::MAX, "{p}");
            assert_eq!(
                p.after(NaiveDate::MAX - Days::new(2)),
                NaiveDate::MAX,
                "{p}"
            );
        }
    }

    /// A counsel who reads a period as business days overrides it; every regime then
    /// counts Monday to Friday across weekends, for answers, appeals and their extension.
    #[test]
    fn business_day_overrides_cross_weekends_in_every_regime() {
        let o: RegimeOverride = toml::from_str(
            r#"
            response = "10 business days"
            appeal = "5 business days"
            appeal_extension = "5 business days"
            "#,
        )
        .expect("override parses");
        for regime in Regime::NAMED.into_iter().chain([Regime::Days(30)]) {
            let rules = regime.rules().with(&o);
            // Friday -> Friday two weeks on (two weekends skipped).
            assert_eq!(
                rules.statutory_due(d(2026, 12, 4)),
                d(2026, 12, 18),
                "{regime}"
            );
            // Received on a Saturday: Monday is day 1, the fifth is Friday.
            assert_eq!(
                rules.appeal_due(d(2026, 12, 5)),
                Some(d(2026, 12, 11)),
                "{regime}"
            );
            // Wednesday: one weekend crossed.
            assert_eq!(
                rules.appeal_due(d(2026, 12, 9)),
                Some(d(2026, 12, 16)),
                "{regime}"
            );
            assert_eq!(
                rules.appeal_max_extension(d(2026, 12, 11)),
                Some(d(2026, 12, 18)),
                "{regime}"
            );
        }
    }

    // ---- text forms and overrides ---------------------------------------------------

    #[test]
    fn period_text_round_trips_and_rejects_nonsense() {
        for (text, p) in [
            ("45 days", Period::days(45)),
            ("1 day", Period::days(1)),
            ("1 month", Period::months(1)),
            ("2 months", Period::months(2)),
            ("15 business days", Period::business_days(15)),
            ("1 business day", Period::business_days(1)),
        ] {
            assert_eq!(text.parse::<Period>(), Ok(p), "{text}");
            assert_eq!(p.to_string(), text);
        }
        assert_eq!("30 calendar days".parse(), Ok(Period::days(30)));
        for bad in [
            "",
            "45",
            "days",
            "0 days",
            "-1 days",
            "+5 days",
            "45 weeks",
            "3651 days",
            "45days",
            "x days",
            "none",
        ] {
            let err = bad.parse::<Period>().expect_err(bad);
            assert_eq!(err.input, bad);
            assert!(err.to_string().contains("business days"), "{err}");
        }
    }

    #[test]
    fn an_override_replaces_only_the_values_it_gives() {
        let o: RegimeOverride = toml::from_str(
            r#"
            response = "30 days"
            extension = "none"
            hold_pauses = true
            appeal = "10 business days"
            authority_name = "Virginia Office of the Attorney General, Computer Crime Section"
            "#,
        )
        .expect("override parses");
        let rules = Regime::Vcdpa.rules().with(&o);
        assert_eq!(rules.response, Period::days(30));
        assert_eq!(rules.extension, None);
        assert!(rules.hold_pauses);
        assert_eq!(rules.appeal, Some(Period::business_days(10)));
        let a = rules.authority.as_ref().expect("authority");
        assert_eq!(
            a.name,
            "Virginia Office of the Attorney General, Computer Crime Section"
        );
        assert_eq!(a.url, "https://www.oag.state.va.us/consumer-protection/");
        // Untouched values stay.
        assert!(rules.clock_from_receipt);
        assert_eq!(rules.opt_out, Some(Period::days(45)));
        // The due date follows the override.
        assert_eq!(rules.statutory_due(d(2026, 1, 15)), d(2026, 2, 14));
        assert_eq!(
            extend_under(&rules, d(2026, 2, 14), false, d(2026, 2, 1), None, "r"),
            Err(ExtensionError::NotAllowed)
        );
        assert_eq!(rules.appeal_due(d(2026, 12, 4)), Some(d(2026, 12, 18)));
        // An empty override is the built-in row.
        assert_eq!(
            Regime::Ccpa.rules().with(&RegimeOverride::default()),
            Regime::Ccpa.rules()
        );
    }

    #[test]
    fn an_extension_without_a_notice_rule_may_come_late() {
        let rules = Regime::Ucpa.rules().with(&RegimeOverride {
            extension_notice_before_due: Some(false),
            ..Default::default()
        });
        assert_eq!(
            extend_under(&rules, d(2026, 3, 1), false, d(2026, 3, 5), None, "r"),
            Ok(d(2026, 4, 15))
        );
    }

    #[test]
    fn a_bad_override_names_its_key() {
        let err =
            toml::from_str::<RegimeOverride>(r#"respons = "30 days""#).expect_err("unknown key");
        assert!(err.to_string().contains("respons"), "{err}");
        let err =
            toml::from_str::<RegimeOverride>(r#"appeal = "sixty days""#).expect_err("bad period");
        assert!(err.to_string().contains("none"), "{err}");
        let o: RegimeOverride = toml::from_str(
            r#"
            appeal = "none"
            appeal_extension = "60 days"
            authority_url = "ftp://example.org"
            authority_name = " "
            "#,
        )
        .expect("parses");
        let fields: Vec<&str> = o.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["authority_name", "authority_url", "appeal_extension"]
        );
    }

    #[test]
    fn every_named_regime_has_an_authority_and_a_response_period() {
        for regime in Regime::NAMED {
            let rules = regime.rules();
            assert!(rules.authority.is_some(), "{regime}");
            assert!(rules.response.length > 0, "{regime}");
            assert_eq!(regime.to_string().parse::<Regime>(), Ok(regime));
            if rules.appeal.is_none() {
                assert_eq!(rules.appeal_max_extension(d(2026, 1, 1)), None, "{regime}");
            }
        }
    }

    // ---- residence -> regime -----------------------------------------------------------

    #[test]
    fn residence_codes_are_normalised_and_checked() {
        assert_eq!(parse_residence(" us-va "), Ok("US-VA".into()));
        assert_eq!(parse_residence("de"), Ok("DE".into()));
        assert_eq!(parse_residence("GB-SCT"), Ok("GB-SCT".into()));
        for bad in [
            "", "U", "USA", "US-", "US-VIRG", "U1", "US_VA", "US-V A", "ÜS",
        ] {
            assert_eq!(parse_residence(bad), Err(ResidenceError), "{bad:?}");
        }
    }

    #[test]
    fn residence_picks_the_regime() {
        let none = std::collections::BTreeMap::new();
        let pick = |r: Option<&str>| regime_for_residence(r, &none, Regime::Days(30));
        assert_eq!(pick(Some("US-VA")), Regime::Vcdpa);
        assert_eq!(pick(Some("US-CA")), Regime::Ccpa);
        assert_eq!(pick(Some("US-CO")), Regime::Cpa);
        assert_eq!(pick(Some("US-CT")), Regime::Ctdpa);
        assert_eq!(pick(Some("US-TX")), Regime::Tdpsa);
        assert_eq!(pick(Some("US-OR")), Regime::Ocpa);
        assert_eq!(pick(Some("US-UT")), Regime::Ucpa);
        assert_eq!(pick(Some("US-IA")), Regime::Icdpa);
        assert_eq!(pick(Some("DE")), Regime::Gdpr);
        assert_eq!(pick(Some("NO")), Regime::Gdpr);
        assert_eq!(pick(Some("FR-75")), Regime::Gdpr);
        assert_eq!(pick(Some("GB")), Regime::UkGdpr);
        assert_eq!(pick(Some("BR")), Regime::Lgpd);
        assert_eq!(pick(Some("US-NY")), Regime::Days(30));
        assert_eq!(pick(Some("US")), Regime::Days(30));
        assert_eq!(pick(Some("CH")), Regime::Days(30));
        assert_eq!(pick(None), Regime::Days(30));
        let configured = std::collections::BTreeMap::from([
            ("US".to_string(), Regime::Ccpa),
            ("US-VA".to_string(), Regime::Days(10)),
            ("CH".to_string(), Regime::Gdpr),
        ]);
        let pick = |r: &str| regime_for_residence(Some(r), &configured, Regime::Lgpd);
        assert_eq!(pick("US-VA"), Regime::Days(10), "exact code first");
        assert_eq!(pick("US-NY"), Regime::Ccpa, "then the country");
        assert_eq!(pick("CH"), Regime::Gdpr);
        assert_eq!(
            pick("US-CO"),
            Regime::Cpa,
            "a state's own law before the country"
        );
        assert_eq!(pick("GB"), Regime::UkGdpr, "built-in table");
    }
}
