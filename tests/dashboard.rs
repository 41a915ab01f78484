//! The dashboard's charts and the report downloads, against seeded requests: the SVG's
//! labels give the right numbers (per week and kind, on-time rate per month, open
//! requests by days left), the SLA report comes as CSV and JSON for a chosen period, the
//! request register as CSV, and none of them carries personal data. SQLite and
//! PostgreSQL.

mod common;

use common::TestApp;
use common::portal::Browser;
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};

backend_tests!(charts_and_reports_show_the_seeded_requests);

/// Kind, day received, refused now (`true`) or left open; the test clock is Saturday
/// 2026-10-10, so this week began Monday 2026-10-05.
const SEED: &[(&str, &str, bool)] = &[
    ("erasure", "2026-06-01", true), // answered late; not in the 12 weeks
    ("erasure", "2026-08-03", true), // answered late
    ("access", "2026-09-05", false), // due 10-05: overdue
    ("erasure", "2026-09-11", false), // due 10-11: 1 day left
    ("access", "2026-09-15", false), // due 10-15: 5 days left
    ("erasure", "2026-09-20", false), // due 10-20: 10 days left
    ("access", "2026-09-29", true),  // answered on time
    ("erasure", "2026-10-06", true), // answered on time
    ("erasure", "2026-10-06", false), // due in November: 15+
    ("access", "2026-10-07", false), // due in November: 15+
];

async fn seed(app: &TestApp) -> Vec<String> {
    let token = app.token(Role::Agent).await;
    let mut refs = Vec::new();
    for (i, (kind, day, refuse)) in SEED.iter().enumerate() {
        let (s, v) = common::json(
            app.post_json(
                &token,
                "/api/v1/requests",
                &json!({ "kind": kind, "email": format!("person{i}@example.com"),
                         "received_at": format!("{day}T12:00:00Z"),
                         "verification_note": "Called back on the number on file" }),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let reference = v["reference"].as_str().unwrap().to_string();
        if *refuse {
            let (s, v) = common::json(
                app.post_json(
                    &token,
                    &format!("/api/v1/requests/{reference}/deny"),
                    &json!({ "reason": "no_match", "note": "We hold no data about you." }),
                )
                .await,
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
        refs.push(reference);
    }
    refs
}

/// The chart `<svg id=...>` in the page.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\""
        ))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let end = page[start..].find("</svg>").expect("svg end") + start;
    &page[start..end]
}

/// The group of the chart whose attribute `attr` is `value`.
fn group<'a>(svg: &'a str, attr: &str, value: &str) -> &'a str {
    let start = svg
        .find(&format!("{attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no {attr}={value} in {svg}"));
    let end = svg[start..].find("</g>").expect("group end") + start;
    &svg[start..end]
}

/// The visible text of the `<text class="{class}">` in a group.
fn label(group: &str, class: &str) -> String {
    let start = group
        .find(&format!("<text class=\"{class}\""))
        .unwrap_or_else(|| panic!("no {class} label in {group}"));
    let open = group[start..].find('>').unwrap() + start + 1;
    let close = group[open..].find("</text>").unwrap() + open;
    group[open..close].to_string()
}

async fn charts_and_reports_show_the_seeded_requests(app: TestApp) {
    let refs = seed(&app).await;
    let mut b = Browser::staff(&app, "auditor@staff.example", Role::Auditor).await;
    let page = b.get("/portal").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script"), "no script");

    // Received per week by kind: twelve weeks, the last one this week.
    let weekly = chart(&page.body, "chart-weekly");
    assert_eq!(weekly.matches("class=\"week\"").count(), 12);
    let expected_weeks = [
        ("2026-07-20", "0"),
        ("2026-08-03", "1"),
        ("2026-08-31", "1"),
        ("2026-09-07", "1"),
        ("2026-09-14", "2"),
        ("2026-09-21", "0"),
        ("2026-09-28", "1"),
        ("2026-10-05", "3"),
    ];
    for (week, total) in expected_weeks {
        assert_eq!(
            label(group(weekly, "data-week", week), "total"),
            total,
            "week of {week}"
        );
    }
    let this_week = group(weekly, "data-week", "2026-10-05");
    assert!(
        this_week.contains("<title>Week of 2026-10-05, erasure: 2</title>"),
        "{this_week}"
    );
    assert!(
        this_week.contains("<title>Week of 2026-10-05, access: 1</title>"),
        "{this_week}"
    );
    let mid = group(weekly, "data-week", "2026-09-14");
    assert!(
        mid.contains("access: 1") && mid.contains("erasure: 1"),
        "{mid}"
    );
    assert!(
        page.body.contains("erasure</li>") && page.body.contains("access</li>"),
        "legend"
    );

    // On time per month of receipt (answered = completed or refused).
    let on_time = chart(&page.body, "chart-on-time");
    assert_eq!(on_time.matches("class=\"month\"").count(), 12);
    for (month, rate) in [
        ("2026-06", "0%"),
        ("2026-07", "—"),
        ("2026-08", "0%"),
        ("2026-09", "100%"),
        ("2026-10", "100%"),
    ] {
        assert_eq!(
            label(group(on_time, "data-month", month), "rate"),
            rate,
            "{month}"
        );
    }
    assert!(group(on_time, "data-month", "2026-09").contains("1 of 1 answered on time"));

    // Open requests by days left.
    let days = chart(&page.body, "chart-days-left");
    for (bucket, n) in [
        ("overdue", "1"),
        ("0–2", "1"),
        ("3–7", "1"),
        ("8–14", "1"),
        ("15+", "2"),
    ] {
        assert_eq!(
            label(group(days, "data-bucket", bucket), "count"),
            n,
            "{bucket}"
        );
    }

    // The SLA report of a chosen period, as CSV and as JSON.
    let csv = b
        .get("/portal/reports/sla?from=2026-08&to=2026-10&format=csv")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines,
        [
            "month,kind,received,answered_on_time,answered_late,open,overdue,median_days_to_answer",
            "2026-08,erasure,1,0,1,0,0,68",
            "2026-09,access,3,1,0,2,1,11",
            "2026-09,erasure,2,0,0,2,0,",
            "2026-10,access,1,0,0,1,0,",
            "2026-10,erasure,2,1,0,1,0,4",
        ]
    );
    let json_page = b
        .get("/portal/reports/sla?from=2026-06&to=2026-06&format=json")
        .await;
    assert_eq!(json_page.status, 200);
    let v: Value = serde_json::from_str(&json_page.body).unwrap();
    assert_eq!(v["from"], "2026-06");
    assert_eq!(v["lines"].as_array().unwrap().len(), 1);
    assert_eq!(v["lines"][0]["answered_late"], 1);
    let bad = b.get("/portal/reports/sla?from=2026-13&format=csv").await;
    assert_eq!(bad.status, 422);

    // The register: one row per request received in the period, no personal data.
    let reg = b
        .get("/portal/reports/register?from=2026-06&to=2026-10")
        .await;
    assert_eq!(reg.status, 200, "{}", reg.body);
    let rows: Vec<&str> = reg.body.lines().collect();
    assert_eq!(
        rows[0],
        "reference,kind,regime,source,received_at,verified_at,due_date,extended,status,outcome,deny_reason,closed_at"
    );
    assert_eq!(rows.len(), 1 + SEED.len());
    for r in &refs {
        assert_eq!(
            rows.iter().filter(|l| l.starts_with(r.as_str())).count(),
            1,
            "{r}"
        );
    }
    let first = rows
        .iter()
        .find(|l| l.starts_with(refs[0].as_str()))
        .unwrap();
    assert!(
        first.contains(",erasure,gdpr,staff,2026-06-01T12:00:00Z,"),
        "{first}"
    );
    assert!(
        first.contains(",denied,refused,no_match,2026-10-10T09:00:00Z"),
        "{first}"
    );
    let open = rows
        .iter()
        .find(|l| l.starts_with(refs[2].as_str()))
        .unwrap();
    assert!(open.ends_with(",open,open,,"), "{open}");
    for body in [&csv.body, &json_page.body, &reg.body] {
        assert!(
            !body.contains("@example.com") && !body.contains("person"),
            "{body}"
        );
        assert!(!body.contains("We hold no data"), "no free text");
    }
    let only_october = b
        .get("/portal/reports/register?from=2026-10&to=2026-10")
        .await;
    assert_eq!(only_october.body.lines().count(), 1 + 3);
    let _stopped = app.stop().await;
}
