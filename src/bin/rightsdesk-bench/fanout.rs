//! `rightsdesk-bench fanout`: a PostgreSQL product database of 10 declared tables of
//! `--rows` rows each (real foreign keys, indexed), then access and erasure for
//! `--subjects` subjects through Rightsdesk's SQL connector on copy A and through
//! hand-written SQL on an identical copy B, interleaved subject by subject. Prints both
//! times and the ratio, and checks that both copies end identical.

use std::time::{Duration, Instant};

use rightsdesk::connectors::{Identity, SqlConnector, datamap};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use super::{BoxError, hasher, ms, stats, with_database};

#[derive(clap::Args)]
pub struct FanoutArgs {
    /// Rows in each of the 10 tables (row i of every table belongs to subject i).
    #[arg(long, default_value_t = 1_000_000)]
    rows: i64,
    /// Subjects accessed and then erased, spread over 1..=rows.
    #[arg(long, default_value_t = 100)]
    subjects: i64,
    /// A PostgreSQL URL whose role may create databases.
    #[arg(
        long,
        env = "RIGHTSDESK_BENCH_POSTGRES_URL",
        default_value = "postgres://root@127.0.0.1:5432/test"
    )]
    database_url: String,
}

/// (table, parent table, column holding the parent's id). `customers` is the root.
const TABLES: &[(&str, &str, &str)] = &[
    ("orders", "customers", "customer_id"),
    ("order_items", "orders", "order_id"),
    ("payments", "orders", "order_id"),
    ("addresses", "customers", "customer_id"),
    ("sessions", "customers", "customer_id"),
    ("tickets", "customers", "customer_id"),
    ("ticket_messages", "tickets", "ticket_id"),
    ("consents", "customers", "customer_id"),
    ("devices", "customers", "customer_id"),
];

fn schema() -> String {
    let mut s = String::from(
        "CREATE TABLE customers (id BIGINT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, \
         created_at TIMESTAMPTZ NOT NULL);\nCREATE UNIQUE INDEX customers_email ON customers (email);\n",
    );
    for (t, parent, col) in TABLES {
        s.push_str(&format!(
            "CREATE TABLE {t} (id BIGINT PRIMARY KEY, {col} BIGINT NOT NULL REFERENCES {parent} (id), \
             note TEXT, at TIMESTAMPTZ NOT NULL);\nCREATE INDEX {t}_{col} ON {t} ({col});\n"
        ));
    }
    s
}

fn data_map() -> String {
    let mut s = String::from(
        "name = \"bench\"\nkind = \"postgres\"\nurl = \"${RIGHTSDESK_DM_BENCH_URL}\"\nmax_connections = 2\n\
         [[tables]]\nname = \"customers\"\nprimary_key = \"id\"\nidentities = { email = \"email\" }\nerase = \"delete\"\n",
    );
    for (t, parent, col) in TABLES {
        s.push_str(&format!(
            "[[tables]]\nname = \"{t}\"\nprimary_key = \"id\"\nvia = {{ {col} = \"{parent}.id\" }}\nerase = \"delete\"\n"
        ));
    }
    s
}

fn email(i: i64) -> String {
    format!("subject-{i}@example.com")
}

pub async fn run(args: FanoutArgs) -> Result<(), BoxError> {
    let (rows, subjects) = (args.rows, args.subjects);
    if subjects < 1 || rows < 3 * subjects {
        return Err("need --subjects >= 1 and --rows >= 3 x --subjects".into());
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (name_a, name_b) = (format!("rd_fanout_{id}_a"), format!("rd_fanout_{id}_b"));
    let (url_a, url_b) = (
        with_database(&args.database_url, &name_a),
        with_database(&args.database_url, &name_b),
    );
    let mut admin = PgConnection::connect(&args.database_url).await?;
    println!(
        "fanout: 10 tables x {rows} rows, {subjects} subjects; databases {name_a} (Rightsdesk) and {name_b} (hand-written SQL)"
    );
    let result = bench(
        rows,
        subjects,
        &mut admin,
        (&name_a, &url_a),
        (&name_b, &url_b),
    )
    .await;
    for name in [&name_a, &name_b] {
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    println!("dropped databases {name_a} and {name_b}");
    result
}

async fn bench(
    rows: i64,
    subjects: i64,
    admin: &mut PgConnection,
    (name_a, url_a): (&str, &str),
    (name_b, url_b): (&str, &str),
) -> Result<(), BoxError> {
    let t = Instant::now();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name_a}")))
        .execute(&mut *admin)
        .await?;
    {
        let mut conn = PgConnection::connect(url_a).await?;
        sqlx::raw_sql("SET synchronous_commit = off")
            .execute(&mut conn)
            .await?;
        sqlx::raw_sql(AssertSqlSafe(schema()))
            .execute(&mut conn)
            .await?;
        sqlx::query(
            "INSERT INTO customers SELECT i, 'subject-' || i || '@example.com', 'Name ' || i, \
             TIMESTAMPTZ '2024-01-01' + i * INTERVAL '1 minute' FROM generate_series(1, $1) AS i",
        )
        .bind(rows)
        .execute(&mut conn)
        .await?;
        for (table, _, _) in TABLES {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {table} SELECT i, i, 'note ' || i, TIMESTAMPTZ '2024-01-01' + i * INTERVAL '1 second' \
                 FROM generate_series(1, $1) AS i"
            )))
            .bind(rows)
            .execute(&mut conn)
            .await?;
        }
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    }
    let load_a = t.elapsed();
    let t = Instant::now();
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {name_b} TEMPLATE {name_a}"
    )))
    .execute(&mut *admin)
    .await?;
    println!(
        "loaded {} rows in {:.1} s; copy B in {:.1} s",
        rows * 10,
        load_a.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );

    let url = url_a.to_string();
    let decl = datamap::parse_str_with_env("datamap/bench.toml", &data_map(), &|name| {
        (name == "RIGHTSDESK_DM_BENCH_URL").then(|| url.clone())
    })
    .map_err(|p| format!("bench data map: {p:?}"))?;
    let connector = SqlConnector::connect(decl)?;
    let mut hand = PgConnection::connect(url_b).await?;
    // Warm-up on a subject that is not measured: pool connection and catalogue read.
    let warm = rows - 1;
    connector
        .access(&Identity::from_email(&email(warm)))
        .await?;
    hand_access(&mut hand, &email(warm)).await?;

    let step = rows / subjects;
    let ids: Vec<i64> = (0..subjects).map(|k| 1 + k * step).collect();
    let (mut ours_a, mut hand_a) = (Vec::new(), Vec::new());
    for &i in &ids {
        let who = Identity::from_email(&email(i));
        let t = Instant::now();
        let found = connector.access(&who).await?;
        ours_a.push(t.elapsed());
        let t = Instant::now();
        let n = hand_access(&mut hand, &email(i)).await?;
        hand_a.push(t.elapsed());
        if found.row_count() != 10 || n != 10 {
            return Err(format!(
                "subject {i}: access found {} / {n} rows, expected 10",
                found.row_count()
            )
            .into());
        }
    }
    let (mut ours_e, mut hand_e) = (Vec::new(), Vec::new());
    for &i in &ids {
        let who = Identity::from_email(&email(i));
        let t = Instant::now();
        let evidence = connector.erase(&who, &hasher).await?;
        ours_e.push(t.elapsed());
        let t = Instant::now();
        let n = hand_erase(&mut hand, &email(i)).await?;
        hand_e.push(t.elapsed());
        let ours: u64 = evidence.tables.iter().map(|t| t.rows_affected).sum();
        if ours != 10 || n != 10 || !evidence.is_complete() {
            return Err(
                format!("subject {i}: erasure removed {ours} / {n} rows, expected 10").into(),
            );
        }
    }

    // Both copies must hold exactly the same rows afterwards.
    let mut a = PgConnection::connect(url_a).await?;
    for table in std::iter::once("customers").chain(TABLES.iter().map(|t| t.0)) {
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(hashtext(t::text)::bigint), 0)::bigint FROM {table} t"
        );
        let (ca, ha): (i64, i64) = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .fetch_one(&mut a)
            .await?;
        let (cb, hb): (i64, i64) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(&mut hand)
            .await?;
        if (ca, ha) != (cb, hb) || ca != rows - subjects {
            return Err(format!("table {table} differs after erasure: {ca} vs {cb} rows").into());
        }
    }
    println!(
        "both copies identical afterwards ({} rows per table)",
        rows - subjects
    );

    let table = [
        ("access", stats(ours_a), stats(hand_a)),
        ("erasure", stats(ours_e), stats(hand_e)),
    ];
    println!();
    println!("| operation ({subjects} subjects) | Rightsdesk | hand-written SQL | ratio |");
    println!("|---|---|---|---|");
    for (name, ours, hand) in &table {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "| {name}, total | {} | {} | {:.2} |",
            ms(ours.total),
            ms(hand.total),
            ratio(ours.total, hand.total)
        );
        println!(
            "| {name}, median / max | {} / {} | {} / {} | {:.2} |",
            ms(ours.median),
            ms(ours.max),
            ms(hand.median),
            ms(hand.max),
            ratio(ours.median, hand.median)
        );
    }
    Ok(())
}

/// What a competent hand-written access does: one SELECT per table following the
/// keys, every column decoded.
async fn hand_access(conn: &mut PgConnection, email: &str) -> Result<usize, sqlx::Error> {
    let customers =
        sqlx::query("SELECT id, email, name, created_at FROM customers WHERE email = $1")
            .bind(email)
            .fetch_all(&mut *conn)
            .await?;
    let mut n = customers.len();
    let mut ids: std::collections::HashMap<&str, Vec<i64>> = std::collections::HashMap::new();
    ids.insert(
        "customers",
        customers.iter().map(|r| r.get::<i64, _>("id")).collect(),
    );
    for r in &customers {
        let _: (String, String, chrono::DateTime<chrono::Utc>) =
            (r.get("email"), r.get("name"), r.get("created_at"));
    }
    for (table, parent, col) in TABLES {
        let parents = ids.get(parent).cloned().unwrap_or_default();
        let found = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, {col}, note, at FROM {table} WHERE {col} = ANY($1)"
        )))
        .bind(&parents)
        .fetch_all(&mut *conn)
        .await?;
        for r in &found {
            let _: (i64, Option<String>, chrono::DateTime<chrono::Utc>) =
                (r.get(col), r.get("note"), r.get("at"));
        }
        n += found.len();
        ids.insert(table, found.iter().map(|r| r.get::<i64, _>("id")).collect());
    }
    Ok(n)
}

/// Hand-written erasure: find the keys, delete children before parents, one transaction.
async fn hand_erase(conn: &mut PgConnection, email: &str) -> Result<u64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let customer: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE email = $1 FOR UPDATE")
            .bind(email)
            .fetch_all(&mut *tx)
            .await?;
    let mut ids: std::collections::HashMap<&str, Vec<i64>> = std::collections::HashMap::new();
    ids.insert("customers", customer);
    for (table, parent, col) in TABLES {
        let parents = ids.get(parent).cloned().unwrap_or_default();
        let found: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT id FROM {table} WHERE {col} = ANY($1) FOR UPDATE"
        )))
        .bind(&parents)
        .fetch_all(&mut *tx)
        .await?;
        ids.insert(table, found);
    }
    let mut n = 0;
    // Children before parents: reverse declaration order, then customers.
    for (table, _, _) in TABLES.iter().rev() {
        n += sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id = ANY($1)"
        )))
        .bind(&ids[table])
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    n += sqlx::query("DELETE FROM customers WHERE id = ANY($1)")
        .bind(&ids["customers"])
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}
