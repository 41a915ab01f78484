//! The audit log's sealer: audited transactions write their entry without the chain's
//! lock, and the entries are chained afterwards, every one exactly once, in one chain
//! that verifies, also when many are written and sealed at the same time and when an
//! entry's transaction commits after a later entry was already chained.

mod common;

use std::sync::Arc;

use common::{Backend, spawn_app};
use rightsdesk::store::{NewAudit, Store};
use sqlx::Connection;

fn entry(actor: &str, i: usize) -> NewAudit {
    NewAudit {
        at: chrono::Utc::now(),
        actor: actor.into(),
        action: "test.write".into(),
        request_ref: None,
        client_addr: None,
        detail: serde_json::json!({ "i": i }),
    }
}

/// Every `test.write` entry of the log, in chain order, as `(actor, detail)`.
async fn written(store: &Arc<dyn Store>) -> Vec<(String, String)> {
    store
        .audit_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "test.write")
        .map(|e| (e.actor, e.detail))
        .collect()
}

async fn many_writers_and_sealers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = app.state.store.clone();
    // Fifty audited writes at once, and four sealers chaining while they are written
    // (besides the service's own).
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..50 {
        let s = store.clone();
        writes.spawn(async move { s.append_audit(&entry("writer", i)).await });
    }
    let mut sealers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let s = store.clone();
        sealers.spawn(async move {
            let mut sealed = 0;
            for _ in 0..20 {
                sealed += s.seal_audit(7).await?;
                tokio::task::yield_now().await;
            }
            Ok::<_, rightsdesk::store::StoreError>(sealed)
        });
    }
    while let Some(r) = writes.join_next().await {
        r.unwrap().unwrap();
    }
    while let Some(r) = sealers.join_next().await {
        r.unwrap().unwrap();
    }
    // A reader sees every entry: what is still pending is chained before it reads.
    let report = rightsdesk::store::audit_chain::verify(store.as_ref())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    assert!(!store.audit_pending().await.unwrap());
    let mut seen: Vec<usize> = written(&store)
        .await
        .iter()
        .map(|(_, d)| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["i"]
                .as_u64()
                .unwrap() as usize
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>(), "each entry exactly once");
    // The sequence has no gap and no repeat.
    let seqs: Vec<i64> = store
        .audit_after(0, 100_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());

    // A pending entry is never changed in place (written here as a service killed
    // before its sealer ran would leave it).
    macro_rules! update_refused {
        ($conn:ty, $now:literal) => {{
            let mut c = <$conn>::connect(&app.database_url).await.unwrap();
            sqlx::query(concat!(
                "INSERT INTO audit_pending (at, actor, action, detail) VALUES (",
                $now,
                ", 'x', 'test.write', '{}')"
            ))
            .execute(&mut c)
            .await
            .unwrap();
            let e = sqlx::query("UPDATE audit_pending SET actor = 'nobody'")
                .execute(&mut c)
                .await
                .expect_err("pending entries are never changed");
            c.close().await.unwrap();
            e
        }};
    }
    let err = match backend {
        Backend::Postgres => update_refused!(sqlx::PgConnection, "now()"),
        Backend::Sqlite => update_refused!(sqlx::SqliteConnection, "'2026-01-01T00:00:00Z'"),
    };
    assert!(err.to_string().contains("never changed"), "{err}");
    let last = written(&store).await.pop().unwrap();
    assert_eq!(
        last.0, "x",
        "the entry written outside was chained as written"
    );
    app.stop().await;
}

#[tokio::test]
async fn postgres_many_writers_and_sealers() {
    many_writers_and_sealers(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_many_writers_and_sealers() {
    many_writers_and_sealers(Backend::Sqlite).await;
}

/// An entry whose transaction began first but commits after a later entry was chained
/// is not lost and not put before it: it is chained by the next seal, after it.
#[tokio::test]
async fn an_entry_committed_late_is_chained_after_the_ones_already_chained() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let store = app.state.store.clone();
    let mut late = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let mut tx = late.begin().await.unwrap();
    let (late_id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit_pending (at, actor, action, detail) VALUES (now(), 'late', 'test.write', '{}') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    store.append_audit(&entry("early", 0)).await.unwrap();
    // The reader chains what is committed; the open transaction's entry is not seen.
    assert_eq!(
        written(&store).await,
        vec![("early".to_string(), r#"{"i":0}"#.to_string())]
    );
    tx.commit().await.unwrap();
    late.close().await.unwrap();
    let now = written(&store).await;
    assert_eq!(
        now.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["early", "late"],
        "pending id {late_id} chained after the entry committed before it"
    );
    let report = rightsdesk::store::audit_chain::verify(store.as_ref())
        .await
        .unwrap();
    assert!(report.ok, "{report:?}");
    app.stop().await;
}
