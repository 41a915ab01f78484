//! Tracing setup: readable lines in a terminal (`log_format = "text"`), JSON lines when
//! `log_format = "json"`. In JSON every line carries the fields of its spans: `request_id`
//! of the HTTP span (set by the request-id layer), and `reference` of the job span or of
//! the event itself, so one request's story can be followed across replicas.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber once; later calls (tests) are ignored.
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
