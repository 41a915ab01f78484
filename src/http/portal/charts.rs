//! The dashboard's charts, drawn on the server as inline SVG (no script): requests
//! received per week by kind (last 12 weeks), the on-time rate per month (the SLA
//! report's computation, last 12 months by month of receipt) and open requests by days
//! left. The counting is pure so it can be checked by hand; each bar carries a `<title>`
//! and a visible label with its number.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{Datelike, Days, Months, NaiveDate, TimeZone, Utc};

use crate::domain::deadline;
use crate::domain::request::Kind;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::api::reports::{SlaLine, aggregate};
use crate::store::SlaRow;

/// Colours of the kinds, in `Kind::ALL` order (presentation attributes: the portal's
/// CSP allows no inline styles).
const PALETTE: &[&str] = &[
    "#1f5fbf", "#2a9d8f", "#e76f51", "#8a5a00", "#6a4c93", "#b3261e", "#3d4a5f", "#4d908e",
    "#f4a261", "#577590",
];

/// The buckets of open requests by days left.
pub const BUCKETS: [&str; 5] = ["overdue", "0–2", "3–7", "8–14", "15+"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Monday of the week of `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// Received per week (Monday first) and kind, for the 12 weeks ending with this one.
pub fn weekly(
    rows: &[SlaRow],
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Vec<(NaiveDate, BTreeMap<String, u32>)> {
    let last = week_start(today);
    let first = last - Days::new(7 * 11);
    let mut weeks: Vec<(NaiveDate, BTreeMap<String, u32>)> = (0..12)
        .map(|i| (first + Days::new(7 * i), BTreeMap::new()))
        .collect();
    for r in rows {
        let w = week_start(r.received_at.with_timezone(&tz).date_naive());
        if w < first || w > last {
            continue;
        }
        let i = ((w - first).num_days() / 7) as usize;
        if let Some((_, counts)) = weeks.get_mut(i) {
            *counts.entry(r.kind.clone()).or_insert(0) += 1;
        }
    }
    weeks
}

/// Per month of receipt (12 months ending with this one): `(month, on time, answered)`.
pub fn on_time_by_month(lines: &[SlaLine], today: NaiveDate) -> Vec<(String, u32, u32)> {
    let this = today.with_day(1).unwrap_or(today);
    (0..12u32)
        .rev()
        .map(|back| {
            let m = this
                .checked_sub_months(Months::new(back))
                .unwrap_or(this)
                .format("%Y-%m")
                .to_string();
            let (on_time, late) = lines
                .iter()
                .filter(|l| l.month == m)
                .fold((0, 0), |(o, l), x| {
                    (o + x.answered_on_time, l + x.answered_late)
                });
            (m, on_time, on_time + late)
        })
        .collect()
}

/// Open requests per bucket of days left (see [`BUCKETS`]); those without a due date
/// are not counted.
pub fn by_days_left(due_dates: &[Option<NaiveDate>], today: NaiveDate) -> [u32; 5] {
    let mut out = [0u32; 5];
    for due in due_dates.iter().flatten() {
        let i = if deadline::is_overdue(today, *due) {
            0
        } else {
            match deadline::days_until(today, *due) {
                0..=2 => 1,
                3..=7 => 2,
                8..=14 => 3,
                _ => 4,
            }
        };
        out[i] += 1;
    }
    out
}

const W: u32 = 640;
const H: u32 = 220;
const TOP: u32 = 24;
const BOTTOM: u32 = 190;

fn open_svg(out: &mut String, id: &str, title: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{}</title><line class="axis" x1="0" y1="{BOTTOM}" x2="{W}" y2="{BOTTOM}" stroke="#d9dee7"/>"##,
        esc(title)
    );
}

fn bar_height(n: u32, max: u32) -> u32 {
    if max == 0 {
        0
    } else {
        ((u64::from(n) * u64::from(BOTTOM - TOP)) / u64::from(max)) as u32
    }
}

/// Stacked bars: received per week, one colour per kind.
pub fn weekly_svg(weeks: &[(NaiveDate, BTreeMap<String, u32>)]) -> String {
    let mut out = String::new();
    open_svg(
        &mut out,
        "chart-weekly",
        "Requests received per week by kind, last 12 weeks",
    );
    let max = weeks
        .iter()
        .map(|(_, c)| c.values().sum::<u32>())
        .max()
        .unwrap_or(0);
    let slot = W / weeks.len().max(1) as u32;
    for (i, (week, counts)) in weeks.iter().enumerate() {
        let x = i as u32 * slot + 8;
        let total: u32 = counts.values().sum();
        let _ = write!(
            out,
            r##"<g class="week" data-week="{week}" data-total="{total}">"##
        );
        let mut y = BOTTOM;
        for (k, kind) in Kind::ALL.iter().enumerate() {
            let n = counts.get(kind.as_str()).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = bar_height(n, max);
            y -= h;
            let _ = write!(
                out,
                r##"<rect class="seg" data-kind="{kind}" data-count="{n}" x="{x}" y="{y}" width="{}" height="{h}" fill="{}"><title>Week of {week}, {kind}: {n}</title></rect>"##,
                slot - 16,
                PALETTE[k % PALETTE.len()]
            );
        }
        let _ = write!(
            out,
            r##"<text class="total" x="{}" y="{}" text-anchor="middle">{total}</text><text class="label" x="{}" y="{}" text-anchor="middle">{}</text></g>"##,
            x + (slot - 16) / 2,
            y.saturating_sub(4).max(10),
            x + (slot - 16) / 2,
            BOTTOM + 16,
            week.format("%d %b")
        );
    }
    out.push_str("</svg>");
    out
}

/// The legend of the weekly chart: the kinds that appear, with their colours.
pub fn legend(weeks: &[(NaiveDate, BTreeMap<String, u32>)]) -> Vec<serde_json::Value> {
    Kind::ALL
        .iter()
        .enumerate()
        .filter(|(_, k)| weeks.iter().any(|(_, c)| c.contains_key(k.as_str())))
        .map(|(i, k)| {
            serde_json::json!({
                "kind": k.as_str(),
                "swatch": format!(
                    r##"<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{}"/></svg>"##,
                    PALETTE[i % PALETTE.len()]
                ),
            })
        })
        .collect()
}

/// Bars of the on-time rate per month; a month with nothing answered shows "—".
pub fn on_time_svg(months: &[(String, u32, u32)]) -> String {
    let mut out = String::new();
    open_svg(
        &mut out,
        "chart-on-time",
        "Answered on time per month of receipt, last 12 months",
    );
    let slot = W / months.len().max(1) as u32;
    for (i, (month, on_time, answered)) in months.iter().enumerate() {
        let x = i as u32 * slot + 8;
        let pct = (*answered > 0).then(|| on_time * 100 / answered);
        let label = pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into());
        let h = bar_height(pct.unwrap_or(0), 100);
        let y = BOTTOM - h;
        let _ = write!(
            out,
            r##"<g class="month" data-month="{month}" data-on-time="{on_time}" data-answered="{answered}"><rect class="bar" x="{x}" y="{y}" width="{}" height="{h}" fill="{}"><title>{month}: {on_time} of {answered} answered on time</title></rect><text class="rate" x="{}" y="{}" text-anchor="middle">{label}</text><text class="label" x="{}" y="{}" text-anchor="middle">{}</text></g>"##,
            slot - 16,
            if pct.is_some_and(|p| p < 90) {
                "#b3261e"
            } else {
                "#1e7b34"
            },
            x + (slot - 16) / 2,
            y.saturating_sub(4).max(10),
            x + (slot - 16) / 2,
            BOTTOM + 16,
            month.get(2..).unwrap_or(month),
        );
    }
    out.push_str("</svg>");
    out
}

/// One bar per bucket of days left.
pub fn days_left_svg(counts: &[u32; 5]) -> String {
    let mut out = String::new();
    open_svg(&mut out, "chart-days-left", "Open requests by days left");
    let max = counts.iter().copied().max().unwrap_or(0);
    let slot = W / 5;
    for (i, (bucket, n)) in BUCKETS.iter().zip(counts).enumerate() {
        let x = i as u32 * slot + 20;
        let h = bar_height(*n, max);
        let y = BOTTOM - h;
        let fill = match i {
            0 => "#b3261e",
            1 => "#8a5a00",
            _ => "#1f5fbf",
        };
        let _ = write!(
            out,
            r##"<g class="bucket" data-bucket="{bucket}" data-count="{n}"><rect class="bar" x="{x}" y="{y}" width="{}" height="{h}" fill="{fill}"><title>{}: {n}</title></rect><text class="count" x="{}" y="{}" text-anchor="middle">{n}</text><text class="label" x="{}" y="{}" text-anchor="middle">{}</text></g>"##,
            slot - 40,
            if i == 0 {
                "Overdue".to_string()
            } else {
                format!("{bucket} days left")
            },
            x + (slot - 40) / 2,
            y.saturating_sub(4).max(10),
            x + (slot - 40) / 2,
            BOTTOM + 16,
            if i == 0 {
                "overdue".to_string()
            } else {
                format!("{bucket} days")
            },
        );
    }
    out.push_str("</svg>");
    out
}

/// The three charts of the dashboard, as template values.
pub async fn dashboard_charts(
    state: &AppState,
    today: NaiveDate,
) -> Result<serde_json::Value, AppError> {
    let tz = state.config.deadlines.timezone.0;
    let this_month = today.with_day(1).unwrap_or(today);
    let first_month = this_month
        .checked_sub_months(Months::new(11))
        .unwrap_or(this_month);
    // Twelve months back always covers the twelve weeks too.
    let first = first_month.min(week_start(today) - Days::new(7 * 11));
    let from = tz
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let rows = state
        .store
        .sla_rows(from, state.clock.now() + chrono::TimeDelta::days(1))
        .await?;
    let weeks = weekly(&rows, today, tz);
    let lines = aggregate(&rows, today, tz);
    let months = on_time_by_month(&lines, today);
    let buckets = by_days_left(&state.store.open_due_dates().await?, today);
    Ok(serde_json::json!({
        "weekly": weekly_svg(&weeks),
        "legend": legend(&weeks),
        "on_time": on_time_svg(&months),
        "days_left": days_left_svg(&buckets),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn buckets_split_at_the_documented_days() {
        let today = d("2026-12-06");
        let dues: Vec<Option<NaiveDate>> = [
            "2026-12-05",
            "2026-12-06",
            "2026-12-08",
            "2026-12-09",
            "2026-12-13",
            "2026-12-14",
            "2026-12-20",
            "2026-12-21",
        ]
        .iter()
        .map(|s| Some(d(s)))
        .chain([None])
        .collect();
        assert_eq!(by_days_left(&dues, today), [1, 2, 2, 2, 1]);
    }

    #[test]
    fn weeks_start_on_monday_and_count_by_kind() {
        assert_eq!(week_start(d("2026-12-06")), d("2026-11-30"));
        let row = |day: &str, kind: &str| SlaRow {
            kind: kind.into(),
            status: "open".into(),
            received_at: Utc.from_utc_datetime(&d(day).and_hms_opt(12, 0, 0).expect("time")),
            due_date: None,
            closed_at: None,
        };
        let rows = [
            row("2026-12-01", "erasure"),
            row("2026-12-06", "erasure"),
            row("2026-11-29", "access"),
            row("2026-01-01", "access"),
        ];
        let w = weekly(&rows, d("2026-12-06"), chrono_tz::UTC);
        assert_eq!(w.len(), 12);
        assert_eq!(w[11].0, d("2026-11-30"));
        assert_eq!(w[11].1.get("erasure"), Some(&2));
        assert_eq!(w[10].1.get("access"), Some(&1));
        assert_eq!(
            w.iter().map(|(_, c)| c.values().sum::<u32>()).sum::<u32>(),
            3
        );
        let svg = weekly_svg(&w);
        assert!(svg.contains("<title>Week of 2026-11-30, erasure: 2</title>"));
        assert!(!svg.contains("<script"));
    }
}
