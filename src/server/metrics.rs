//! What an operator graphs and alerts on, in the OpenMetrics text format (what
//! Prometheus scrapes), served on its own listener (`METRICS_ADDR`, see
//! `serve::serve_metrics`).
//!
//! Each app has its own registry (tests start many apps in one process). Labels are
//! bounded: provider, channel, ISO country, outcome and limit names, routes as the
//! router knows them, sitekeys from the sites file; never a number, code or token.
//! Conversion (verifications per code sent, by channel and country) is the figure
//! that shows SMS pumping: `docs/operations.md` has the queries, the dashboard and
//! the alert rules.
use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::verify::{Channel, VerifyError};

/// The content type of a scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendLabels {
    provider: &'static str,
    channel: &'static str,
    country: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    provider: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifiedLabels {
    channel: &'static str,
    country: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    provider: &'static str,
    operation: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabels {
    site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    provider: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Provider calls: 5 ms to 10 s.
fn upstream_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// State store calls: 50 µs to 0.4 s.
fn store_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 14))
}

/// Whole requests: 0.5 ms to 16 s.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The app's metrics. Cheap to record into: an atomic add behind a read lock.
pub struct Metrics {
    registry: Registry,
    sends: Family<SendLabels, Counter>,
    checks: Family<CheckLabels, Counter>,
    verified: Family<VerifiedLabels, Counter>,
    refusals: Family<LimitLabels, Counter>,
    upstream: Histograms<UpstreamLabels>,
    in_flight: Family<ProviderLabels, Gauge>,
    breaker: Family<ProviderLabels, Gauge>,
    store: Histograms<StoreLabels>,
    sessions: Family<KindLabels, Counter>,
    tokens: Family<SiteLabels, Counter>,
    siteverify: Family<ResultLabels, Counter>,
    notifications: Family<NotifyLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("phone_verify");
        let sends = Family::default();
        registry.register(
            "sends",
            "Codes asked for, by provider, channel, country and outcome (sent, or why not)",
            sends.clone(),
        );
        let checks = Family::default();
        registry.register(
            "checks",
            "Codes checked, by provider and outcome",
            checks.clone(),
        );
        let verified = Family::default();
        registry.register(
            "verifications",
            "Numbers verified, by channel and country; divided by sends{outcome=\"sent\"}: the conversion",
            verified.clone(),
        );
        let refusals = Family::default();
        registry.register(
            "refusals",
            "Requests refused by an abuse limit, by limit",
            refusals.clone(),
        );
        let upstream = Histograms::new_with_constructor(upstream_buckets as fn() -> Histogram);
        registry.register(
            "upstream_seconds",
            "Provider calls, by provider, operation (start, check, notify) and result",
            upstream.clone(),
        );
        let in_flight = Family::default();
        registry.register(
            "upstream_in_flight",
            "Provider calls waiting for an answer",
            in_flight.clone(),
        );
        let breaker = Family::default();
        registry.register(
            "breaker_state",
            "The provider's circuit breaker: 0 closed, 1 probing, 2 open (not calling)",
            breaker.clone(),
        );
        let store = Histograms::new_with_constructor(store_buckets as fn() -> Histogram);
        registry.register(
            "store_seconds",
            "State store calls, by operation",
            store.clone(),
        );
        let sessions = Family::default();
        registry.register(
            "sessions_created",
            "Sessions stored, by kind (cookie, embed, hosted, host)",
            sessions.clone(),
        );
        let tokens = Family::default();
        registry.register(
            "tokens_issued",
            "Result tokens handed to embedding sites, by sitekey",
            tokens.clone(),
        );
        let siteverify = Family::default();
        registry.register(
            "siteverify",
            "Token checks by host backends, by result (success or the first error code)",
            siteverify.clone(),
        );
        let notifications = Family::default();
        registry.register(
            "notifications",
            "Confirmation texts host backends asked for, by provider and result (sent, or the error code)",
            notifications.clone(),
        );
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let request_seconds =
            Histograms::new_with_constructor(request_buckets as fn() -> Histogram);
        registry.register(
            "http_request_seconds",
            "Time to answer an HTTP request, by route",
            request_seconds.clone(),
        );
        Self {
            registry,
            sends,
            checks,
            verified,
            refusals,
            upstream,
            in_flight,
            breaker,
            store,
            sessions,
            tokens,
            siteverify,
            notifications,
            requests,
            request_seconds,
        }
    }

    /// A code asked for: `Ok` when the provider took it.
    pub fn send(
        &self,
        provider: &'static str,
        channel: Channel,
        country: Option<&str>,
        result: Result<(), &VerifyError>,
    ) {
        let labels = SendLabels {
            provider,
            channel: channel.as_str(),
            country: country.unwrap_or(UNKNOWN_COUNTRY).to_owned(),
            outcome: match result {
                Ok(()) => "sent",
                Err(error) => outcome(error),
            },
        };
        self.sends.get_or_create(&labels).inc();
    }

    /// A code checked: `Ok` when it was right.
    pub fn check(&self, provider: &'static str, result: Result<(), &VerifyError>) {
        let outcome = match result {
            Ok(()) => "approved",
            Err(error) => outcome(error),
        };
        self.checks
            .get_or_create(&CheckLabels { provider, outcome })
            .inc();
    }

    pub fn verified(&self, channel: Channel, country: Option<&str>) {
        let labels = VerifiedLabels {
            channel: channel.as_str(),
            country: country.unwrap_or(UNKNOWN_COUNTRY).to_owned(),
        };
        self.verified.get_or_create(&labels).inc();
    }

    /// A request refused by the limit named as in `server::limits`.
    pub fn refused(&self, limit: &'static str) {
        self.refusals.get_or_create(&LimitLabels { limit }).inc();
    }

    pub fn upstream_call(
        &self,
        provider: &'static str,
        operation: &'static str,
        result: &'static str,
        took: Duration,
    ) {
        let labels = UpstreamLabels {
            provider,
            operation,
            result,
        };
        self.upstream
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// The gauge of calls in flight to `provider`, to hold while a call is out.
    pub fn in_flight(&self, provider: &'static str) -> Gauge {
        self.in_flight
            .get_or_create(&ProviderLabels { provider })
            .clone()
    }

    /// The gauge of `provider`'s breaker, for the breaker to set.
    pub fn breaker(&self, provider: &'static str) -> Gauge {
        self.breaker
            .get_or_create(&ProviderLabels { provider })
            .clone()
    }

    pub fn store_call(&self, operation: &'static str, took: Duration) {
        self.store
            .get_or_create(&StoreLabels { operation })
            .observe(took.as_secs_f64());
    }

    /// A session stored: `cookie`, `embed` (a framed widget's) or `host` (made by a
    /// host backend for one number).
    pub fn session_created(&self, kind: &'static str) {
        self.sessions.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn token_issued(&self, sitekey: &str) {
        self.tokens
            .get_or_create(&SiteLabels {
                site: sitekey.to_owned(),
            })
            .inc();
    }

    pub fn siteverify(&self, result: &'static str) {
        self.siteverify
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// A confirmation text asked for (`POST /api/v1/notify`): `sent`, or the error
    /// code it was answered with.
    pub fn notification(&self, provider: &'static str, result: &'static str) {
        self.notifications
            .get_or_create(&NotifyLabels { provider, result })
            .inc();
    }

    /// One request answered; `route` is the router's pattern, never the raw path.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A scrape, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            // Writing to a String cannot fail; say so in the scrape if it ever does.
            let _ = writeln!(text, "# encoding failed");
        }
        text
    }
}

/// A number with no country (non-geographic ranges such as +800).
const UNKNOWN_COUNTRY: &str = "001";

/// A refusal's or failure's name in a label: the error, in snake case.
fn outcome(error: &VerifyError) -> &'static str {
    match error {
        VerifyError::InvalidPhone(_) => "invalid_phone",
        VerifyError::InvalidCode(_) => "invalid_code",
        VerifyError::WrongCode { .. } => "wrong_code",
        VerifyError::CodeExpired => "code_expired",
        VerifyError::TooManyAttempts => "too_many_attempts",
        VerifyError::NoVerificationInProgress => "no_verification",
        VerifyError::ResendTooSoon { .. } => "resend_too_soon",
        VerifyError::RateLimited { .. } => "rate_limited",
        VerifyError::NumberUnreachable => "number_unreachable",
        VerifyError::LandlineNeedsCall => "landline_needs_call",
        VerifyError::CountryNotAllowed => "country_not_allowed",
        VerifyError::ChannelUnavailable => "channel_unavailable",
        VerifyError::ServiceUnavailable => "service_unavailable",
        VerifyError::ServiceBusy { .. } => "service_busy",
        VerifyError::UpstreamError => "upstream_error",
        VerifyError::UpstreamTimeout => "upstream_timeout",
        VerifyError::CrossSiteRequest => "cross_site",
        VerifyError::UnknownSite => "unknown_site",
        VerifyError::OriginNotAllowed => "origin_not_allowed",
        VerifyError::SessionLost => "session_lost",
        VerifyError::Internal => "internal",
        VerifyError::Transport(_) => "transport",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_app_counts_on_its_own() {
        let (one, two) = (Metrics::new(), Metrics::new());
        one.send("local", Channel::Sms, Some("GB"), Ok(()));
        one.send(
            "local",
            Channel::Sms,
            Some("GB"),
            Err(&VerifyError::RateLimited { retry_after: 1 }),
        );
        let scrape = one.encode();
        assert!(scrape.contains(
            r#"phone_verify_sends_total{provider="local",channel="sms",country="GB",outcome="sent"} 1"#
        ), "{scrape}");
        assert!(scrape.contains(r#"outcome="rate_limited"} 1"#), "{scrape}");
        assert!(!two.encode().contains("phone_verify_sends_total{"));
    }

    #[test]
    fn histograms_count_their_observations() {
        let metrics = Metrics::new();
        metrics.store_call("admit", Duration::from_micros(70));
        metrics.store_call("admit", Duration::from_millis(3));
        let scrape = metrics.encode();
        assert!(
            scrape.contains(r#"phone_verify_store_seconds_count{operation="admit"} 2"#),
            "{scrape}"
        );
        assert!(
            scrape
                .contains(r#"phone_verify_store_seconds_bucket{le="0.0001",operation="admit"} 1"#),
            "{scrape}"
        );
    }

    /// Every family, touched once, as a scrape shows it.
    fn every_family() -> String {
        let metrics = Metrics::new();
        let took = Duration::from_millis(1);
        metrics.send("twilio", Channel::Voice, None, Ok(()));
        metrics.check("twilio", Err(&VerifyError::CodeExpired));
        metrics.verified(Channel::Voice, Some("DE"));
        metrics.refused("prefix-hour");
        metrics.upstream_call("twilio", "start", "ok", took);
        metrics.in_flight("twilio").inc();
        metrics.breaker("twilio").set(2);
        metrics.store_call("get", took);
        metrics.session_created("embed");
        metrics.token_issued("pk_test_local");
        metrics.siteverify("success");
        metrics.notification("twilio", "sent");
        metrics.request("GET", "/", 200, took);
        metrics.encode()
    }

    #[test]
    fn the_dashboard_and_the_alerts_name_only_metrics_that_exist() {
        let scrape = every_family();
        let families: Vec<&str> = scrape
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|line| line.split(' ').next())
            .collect();
        assert_eq!(families.len(), 14, "{scrape}");
        let mut named = 0;
        for source in [
            include_str!("../../ops/grafana-dashboard.json"),
            include_str!("../../ops/alerts.yml"),
        ] {
            for (at, _) in source.match_indices("phone_verify_") {
                let name: String = source[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                let family = ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name);
                assert!(
                    families.contains(&family),
                    "{name} is not served: {families:?}"
                );
                named += 1;
            }
        }
        assert!(named >= 20, "{named} metric names found");
    }
}
