//! Every call that reaches a provider, timed and counted while it is out, in a
//! tracing span named after the provider and the operation.
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::gauge::Gauge;
use tracing::Instrument;

use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use crate::server::metrics::Metrics;
use crate::verify::{OtpCode, PhoneNumber};

/// A provider whose calls show in the metrics (`upstream_seconds`,
/// `upstream_in_flight`). Inside the guard: calls it sheds never reach here.
pub struct Metered {
    inner: Arc<dyn VerifyProvider>,
    metrics: Arc<Metrics>,
}

impl Metered {
    pub fn new(inner: Arc<dyn VerifyProvider>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn measure<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let provider = self.inner.name();
        let out = Out::new(self.metrics.in_flight(provider));
        let started = Instant::now();
        let span = tracing::info_span!("provider", provider, operation);
        let result = call.instrument(span).await;
        drop(out);
        self.metrics.upstream_call(
            provider,
            operation,
            match &result {
                Ok(_) => "ok",
                Err(error) => error.kind(),
            },
            started.elapsed(),
        );
        result
    }
}

/// One call in flight, counted until it ends or is dropped (the visitor went away).
struct Out(Gauge);

impl Out {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[async_trait::async_trait]
impl VerifyProvider for Metered {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        self.measure("start", self.inner.start(request)).await
    }

    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError> {
        self.measure("check", self.inner.check(reference, code))
            .await
    }

    fn sends_texts(&self) -> bool {
        self.inner.sends_texts()
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        self.measure("notify", self.inner.send_text(to, text)).await
    }
}
