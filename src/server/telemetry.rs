//! Logging to stderr, filtered by `RUST_LOG` (default: info for this crate, warnings
//! elsewhere), as text for people or, with `LOG_FORMAT=json`, one JSON object per
//! line for a log pipeline. Each line of a request carries its span, and with it the
//! request id (`routes::access`); use cases and provider calls add spans of their own.
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

pub const DEFAULT_FILTER: &str = "warn,phone_verify=info";

/// `LOG_FORMAT`: `text` (the default) or `json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// # Errors
    /// A value other than `text` or `json`, described for the operator.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("LOG_FORMAT").as_deref().map(str::trim) {
            Err(_) | Ok("" | "text") => Ok(Self::Text),
            Ok("json") => Ok(Self::Json),
            Ok(other) => Err(format!("LOG_FORMAT: {other:?} is neither text nor json")),
        }
    }
}

/// The layer that writes the server's log lines to `writer` in `format`.
pub fn layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => layer.boxed(),
        // The event's fields at the top level; the innermost span (the request, a
        // use case, a provider call) with its fields under "span", the whole chain
        // (the request id first) under "spans".
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
    }
}

/// Installs the global subscriber; later calls (tests start many apps) are ignored.
///
/// # Errors
/// An unknown `LOG_FORMAT`.
pub fn init() -> Result<(), String> {
    let format = LogFormat::from_env()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer(format, std::io::stderr))
        .try_init();
    Ok(())
}
