//! The composition root: building and running the service (storage, keys, connectors,
//! HTTP server, job workers, scheduler) and a graceful shutdown that finishes in-flight
//! requests and gives back job leases. The shared handles themselves are
//! [`context::AppState`], which every layer below the web may use.

pub mod context;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::context::AppState;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::crypto::{KeyError, Keys};
use crate::http;
use crate::jobs::scheduler::{Schedule, Scheduler};
use crate::jobs::{JobHandler, Queue, WorkerPool};
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("secret key: {0}")]
    Keys(#[from] KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// Open the database (migrating it) and load the deployment key: what every command needs.
pub async fn open(config: &Config, clock: SharedClock) -> Result<AppState, StartError> {
    let problems = config.problems();
    if let Some(p) = problems.first() {
        return Err(StartError::Config(p.to_string()));
    }
    let store =
        store::connect_with_pool_size(config.database_url.expose(), config.database_pool_size)
            .await?;
    store.migrate().await?;
    let keys = Keys::load(
        &config.data_dir,
        config.is_sqlite(),
        config.secret_key_file.as_deref(),
    )?;
    crate::store::audit_chain::install(store.as_ref(), &keys, config.audit.checkpoint_every)
        .await?;
    let queue = Queue::new(store.clone(), clock.clone(), &config.jobs);
    let mailer = crate::email::Mailer::from_config(&config.email, &config.data_dir)
        .map_err(|e| StartError::Config(format!("email: {e}")))?;
    let i18n = crate::i18n::Catalog::new(config.i18n.dir.as_deref(), config.i18n.strict)
        .map_err(|e| StartError::Config(format!("i18n: {e}")))?;
    let datamap = crate::connectors::load_dir(&config.datamap_dir, &config.connectors.env_allow)
        .map_err(|problems| {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            StartError::Config(format!("data map: {}", list.join("; ")))
        })?;
    let connectors =
        crate::connectors::Connectors::from_datamap(&datamap).map_err(StartError::Config)?;
    for name in connectors.names() {
        if let Some(sql) = connectors.sql(&name) {
            sql.set_max_rows_per_subject(config.connectors.max_rows_per_subject);
        }
    }
    let state = AppState {
        connectors: Arc::new(connectors),
        mailer: Arc::new(mailer),
        i18n: Arc::new(i18n),
        config: Arc::new(config.clone()),
        store,
        keys: Arc::new(keys),
        clock,
        queue,
        hashing: Arc::new(crate::services::hashing::HashGate::new(
            config.portal.hashing_threads as usize,
            config.portal.hashing_queue as usize,
            config.portal.hashing_wait.0,
        )),
        suppression_key: Default::default(),
    };
    crate::services::staff::ensure_initial_admin(&state)
        .await
        .map_err(|e| StartError::Config(format!("initial portal admin: {e}")))?;
    Ok(state)
}

pub struct App {
    state: AppState,
    listener: TcpListener,
    /// `/metrics` only, on `metrics_listen` (none when that is empty).
    metrics_listener: Option<TcpListener>,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
}

impl App {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with(config, Arc::new(SystemClock)).await
    }

    /// Build with a chosen clock (tests move time by hand).
    pub async fn build_with(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let state = open(&config, clock).await?;
        if let (true, Some(path)) = (config.drp.enabled, config.drp.directory.as_deref()) {
            crate::services::drp::service::load_directory(
                state.store.as_ref(),
                path,
                state.clock.now(),
            )
            .await
            .map_err(|p| StartError::Config(format!("[drp] directory: {}", p.join("; "))))?;
        }
        crate::store::audit_chain::mark_keyed_start(state.store.as_ref(), state.clock.now())
            .await?;
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen.clone(),
                    source,
                })?;
        let metrics_listener = if config.metrics_listen.is_empty() {
            None
        } else {
            Some(
                TcpListener::bind(&config.metrics_listen)
                    .await
                    .map_err(|source| StartError::Listen {
                        addr: config.metrics_listen.clone(),
                        source,
                    })?,
            )
        };
        let mut handlers: HashMap<String, Arc<dyn JobHandler>> = HashMap::new();
        handlers.insert(
            crate::services::notify::SEND_EMAIL.into(),
            Arc::new(crate::services::notify::SendEmail),
        );
        handlers.insert(
            crate::services::deadlines::SWEEP.into(),
            Arc::new(crate::services::deadlines::SweepJob),
        );
        handlers.insert(
            crate::services::fanout::RUN_TASK.into(),
            Arc::new(crate::services::fanout::RunTask),
        );
        handlers.insert(
            crate::store::drp::CALLBACK_JOB.into(),
            Arc::new(crate::services::drp::callback::StatusCallback),
        );
        handlers.insert(
            crate::store::webhooks::DELIVER_JOB.into(),
            Arc::new(crate::services::webhooks::Deliver),
        );
        handlers.extend(crate::services::retention::job_handlers(&state));
        Ok(Self {
            state,
            listener,
            metrics_listener,
            handlers,
        })
    }

    /// Register the code that runs one kind of job.
    pub fn with_job_handler(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind.to_string(), handler);
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serve until `shutdown` resolves: then stop accepting, finish in-flight requests,
    /// let running jobs finish (bounded) and release the leases of the rest.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = http::router(self.state.clone());
        let workers = WorkerPool::start(self.state.clone(), Arc::new(self.handlers));
        tracing::info!(worker = %workers.worker_id, "job workers started");
        let scheduler = self.state.config.schedules.enabled.then(|| {
            let mut schedules = schedules(&self.state.config);
            schedules.extend(crate::services::retention::schedules(&self.state));
            Scheduler::start(self.state.clone(), schedules)
        });
        let limits = http::server::Limits {
            header_read_timeout: self.state.config.header_read_timeout.0,
            max_connections: usize::try_from(self.state.config.max_connections).unwrap_or(1024),
        };
        // One shutdown signal for both listeners.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let metrics = self.metrics_listener.map(|l| {
            let router = http::metrics_router(self.state.clone());
            tokio::spawn(http::server::serve(
                l,
                router,
                limits,
                stopped(stop_rx.clone()),
            ))
        });
        let inbox = self.state.config.inbox.enabled().then(|| {
            tokio::spawn(crate::services::inbox::run(
                self.state.clone(),
                stop_rx.clone(),
            ))
        });
        let sealer = tokio::spawn(crate::services::audit_sealer::run(
            self.state.clone(),
            stop_rx.clone(),
        ));
        let served = http::server::serve(self.listener, router, limits, stopped(stop_rx)).await;
        if let Some(i) = inbox {
            let _ = i.await;
        }
        if let Some(m) = metrics {
            let _ = m.await;
        }
        if let Some(s) = scheduler {
            s.shutdown().await;
        }
        workers
            .shutdown(self.state.config.jobs.shutdown_grace.0)
            .await;
        // Last: jobs that finished during the shutdown wrote entries too.
        let _ = sealer.await;
        crate::services::audit_sealer::seal_pending(&self.state).await;
        tracing::info!("stopped");
        served
    }
}

/// The schedules of this deployment (patterns were checked by `Config::problems`).
fn schedules(config: &Config) -> Vec<Schedule> {
    let mut out = Vec::new();
    if let Ok(cron) = crate::domain::schedule::parse_cron(&config.schedules.deadline_sweep) {
        out.push(Schedule {
            name: "deadline-sweep".into(),
            job_kind: crate::services::deadlines::SWEEP.into(),
            cron,
        });
    }
    out
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight work");
}
