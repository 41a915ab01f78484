//! The HTTP connector ignores `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY`: a proxy from
//! the environment would receive the signed request (and the subject's identity) instead
//! of the address that was checked and pinned. Its own test binary, because the proxy
//! variables are process-wide and must be set before any HTTP client exists.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use common::product::create_and_start;
use common::{Backend, Options, json, spawn_app_with};
use rightsdesk::domain::staff::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A "proxy" that records every connection it gets and answers each with an access
/// result that is not the product's.
async fn start_proxy() -> (String, Arc<Mutex<u32>>) {
    let hits = Arc::new(Mutex::new(0u32));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
                let body =
                    r#"{"tables":[{"table":"accounts","rows":[{"id":666,"plan":"proxy"}]}]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

async fn product(State(seen): State<Arc<Mutex<Vec<Value>>>>, body: Bytes) -> axum::Json<Value> {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(v);
    axum::Json(json!({ "tables": [{ "table": "accounts", "rows": [{ "id": 7, "plan": "pro" }] }] }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_variables_do_not_divert_the_connector() {
    let (proxy, hits) = start_proxy().await;
    // SAFETY: set before any other thread of this test binary reads the environment or
    // builds an HTTP client (this binary holds this one test).
    unsafe {
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::set_var(var, &proxy);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }

    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = Router::new()
        .route("/privacy", axum::routing::post(product))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let datamap = dir.path().join("datamap");
    std::fs::create_dir_all(&datamap).unwrap();
    std::fs::write(
        datamap.join("product.toml"),
        format!(
            "name = \"product\"\nkind = \"http\"\nurl = \"http://{addr}/privacy\"\n\
             secret = \"product-endpoint-secret-0123456789\"\ntimeout_secs = 5\nallow_private = true\n"
        ),
    )
    .unwrap();
    let opts = Options::datamap(datamap);
    let app = spawn_app_with(Backend::Sqlite, opts).await.expect("app");
    let agent = app.token(Role::Agent).await;
    let reference = create_and_start(&app, &agent, "access", "ada@example.com").await;
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, v) = json(
            app.get(&agent, &format!("/api/v1/requests/{reference}"))
                .await,
        )
        .await;
        let st = v["tasks"][0]["status"].clone();
        last = v;
        if st == "succeeded" || st == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["tasks"][0]["status"], "succeeded", "{last}");
    assert_eq!(
        *hits.lock().unwrap(),
        0,
        "the proxy from the environment got a connection"
    );
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "the product endpoint itself got the request");
    assert_eq!(got[0]["identity"]["email"], "ada@example.com");
    app.stop().await;
}
