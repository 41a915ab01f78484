//! Benchmarks against real databases and the real service (`fanout`, `retention`,
//! `export`, `signin`, `large-subject`: one subject's millions of rows through the
//! service, see its module; and the peer workload below):
//!
//! `rightsdesk-bench peer-workload --customers N --subjects K` loads the shared bench's peer
//! workload (11 tables, 23 rows per customer; see `docs/benchmarks.md`) into two fresh
//! PostgreSQL databases, then times Rightsdesk's SQL connector (access, erasure) on the
//! first against hand-written SQL doing the same reads and writes on the second, and
//! checks that both erasures leave the two databases identical.
//!
//! `rightsdesk-bench peer-workload --end-to-end [--with-advised-indexes]` runs the real
//! service on the workload instead (`rightsdesk-bench/service.rs`).

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use clap::{Parser, Subcommand};
use hmac::{Hmac, KeyInit, Mac};
use rightsdesk::connectors::sql::with_statement_log;
use rightsdesk::connectors::{Identity, SqlConnector, datamap};
use sha2::Sha256;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

const PEER_SCHEMA: &str = include_str!("../../tests/fixtures/peer_schema_postgres.sql");
const PEER_DATAMAP: &str = include_str!("../../tests/fixtures/peer_datamap.toml");

/// The data of the shared bench's `peer-workload-data.sql`, with its psql variable `:n`
/// written `{N}` (replaced by the customer count, an integer). Every value is a function
/// of the customer number i, so two loads with the same N are identical.
const PEER_DATA: &str = r#"
INSERT INTO public.product (id, name, description, url, price) VALUES
 (1, 'Cookie 1', 'Synthetic product 1', 'https://example.invalid/p/1', '$20.00'),
 (2, 'Cookie 2', 'Synthetic product 2', 'https://example.invalid/p/2', '$20.00'),
 (3, 'Cookie 3', 'Synthetic product 3', 'https://example.invalid/p/3', '$20.00'),
 (4, 'Cookie 4', 'Synthetic product 4', 'https://example.invalid/p/4', '$20.00'),
 (5, 'Pack 5',   'Synthetic product 5', 'https://example.invalid/p/5', '$50.00'),
 (6, 'Pack 6',   'Synthetic product 6', 'https://example.invalid/p/6', '$50.00');

INSERT INTO public.address (id, house, street, city, state, zip)
SELECT 2*i - 1 + h,
       (i % 9000) + 1,
       CASE h WHEN 0 THEN 'Home Street ' ELSE 'Billing Avenue ' END || (i % 500),
       'City ' || (i % 1000),
       (ARRAY['NY','TX','CA','WA','IL','MA'])[(i % 6) + 1],
       lpad(((i * 7 + h) % 100000)::text, 5, '0')
FROM generate_series(1, {N}) AS i, generate_series(0, 1) AS h;

INSERT INTO public.address (id, house, street, city, state, zip)
SELECT 2 * {N} + j, j, 'Office Road', 'Office City', 'NY', '10001'
FROM generate_series(1, 100) AS j;

INSERT INTO public.employee (id, email, name, address_id)
SELECT j, 'employee-' || j || '@example.com', 'Employee ' || j, 2 * {N} + j
FROM generate_series(1, 100) AS j;

INSERT INTO public.customer (id, email, name, created, address_id)
SELECT i, 'customer-' || i || '@example.com', 'Customer ' || i,
       timestamp '2020-01-01 00:00:00' + i * interval '1 minute', 2*i - 1
FROM generate_series(1, {N}) AS i;

INSERT INTO public.payment_card (id, name, ccn, code, preferred, customer_id, billing_address_id)
SELECT 'pay_' || i, 'Card of customer ' || i, 4000000000000000 + i,
       (i % 1000)::smallint, true, i, 2*i
FROM generate_series(1, {N}) AS i;

INSERT INTO public.orders (id, customer_id, shipping_address_id, payment_card_id)
SELECT 'ord_' || i || '_' || k, i, 2*i, 'pay_' || i
FROM generate_series(1, {N}) AS i, generate_series(1, 3) AS k;

INSERT INTO public.order_item (order_id, item_no, product_id, quantity)
SELECT 'ord_' || i || '_' || k, it, ((i + k + it) % 6) + 1, ((i + it) % 5 + 1)::smallint
FROM generate_series(1, {N}) AS i, generate_series(1, 3) AS k, generate_series(1, 2) AS it;

INSERT INTO public.login (id, customer_id, time)
SELECT 5*(i-1) + k, i, timestamp '2024-01-01 00:00:00' + (5*i + k) * interval '1 minute'
FROM generate_series(1, {N}) AS i, generate_series(1, 5) AS k;

INSERT INTO public.visit (email, last_visit)
SELECT 'customer-' || i || '@example.com',
       timestamp '2024-06-01 00:00:00' + (3*i + k) * interval '1 minute'
FROM generate_series(1, {N}) AS i, generate_series(1, 3) AS k;

INSERT INTO public.report (id, email, name, year, month, total_visits)
SELECT i, 'customer-' || i || '@example.com', 'Report ' || i, 2024, (i % 12) + 1, i % 50
FROM generate_series(1, {N}) AS i;

INSERT INTO public.service_request (id, email, alt_email, opened, closed, employee_id)
SELECT 'sr_' || i, 'customer-' || i || '@example.com', 'alt-customer-' || i || '@example.com',
       date '2024-01-01' + (i % 300), date '2024-01-01' + (i % 300) + 3, ((i - 1) % 100) + 1
FROM generate_series(1, {N}) AS i;

SELECT setval('public.product_id_seq', 100);
SELECT setval('public.address_id_seq', 2 * {N} + 1000);
SELECT setval('public.customer_id_seq', {N} + 1000);
SELECT setval('public.employee_id_seq', 1000);

CREATE INDEX IF NOT EXISTS customer_email_idx            ON public.customer (email);
CREATE INDEX IF NOT EXISTS employee_email_idx            ON public.employee (email);
CREATE INDEX IF NOT EXISTS payment_card_customer_id_idx  ON public.payment_card (customer_id);
CREATE INDEX IF NOT EXISTS orders_customer_id_idx        ON public.orders (customer_id);
CREATE INDEX IF NOT EXISTS login_customer_id_idx         ON public.login (customer_id);
CREATE INDEX IF NOT EXISTS report_email_idx              ON public.report (email);
CREATE INDEX IF NOT EXISTS service_request_email_idx     ON public.service_request (email);
CREATE INDEX IF NOT EXISTS service_request_alt_email_idx ON public.service_request (alt_email);
CREATE INDEX IF NOT EXISTS service_request_employee_idx  ON public.service_request (employee_id);
-- Identity matching compares lower(email) (the indexes `rightsdesk check` asks for);
-- the hand-written SQL matches the same way.
CREATE INDEX IF NOT EXISTS customer_email_lower_idx        ON public.customer (lower(email));
CREATE INDEX IF NOT EXISTS visit_email_lower_idx           ON public.visit (lower(email));
CREATE INDEX IF NOT EXISTS report_email_lower_idx          ON public.report (lower(email));
CREATE INDEX IF NOT EXISTS service_request_email_lower_idx ON public.service_request (lower(email));
"#;

const TABLES: &[&str] = &[
    "customer",
    "address",
    "orders",
    "order_item",
    "payment_card",
    "login",
    "visit",
    "report",
    "service_request",
    "employee",
    "product",
];

/// The peer's figures (shared bench `peer-workload.md`: Fides 2.86.2 in its production
/// layout, the run of 2026-12-06, N = 100,000, whole request through its REST API).
const PEER_ACCESS_S: f64 = 1.00;
const PEER_ERASURE_S: f64 = 1.51;

#[derive(Parser)]
#[command(name = "rightsdesk-bench", about = "Rightsdesk benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fan-out on PostgreSQL: 10 declared tables x --rows, access and erasure for
    /// --subjects through the SQL connector vs hand-written SQL on an identical copy.
    Fanout(fanout::FanoutArgs),
    /// Retention purge of half an N-row PostgreSQL table: Rightsdesk's runner vs a
    /// hand-written batched DELETE loop, under a steady writer (rates, writer p99).
    Retention(retention::RetentionArgs),
    /// Concurrent portal sign-ins against `rightsdesk serve`: peak RSS and `/healthz`
    /// latency, bounded hashing and rate limits vs the old unbounded behaviour.
    Signin(signin::SigninArgs),
    /// One subject's export of about `--mb` MB of rows: build, encrypt, stream; peak RSS.
    Export {
        #[arg(long, default_value_t = 100)]
        mb: u64,
    },
    /// One subject with --rows rows in one PostgreSQL table: an access request end to
    /// end through `rightsdesk serve` (peak RSS) beside PostgreSQL's own COPY of the rows.
    LargeSubject {
        #[arg(long, default_value_t = 2_000_000)]
        rows: i64,
        /// The request: access (the default) or erasure.
        #[arg(long, value_enum, default_value = "access")]
        operation: large_subject::Operation,
        /// A PostgreSQL URL whose role may create databases.
        #[arg(
            long,
            env = "RIGHTSDESK_BENCH_POSTGRES_URL",
            default_value = "postgres://root@127.0.0.1:5432/test"
        )]
        database_url: String,
        /// Keep the two databases afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// The shared bench's peer workload: SQL connector vs hand-written SQL on PostgreSQL.
    PeerWorkload {
        /// Customers loaded (23 rows each).
        #[arg(long, default_value_t = 100_000)]
        customers: i64,
        /// Subjects accessed and then erased, spread over 1..=customers.
        #[arg(long, default_value_t = 100)]
        subjects: i64,
        /// A PostgreSQL URL whose role may create databases.
        #[arg(
            long,
            env = "RIGHTSDESK_BENCH_POSTGRES_URL",
            default_value = "postgres://root@127.0.0.1:5432/test"
        )]
        database_url: String,
        /// Keep the two databases afterwards.
        #[arg(long)]
        keep: bool,
        /// Only the end-to-end part: the real `rightsdesk serve` (PostgreSQL store) on a
        /// pristine copy of the workload, one access, one erasure and 100 + 100 together
        /// through the staff API, with peak RSS, the CPU of the service and of the
        /// database, Rightsdesk's own database work per request, and the peer's table.
        #[arg(long)]
        end_to_end: bool,
        /// With --end-to-end: run it twice, on the workload as given and on a copy with
        /// the index advisor's statements applied (what `rightsdesk check` prints).
        #[arg(long, requires = "end_to_end")]
        with_advised_indexes: bool,
        /// With --end-to-end: also list every statement of the one access and the one
        /// erasure whose statements are counted, with when it ended (ms after the
        /// request's first statement) and how long it took.
        #[arg(long, requires = "end_to_end")]
        list_statements: bool,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[path = "rightsdesk-bench/export.rs"]
mod export;
#[path = "rightsdesk-bench/fanout.rs"]
mod fanout;
#[path = "rightsdesk-bench/large_subject.rs"]
mod large_subject;
#[path = "rightsdesk-bench/retention.rs"]
mod retention;
#[path = "rightsdesk-bench/service.rs"]
mod service;
#[path = "rightsdesk-bench/signin.rs"]
mod signin;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    match Cli::parse().command {
        Command::Export { mb } => export::run(mb).await,
        Command::Fanout(args) => fanout::run(args).await,
        Command::Retention(args) => retention::run(args).await,
        Command::Signin(args) => signin::run(args).await,
        Command::LargeSubject {
            rows,
            operation,
            database_url,
            keep,
        } => large_subject::run(rows, operation, &database_url, keep).await,
        Command::PeerWorkload {
            customers,
            end_to_end: true,
            with_advised_indexes,
            list_statements,
            database_url,
            ..
        } => {
            service::LIST_STATEMENTS.store(list_statements, std::sync::atomic::Ordering::Relaxed);
            service::end_to_end(customers, &database_url, with_advised_indexes).await
        }
        Command::PeerWorkload {
            customers,
            subjects,
            database_url,
            keep,
            ..
        } => peer_workload(customers, subjects, &database_url, keep).await,
    }
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let authority_start = head.find("://").map(|i| i + 3).unwrap_or(0);
    let head = match head[authority_start..].find('/') {
        Some(slash) => &head[..authority_start + slash],
        None => head,
    };
    match query {
        Some(q) => format!("{head}/{name}?{q}"),
        None => format!("{head}/{name}"),
    }
}

/// The `hash` mask: hex HMAC-SHA256 under a fixed benchmark key.
fn hasher(value: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(b"bench-deployment-key").expect("any key size");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn email(i: i64) -> String {
    format!("customer-{i}@example.com")
}

struct Stats {
    total: Duration,
    mean: Duration,
    median: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let total: Duration = samples.iter().sum();
    Stats {
        total,
        mean: total / samples.len().max(1) as u32,
        median: samples.get(samples.len() / 2).copied().unwrap_or_default(),
        max: samples.last().copied().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn peer_workload(
    customers: i64,
    subjects: i64,
    base_url: &str,
    keep: bool,
) -> Result<(), BoxError> {
    if subjects < 1 || customers < 3 * subjects {
        return Err("need --subjects >= 1 and --customers >= 3 x --subjects".into());
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (name_a, name_b) = (format!("rd_bench_{id}_a"), format!("rd_bench_{id}_b"));
    let (url_a, url_b) = (
        with_database(base_url, &name_a),
        with_database(base_url, &name_b),
    );
    let mut admin = PgConnection::connect(base_url).await?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut admin)
        .await?;
    println!("PostgreSQL: {version}");
    println!(
        "peer workload: N = {customers} customers, K = {subjects} subjects, databases {name_a} (Rightsdesk) and {name_b} (hand-written SQL)"
    );

    let result = run(
        customers,
        subjects,
        &mut admin,
        (&name_a, &url_a),
        (&name_b, &url_b),
    )
    .await;

    if keep {
        println!("kept databases {name_a} and {name_b}");
    } else {
        for name in [&name_a, &name_b] {
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
        }
        println!("dropped databases {name_a} and {name_b}");
    }
    result
}

/// Create database `name` and fill it with the peer workload of `customers` customers
/// (schema, rows generated by PostgreSQL, the data file's indexes, `ANALYZE`).
async fn load_product(
    admin: &mut PgConnection,
    name: &str,
    url: &str,
    customers: i64,
) -> Result<Duration, BoxError> {
    let t = Instant::now();
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut *admin)
        .await?;
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql("SET synchronous_commit = off")
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(PEER_SCHEMA).execute(&mut conn).await?;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(AssertSqlSafe(
        PEER_DATA.replace("{N}", &customers.to_string()),
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    Ok(t.elapsed())
}

async fn run(
    customers: i64,
    subjects: i64,
    admin: &mut PgConnection,
    (name_a, url_a): (&str, &str),
    (name_b, url_b): (&str, &str),
) -> Result<(), BoxError> {
    // 1. Load A with PostgreSQL generating the rows, then copy it to B as a template
    // (byte-identical, and faster than generating twice).
    let load_a = load_product(admin, name_a, url_a, customers).await?;
    let t = Instant::now();
    sqlx::query(AssertSqlSafe(format!(
        "CREATE DATABASE {name_b} TEMPLATE {name_a}"
    )))
    .execute(&mut *admin)
    .await?;
    let copy_b = t.elapsed();
    println!(
        "load: {:.1} s to create and fill A (schema + INSERT ... SELECT generate_series + indexes + ANALYZE), {:.1} s to copy it to B (CREATE DATABASE ... TEMPLATE)",
        load_a.as_secs_f64(),
        copy_b.as_secs_f64()
    );

    let mut conn_a = PgConnection::connect(url_a).await?;
    let mut conn_b = PgConnection::connect(url_b).await?;
    let mut total_rows = 0i64;
    println!("rows per table (A; B is a copy):");
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM public.{table}"
        )))
        .fetch_one(&mut conn_a)
        .await?;
        total_rows += n;
        println!("  {table:<16} {n:>10}");
    }
    println!("  {:<16} {total_rows:>10}", "total");
    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&mut conn_a)
            .await?;
    println!("  size of A on disk: {size}");

    // Subjects spread over 1..=N; customer 2 is never a subject (warm-up and the
    // untouched customer).
    let step = customers / subjects;
    let chosen: Vec<i64> = (0..subjects).map(|j| 1 + j * step + step / 2).collect();
    let untouched = 2i64;
    debug_assert!(!chosen.contains(&untouched));

    let url_for_map = url_a.to_string();
    let decl = datamap::parse_str_with_env("datamap/peer.toml", PEER_DATAMAP, &|_| {
        Some(url_for_map.clone())
    })
    .map_err(|p| format!("peer data map: {p:?}"))?;
    let connector = SqlConnector::connect(decl)?;

    // Warm-up (excluded from timings): the pool's first connection, the connector's
    // catalogue read, and the hand-written side's statement cache.
    let warm = Identity::from_email(&email(untouched));
    let rows = connector.access(&warm).await?.row_count();
    if rows != 17 {
        return Err(format!("warm-up access found {rows} rows, expected 17").into());
    }
    let rows = hand_access(&mut conn_b, &email(untouched)).await?;
    if rows != 17 {
        return Err(format!("hand-written warm-up found {rows} rows, expected 17").into());
    }

    // 2. Access. The first subject's statements are also recorded (the log costs a copy
    // of each statement's text), to print what one operation sends.
    let mut ours = Vec::new();
    let mut hand = Vec::new();
    for &i in &chosen {
        let who = Identity::from_email(&email(i));
        let t = Instant::now();
        let result = if i == chosen[0] {
            let (result, statements) = with_statement_log(connector.access(&who)).await;
            print_statements("access", &statements);
            result?
        } else {
            connector.access(&who).await?
        };
        ours.push(t.elapsed());
        if result.row_count() != 17 {
            return Err(format!("access: {} rows for customer {i}", result.row_count()).into());
        }
        let t = Instant::now();
        let rows = hand_access(&mut conn_b, &email(i)).await?;
        hand.push(t.elapsed());
        if rows != 17 {
            return Err(format!("hand-written access: {rows} rows for customer {i}").into());
        }
    }
    let access = (stats(ours), stats(hand));

    // 3. Erasure.
    let mut ours = Vec::new();
    let mut hand = Vec::new();
    for &i in &chosen {
        let who = Identity::from_email(&email(i));
        let t = Instant::now();
        let evidence = if i == chosen[0] {
            let (evidence, statements) = with_statement_log(connector.erase(&who, &hasher)).await;
            print_statements("erasure", &statements);
            evidence?
        } else {
            connector.erase(&who, &hasher).await?
        };
        ours.push(t.elapsed());
        let affected: u64 = evidence.tables.iter().map(|t| t.rows_affected).sum();
        if affected != 14 || !evidence.is_complete() {
            return Err(format!(
                "erasure of customer {i}: {affected} rows affected, complete = {}",
                evidence.is_complete()
            )
            .into());
        }
        let t = Instant::now();
        let affected = hand_erase(&mut conn_b, &email(i)).await?;
        hand.push(t.elapsed());
        if affected != 14 {
            return Err(format!("hand-written erasure of customer {i}: {affected} rows").into());
        }
    }
    let erasure = (stats(ours), stats(hand));
    drop(connector);

    // Verification: the subjects are masked, customer 2 is not, and both databases are
    // identical table by table (so the hand-written SQL did exactly what Rightsdesk did).
    for (label, conn) in [("A", &mut conn_a), ("B", &mut conn_b)] {
        for &i in &chosen {
            let (mail, name): (Option<String>, Option<String>) =
                sqlx::query_as("SELECT email, name FROM public.customer WHERE id = $1")
                    .bind(i as i32)
                    .fetch_one(&mut *conn)
                    .await?;
            if mail.as_deref() != Some(hasher(&email(i)).as_str()) || name.is_some() {
                return Err(format!("{label}: customer {i} is not masked").into());
            }
        }
        let (mail, name): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT email, name FROM public.customer WHERE id = $1")
                .bind(untouched as i32)
                .fetch_one(&mut *conn)
                .await?;
        if mail.as_deref() != Some(email(untouched).as_str())
            || name.as_deref() != Some("Customer 2")
        {
            return Err(format!("{label}: customer 2 was changed").into());
        }
    }
    for table in TABLES {
        let sql = format!(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.{table} t"
        );
        let a: String = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
            .fetch_one(&mut conn_a)
            .await?;
        let b: String = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut conn_b)
            .await?;
        if a != b {
            return Err(format!("after erasure, table {table} differs between A and B").into());
        }
    }
    println!(
        "verified: on A and B the {subjects} subjects' customer.email is the HMAC-SHA256 hex of their address (the data map's `hash` mask) and name is NULL; customer 2 is untouched; all 11 tables are identical between A and B (md5 of every row)"
    );
    conn_a.close().await?;
    conn_b.close().await?;

    print_table(customers, subjects, &access, &erasure);

    Ok(())
}

/// The reads of one access request, by hand: one SELECT per table on one connection,
/// following the same keys as the data map; every column decoded into Rust values.
/// Returns the number of personal-data rows (17 for a customer).
async fn hand_access(conn: &mut PgConnection, email: &str) -> Result<usize, sqlx::Error> {
    type Customer = (
        i32,
        Option<String>,
        Option<String>,
        Option<NaiveDateTime>,
        Option<i64>,
    );
    type Card = (
        String,
        Option<String>,
        Option<i64>,
        Option<i16>,
        Option<bool>,
        Option<i32>,
        Option<i64>,
    );
    type Order = (String, Option<i32>, Option<i64>, Option<String>);
    type Address = (
        i32,
        Option<i32>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    type Login = (i32, Option<i32>, Option<NaiveDateTime>);
    type Visit = (String, NaiveDateTime);
    type Report = (
        i32,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
    );
    type ServiceRequest = (
        String,
        Option<String>,
        Option<String>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<i32>,
    );

    let customers: Vec<Customer> = sqlx::query_as(
        "SELECT id, email, name, created, address_id FROM public.customer WHERE lower(email) = $1",
    )
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i32> = customers.iter().map(|c| c.0).collect();
    let cards: Vec<Card> = sqlx::query_as(
        "SELECT id, name, ccn, code, preferred, customer_id, billing_address_id \
         FROM public.payment_card WHERE customer_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let orders: Vec<Order> = sqlx::query_as(
        "SELECT id, customer_id, shipping_address_id, payment_card_id \
         FROM public.orders WHERE customer_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut address_ids: Vec<i32> = customers
        .iter()
        .filter_map(|c| c.4)
        .chain(orders.iter().filter_map(|o| o.2))
        .chain(cards.iter().filter_map(|c| c.6))
        .filter_map(|id| i32::try_from(id).ok())
        .collect();
    address_ids.sort_unstable();
    address_ids.dedup();
    let addresses: Vec<Address> = sqlx::query_as(
        "SELECT id, house, street, city, state, zip FROM public.address WHERE id = ANY($1)",
    )
    .bind(&address_ids)
    .fetch_all(&mut *conn)
    .await?;
    let logins: Vec<Login> = sqlx::query_as(
        "SELECT id, customer_id, time FROM public.login WHERE customer_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let visits: Vec<Visit> =
        sqlx::query_as("SELECT email, last_visit FROM public.visit WHERE lower(email) = $1")
            .bind(email)
            .fetch_all(&mut *conn)
            .await?;
    let reports: Vec<Report> = sqlx::query_as(
        "SELECT id, email, name, year, month, total_visits FROM public.report WHERE lower(email) = $1",
    )
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    let requests: Vec<ServiceRequest> = sqlx::query_as(
        "SELECT id, email, alt_email, opened, closed, employee_id \
         FROM public.service_request WHERE lower(email) = $1",
    )
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    Ok(std::hint::black_box(
        customers.len()
            + cards.len()
            + orders.len()
            + addresses.len()
            + logins.len()
            + visits.len()
            + reports.len()
            + requests.len(),
    ))
}

/// One erasure by hand, in one transaction: the same 14 row updates the data map makes
/// (the `hash` mask on emails, NULL on the other masked fields). Returns rows updated.
async fn hand_erase(conn: &mut PgConnection, email: &str) -> Result<u64, sqlx::Error> {
    let hashed = hasher(email);
    let mut tx = conn.begin().await?;
    let mut n = 0;
    let customers: Vec<(i32, Option<i64>)> = sqlx::query_as(
        "UPDATE public.customer SET email = $2, name = NULL WHERE lower(email) = $1 \
         RETURNING id, address_id",
    )
    .bind(email)
    .bind(&hashed)
    .fetch_all(&mut *tx)
    .await?;
    n += customers.len() as u64;
    let ids: Vec<i32> = customers.iter().map(|c| c.0).collect();
    let cards: Vec<(Option<i64>,)> = sqlx::query_as(
        "UPDATE public.payment_card SET ccn = NULL, name = NULL WHERE customer_id = ANY($1) \
         RETURNING billing_address_id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    n += cards.len() as u64;
    let shipping: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT shipping_address_id FROM public.orders WHERE customer_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut address_ids: Vec<i32> = customers
        .iter()
        .filter_map(|c| c.1)
        .chain(cards.iter().filter_map(|c| c.0))
        .chain(shipping.into_iter().flatten())
        .filter_map(|id| i32::try_from(id).ok())
        .collect();
    address_ids.sort_unstable();
    address_ids.dedup();
    n += sqlx::query(
        "UPDATE public.address SET street = NULL, city = NULL, zip = NULL WHERE id = ANY($1)",
    )
    .bind(&address_ids)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    n += sqlx::query("UPDATE public.login SET time = NULL WHERE customer_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    n += sqlx::query("UPDATE public.visit SET email = $2 WHERE lower(email) = $1")
        .bind(email)
        .bind(&hashed)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    n += sqlx::query("UPDATE public.report SET email = $2 WHERE lower(email) = $1")
        .bind(email)
        .bind(&hashed)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // service_request: the data map hashes both addresses, each from its own value.
    let requests: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, alt_email FROM public.service_request WHERE lower(email) = $1 FOR UPDATE",
    )
    .bind(email)
    .fetch_all(&mut *tx)
    .await?;
    for (id, alt) in requests {
        n += sqlx::query(
            "UPDATE public.service_request SET email = $2, alt_email = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(&hashed)
        .bind(alt.map(|a| hasher(&a)))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(n)
}

/// What one connector operation sent to the product database (BEGIN and COMMIT are
/// sent by the driver and not listed).
fn print_statements(operation: &str, statements: &[String]) {
    println!(
        "statements of one {operation} (first subject; hand-written: {}):",
        if operation == "access" {
            "8 SELECTs"
        } else {
            "9 statements: 7 UPDATEs and 2 SELECTs"
        }
    );
    for s in statements {
        let short: String = s.chars().take(110).collect();
        println!("  {short}");
    }
    println!("  ({} statements)", statements.len());
}

fn print_table(customers: i64, subjects: i64, access: &(Stats, Stats), erasure: &(Stats, Stats)) {
    let ratio = |a: &Stats, b: &Stats| a.total.as_secs_f64() / b.total.as_secs_f64();
    println!();
    println!(
        "N = {customers} customers, K = {subjects} subjects, one at a time (times are wall clock, client and PostgreSQL on this machine)"
    );
    println!(
        "| operation | Rightsdesk SqlConnector | hand-written SQL | ratio ours/hand | Fides 2.86.2 (peer-workload.md, whole request, N = 100,000) |"
    );
    println!("|---|---|---|---|---|");
    let totals = [
        ("access, total for K subjects", access),
        ("erasure, total for K subjects", erasure),
    ];
    for (label, (ours, hand)) in totals {
        println!(
            "| {label} | {} | {} | {:.2} | |",
            ms(ours.total),
            ms(hand.total),
            ratio(ours, hand)
        );
    }
    for (label, (ours, hand), peer) in [
        (
            "one access (connector operation only), mean",
            access,
            Some((PEER_ACCESS_S, "one access request")),
        ),
        ("one access, median", access, None),
        ("one access, max", access, None),
        (
            "one erasure (connector operation only), mean",
            erasure,
            Some((PEER_ERASURE_S, "one erasure request")),
        ),
        ("one erasure, median", erasure, None),
        ("one erasure, max", erasure, None),
    ] {
        let (o, h) = if label.ends_with("mean") {
            (ours.mean, hand.mean)
        } else if label.ends_with("median") {
            (ours.median, hand.median)
        } else {
            (ours.max, hand.max)
        };
        println!(
            "| {label} | {} | {} | {:.2} | {} |",
            ms(o),
            ms(h),
            o.as_secs_f64() / h.as_secs_f64(),
            peer.map(|(s, what)| format!("{s:.2} s ({what})"))
                .unwrap_or_default()
        );
    }
    println!();
    println!(
        "Rightsdesk's column is SqlConnector::access / ::erase alone (traversal, JSON rows; for erasure also the row locks, the masking and the evidence re-traversal, in one transaction), not an HTTP request's lifecycle (intake, verification, queueing, export files, audit). The Fides figures are whole requests through its REST API and are not comparable one-to-one."
    );
}
