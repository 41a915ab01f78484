//! A product database for connector-driven tests: the shop fixture in SQLite, and a data
//! map pointing at it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sqlx::SqlitePool;

use super::{TestApp, json};

/// A product database (SQLite) with the shop fixture, and a data map pointing at it.
pub async fn product(dir: &Path) -> (SqlitePool, std::path::PathBuf) {
    let db = dir.join("shop.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let pool = SqlitePool::connect(&url).await.unwrap();
    for file in [
        "tests/fixtures/shop_sqlite.sql",
        "tests/fixtures/shop_data.sql",
    ] {
        let sql = std::fs::read_to_string(file).unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
    }
    let datamap = dir.join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    let toml = std::fs::read_to_string("tests/fixtures/shop_datamap.toml")
        .unwrap()
        .replace(
            "${RIGHTSDESK_DM_SHOP_DATABASE_URL}",
            &format!("sqlite://{}", db.display()),
        );
    std::fs::write(datamap.join("shop.toml"), toml).unwrap();
    (pool, datamap)
}

pub async fn wait_for_status(app: &TestApp, token: &str, reference: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, v) = json(
            app.get(token, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        if v["status"] == want {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request never reached {want}: {last}");
}

/// A staff-entered request of `kind` for `email`, started at once; returns its reference.
pub async fn create_and_start(app: &TestApp, token: &str, kind: &str, email: &str) -> String {
    let body =
        serde_json::json!({"kind": kind, "email": email, "verification_note": "checked in person"});
    let (status, v) = json(app.post_json(token, "/api/v1/requests", &body).await).await;
    assert_eq!(status, 201, "{v}");
    let reference = v["reference"].as_str().expect("reference").to_string();
    let (status, v) = json(
        app.post_empty(token, &format!("/api/v1/requests/{reference}/start"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    reference
}
