//! Every request, once: a request id (the caller's `X-Request-Id` when it is a
//! plain token, else a new one, returned in the response), a tracing span that
//! carries it into every log line of the request, one access line at `info`, and
//! the request counted in the metrics.
//!
//! Routes are logged and counted as the router knows them (`/embed/s/{id}`), never
//! as requested: paths carry session ids, and query strings carry tokens.
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::server_fn::ServerFn;
use tracing::Instrument;

use crate::api::{
    CheckCode, CurrentFlow, FormatPhone, ResendCode, RestartVerification, StartVerification,
};
use crate::server::metrics::Metrics;
use crate::server::random;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route of a response, noted by [`note_route`] inside the router.
#[derive(Clone)]
struct Route(String);

/// What the fallback serves: the built front end and its 404s.
const STATIC_FILES: &str = "(static)";

/// The outermost layer: the id, the span, the access line and the metrics.
pub async fn log(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let method = request.method().clone();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let route = response
        .extensions_mut()
        .remove::<Route>()
        .map_or_else(|| STATIC_FILES.to_owned(), |route| route.0);
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "phone_verify::access",
            request_id = %id,
            method = %method,
            route,
            status,
            duration_ms = took.as_secs_f64() * 1_000.0,
            "request"
        );
    });
    metrics.request(method.as_str(), &route, status, took);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Inside the router, where the matched route is known: notes it on the response.
pub async fn note_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| route_label(matched.as_str(), request.uri().path()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// The route's pattern, with a server function's name filled in when it is one of
/// ours (an unknown name stays a wildcard: labels must stay few).
fn route_label(pattern: &str, path: &str) -> String {
    const WILDCARD: &str = "{*server_fn}";
    let Some(prefix) = pattern.strip_suffix(WILDCARD) else {
        return pattern.to_owned();
    };
    let endpoint = path.rsplit_once("/api/").map(|(_, name)| name);
    let ours = |name: &&str| {
        SERVER_FNS
            .iter()
            .any(|known| known.strip_prefix("/api/") == Some(*name))
    };
    match endpoint.filter(ours) {
        Some(name) => format!("{prefix}{name}"),
        None => pattern.to_owned(),
    }
}

/// The server functions' paths (`/api/verify/start`, …).
const SERVER_FNS: [&str; 6] = [
    CurrentFlow::PATH,
    StartVerification::PATH,
    FormatPhone::PATH,
    CheckCode::PATH,
    ResendCode::PATH,
    RestartVerification::PATH,
];

/// The caller's id if it is a short plain token (so that it cannot forge log
/// lines), else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(random::id::<12>, str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_functions_are_named_and_other_paths_keep_their_pattern() {
        assert_eq!(
            route_label("/api/{*server_fn}", "/api/verify/start"),
            "/api/verify/start"
        );
        assert_eq!(
            route_label(
                "/embed/s/{id}/api/{*server_fn}",
                "/embed/s/SECRET/api/verify/check"
            ),
            "/embed/s/{id}/api/verify/check"
        );
        assert_eq!(
            route_label("/api/{*server_fn}", "/api/anything/else"),
            "/api/{*server_fn}"
        );
        assert_eq!(
            route_label("/embed/s/{id}", "/embed/s/SECRET"),
            "/embed/s/{id}"
        );
    }

    #[test]
    fn a_callers_id_is_kept_only_when_plain() {
        let with = |id: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(id).unwrap());
            request_id(&headers)
        };
        assert_eq!(with("abc-123_x.y:z"), "abc-123_x.y:z");
        for forged in ["a b", "x\" status=200", &"a".repeat(65), ""] {
            let made = with(forged);
            assert_ne!(made, forged);
            assert_eq!(made.len(), 16, "a new id: 12 random bytes, base64url");
        }
    }
}
