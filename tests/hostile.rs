//! Hostile input: generated bodies (wrong types, missing and extra fields, huge strings
//! and arrays, deep nesting, invalid UTF-8, NUL and control characters, CR/LF in names,
//! HTML and SQL metacharacters, odd Unicode, numbers at the edges) sent to the public
//! intake, verification, the staff create and action endpoints and the portal forms.
//! Every answer is below 500 and readable (problem+json from the API, an HTML page from
//! a form), and a refused request stores nothing. Malformed data-map and config files get
//! an error that names the file, never a panic.
//!
//! 10,000 HTTP cases per run in all (the counts are set per test below), each test with
//! one app on SQLite reused across its cases.

mod common;
#[path = "security/support.rs"]
mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use rightsdesk::domain::staff::Role;
use serde_json::Value;

use common::{Backend, Options, TestApp, spawn_app_with};

// ---- what hostile text looks like -----------------------------------------------------

const PIECES: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' OR '1'='1' --",
    "\"; DROP TABLE requests; --",
    "\r\nBcc: evil@example.com",
    "\r\n\r\n<html>",
    "\n",
    "\u{0}",
    "\u{7}\u{8}\u{1b}[31m",
    "\u{202e}gpj.exe",
    "\u{200f}\u{200e}",
    "e\u{301}\u{301}\u{301}\u{301}",
    "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}",
    "\u{feff}",
    "\u{2028}\u{2029}",
    "\u{fffd}",
    "%00",
    "%0d%0a",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "{% raw %}",
    "../../../etc/passwd",
    "ada@example.com",
    "a@b",
    "@",
    "@@",
    " ",
    "ＡＢＣ@ｅｘａｍｐｌｅ.com",
    "DSR-AAAA-AAAA",
    "-1",
    "1e309",
    "9223372036854775808",
    "null",
    "true",
    "\\",
    "\"",
    "'",
    ";",
    "&",
    "=",
    "%",
    "+",
];

fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        3 => prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|v| v.concat()),
        2 => "[\\x00-\\x1f\\x7f]{0,12}",
        1 => (prop::sample::select(PIECES), 100usize..3000).prop_map(|(p, n)| p.repeat(n)),
        1 => (0usize..70_000).prop_map(|n| "a".repeat(n)),
    ]
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,12}@example\\.com",
        2 => nasty_text(),
        2 => nasty_text().prop_map(|s| format!("{s}@example.com")),
        1 => nasty_text().prop_map(|s| format!("ada@example.com{s}")),
    ]
}

/// JSON numbers at the edges, written as text so that they reach the server unchanged.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1.5",
    "1e309",
    "-1e309",
    "5e-324",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0.0000000000000000000000000001",
];

/// Any JSON value (as text): scalars, edge numbers, nasty strings, arrays and objects.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(NUMBERS).prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        nasty_text().prop_map(|s| Value::String(s).to_string()),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((nasty_text(), inner), 0..6).prop_map(|v| {
                let fields: Vec<String> = v
                    .into_iter()
                    .map(|(k, x)| format!("{}:{x}", Value::String(k)))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// One field of a body: left out, a plausible value, another JSON type, or nasty text.
fn field(good: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        1 => Just(None),
        3 => good.prop_map(Some),
        2 => json_text().prop_map(Some),
        2 => nasty_text().prop_map(|s| Some(Value::String(s).to_string())),
    ]
    .boxed()
}

fn quoted(s: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    s.prop_map(|s| Value::String(s).to_string())
}

const KINDS: &[&str] = &[
    "access",
    "portability",
    "erasure",
    "rectification",
    "restriction",
    "objection",
    "Access",
    "delete",
    "",
];

/// A JSON object with the named fields (each possibly broken) and possibly extra ones.
fn object(fields: Vec<(&'static str, BoxedStrategy<Option<String>>)>) -> BoxedStrategy<String> {
    let extra = prop::collection::vec((nasty_text(), json_text()), 0..3);
    (fields, extra)
        .prop_map(|(values, extra)| {
            let mut parts: Vec<String> = values
                .into_iter()
                .filter_map(|(name, v)| v.map(|v| format!("\"{name}\":{v}")))
                .collect();
            parts.extend(
                extra
                    .into_iter()
                    .map(|(k, v)| format!("{}:{v}", Value::String(k))),
            );
            format!("{{{}}}", parts.join(","))
        })
        .boxed()
}

/// The body as bytes, sometimes mangled on the way: cut short, invalid UTF-8, deeply
/// nested, a huge array, or not JSON at all.
fn mangle(body: BoxedStrategy<String>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => body.clone().prop_map(String::into_bytes),
        1 => (body.clone(), any::<prop::sample::Index>()).prop_map(|(b, i)| {
            let cut = i.index(b.len() + 1);
            b.into_bytes()[..cut].to_vec()
        }),
        1 => (body.clone(), any::<prop::sample::Index>(), prop::sample::select(&[0xff_u8, 0xc3, 0x80, 0xed, 0x00][..]))
            .prop_map(|(b, i, byte)| {
                let mut v = b.into_bytes();
                let at = i.index(v.len() + 1);
                v.insert(at, byte);
                v
            }),
        1 => (1usize..20_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => (1usize..5_000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
        1 => (0usize..40_000).prop_map(|n| format!("{{\"kind\":\"access\",\"email\":\"a@example.com\",\"corrections\":[{}]}}", vec!["{\"field\":\"x\",\"value\":\"y\"}"; n].join(",")).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
    .boxed()
}

fn intake_body() -> BoxedStrategy<Vec<u8>> {
    let correction = object(vec![
        ("field", field(quoted(nasty_text()))),
        ("value", field(quoted(nasty_text()))),
    ]);
    mangle(object(vec![
        (
            "kind",
            field(quoted(prop::sample::select(KINDS).prop_map(str::to_string))),
        ),
        ("email", field(quoted(email()))),
        ("name", field(quoted(nasty_text()))),
        ("details", field(quoted(nasty_text()))),
        (
            "corrections",
            field(
                prop::collection::vec(correction, 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            ),
        ),
    ]))
}

/// Form fields: the expected names and others, with hostile values, urlencoded; or
/// raw bytes with broken escapes and invalid UTF-8.
fn form_body(names: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let pair = (
        prop_oneof![
            4 => prop::sample::select(names).prop_map(str::to_string),
            1 => nasty_text(),
        ],
        prop_oneof![3 => nasty_text(), 1 => email(), 1 => prop::sample::select(KINDS).prop_map(str::to_string)],
    );
    prop_oneof![
        5 => prop::collection::vec(pair, 0..8).prop_map(|pairs| {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                ser.append_pair(&k, &v);
            }
            ser.finish().into_bytes()
        }),
        1 => prop::collection::vec(
            prop_oneof![
                Just(b"%".to_vec()),
                Just(b"%FF%FE".to_vec()),
                Just(b"%C3%28".to_vec()),
                Just(vec![0xff_u8, 0xfe]),
                Just(b"&&&==".to_vec()),
                Just(b"email=".to_vec()),
                Just(b"kind=access".to_vec()),
                Just(b"%0D%0ABcc:%20x@y".to_vec()),
                prop::collection::vec(any::<u8>(), 0..20),
            ],
            0..10,
        )
        .prop_map(|v| v.concat()),
        1 => (1usize..80_000).prop_map(|n| format!("email={}", "a".repeat(n)).into_bytes()),
    ]
    .boxed()
}

// ---- running cases against one app ----------------------------------------------------

struct Target {
    rt: tokio::runtime::Runtime,
    app: TestApp,
    db: sqlx::SqlitePool,
    /// A new connection per case: the server closes one after refusing a body it did
    /// not read, and reusing it would blame the server for the client's race.
    client: reqwest::Client,
}

fn target() -> Target {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = rt
        .block_on(spawn_app_with(
            Backend::Sqlite,
            Options {
                configure: Box::new(|c| {
                    c.intake.per_client_per_hour = 1_000_000;
                    c.intake.per_email_per_hour = 1_000_000;
                    c.intake.sends_per_email_per_day = 1_000_000;
                }),
                handlers: Vec::new(),
            },
        ))
        .expect("app");
    let db = rt
        .block_on(sqlx::SqlitePool::connect(&app.database_url))
        .expect("open the app's database");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    Target {
        rt,
        app,
        db,
        client,
    }
}

/// Rows a refused request must not add to or change.
async fn rows(db: &sqlx::SqlitePool) -> (i64, i64, i64, i64, String) {
    let (a, b, c, d): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM request_events),
                (SELECT count(*) FROM request_tokens), (SELECT count(*) FROM users)",
    )
    .fetch_one(db)
    .await
    .expect("count rows");
    // Status and update time of every request, so a refused action that changed one shows.
    let (states,): (Option<String>,) = sqlx::query_as(
        "SELECT group_concat(reference || ':' || status || ':' || updated_at, ',') FROM requests",
    )
    .fetch_one(db)
    .await
    .expect("request states");
    (a, b, c, d, states.unwrap_or_default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// JSON API: errors are problem+json.
    Api,
    /// HTML forms: every answer is a page or a redirect.
    Page,
}

struct Call<'a> {
    path: String,
    content_type: &'a str,
    body: Vec<u8>,
    bearer: Option<&'a str>,
    cookie: Option<&'a str>,
    expect: Expect,
}

fn check(t: &Target, call: Call<'_>) -> Result<(), TestCaseError> {
    t.rt.block_on(async {
        let before = rows(&t.db).await;
        let mut req = t
            .client
            .post(t.app.url(&call.path))
            .header("content-type", call.content_type)
            .header("origin", &t.app.base)
            .body(call.body);
        if let Some(b) = call.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(c) = call.cookie {
            req = req.header("cookie", c);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("no answer: {e:?}")))?;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.unwrap_or_default();
        let after = rows(&t.db).await;
        prop_assert!(
            status < 500,
            "{} answered {status}: {}",
            call.path,
            text.chars().take(300).collect::<String>()
        );
        match call.expect {
            Expect::Api if status >= 400 => {
                prop_assert_eq!(
                    &ct,
                    "application/problem+json",
                    "{} {}: {}",
                    call.path,
                    status,
                    text
                );
                let v: Value = serde_json::from_str(&text)
                    .map_err(|_| TestCaseError::fail("problem body is not JSON"))?;
                prop_assert_eq!(v["status"].as_u64(), Some(u64::from(status)));
            }
            Expect::Api => prop_assert!(ct.starts_with("application/json"), "{ct}"),
            Expect::Page if (300..400).contains(&status) => {}
            Expect::Page => prop_assert!(
                ct.starts_with("text/html"),
                "{} answered {status} as {ct:?}: {}",
                call.path,
                text.chars().take(200).collect::<String>()
            ),
        }
        if status >= 400 {
            prop_assert_eq!(
                &before,
                &after,
                "a refused request ({}) stored something",
                status
            );
        }
        Ok(())
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 500,
        ..ProptestConfig::default()
    })
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases).run(&strategy, test) {
        panic!("{e}");
    }
}

// ---- the properties -------------------------------------------------------------------

const INTAKE_JSON_CASES: u32 = 3000;
const INTAKE_FORM_CASES: u32 = 2000;
const VERIFY_CASES: u32 = 1500;
const STAFF_CASES: u32 = 2000;
const PORTAL_CASES: u32 = 1500;

// At least 10,000 generated HTTP cases per run, checked when the tests compile.
const _: () = assert!(
    INTAKE_JSON_CASES + INTAKE_FORM_CASES + VERIFY_CASES + STAFF_CASES + PORTAL_CASES >= 10_000
);

#[test]
fn public_intake_api_survives_hostile_bodies() {
    let t = target();
    let content_types = prop::sample::select(
        &[
            "application/json",
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "text/plain",
            "application/x-www-form-urlencoded",
        ][..],
    );
    run(
        INTAKE_JSON_CASES,
        (intake_body(), content_types),
        |(body, ct)| {
            check(
                &t,
                Call {
                    path: "/api/v1/intake".into(),
                    content_type: ct,
                    body,
                    bearer: None,
                    cookie: None,
                    expect: Expect::Api,
                },
            )
        },
    );
}

#[test]
fn public_request_form_survives_hostile_fields() {
    let t = target();
    const NAMES: &[&str] = &["kind", "email", "name", "details", "corrections"];
    let content_types = prop::sample::select(
        &[
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/json",
            "",
        ][..],
    );
    run(
        INTAKE_FORM_CASES,
        (form_body(NAMES), content_types),
        |(body, ct)| {
            check(
                &t,
                Call {
                    path: "/requests".into(),
                    content_type: ct,
                    body,
                    bearer: None,
                    cookie: None,
                    expect: Expect::Page,
                },
            )
        },
    );
}

#[test]
fn verification_survives_hostile_tokens() {
    let t = target();
    let api = mangle(object(vec![(
        "token",
        field(quoted(prop_oneof![
            nasty_text(),
            Just(rightsdesk::crypto::new_token())
        ])),
    )]))
    .prop_map(|b| (true, String::new(), b));
    let page = (nasty_text(), form_body(&["confirm", "token"])).prop_map(|(token, body)| {
        let token: String = token.chars().take(1000).collect();
        let path: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
        (false, path, body)
    });
    run(
        VERIFY_CASES,
        prop_oneof![api, page],
        |(is_api, token, body)| {
            if is_api {
                check(
                    &t,
                    Call {
                        path: "/api/v1/intake/verify".into(),
                        content_type: "application/json",
                        body,
                        bearer: None,
                        cookie: None,
                        expect: Expect::Api,
                    },
                )
            } else {
                check(
                    &t,
                    Call {
                        // `.` and `..` are dot segments the client resolves away, not tokens.
                        path: format!(
                            "/verify/{}",
                            if token.is_empty() || token == "." || token == ".." {
                                "x"
                            } else {
                                &token
                            }
                        ),
                        content_type: "application/x-www-form-urlencoded",
                        body,
                        bearer: None,
                        cookie: None,
                        expect: Expect::Page,
                    },
                )
            }
        },
    );
}

const ACTIONS: &[&str] = &[
    "deny", "extend", "hold", "resume", "complete", "withdraw", "assign",
];

#[test]
fn staff_create_and_actions_survive_hostile_bodies() {
    let t = target();
    let token = t.rt.block_on(t.app.token(Role::Admin));
    let reference =
        t.rt.block_on(support::staff_request(&t.app, "staff-target@example.com"));
    let create = mangle(object(vec![
        (
            "kind",
            field(quoted(prop::sample::select(KINDS).prop_map(str::to_string))),
        ),
        ("email", field(quoted(email()))),
        ("name", field(quoted(nasty_text()))),
        ("details", field(quoted(nasty_text()))),
        ("scope", field(quoted(nasty_text()))),
        (
            "received_at",
            field(quoted(prop_oneof![
                Just("2026-10-01T12:00:00Z".to_string()),
                Just("9999-12-31T23:59:59Z".to_string()),
                Just("0000-01-01T00:00:00Z".to_string()),
                Just("2026-02-30T00:00:00Z".to_string()),
                nasty_text()
            ])),
        ),
        ("verified_at", field(quoted(nasty_text()))),
        (
            "regime",
            field(quoted(prop_oneof![
                Just("gdpr".to_string()),
                Just("days:0".to_string()),
                Just("days:-1".to_string()),
                Just("days:99999999999999999999".to_string()),
                nasty_text()
            ])),
        ),
        ("verification_note", field(quoted(nasty_text()))),
    ]))
    .prop_map(|b| (String::new(), b));
    let action = (
        prop::sample::select(ACTIONS),
        mangle(object(vec![
            ("reason", field(quoted(nasty_text()))),
            ("note", field(quoted(nasty_text()))),
            (
                "days",
                field(prop::sample::select(NUMBERS).prop_map(str::to_string)),
            ),
            ("until", field(quoted(nasty_text()))),
            ("assignee", field(quoted(nasty_text()))),
            ("outcome", field(quoted(nasty_text()))),
        ])),
    )
        .prop_map(|(a, b)| (a.to_string(), b));
    run(
        STAFF_CASES,
        prop_oneof![create, action],
        |(action, body)| {
            let path = if action.is_empty() {
                "/api/v1/requests".to_string()
            } else {
                format!("/api/v1/requests/{reference}/{action}")
            };
            check(
                &t,
                Call {
                    path,
                    content_type: "application/json",
                    body,
                    bearer: Some(&token),
                    cookie: None,
                    expect: Expect::Api,
                },
            )
        },
    );
}

#[test]
fn portal_forms_survive_hostile_fields() {
    let t = target();
    let admin = t.rt.block_on(support::portal_login(&t.app, Role::Admin));
    let reference =
        t.rt.block_on(support::staff_request(&t.app, "portal-target@example.com"));
    let csrf = admin.csrf.clone();
    const NAMES: &[&str] = &[
        "csrf",
        "kind",
        "email",
        "name",
        "details",
        "corrections",
        "received_at",
        "verification_note",
        "reason",
        "note",
        "days",
        "role",
        "password",
        "code",
        "field_0",
        "value_0",
    ];
    let paths = prop::sample::select(
        &[
            "/portal/requests/new",
            "/portal/requests/{r}/deny",
            "/portal/requests/{r}/extend",
            "/portal/requests/{r}/hold",
            "/portal/requests/{r}/note",
            "/portal/requests/{r}/corrections",
            "/portal/requests/{r}/rerun",
            "/portal/requests/{r}/%00",
            "/portal/users",
            "/portal/login",
            "/portal/audit/verify",
        ][..],
    );
    run(
        PORTAL_CASES,
        (paths, form_body(NAMES), any::<bool>()),
        |(path, body, with_csrf)| {
            // Half the time the form carries the real CSRF token, so the handlers behind
            // the check see the hostile fields too.
            let mut body = body;
            if with_csrf {
                let mut prefixed = format!("csrf={csrf}&").into_bytes();
                prefixed.extend(body);
                body = prefixed;
            }
            check(
                &t,
                Call {
                    path: path.replace("{r}", &reference),
                    content_type: "application/x-www-form-urlencoded",
                    body,
                    bearer: None,
                    cookie: Some(&admin.cookie),
                    expect: Expect::Page,
                },
            )
        },
    );
}

// ---- malformed files --------------------------------------------------------------------

const DATAMAP: &str = r#"name = "shop"
kind = "sqlite"
url = "sqlite://shop.db"
max_connections = 2

[[tables]]
name = "customers"
primary_key = "id"
identities = { email = "email" }
erase = "delete"
[tables.fields]
email = { category = "contact.email" }
name = { category = "name", rectify = true }

[[tables]]
name = "orders"
primary_key = "id"
via = { customer_id = "customers.id" }
erase = "delete"
"#;

const CONFIG: &str = r#"listen = "127.0.0.1:8080"
public_url = "https://privacy.example.com"
organisation = "Example Ltd"

[intake]
per_client_per_hour = 10
per_email_per_hour = 3

[portal]
session_idle = "30m"
"#;

/// A valid file with one edit: a line dropped, duplicated or cut, a value replaced by
/// something of another type, or hostile bytes inserted.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    let lines: Vec<&'static str> = base.lines().collect();
    let n = lines.len();
    (
        0..n,
        0u8..6,
        prop_oneof![
            json_text(),
            nasty_text().prop_map(|s| s.chars().take(200).collect()),
            prop::sample::select(PIECES).prop_map(str::to_string),
            Just("[[tables]]".to_string()),
            Just("= =".to_string()),
            Just("\"unterminated".to_string()),
        ],
    )
        .prop_map(move |(i, how, junk)| {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            match how {
                0 => {
                    out.remove(i);
                }
                1 => out.insert(i, out[i].clone()),
                2 => {
                    let cut = out[i].len() / 2;
                    out[i] = out[i][..out[i].floor_char_boundary(cut)].to_string();
                }
                3 => {
                    if let Some((k, _)) = out[i].split_once('=') {
                        out[i] = format!("{k}= {junk}");
                    } else {
                        out[i] = junk;
                    }
                }
                4 => out.insert(i, junk),
                _ => out[i] = format!("{}{}", out[i], junk),
            }
            out.join("\n")
        })
}

#[test]
fn malformed_datamap_files_name_the_file_and_never_panic() {
    assert!(rightsdesk::connectors::datamap::parse_str("shop.toml", DATAMAP).is_ok());
    run(1500, mutated(DATAMAP), |text| {
        let result = std::panic::catch_unwind(|| {
            rightsdesk::connectors::datamap::parse_str_with_env("shop.toml", &text, &|_| None)
        });
        let Ok(result) = result else {
            return Err(TestCaseError::fail(format!("panicked on:\n{text}")));
        };
        if let Err(problems) = result {
            prop_assert!(!problems.is_empty());
            for p in problems {
                let shown = p.to_string();
                prop_assert!(shown.starts_with("shop.toml"), "{shown}");
                prop_assert!(
                    p.line.is_some() || !p.key.is_empty(),
                    "no line or key in {shown:?} for:\n{text}"
                );
            }
        }
        Ok(())
    });
}

#[test]
fn malformed_config_files_name_the_file_line_and_key_and_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rightsdesk.toml");
    std::fs::write(&path, CONFIG).expect("write");
    assert!(rightsdesk::config::Config::load(Some(&path)).is_ok());
    run(800, mutated(CONFIG), |text| {
        std::fs::write(&path, &text).expect("write");
        let result = std::panic::catch_unwind(|| rightsdesk::config::Config::load(Some(&path)));
        let Ok(result) = result else {
            return Err(TestCaseError::fail(format!("panicked on:\n{text}")));
        };
        let problems = match result {
            Ok(c) => c.problems(),
            Err(p) => {
                let shown = p.to_string();
                prop_assert!(
                    shown.contains("rightsdesk.toml"),
                    "no file in {shown:?} for:\n{text}"
                );
                prop_assert!(shown.contains("line "), "no line in {shown:?} for:\n{text}");
                vec![*p]
            }
        };
        for p in problems {
            prop_assert!(!p.key.is_empty(), "no key in {p:?}");
        }
        Ok(())
    });
}
