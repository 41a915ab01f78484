//! `rightsdesk-bench retention --rows N`: a retention purge of the older half of an
//! N-row PostgreSQL table through Rightsdesk's runner (data map, run record, batches),
//! next to a hand-written batched `DELETE ... WHERE id IN (SELECT ... LIMIT n)` loop on an
//! identical copy, while a writer inserts and updates rows of the table being purged at a
//! steady rate. Prints both purge rates and the writer's p99 latency idle and during
//! each purge.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rightsdesk::clock::SystemClock;
use rightsdesk::config::Config;
use rightsdesk::services::retention::{self, Trigger};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(clap::Args)]
pub struct RetentionArgs {
    /// Rows per table; the older half is due.
    #[arg(long, default_value_t = 10_000_000)]
    rows: i64,
    /// Rows per batch, for both purges.
    #[arg(long, default_value_t = 5000)]
    batch: u32,
    /// Writer operations per second (alternating inserts and updates).
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds the writer runs alone first (the idle baseline).
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
    /// A PostgreSQL URL whose role may create databases.
    #[arg(
        long,
        env = "RIGHTSDESK_BENCH_POSTGRES_URL",
        default_value = "postgres://root@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
}

pub async fn run(args: RetentionArgs) -> Result<(), BoxError> {
    let name = format!("rd_bench_retention_{}", std::process::id());
    let mut admin = PgConnection::connect(&args.database_url).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let url = super::with_database(&args.database_url, &name);
    let dir =
        std::env::temp_dir().join(format!("rightsdesk-bench-retention-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench(&args, &url, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    if !args.keep {
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
    } else {
        println!("kept database {name}");
    }
    result
}

/// Two identical tables: ids 1..=rows, the first half a year older than the cutoff.
async fn load(pool: &PgPool, table: &str, rows: i64) -> Result<(), BoxError> {
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE TABLE {table} (
             id BIGINT PRIMARY KEY,
             account_id INTEGER NOT NULL,
             email TEXT NOT NULL,
             payload TEXT NOT NULL,
             created_at TIMESTAMP NOT NULL,
             updated_at TIMESTAMP NOT NULL
         );
         INSERT INTO {table} (id, account_id, email, payload, created_at, updated_at)
         SELECT g, g % 1000, 'user' || (g % 100000) || '@example.com', md5(g::text) || md5((g * 7)::text),
                CASE WHEN g <= {half} THEN TIMESTAMP '2020-01-01' + (g || ' seconds')::interval
                     ELSE now()::timestamp - interval '1 day' + ((g - {half}) % 86400 || ' seconds')::interval END,
                now()::timestamp
         FROM generate_series(1, {rows}) g;
         CREATE INDEX {table}_created ON {table} (created_at);",
        half = rows / 2
    )))
    .execute(pool)
    .await?;
    // VACUUM cannot run in the implicit transaction of a multi-statement query.
    sqlx::raw_sql(AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
        .execute(pool)
        .await?;
    Ok(())
}

/// A writer at a steady rate on `table` until `stop`: inserts new (young) rows and
/// updates young rows, alternately. Returns each operation's latency.
async fn writer(
    pool: PgPool,
    table: String,
    rows: i64,
    rate: u32,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let insert = format!(
        "INSERT INTO {table} (id, account_id, email, payload, created_at, updated_at) \
         VALUES ($1, 1, 'new@example.com', 'new row', now(), now())"
    );
    let update =
        format!("UPDATE {table} SET payload = 'updated', updated_at = now() WHERE id = $1");
    let mut latencies = Vec::new();
    let mut next_id = rows * 10 + 1;
    let mut n: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let start = Instant::now();
        let r = if n % 2 == 0 {
            next_id += 1;
            sqlx::query(AssertSqlSafe(insert.clone()))
                .bind(next_id)
                .execute(&pool)
                .await
        } else {
            // A young row (the second half), spread over the table.
            let id = rows / 2 + 1 + (n * 7919) % (rows / 2).max(1);
            sqlx::query(AssertSqlSafe(update.clone()))
                .bind(id)
                .execute(&pool)
                .await
        };
        if r.is_ok() {
            latencies.push(start.elapsed());
        }
    }
    latencies
}

fn p99(mut v: Vec<Duration>) -> (Duration, usize) {
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return (Duration::ZERO, 0);
    }
    (v[((n * 99).div_ceil(100)).saturating_sub(1).min(n - 1)], n)
}

/// Run `work` while the writer writes to `table`; its result, seconds taken and the
/// writer's p99.
async fn with_writer<F, T>(
    pool: &PgPool,
    table: &str,
    args: &RetentionArgs,
    work: F,
) -> Result<(T, f64, Duration, usize), BoxError>
where
    F: std::future::Future<Output = Result<T, BoxError>>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let w = tokio::spawn(writer(
        pool.clone(),
        table.to_string(),
        args.rows,
        args.rate,
        stop.clone(),
    ));
    let start = Instant::now();
    let out = work.await;
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (p, n) = p99(w.await?);
    Ok((out?, secs, p, n))
}

async fn bench(args: &RetentionArgs, url: &str, dir: &std::path::Path) -> Result<(), BoxError> {
    let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
    println!(
        "loading two tables of {} rows ({} due) ...",
        args.rows,
        args.rows / 2
    );
    load(&pool, "events_rd", args.rows).await?;
    load(&pool, "events_raw", args.rows).await?;

    // Rightsdesk with a data map for `events_rd` and a SQLite store of its own.
    let mut config = Config {
        data_dir: dir.join("data"),
        datamap_dir: dir.join("datamap"),
        database_url: rightsdesk::secret::Secret::new(format!(
            "sqlite://{}",
            dir.join("rightsdesk.db").display()
        )),
        ..Config::default()
    };
    config.schedules.enabled = false;
    std::fs::create_dir_all(&config.datamap_dir)?;
    std::fs::write(
        config.datamap_dir.join("bench.toml"),
        format!(
            "name = \"bench\"\nkind = \"postgres\"\nurl = \"{url}\"\nmax_connections = 2\n\n\
             [[tables]]\nname = \"events_rd\"\nprimary_key = \"id\"\nidentities = {{ email = \"email\" }}\nerase = \"delete\"\n\n\
             [[retention]]\nname = \"old-events\"\ntable = \"events_rd\"\nage_column = \"created_at\"\n\
             max_age = \"365d\"\naction = \"delete\"\nbatch_size = {}\n",
            args.batch
        ),
    )?;
    let state = rightsdesk::app::open(&config, Arc::new(SystemClock)).await?;

    println!(
        "writer alone for {} s at {} ops/s ...",
        args.idle_secs, args.rate
    );
    let idle_secs = args.idle_secs;
    let ((), _, idle_p99, idle_n) = with_writer(&pool, "events_rd", args, async move {
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        Ok(())
    })
    .await?;

    println!("purging through Rightsdesk ...");
    let policy = retention::find(&state, "old-events").map_err(|e| e.to_string())?;
    let (run, rd_secs, rd_p99, rd_n) = with_writer(&pool, "events_rd", args, async {
        retention::run_now(&state, policy, false, Trigger::Cli, "bench", None)
            .await
            .map_err(|e| -> BoxError { e.to_string().into() })
    })
    .await?;
    if run.status != "succeeded" {
        return Err(format!("the Rightsdesk run failed: {:?}", run.error).into());
    }

    println!("purging with the hand-written loop ...");
    let cutoff = chrono::Utc::now().naive_utc() - chrono::TimeDelta::days(365);
    let batch = i64::from(args.batch);
    let (raw_rows, raw_secs, raw_p99, raw_n) = with_writer(&pool, "events_raw", args, async {
        let mut total = 0u64;
        loop {
            let n = sqlx::query(
                "DELETE FROM events_raw WHERE id IN \
                 (SELECT id FROM events_raw WHERE created_at < $1 LIMIT $2)",
            )
            .bind(cutoff)
            .bind(batch)
            .execute(&pool)
            .await?
            .rows_affected();
            total += n;
            if n == 0 {
                break;
            }
        }
        Ok(total)
    })
    .await?;

    let rd_rate = run.rows_purged as f64 / rd_secs;
    let raw_rate = raw_rows as f64 / raw_secs;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!();
    println!(
        "rows {} (due {}), batch {}, writer {} ops/s",
        args.rows,
        args.rows / 2,
        args.batch,
        args.rate
    );
    println!(
        "{:<34} {:>10} {:>8} {:>12} {:>14}",
        "", "rows", "secs", "rows/s", "writer p99 ms"
    );
    println!(
        "{:<34} {:>10} {:>8} {:>12} {:>14.2}   ({idle_n} ops)",
        "writer alone (idle)",
        "-",
        "-",
        "-",
        ms(idle_p99)
    );
    println!(
        "{:<34} {:>10} {:>8.1} {:>12.0} {:>14.2}   ({rd_n} ops, {} batches)",
        "Rightsdesk runner",
        run.rows_purged,
        rd_secs,
        rd_rate,
        ms(rd_p99),
        run.batches
    );
    println!(
        "{:<34} {:>10} {:>8.1} {:>12.0} {:>14.2}   ({raw_n} ops)",
        "DELETE ... IN (SELECT ... LIMIT n)",
        raw_rows,
        raw_secs,
        raw_rate,
        ms(raw_p99)
    );
    println!();
    println!(
        "Rightsdesk / raw rate: {:.2}x (goal >= 0.8x); writer p99 during Rightsdesk purge / idle: {:.2}x (goal <= 2x)",
        rd_rate / raw_rate,
        ms(rd_p99) / ms(idle_p99).max(f64::MIN_POSITIVE)
    );
    Ok(())
}
