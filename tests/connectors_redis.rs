//! The Redis connector against a real Redis (RIGHTSDESK_TEST_REDIS_URL): every value
//! type read for an access request, key templates fed by a SQL connector's rows (the
//! shop fixture in SQLite), and an erasure that leaves none of the subject's keys and
//! every other subject's keys untouched. Each test works under its own key prefix.

mod common;

use std::time::Duration;

use common::product::{create_and_start, product};
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::connectors::redis::RedisConnector;
use rightsdesk::connectors::{Connector, Identity, datamap};
use rightsdesk::domain::staff::Role;
use serde_json::Value;

fn redis_url() -> Option<String> {
    match std::env::var("RIGHTSDESK_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but RIGHTSDESK_TEST_REDIS_URL is not set");
            }
            eprintln!("skipped: RIGHTSDESK_TEST_REDIS_URL is not set");
            None
        }
    }
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to test Redis")
}

async fn run(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    let _: redis::Value = c.query_async(conn).await.unwrap();
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut out: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap();
    out.sort();
    out
}

fn prefix() -> String {
    format!("rdtest:{}:", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn access_reads_every_value_type() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let mut conn = redis(&url).await;
    let ada = "ada@example.com";
    run(&mut conn, &["SET", &format!("{p}session:{ada}"), "token-1"]).await;
    run(
        &mut conn,
        &[
            "HSET",
            &format!("{p}profile:{ada}"),
            "name",
            "Ada",
            "plan",
            "pro",
        ],
    )
    .await;
    run(
        &mut conn,
        &["SADD", &format!("{p}tags:{ada}"), "vip", "beta"],
    )
    .await;
    run(
        &mut conn,
        &["RPUSH", &format!("{p}recent:{ada}:views"), "p1", "p2", "p1"],
    )
    .await;
    run(
        &mut conn,
        &[
            "ZADD",
            &format!("{p}recent:{ada}:scores"),
            "1.5",
            "x",
            "3",
            "y",
        ],
    )
    .await;
    // Another subject, and a key that only looks alike.
    run(
        &mut conn,
        &["SET", &format!("{p}session:bob@example.com"), "token-2"],
    )
    .await;
    run(
        &mut conn,
        &["SET", &format!("{p}session:{ada}x"), "not hers"],
    )
    .await;

    let text = format!(
        "name = \"cache\"\nkind = \"redis\"\nurl = \"{url}\"\nscan_count = 2\n\
         [[keys]]\npattern = \"{p}session:{{email}}\"\n\
         [[keys]]\npattern = \"{p}profile:{{email}}\"\n\
         [[keys]]\npattern = \"{p}tags:{{email}}\"\n\
         [[keys]]\npattern = \"{p}recent:{{email}}:*\"\n"
    );
    let decl = datamap::parse_str("datamap/cache.toml", &text).expect("valid data map");
    let cache = RedisConnector::new(&decl).expect("connector");
    cache.test().await.expect("PING answers");
    let found = cache
        .access(&Identity::from_email("Ada@Example.com"))
        .await
        .expect("access");
    let table = |i: usize| &found.tables[i].rows;
    assert_eq!(found.tables.len(), 4, "one table per key template");
    assert_eq!(table(0).len(), 1, "only her session, not the look-alike");
    assert_eq!(table(0)[0]["type"], "string");
    assert_eq!(table(0)[0]["value"], "token-1");
    assert_eq!(table(1)[0]["type"], "hash");
    assert_eq!(table(1)[0]["value"]["plan"], "pro");
    assert_eq!(table(2)[0]["type"], "set");
    assert_eq!(
        table(2)[0]["value"],
        serde_json::json!(["beta", "vip"]),
        "members, sorted"
    );
    let recent = table(3);
    assert_eq!(recent.len(), 2, "the pattern found both keys");
    let by_type = |t: &str| recent.iter().find(|r| r["type"] == t).unwrap();
    assert_eq!(
        by_type("list")["value"],
        serde_json::json!(["p1", "p2", "p1"])
    );
    assert_eq!(by_type("zset")["value"][1]["member"], "y");
    assert_eq!(by_type("zset")["value"][1]["score"], 3.0);

    // The dry run lists the keys an erasure would unlink, and changes nothing.
    let preview = cache
        .preview_erasure(&Identity::from_email(ada))
        .await
        .unwrap();
    let rows: u64 = preview.tables.iter().map(|t| t.rows).sum();
    assert_eq!(rows, 5);
    assert_eq!(keys(&mut conn, &format!("{p}*")).await.len(), 7);
    run(
        &mut conn,
        &[
            "DEL",
            &format!("{p}session:bob@example.com"),
            &format!("{p}session:{ada}x"),
        ],
    )
    .await;
    let hasher = |v: &str| v.to_string();
    let evidence = cache
        .erase(&Identity::from_email(ada), &hasher)
        .await
        .unwrap();
    assert!(evidence.is_complete(), "{evidence:?}");
    assert!(keys(&mut conn, &format!("{p}*")).await.is_empty());
}

#[test]
fn bad_redis_declarations_name_file_and_key() {
    let problems = |text: &str| -> Vec<String> {
        datamap::parse_str("datamap/cache.toml", text)
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let head = "name = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1\"\n";
    assert_eq!(
        problems(&format!("{head}[[keys]]\npattern = \"session:*\"\n")),
        [
            "datamap/cache.toml: keys[0].pattern: a pattern needs at least one placeholder ({email} or connector.table.column)"
        ]
    );
    assert_eq!(
        problems(&format!(
            "{head}[[keys]]\npattern = \"s:{{phone}}\"\nttl = 3\n"
        )),
        [
            "datamap/cache.toml: keys[0].ttl: unknown field `ttl`, expected `pattern`",
            "datamap/cache.toml: keys[0].pattern: unknown placeholder {phone}: use an identity type ({email}) or connector.table.column"
        ]
    );
    assert_eq!(
        problems(
            "name = \"cache\"\nkind = \"redis\"\nurl = \"http://x\"\n[[keys]]\npattern = \"s:{email}\"\n"
        ),
        [
            "datamap/cache.toml: url: a redis connector needs a URL starting with redis:// or rediss://"
        ]
    );
    // A placeholder must name a SQL connector's declared table of the same data map.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cache.toml"),
        format!("{head}[[keys]]\npattern = \"lead:{{shop.leads.id}}\"\n"),
    )
    .unwrap();
    let err = datamap::load_dir(dir.path(), &[]).expect_err("unknown connector");
    assert!(
        err[0]
            .to_string()
            .ends_with("keys[0].pattern: no connector \"shop\" is declared in the data map"),
        "{}",
        err[0]
    );
}

/// All tasks of a request finished (succeeded or failed); returns the request.
async fn tasks_done(app: &common::TestApp, token: &str, reference: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, v) = json(
            app.get(token, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        let tasks = v["tasks"].as_array().cloned().unwrap_or_default();
        if !tasks.is_empty()
            && tasks
                .iter()
                .all(|t| t["status"] == "succeeded" || t["status"] == "failed")
        {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tasks never finished: {last}");
}

fn task<'a>(v: &'a Value, connector: &str) -> &'a Value {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["connector"] == connector)
        .unwrap_or_else(|| panic!("no {connector} task: {v}"))
}

/// Keys named after the shop's order ids (`{shop.orders.id}`): found for an access
/// request, and erased after the shop's erasure removed the orders themselves (the
/// values were kept by the shop's task before it ran).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_another_connectors_rows_are_found_and_erased() {
    let Some(url) = redis_url() else { return };
    let p = prefix();
    let mut conn = redis(&url).await;
    // Ada's orders are 10 and 11, Bob's 20 and 21 (tests/fixtures/shop_data.sql).
    for (key, value) in [
        (format!("{p}session:ada@example.com"), "ada-session"),
        (format!("{p}lead:10:notes"), "ada order 10"),
        (format!("{p}lead:11:notes"), "ada order 11"),
        (format!("{p}lead:110:notes"), "order 110 is nobody's"),
        (format!("{p}session:bob@example.com"), "bob-session"),
        (format!("{p}lead:20:notes"), "bob order 20"),
        (format!("{p}lead:21:notes"), "bob order 21"),
    ] {
        run(&mut conn, &["SET", &key, value]).await;
    }
    let product_dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(product_dir.path()).await;
    std::fs::write(
        datamap.join("cache.toml"),
        format!(
            "name = \"cache\"\nkind = \"redis\"\nurl = \"{url}\"\n\
             [[keys]]\npattern = \"{p}session:{{email}}\"\n\
             [[keys]]\npattern = \"{p}lead:{{shop.orders.id}}:*\"\n"
        ),
    )
    .unwrap();
    let opts = Options::datamap(datamap);
    let Some(app) = spawn_app_with(Backend::Sqlite, opts).await else {
        return;
    };
    let agent = app.token(Role::Agent).await;

    // Access: the cache task runs after the shop's and finds the keys of her orders.
    let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
    let v = tasks_done(&app, &agent, &reference).await;
    assert_eq!(task(&v, "shop")["status"], "succeeded", "{v}");
    let cache = task(&v, "cache");
    assert_eq!(cache["status"], "succeeded", "{v}");
    assert_eq!(cache["evidence"]["rows"], 3, "{cache}");
    let stored = app
        .state
        .store
        .task(cache["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let result = rightsdesk::services::task_results::load(&app.state, &stored)
        .await
        .unwrap();
    let leads: Vec<&str> = result.tables[1]
        .rows
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        leads,
        [format!("{p}lead:10:notes"), format!("{p}lead:11:notes")],
        "her orders' keys only"
    );

    // The dry run shows the same keys, changing nothing.
    let (s, erasure) = json(
        app.post_json(
            &agent,
            "/api/v1/requests",
            &serde_json::json!({"kind": "erasure", "email": "ada@example.com", "verification_note": "in person"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{erasure}");
    let erasure_ref = erasure["reference"].as_str().unwrap().to_string();
    let (s, preview) = json(
        app.get(&agent, &format!("/api/v1/requests/{erasure_ref}/preview"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{preview}");
    let cache_preview = preview["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cache")
        .unwrap();
    let previewed: u64 = cache_preview["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(previewed, 3);
    assert_eq!(keys(&mut conn, &format!("{p}*")).await.len(), 7);

    // Erasure: the shop deletes her orders first; the cache still erases their keys.
    let (s, _) = json(
        app.post_empty(&agent, &format!("/api/v1/requests/{erasure_ref}/start"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let v = tasks_done(&app, &agent, &erasure_ref).await;
    assert_eq!(task(&v, "shop")["status"], "succeeded", "{v}");
    let cache = task(&v, "cache");
    assert_eq!(cache["status"], "succeeded", "{v}");
    let tables = cache["evidence"]["tables"].as_array().unwrap();
    assert!(tables.iter().all(|t| t["rows_left"] == 0), "{tables:?}");
    let affected: u64 = tables
        .iter()
        .map(|t| t["rows_affected"].as_u64().unwrap())
        .sum();
    assert_eq!(affected, previewed, "the dry run showed what was erased");
    assert_eq!(
        keys(&mut conn, &format!("{p}*")).await,
        [
            format!("{p}lead:110:notes"),
            format!("{p}lead:20:notes"),
            format!("{p}lead:21:notes"),
            format!("{p}session:bob@example.com"),
        ],
        "everyone else's keys stay"
    );
    let _: () = redis::cmd("DEL")
        .arg(keys(&mut conn, &format!("{p}*")).await)
        .query_async(&mut conn)
        .await
        .unwrap();
    app.stop().await;
}

/// `rightsdesk check` tests every connector of the data map: the SQL catalogue, and
/// whether Redis answers; a wrong column or an unreachable server fails the check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tests_every_connector() {
    let Some(url) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_pool, datamap) = product(dir.path()).await;
    let cache = format!(
        "name = \"cache\"\nkind = \"redis\"\nurl = \"{url}\"\n\
         [[keys]]\npattern = \"lead:{{shop.orders.id}}\"\n"
    );
    std::fs::write(datamap.join("cache.toml"), &cache).unwrap();
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rightsdesk"))
            .args(["check", "--json"])
            .current_dir(dir.path())
            .env_remove("RIGHTSDESK_SECRET_KEY")
            .env_remove("RIGHTSDESK_CONFIG")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run rightsdesk")
    };
    let out = check();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{v:#}");
    assert_eq!(v["connectors"].as_array().unwrap().len(), 2, "{v:#}");
    assert!(
        v["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );

    // A column the product database does not have, and a Redis that does not answer.
    let shop = std::fs::read_to_string(datamap.join("shop.toml"))
        .unwrap()
        .replace(
            "name = { category = \"name\", rectify = true }",
            "nickname = { category = \"name\" }",
        );
    std::fs::write(datamap.join("shop.toml"), shop).unwrap();
    std::fs::write(
        datamap.join("cache.toml"),
        cache.replace(&url, "redis://127.0.0.1:1"),
    )
    .unwrap();
    let out = check();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!out.status.success(), "{v:#}");
    let of = |name: &str| {
        v["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(of("shop")["ok"], false);
    assert!(
        of("shop")["problems"].to_string().contains("nickname"),
        "{v:#}"
    );
    assert_eq!(of("cache")["ok"], false);
    assert!(
        of("cache")["problems"]
            .to_string()
            .contains("cannot connect"),
        "{v:#}"
    );
}
