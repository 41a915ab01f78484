//! `rightsdesk-bench export --mb N`: one subject's access result of about N MB of rows
//! (stored in encrypted parts, written in batches so the benchmark itself stays small),
//! packed into the encrypted ZIP by the export code and then downloaded through the
//! streaming body. Prints MB/s of each phase and the process's peak RSS (VmHWM), which
//! must stay bounded whatever N is.

use std::time::Instant;

use rightsdesk::clock::SystemClock;
use rightsdesk::config::Config;
use rightsdesk::services::task_results::PART_ROWS;
use rightsdesk::store::{Changes, ResultPart, Task};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// About 300 characters that do not compress away (a ZIP of repeated text would hide
/// the cost of the deflate stage).
fn noise(n: u64) -> String {
    let mut x = n
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = String::with_capacity(304);
    while out.len() < 300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016x}"));
    }
    out
}

/// Peak resident set size of this process so far, in MB (Linux `VmHWM`).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub async fn run(mb: u64) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("rightsdesk-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench(&dir, mb).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(dir: &std::path::Path, mb: u64) -> Result<(), BoxError> {
    let mut config = Config {
        data_dir: dir.join("data"),
        datamap_dir: dir.join("datamap"),
        database_url: rightsdesk::secret::Secret::new(format!(
            "sqlite://{}",
            dir.join("rightsdesk.db").display()
        )),
        ..Default::default()
    };
    std::fs::create_dir_all(&config.datamap_dir)?;
    config.schedules.enabled = false;
    let state = rightsdesk::app::open(&config, std::sync::Arc::new(SystemClock)).await?;
    let rss_start = peak_rss_mb();

    // A started access request with one succeeded task whose result we write.
    let entry = rightsdesk::services::workflow::StaffEntry {
        submission: rightsdesk::services::workflow::Submission {
            kind: rightsdesk::domain::request::Kind::Access,
            email: rightsdesk::domain::identity::SubjectEmail::parse("bench@example.com")
                .map_err(|e| format!("{e:?}"))?,
            name: None,
            details: None,
            corrections: None,
            scope: None,
            residence: None,
            recipients_requested: false,
        },
        received_at: state.clock.now(),
        verified_at: state.clock.now(),
        regime: rightsdesk::domain::deadline::Regime::Gdpr,
        verification_note: "benchmark".into(),
    };
    let actor = rightsdesk::services::workflow::Actor::system();
    let req = rightsdesk::services::workflow::create_staff_request(&state, &actor, entry).await?;
    let now = state.clock.now();
    let task = Task {
        id: uuid::Uuid::now_v7().to_string(),
        request_id: req.id.clone(),
        connector: "app".into(),
        operation: "access".into(),
        status: "succeeded".into(),
        attempts: 1,
        error: None,
        evidence: None,
        result_ct: None,
        created_at: now,
        updated_at: now,
        finished_at: Some(now),
    };
    let mut next = req.clone();
    next.version += 1;
    state
        .store
        .update_request(
            &next,
            req.version,
            None,
            None,
            &Changes {
                tasks: vec![task.clone()],
                ..Default::default()
            },
        )
        .await?;

    // Rows of about 500 bytes of JSON each: typed values, text needing CSV quoting.
    let target = mb * 1024 * 1024;
    let t = Instant::now();
    let (mut written, mut seq, mut rows_total) = (0u64, 0i64, 0u64);
    let columns: Vec<String> = ["id", "at", "amount", "active", "page", "note"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    while written < target {
        let mut batch = Vec::new();
        for _ in 0..8 {
            let rows: Vec<serde_json::Value> = (0..PART_ROWS as u64)
                .map(|i| {
                    let n = rows_total + i;
                    json!({
                        "id": n,
                        "at": "2026-03-01T09:00:00Z",
                        "amount": n as f64 * 0.25,
                        "active": n % 2 == 0,
                        "page": format!("https://example.com/pricing?utm_source=newsletter&visit={n}"),
                        "note": format!("Visitor {n} asked, \"can we get a demo?\" — {}", noise(n)),
                    })
                })
                .collect();
            let text = serde_json::to_string(&rows)?;
            written += text.len() as u64;
            rows_total += rows.len() as u64;
            batch.push(ResultPart {
                seq,
                table_name: "visits".into(),
                columns: columns.clone(),
                row_count: rows.len() as i64,
                rows_ct: state.keys.seal_at(
                    rightsdesk::crypto::Field::result_part(&rightsdesk::crypto::result_part_row(
                        &task.id, seq,
                    )),
                    &text,
                ),
            });
            seq += 1;
        }
        state.store.append_result_parts(&task.id, &batch).await?;
    }
    let load_secs = t.elapsed().as_secs_f64();
    let rss_after_load = peak_rss_mb();

    let t = Instant::now();
    let url = rightsdesk::services::export::create(&state, &next).await?;
    let build_secs = t.elapsed().as_secs_f64();
    let rss_after_build = peak_rss_mb();
    let export = state
        .store
        .exports_for_request(&next.id)
        .await?
        .pop()
        .ok_or("no export recorded")?;

    let t = Instant::now();
    let body = rightsdesk::services::export::stream_zip(&state, &export).await?;
    let mut stream = body.into_data_stream();
    let mut downloaded = 0u64;
    use tokio_stream::StreamExt;
    while let Some(chunk) = stream.next().await {
        downloaded += chunk?.len() as u64;
    }
    let download_secs = t.elapsed().as_secs_f64();
    let rss_end = peak_rss_mb();
    let mbs = |bytes: u64, secs: f64| bytes as f64 / 1024.0 / 1024.0 / secs;
    let data_mb = written as f64 / 1024.0 / 1024.0;
    println!("export benchmark: {rows_total} rows, {data_mb:.0} MB of row JSON in {seq} parts");
    println!("  link: {}", url.split("/download/").next().unwrap_or(""));
    println!("  {:<34} {:>9} {:>10}", "phase", "seconds", "MB/s");
    println!(
        "  {:<34} {:>9.1} {:>10.1}",
        "write result parts (setup)",
        load_secs,
        mbs(written, load_secs)
    );
    println!(
        "  {:<34} {:>9.1} {:>10.1}",
        "build + encrypt package",
        build_secs,
        mbs(written, build_secs)
    );
    println!(
        "  {:<34} {:>9.1} {:>10.1}",
        "streamed download (decrypt)",
        download_secs,
        mbs(downloaded, download_secs)
    );
    println!(
        "  package: {:.1} MB encrypted on disk, {:.1} MB ZIP downloaded",
        export.size_bytes as f64 / 1024.0 / 1024.0,
        downloaded as f64 / 1024.0 / 1024.0
    );
    println!(
        "  peak RSS (VmHWM): {rss_start:.1} MB after start, {rss_after_load:.1} after setup, {rss_after_build:.1} after build, {rss_end:.1} after download"
    );
    Ok(())
}
