//! Logging to stderr, filtered by `RUST_LOG` (default: info for this crate, warnings
//! elsewhere), as text for people or, with `LOG_FORMAT=json`, one JSON object per
//! line for a log pipeline. Each line of a request carries its span, and with it the
//! request id (`routes::access`); use cases and provider calls add spans of their own.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the spans also go to an OpenTelemetry
//! collector over OTLP/HTTP (protobuf), in batches from a thread of their own; unset,
//! nothing is exported.
use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
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
    // Colours only for a person at a terminal, never into the journal or a file.
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
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
/// An unknown `LOG_FORMAT`, or an OTLP exporter that cannot be built.
pub fn init() -> Result<(), String> {
    let format = LogFormat::from_env()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let traces = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => Some(otlp_tracer()?),
        _ => None,
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer(format, std::io::stderr))
        .with(traces.map(|tracer| tracing_opentelemetry::layer().with_tracer(tracer)))
        .try_init();
    Ok(())
}

/// The exporter, kept so that [`flush`] can send what is still batched.
static TRACER_PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// A tracer that exports to the collector at `OTEL_EXPORTER_OTLP_ENDPOINT` (the
/// exporter reads it, and the other `OTEL_EXPORTER_OTLP_*` variables, itself).
fn otlp_tracer() -> Result<opentelemetry_sdk::trace::Tracer, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .map_err(|error| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {error}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "phone-verify".to_owned());
    let resource = Resource::builder()
        .with_service_name(service)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("phone-verify");
    let _ = TRACER_PROVIDER.set(provider);
    Ok(tracer)
}

/// Sends the spans still batched, before the process ends.
pub fn flush() {
    if let Some(provider) = TRACER_PROVIDER.get()
        && let Err(error) = provider.shutdown()
    {
        eprintln!("phone-verify: could not send the last traces: {error}");
    }
}
