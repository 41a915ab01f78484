//! The portal in a real browser: Debian's headless Chromium driven through chromedriver
//! (fantoccini). Without chromedriver on PATH the tests print that they skipped, except
//! under `CI=true`, where that is a failure. On failure a screenshot is saved to
//! `target/browser-artifacts/<test>.png`.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Backend, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use rightsdesk::clock::Clock;
use rightsdesk::domain::staff::Role;
use serde_json::json;

type Outcome = Result<(), String>;

fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("chromedriver"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!("skipped: chromedriver not installed");
    }
    found
}

/// The chromedriver child process; killed when dropped, whatever happened.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_browser(path: &PathBuf) -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1200,900"] }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver session");
    (driver, client)
}

/// Run `scenario`; on failure save a screenshot, then fail the test.
async fn run<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Client, TestApp) -> Fut,
    Fut: std::future::Future<Output = (Client, TestApp, Outcome)>,
{
    let Some(path) = chromedriver() else {
        return;
    };
    let app = common::spawn_app(Backend::Sqlite).await.expect("app");
    let (driver, client) = start_browser(&path).await;
    let (client, app, outcome) = scenario(client, app).await;
    if let Err(e) = &outcome {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        eprintln!("browser test {name} failed: {e}");
    }
    let _ = client.close().await;
    drop(driver);
    app.stop().await;
    if let Err(e) = outcome {
        panic!("{name}: {e}");
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn ensure(ok: bool, what: &str) -> Outcome {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

/// Find an element, waiting for the page that holds it to load.
async fn find(c: &Client, css: &str) -> Result<fantoccini::elements::Element, String> {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))
}

/// Wait until the browser is at `expected` (path and query; a trailing `*` matches any
/// rest): a click on a submit button returns before the next page has loaded.
async fn at(c: &Client, expected: &str) -> Outcome {
    let mut last = String::new();
    for _ in 0..100 {
        last = here(c).await?;
        let ok = match expected.strip_suffix('*') {
            Some(prefix) => last.starts_with(prefix),
            None => last == expected,
        };
        if ok {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("expected to be at {expected}, still at {last}"))
}

/// The current page as `at` compares it: path, and `?query` when there is one.
async fn here(c: &Client) -> Result<String, String> {
    let u = c.current_url().await.map_err(err)?;
    Ok(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    })
}

/// Click `css` and wait until the browser has left the page it was on: `at` with a
/// pattern that the page before matches too (a queue reloaded with other filters) would
/// otherwise pass at once, and what follows would read the old page while it goes away.
async fn click_away(c: &Client, css: &str) -> Outcome {
    let before = here(c).await?;
    click(c, css).await?;
    for _ in 0..100 {
        if here(c).await? != before {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css}: still at {before}"))
}

async fn fill(c: &Client, css: &str, text: &str) -> Outcome {
    find(c, css)
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .send_keys(text)
        .await
        .map_err(err)
}

async fn click(c: &Client, css: &str) -> Outcome {
    find(c, css)
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .click()
        .await
        .map_err(err)
}

async fn text(c: &Client, css: &str) -> Result<String, String> {
    find(c, css)
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .text()
        .await
        .map_err(err)
}

async fn sign_in(c: &Client, app: &TestApp, email: &str, password: &str, next: &str) -> Outcome {
    c.goto(&app.url("/portal/login")).await.map_err(err)?;
    fill(c, "#email", email).await?;
    fill(c, "#password", password).await?;
    click(c, "#sign-in").await?;
    at(c, next).await
}

async fn request(app: &TestApp, email: &str) -> String {
    let token = app.token(Role::Agent).await;
    let (status, v) = common::json(
        app.post_json(
            &token,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": email, "received_at": "2026-10-01T12:00:00Z",
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["reference"].as_str().expect("reference").to_string()
}

async fn admin_story(c: &Client, app: &TestApp) -> Outcome {
    let first = request(app, "ada@example.com").await;
    let second = request(app, "bob@example.com").await;
    let password =
        std::fs::read_to_string(app.dir.path().join("data/initial-admin-password")).map_err(err)?;
    sign_in(
        c,
        app,
        "admin@example.com",
        &password,
        "/portal/account/totp",
    )
    .await?;

    // Enrol TOTP with the key shown beside the QR code.
    let secret = text(c, "#totp-secret").await?;
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret.trim()).map_err(err)?)
        .build()
        .map_err(err)?;
    let code = totp
        .generate(app.clock.now().timestamp() as u64)
        .to_string();
    fill(c, "#code", &code).await?;
    click(c, "#confirm-totp").await?;
    find(c, "#recovery-codes li").await?;
    let codes = c
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .map_err(err)?;
    ensure(codes.len() == 10, "ten recovery codes are shown")?;
    click(c, "#continue").await?;
    at(c, "/portal").await?;

    // Find the first request in the queue and open it.
    click(c, "nav a[href='/portal/requests']").await?;
    at(c, "/portal/requests").await?;
    fill(c, "#q", &first).await?;
    click(c, "#search").await?;
    at(c, "/portal/requests?q=*").await?;
    click(c, &format!("a[href='/portal/requests/{first}']")).await?;
    at(c, &format!("/portal/requests/{first}")).await?;
    click(c, "#action-start").await?;
    at(c, &format!("/portal/requests/{first}?done=start")).await?;
    ensure(
        text(c, "#flash").await?.contains("started"),
        "start confirmed",
    )?;
    ensure(
        text(c, "#status").await? == "Review",
        "started request is in review",
    )?;

    click(c, "#extend summary").await?;
    fill(c, "#extend-reason", "Data spread over several systems").await?;
    click(c, "#action-extend").await?;
    at(c, &format!("/portal/requests/{first}?done=extend")).await?;
    ensure(
        text(c, "#flash").await?.contains("extended"),
        "extension confirmed",
    )?;
    let source = c.source().await.map_err(err)?;
    ensure(
        source.contains("Data spread over several systems"),
        "extension reason shown",
    )?;

    c.goto(&app.url(&format!("/portal/requests/{second}")))
        .await
        .map_err(err)?;
    click(c, "#deny summary").await?;
    c.find(Locator::Css("#deny-reason"))
        .await
        .map_err(err)?
        .select_by_value("no_match")
        .await
        .map_err(err)?;
    fill(c, "#deny-note", "We hold no data about you.").await?;
    click(c, "#action-deny").await?;
    at(c, &format!("/portal/requests/{second}?done=deny")).await?;
    ensure(
        text(c, "#status").await? == "Denied",
        "second request denied",
    )?;

    click(c, "#sign-out").await?;
    at(c, "/portal/login?signed_out=1").await?;
    c.goto(&app.url("/portal")).await.map_err(err)?;
    at(c, "/portal/login").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_signs_in_with_totp_and_works_requests() {
    run(
        "admin_signs_in_with_totp_and_works_requests",
        |c, app| async move {
            let outcome = admin_story(&c, &app).await;
            (c, app, outcome)
        },
    )
    .await;
}

async fn roles(c: &Client, app: &TestApp) -> Outcome {
    let reference = request(app, "ada@example.com").await;
    let auth = &rightsdesk::http::portal::auth::create_user;
    let (_, agent_pw) = auth(&app.state, "agent@staff.example", Role::Agent)
        .await
        .map_err(err)?;
    let (_, auditor_pw) = auth(&app.state, "auditor@staff.example", Role::Auditor)
        .await
        .map_err(err)?;

    sign_in(c, app, "agent@staff.example", &agent_pw, "/portal").await?;
    ensure(
        c.find_all(Locator::Css("nav a[href='/portal/users']"))
            .await
            .map_err(err)?
            .is_empty(),
        "agents see no users link",
    )?;
    c.goto(&app.url("/portal/users")).await.map_err(err)?;
    ensure(
        text(c, "h1").await? == "Not allowed",
        "agent refused on users page",
    )?;
    click(c, "#sign-out").await?;
    at(c, "/portal/login?signed_out=1").await?;

    sign_in(c, app, "auditor@staff.example", &auditor_pw, "/portal").await?;
    c.goto(&app.url(&format!("/portal/requests/{reference}")))
        .await
        .map_err(err)?;
    ensure(
        text(c, "h1").await?.contains(&reference),
        "auditor reads the request",
    )?;
    ensure(
        c.find_all(Locator::Css("#actions button"))
            .await
            .map_err(err)?
            .is_empty(),
        "auditor sees no action buttons",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_auditor_see_only_what_their_role_allows() {
    run(
        "agent_and_auditor_see_only_what_their_role_allows",
        |c, app| async move {
            let outcome = roles(&c, &app).await;
            (c, app, outcome)
        },
    )
    .await;
}

/// The `/verify/<token>` link in the newest email to the subject.
fn verify_link(app: &TestApp) -> Option<String> {
    let dir = app.state.config.data_dir.join("outbox");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|f| f.path().extension().and_then(|e| e.to_str()) == Some("eml"))
        .find_map(|f| {
            let text = common::smtp::decoded_text(&std::fs::read_to_string(f.path()).ok()?);
            let i = text.find("/verify/")?;
            Some(
                text[i..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect(),
            )
        })
}

/// The text of `css` once `ok` accepts it: after a click the old page may still be
/// showing, or be replaced while it is read (a stale element), so read again until the
/// new page says what is expected.
async fn text_when(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if ok(&t) {
                return Ok(t);
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css}: still \"{last}\""))
}

/// A request sent through the public form, confirmed from its email, then worked to
/// completion entirely in the portal.
async fn intake_to_completion(c: &Client, app: &TestApp) -> Outcome {
    c.goto(&app.url("/")).await.map_err(err)?;
    c.find(Locator::Css("#kind option[value='erasure']"))
        .await
        .map_err(err)?
        .click()
        .await
        .map_err(err)?;
    fill(c, "#email", "grace@example.com").await?;
    fill(c, "#name", "Grace Hopper").await?;
    fill(c, "#details", "Please delete my account and leads.").await?;
    click(c, "form button[type='submit']").await?;
    text_when(c, "h1", |t| t == "Check your email").await?;
    let mut link = None;
    for _ in 0..50 {
        link = verify_link(app);
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let link = link.ok_or("no verification email")?;
    c.goto(&app.url(&link)).await.map_err(err)?;
    click(c, "form button[type='submit']").await?;
    text_when(c, "h1", |t| t.contains("your request is confirmed")).await?;
    let reference = text_when(c, ".ref", |t| t.starts_with("DSR-")).await?;

    let (_, agent_pw) =
        rightsdesk::http::portal::auth::create_user(&app.state, "agent@staff.example", Role::Agent)
            .await
            .map_err(err)?;
    sign_in(c, app, "agent@staff.example", &agent_pw, "/portal").await?;
    click(c, "nav a[href='/portal/requests']").await?;
    click(c, &format!("a.ref[href='/portal/requests/{reference}']")).await?;
    text_when(c, "#status", |t| t.to_lowercase().contains("open")).await?;
    click(c, "#action-start").await?;
    at(c, &format!("/portal/requests/{reference}?done=start")).await?;
    // No connector is declared: every search is done at once and the request waits for review.
    text_when(c, "#status", |t| t.to_lowercase().contains("review")).await?;
    fill(
        c,
        "#note-text",
        "Checked with the sales team: no other records.",
    )
    .await?;
    click(c, "#action-note").await?;
    at(c, &format!("/portal/requests/{reference}?done=note")).await?;
    fill(c, "#complete-note", "Nothing found in our systems.").await?;
    click(c, "#action-complete").await?;
    at(c, &format!("/portal/requests/{reference}?done=complete")).await?;
    text_when(c, "#status", |t| t.to_lowercase().contains("completed")).await?;
    text_when(c, "#timeline", |t| {
        t.contains("Checked with the sales team")
    })
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_form_to_completion_in_the_portal() {
    run(
        "public_form_to_completion_in_the_portal",
        |c, app| async move {
            let outcome = intake_to_completion(&c, &app).await;
            (c, app, outcome)
        },
    )
    .await;
}

/// Issue 20 item 6: an erasure request received on `day`; its reference and due date.
async fn request_received(app: &TestApp, email: &str, day: &str) -> (String, chrono::NaiveDate) {
    let token = app.token(Role::Agent).await;
    let (status, v) = common::json(
        app.post_json(
            &token,
            "/api/v1/requests",
            &json!({ "kind": "erasure", "email": email, "received_at": format!("{day}T12:00:00Z"),
                     "verification_note": "Called back on the number on file" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (
        v["reference"].as_str().unwrap().to_string(),
        v["due_date"].as_str().unwrap().parse().unwrap(),
    )
}

/// The references in the queue table, sorted.
async fn listed(c: &Client) -> Result<Vec<String>, String> {
    find(c, "h1").await?;
    let mut refs = Vec::new();
    for a in c
        .find_all(Locator::Css("table.queue a.ref"))
        .await
        .map_err(err)?
    {
        refs.push(a.text().await.map_err(err)?);
    }
    refs.sort();
    Ok(refs)
}

async fn due_soon_and_paging(c: &Client, app: &TestApp) -> Outcome {
    let today = app.state.clock.now().date_naive();
    let window_end = today + chrono::Days::new(7);
    let mut due_soon = Vec::new();
    for (i, day) in ["2026-09-01", "2026-09-11", "2026-09-13", "2026-09-25"]
        .iter()
        .enumerate()
    {
        let (r, due) = request_received(app, &format!("s{i}@example.com"), day).await;
        if due >= today && due <= window_end {
            due_soon.push(r);
        }
    }
    ensure(due_soon.len() == 2, "two requests due within the window")?;
    let (_, pw) =
        rightsdesk::http::portal::auth::create_user(&app.state, "agent@staff.example", Role::Agent)
            .await
            .map_err(err)?;
    sign_in(c, app, "agent@staff.example", &pw, "/portal").await?;
    click(c, "#due-soon-tile").await?;
    at(c, "/portal/requests?due_within=7").await?;
    due_soon.sort();
    let shown = listed(c).await?;
    ensure(
        shown == due_soon,
        &format!("the tile lists exactly {due_soon:?}, got {shown:?}"),
    )?;

    // 26 more due soon, assigned to Bea: two pages with the filters set in the form.
    let token = app.token(Role::Agent).await;
    let mut hers = Vec::new();
    for i in 0..26 {
        let (r, _) = request_received(app, &format!("p{i}@example.com"), "2026-09-13").await;
        let (s, _) = common::json(
            app.post_json(
                &token,
                &format!("/api/v1/requests/{r}/assign"),
                &json!({"assignee": "bea@staff.example"}),
            )
            .await,
        )
        .await;
        ensure(s == 200, "assigned")?;
        hers.push(r);
    }
    hers.sort();
    fill(c, "#assignee", "bea@staff.example").await?;
    click_away(c, "#search").await?;
    at(c, "/portal/requests?*").await?;
    let first = listed(c).await?;
    ensure(
        first.len() == 25,
        &format!("a full first page, got {}", first.len()),
    )?;
    click(c, "nav.pager a").await?;
    at(
        c,
        "/portal/requests?status=open&assignee=bea%40staff.example&due_within=7&page=2",
    )
    .await?;
    let url = c.current_url().await.map_err(err)?;
    let query = url.query().unwrap_or("").to_string();
    for kept in [
        "due_within=7",
        "assignee=bea%40staff.example",
        "status=open",
    ] {
        ensure(query.contains(kept), &format!("{kept} kept in {query}"))?;
    }
    let mut both = first;
    both.extend(listed(c).await?);
    both.sort();
    ensure(
        both == hers,
        &format!(
            "both pages: exactly Bea's requests, got {} rows",
            both.len()
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_soon_tile_and_paging_keep_their_filters() {
    run(
        "due_soon_tile_and_paging_keep_their_filters",
        |c, app| async move {
            let outcome = due_soon_and_paging(&c, &app).await;
            (c, app, outcome)
        },
    )
    .await;
}

/// Bulk work from the queue: two ticked requests assigned, then all fifty matching
/// refused with one reason and note; the two already completed are reported, not changed.
async fn bulk_deny(c: &Client, app: &TestApp) -> Outcome {
    let token = app.token(Role::Agent).await;
    let mut refs = Vec::new();
    for i in 0..50 {
        refs.push(request(app, &format!("bulk{i}@example.com")).await);
    }
    for r in &refs[..2] {
        for action in ["start", "complete"] {
            let (s, v) = common::json(
                app.post_json(
                    &token,
                    &format!("/api/v1/requests/{r}/{action}"),
                    &json!({}),
                )
                .await,
            )
            .await;
            ensure(s == 200, &format!("{action} {r}: {v}"))?;
        }
    }
    let (_, pw) =
        rightsdesk::http::portal::auth::create_user(&app.state, "agent@staff.example", Role::Agent)
            .await
            .map_err(err)?;
    sign_in(c, app, "agent@staff.example", &pw, "/portal").await?;

    // Tick two open requests and assign them.
    click(c, "nav a[href='/portal/requests']").await?;
    at(c, "/portal/requests").await?;
    find(c, "#bulk").await?;
    let boxes = c
        .find_all(Locator::Css("input[name='ref']"))
        .await
        .map_err(err)?;
    ensure(boxes.len() == 25, "a page of 25 with a checkbox each")?;
    let mut ticked = Vec::new();
    for b in boxes.iter().take(2) {
        ticked.push(b.attr("value").await.map_err(err)?.unwrap_or_default());
        b.click().await.map_err(err)?;
    }
    c.find(Locator::Css("#bulk-action"))
        .await
        .map_err(err)?
        .select_by_value("assign")
        .await
        .map_err(err)?;
    fill(c, "#bulk-assignee", "agent@staff.example").await?;
    click(c, "#bulk-apply").await?;
    at(c, "/portal/requests/bulk").await?;
    let assigned = text_when(c, "#done-count", |t| !t.is_empty()).await?;
    ensure(assigned == "2", &format!("two assigned, got {assigned}"))?;
    for r in &ticked {
        let (_, v) = common::json(app.get(&token, &format!("/api/v1/requests/{r}")).await).await;
        ensure(
            v["assignee"] == "agent@staff.example",
            &format!("{r} assigned: {v}"),
        )?;
    }

    // Back to the queue, then all fifty matching "all statuses": refused with one
    // reason and note.
    click_away(c, "#back").await?;
    at(c, "/portal/requests*").await?;
    c.find(Locator::Css("#status"))
        .await
        .map_err(err)?
        .select_by_value("all")
        .await
        .map_err(err)?;
    click(c, "#search").await?;
    at(c, "/portal/requests?q=&status=all*").await?;
    for (css, value) in [
        ("#bulk-scope", "matching"),
        ("#bulk-action", "deny"),
        ("#bulk-deny-reason", "no_match"),
    ] {
        c.find(Locator::Css(css))
            .await
            .map_err(err)?
            .select_by_value(value)
            .await
            .map_err(err)?;
    }
    fill(c, "#bulk-note", "We hold no data about you.").await?;
    click(c, "#bulk-apply").await?;
    at(c, "/portal/requests/bulk").await?;
    let done = text_when(c, "#done-count", |t| !t.is_empty()).await?;
    let refused = text(c, "#refused-count").await?;
    ensure(
        done == "48" && refused == "2",
        &format!("48 done and 2 refused, got {done} and {refused}"),
    )?;
    let mut reported = Vec::new();
    for row in c
        .find_all(Locator::Css("#outcomes tr.refused"))
        .await
        .map_err(err)?
    {
        let r = row
            .attr("data-reference")
            .await
            .map_err(err)?
            .unwrap_or_default();
        let why = row
            .find(Locator::Css("td.why"))
            .await
            .map_err(err)?
            .text()
            .await
            .map_err(err)?;
        ensure(
            why.contains("cannot deny a request that is completed"),
            &format!("{r}: the reason is given, got {why:?}"),
        )?;
        reported.push(r);
    }
    reported.sort();
    let mut completed = refs[..2].to_vec();
    completed.sort();
    ensure(
        reported == completed,
        &format!("the completed ones are reported: {reported:?}"),
    )?;
    for (i, r) in refs.iter().enumerate() {
        let (_, v) = common::json(app.get(&token, &format!("/api/v1/requests/{r}")).await).await;
        if i < 2 {
            ensure(v["status"] == "completed", &format!("{r} unchanged: {v}"))?;
        } else {
            ensure(
                v["status"] == "denied"
                    && v["deny_reason"] == "no_match"
                    && v["deny_note"] == "We hold no data about you.",
                &format!("{r} refused with the reason: {v}"),
            )?;
            let events = v["events"].as_array().cloned().unwrap_or_default();
            ensure(
                events.iter().any(|e| e["action"] == "deny"),
                &format!("{r} has its own deny event"),
            )?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_deny_of_fifty_reports_the_refused() {
    run(
        "bulk_deny_of_fifty_reports_the_refused",
        |c, app| async move {
            let outcome = bulk_deny(&c, &app).await;
            (c, app, outcome)
        },
    )
    .await;
}
