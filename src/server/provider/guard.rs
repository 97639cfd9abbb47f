//! Protection between the app and a remote provider, both ways:
//! - a cap on calls in flight, so a slow provider makes excess visitors wait for a
//!   fast 503 rather than a queue that grows without bound;
//! - a circuit breaker, so a provider that keeps failing is left alone for a cooldown
//!   instead of being hammered, and one probe then decides whether it is back.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use crate::server::clock::Clock;
use crate::verify::{OtpCode, PhoneNumber};

/// `UPSTREAM_MAX_IN_FLIGHT`, `UPSTREAM_BREAKER_FAILURES`, `UPSTREAM_BREAKER_COOLDOWN_SECS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardPolicy {
    /// Provider calls in flight at once, per instance (default 64).
    pub max_in_flight: usize,
    /// Failures in a row that open the breaker (default 5).
    pub breaker_failures: u32,
    /// How long an open breaker refuses before it lets one probe through (default 30 s).
    pub breaker_cooldown: Duration,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        Self {
            max_in_flight: 64,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// The wait suggested when every slot is taken, or a probe is still out: calls last
/// seconds at most, so a few seconds later is a fair guess.
const BUSY_RETRY_SECS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls are refused until `until` (Unix seconds).
    Open { until: u64 },
    /// One probe is out; the rest are refused until it answers.
    Probing,
}

/// A provider behind an in-flight cap and a circuit breaker.
pub struct Guarded {
    inner: Arc<dyn VerifyProvider>,
    policy: GuardPolicy,
    slots: Arc<Semaphore>,
    breaker: Mutex<Breaker>,
    clock: Arc<dyn Clock>,
    /// The breaker's state as the metrics show it (0 closed, 1 probing, 2 open).
    shown: Gauge,
}

impl Guarded {
    pub fn new(inner: Arc<dyn VerifyProvider>, policy: GuardPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(policy.max_in_flight)),
            policy,
            breaker: Mutex::new(Breaker::Closed { failures: 0 }),
            clock,
            shown: Gauge::default(),
        }
    }

    /// Shows the breaker's state on `gauge` from now on.
    pub fn showing_state_on(mut self, gauge: Gauge) -> Self {
        gauge.set(0);
        self.shown = gauge;
        self
    }

    fn set(&self, breaker: &mut Breaker, state: Breaker) {
        *breaker = state;
        self.shown.set(match state {
            Breaker::Closed { .. } => 0,
            Breaker::Probing => 1,
            Breaker::Open { .. } => 2,
        });
    }

    /// Runs `call` if the breaker and the cap allow it, and learns from its result.
    async fn guard<T>(
        &self,
        call: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let mut ticket = self.admit()?;
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            return Err(ProviderError::Shed {
                retry_after: BUSY_RETRY_SECS,
            });
        };
        let result = call.await;
        ticket.settle(result.as_ref().err().is_some_and(is_outage));
        result
    }

    fn admit(&self) -> Result<Ticket<'_>, ProviderError> {
        let mut breaker = self.lock();
        let probe = match *breaker {
            Breaker::Closed { .. } => false,
            Breaker::Open { until } => {
                let now = self.clock.unix_secs();
                if now < until {
                    let retry_after = u32::try_from(until - now).unwrap_or(u32::MAX);
                    return Err(ProviderError::Shed { retry_after });
                }
                self.set(&mut breaker, Breaker::Probing);
                true
            }
            Breaker::Probing => {
                return Err(ProviderError::Shed {
                    retry_after: BUSY_RETRY_SECS,
                });
            }
        };
        Ok(Ticket {
            guard: self,
            probe,
            settled: false,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // The state is a plain value, always whole: a panic elsewhere cannot tear it.
        self.breaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(&self, breaker: &mut Breaker) {
        let until = self.clock.unix_secs() + self.policy.breaker_cooldown.as_secs();
        self.set(breaker, Breaker::Open { until });
        tracing::warn!(
            provider = self.inner.name(),
            cooldown_secs = self.policy.breaker_cooldown.as_secs(),
            "provider keeps failing: not calling it until the cooldown is over"
        );
    }
}

/// Whether a failure says the provider is down or overwhelmed, as opposed to
/// refusing this one request.
fn is_outage(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Timeout(_) | ProviderError::Unreachable(_) | ProviderError::BadGateway(_)
    )
}

/// One admitted call. Dropped without an answer (the visitor went away mid-probe),
/// it lets the next request probe instead of leaving the breaker stuck.
struct Ticket<'a> {
    guard: &'a Guarded,
    probe: bool,
    settled: bool,
}

impl Ticket<'_> {
    fn settle(&mut self, outage: bool) {
        self.settled = true;
        let mut breaker = self.guard.lock();
        match (*breaker, outage) {
            (_, false) => {
                if self.probe {
                    tracing::info!(provider = self.guard.inner.name(), "provider is back");
                }
                self.guard
                    .set(&mut breaker, Breaker::Closed { failures: 0 });
            }
            (Breaker::Closed { failures }, true)
                if failures + 1 < self.guard.policy.breaker_failures =>
            {
                self.guard.set(
                    &mut breaker,
                    Breaker::Closed {
                        failures: failures + 1,
                    },
                );
            }
            // The limit reached, or the probe failed: open (again). A call that was
            // already out when the breaker opened leaves it open.
            (Breaker::Closed { .. }, true) | (Breaker::Probing, true) => {
                self.guard.open(&mut breaker)
            }
            (Breaker::Open { .. }, true) => {}
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            self.guard
                .set(&mut self.guard.lock(), Breaker::Open { until: 0 });
        }
    }
}

#[async_trait::async_trait]
impl VerifyProvider for Guarded {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        self.guard(self.inner.start(request)).await
    }

    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError> {
        self.guard(self.inner.check(reference, code)).await
    }

    fn sends_texts(&self) -> bool {
        self.inner.sends_texts()
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        self.guard(self.inner.send_text(to, text)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::server::clock::ManualClock;

    /// Fails with `fault` while it is set; counts the calls that reach it.
    struct Flaky {
        calls: AtomicU32,
        failing: std::sync::atomic::AtomicBool,
        gate: tokio::sync::Notify,
        hold: std::sync::atomic::AtomicBool,
    }

    impl Flaky {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicU32::new(0),
                failing: false.into(),
                gate: tokio::sync::Notify::new(),
                hold: false.into(),
            })
        }
    }

    #[async_trait::async_trait]
    impl VerifyProvider for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        async fn start(&self, _: StartRequest<'_>) -> Result<Started, ProviderError> {
            unreachable!("the tests only check")
        }

        async fn check(
            &self,
            _: &VerificationRef,
            _: &OtpCode,
        ) -> Result<CheckOutcome, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hold.load(Ordering::SeqCst) {
                self.gate.notified().await;
            }
            if self.failing.load(Ordering::SeqCst) {
                Err(ProviderError::BadGateway("500".into()))
            } else {
                Ok(CheckOutcome::Approved)
            }
        }
    }

    fn guarded(max_in_flight: usize) -> (Arc<Flaky>, Arc<ManualClock>, Arc<Guarded>) {
        let flaky = Flaky::new();
        let clock = Arc::new(ManualClock::new());
        let policy = GuardPolicy {
            max_in_flight,
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(30),
        };
        let guard = Arc::new(Guarded::new(flaky.clone(), policy, clock.clone()));
        (flaky, clock, guard)
    }

    async fn check(guard: &Guarded) -> Result<CheckOutcome, ProviderError> {
        let code = OtpCode::parse("123456", 6).unwrap();
        guard.check(&VerificationRef::new("x"), &code).await
    }

    #[tokio::test]
    async fn opens_after_failures_in_a_row_and_probes_after_the_cooldown() {
        let (flaky, clock, guard) = guarded(8);
        flaky.failing.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            assert!(matches!(
                check(&guard).await,
                Err(ProviderError::BadGateway(_))
            ));
        }
        // Open: refused without a call, with the time left.
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::Shed { retry_after: 30 })
        ));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
        clock.advance(Duration::from_secs(10));
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::Shed { retry_after: 20 })
        ));
        // Cooldown over: one probe, which fails, so it opens again.
        clock.advance(Duration::from_secs(20));
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::BadGateway(_))
        ));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::Shed { retry_after: 30 })
        ));
        // The provider recovers: the next probe closes the breaker for everyone.
        flaky.failing.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(30));
        assert_eq!(check(&guard).await.unwrap(), CheckOutcome::Approved);
        assert_eq!(check(&guard).await.unwrap(), CheckOutcome::Approved);
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn a_success_resets_the_count() {
        let (flaky, _clock, guard) = guarded(8);
        for _ in 0..5 {
            flaky.failing.store(true, Ordering::SeqCst);
            check(&guard).await.unwrap_err();
            check(&guard).await.unwrap_err();
            flaky.failing.store(false, Ordering::SeqCst);
            check(&guard).await.unwrap();
        }
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 15);
    }

    #[tokio::test]
    async fn refusals_of_one_request_do_not_count() {
        struct Refusing;
        #[async_trait::async_trait]
        impl VerifyProvider for Refusing {
            fn name(&self) -> &'static str {
                "refusing"
            }
            async fn start(&self, _: StartRequest<'_>) -> Result<Started, ProviderError> {
                unreachable!()
            }
            async fn check(
                &self,
                _: &VerificationRef,
                _: &OtpCode,
            ) -> Result<CheckOutcome, ProviderError> {
                Err(ProviderError::NumberRejected("blocked".into()))
            }
        }
        let clock = Arc::new(ManualClock::new());
        let guard = Guarded::new(Arc::new(Refusing), GuardPolicy::default(), clock);
        for _ in 0..20 {
            assert!(matches!(
                check(&guard).await,
                Err(ProviderError::NumberRejected(_))
            ));
        }
    }

    #[tokio::test]
    async fn calls_beyond_the_cap_are_refused_at_once() {
        let (flaky, _clock, guard) = guarded(2);
        flaky.hold.store(true, Ordering::SeqCst);
        let first = tokio::spawn({
            let guard = guard.clone();
            async move { check(&guard).await }
        });
        let second = tokio::spawn({
            let guard = guard.clone();
            async move { check(&guard).await }
        });
        while flaky.calls.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::Shed {
                retry_after: BUSY_RETRY_SECS
            })
        ));
        flaky.hold.store(false, Ordering::SeqCst);
        flaky.gate.notify_waiters();
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok());
        // Slots come back.
        assert!(check(&guard).await.is_ok());
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_abandoned_probe_lets_the_next_request_probe() {
        let (flaky, clock, guard) = guarded(8);
        flaky.failing.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            check(&guard).await.unwrap_err();
        }
        clock.advance(Duration::from_secs(30));
        flaky.failing.store(false, Ordering::SeqCst);
        flaky.hold.store(true, Ordering::SeqCst);
        let probe = tokio::spawn({
            let guard = guard.clone();
            async move { check(&guard).await }
        });
        while flaky.calls.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            check(&guard).await,
            Err(ProviderError::Shed { .. })
        ));
        probe.abort();
        let _ = probe.await;
        flaky.hold.store(false, Ordering::SeqCst);
        assert_eq!(check(&guard).await.unwrap(), CheckOutcome::Approved);
    }
}
