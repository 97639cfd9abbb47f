//! Logging to stderr, filtered by `RUST_LOG` (default: info for this crate and the
//! HTTP layer, warnings elsewhere).
use tracing_subscriber::EnvFilter;

pub const DEFAULT_FILTER: &str = "warn,phone_verify=info,tower_http=info";

/// Installs the global subscriber; later calls (tests start many apps) are ignored.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
