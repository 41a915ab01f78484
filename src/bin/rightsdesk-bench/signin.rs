//! A burst of concurrent portal sign-ins against the real `rightsdesk serve` (the binary
//! built beside this one, SQLite): half for a known account with a wrong password, half
//! for unknown addresses, all posted at once from one client. While they run, `/healthz`
//! is asked every 20 ms. Printed per configuration: the service's peak RSS (VmHWM), the
//! `/healthz` latencies during the burst, the answers, and the wall time. The baseline in
//! the same run is the service configured like before the change: a hashing turn for
//! every attempt (512, the blocking-thread limit) and no sign-in rate limits.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BoxError;
use super::service::{proc_usage, rightsdesk_binary};

#[derive(clap::Args)]
pub struct SigninArgs {
    /// Sign-in attempts posted at once.
    #[arg(long, default_value_t = 200)]
    concurrent: usize,
}

struct Burst {
    label: &'static str,
    peak_rss_mb: f64,
    idle_rss_mb: f64,
    health: Vec<Duration>,
    health_failed: usize,
    answers: std::collections::BTreeMap<u16, usize>,
    wall: Duration,
}

/// (label, `[portal]` lines) of each configuration, the baseline first.
const CONFIGS: &[(&str, &str)] = &[
    (
        "baseline: a hashing thread per attempt, no sign-in limits (as before)",
        "hashing_threads = 512\nhashing_queue = 100000\nhashing_wait = \"60s\"\n\
         sign_in_per_client_per_hour = 1000000\nsign_in_per_account_per_hour = 1000000\n",
    ),
    (
        "ours: hashing one per core, queue 64 / 5 s; sign-in limits lifted",
        "sign_in_per_client_per_hour = 1000000\nsign_in_per_account_per_hour = 1000000\n",
    ),
    ("ours: defaults (hashing turns and sign-in limits)", ""),
];

pub async fn run(args: SigninArgs) -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut results = Vec::new();
    for (i, (label, portal)) in CONFIGS.iter().enumerate() {
        let dir = std::env::temp_dir().join(format!(
            "rightsdesk-bench-signin-{}-{i}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let result = burst(&dir, label, portal, args.concurrent).await;
        let _ = std::fs::remove_dir_all(&dir);
        results.push(result?);
    }
    println!(
        "sign-in burst: {} concurrent attempts from one client ({} cores)",
        args.concurrent,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  {:<70} {:>9} {:>9} {:>9} {:>9} {:>8}  answers",
        "configuration", "idle MB", "peak MB", "health", "health", "wall s"
    );
    println!(
        "  {:<70} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "", "", "", "p50 ms", "max ms", ""
    );
    for r in &results {
        let mut h = r.health.clone();
        h.sort();
        let p50 = h.get(h.len() / 2).copied().unwrap_or_default();
        let max = h.last().copied().unwrap_or_default();
        let answers: Vec<String> = r.answers.iter().map(|(s, n)| format!("{s}x{n}")).collect();
        println!(
            "  {:<70} {:>9.0} {:>9.0} {:>9.1} {:>9.1} {:>8.2}  {}{}",
            r.label,
            r.idle_rss_mb,
            r.peak_rss_mb,
            p50.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0,
            r.wall.as_secs_f64(),
            answers.join(" "),
            if r.health_failed > 0 {
                format!(" ({} /healthz failed)", r.health_failed)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

async fn burst(dir: &Path, label: &'static str, portal: &str, n: usize) -> Result<Burst, BoxError> {
    let bin = rightsdesk_binary()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    std::fs::write(dir.join("secret.key"), "5a".repeat(32))?;
    std::fs::create_dir_all(dir.join("datamap"))?;
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
         metrics_listen = \"\"\ndatabase_url = \"sqlite://{db}\"\ndata_dir = \"{data}\"\n\
         datamap_dir = \"{datamap}\"\nsecret_key_file = \"{key}\"\nlog_level = \"warn\"\n\n\
         [portal]\n{portal}",
        db = dir.join("rightsdesk.db").display(),
        data = dir.join("data").display(),
        datamap = dir.join("datamap").display(),
        key = dir.join("secret.key").display(),
    );
    std::fs::write(dir.join("rightsdesk.toml"), config)?;
    let out = Command::new(&bin)
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .args([
            "user",
            "add",
            "--email",
            "staff@example.com",
            "--role",
            "agent",
        ])
        .output()?;
    if !out.status.success() {
        return Err(format!("user add: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(dir.join("rightsdesk.toml"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut up = false;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        let _ = child.kill();
        return Err("rightsdesk serve did not become ready".into());
    }
    let idle_rss_mb = proc_usage(pid).0;

    // Every attempt first loads the form (its cookie and CSRF value), then all post at once.
    let start = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut attempts = Vec::with_capacity(n);
    for i in 0..n {
        let (client, base, start) = (client.clone(), base.clone(), start.clone());
        attempts.push(tokio::spawn(async move {
            let form = client.get(format!("{base}/portal/login")).send().await;
            let prepared = match form {
                Ok(resp) => {
                    let cookie = resp
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(|v| v.split(';').next())
                        .find(|kv| kv.starts_with("rd_login="))
                        .map(str::to_string);
                    let body = resp.text().await.unwrap_or_default();
                    let csrf = body
                        .split("name=\"csrf\" value=\"")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .map(str::to_string);
                    cookie.zip(csrf)
                }
                Err(_) => None,
            };
            start.wait().await;
            let (cookie, csrf) = prepared?;
            let email = if i % 2 == 0 {
                "staff@example.com".to_string()
            } else {
                format!("nobody-{i}@example.com")
            };
            client
                .post(format!("{base}/portal/login"))
                .header("cookie", cookie)
                .header("origin", &base)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email.as_str()),
                    ("password", "not the password"),
                ])
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16())
        }));
    }
    start.wait().await;
    let began = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (base, done) = (base.clone(), done.clone());
        tokio::spawn(async move {
            // Its own connection, as a load balancer's health check has.
            let probe = reqwest::Client::new();
            let (mut times, mut failed) = (Vec::new(), 0usize);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let t = Instant::now();
                match probe.get(format!("{base}/healthz")).send().await {
                    Ok(r) if r.status() == 200 => times.push(t.elapsed()),
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (times, failed)
        })
    };
    let mut answers = std::collections::BTreeMap::new();
    for a in attempts {
        let status = a.await.ok().flatten().unwrap_or(0);
        *answers.entry(status).or_insert(0) += 1;
    }
    let wall = began.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (health, health_failed) = prober.await?;
    let peak_rss_mb = proc_usage(pid).0;
    let _ = child.kill();
    let _ = child.wait();
    Ok(Burst {
        label,
        peak_rss_mb,
        idle_rss_mb,
        health,
        health_failed,
        answers,
        wall,
    })
}
