//! The axum application: one router per area (the page, the API, the embed
//! surface, what host backends call, health, the dev outbox)
//! and the static files, merged under the layers every response passes: sessions,
//! security headers, the request timeout, and the access log with its request id.
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

mod access;
mod api;
mod dev_outbox;
mod embed;
mod flow_lock;
mod health;
mod host_api;
mod openapi;
mod pages;
mod scrape;
mod unowned;

pub use scrape::routes as metrics_routes;

use super::store::Sessions;
use super::{AppState, assets, hardening};
use crate::verify::VerifyError;

/// The session cookie's name. HttpOnly: scripts on the page cannot read it.
pub const SESSION_COOKIE: &str = "pv_session";

/// Its name over HTTPS: browsers accept a `__Host-` cookie only if it is `Secure`, for
/// `Path=/` and without `Domain`, so no sibling subdomain can set or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-pv_session";

/// A visitor who leaves the tab for longer than this starts over.
const SESSION_IDLE_MINUTES: i64 = 30;

pub fn build_router(state: AppState) -> Router {
    // Leptos spawns rendering tasks on the tokio runtime; a second call is a no-op.
    let _ = any_spawner::Executor::init_tokio();
    let sessions = SessionManagerLayer::new(Sessions(state.store.clone()))
        .with_name(if state.settings.served_over_https {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        })
        .with_path("/")
        .with_http_only(true)
        // Lax: the cookie rides on top-level navigation (the no-JS form posts
        // redirect back to the page) but not on cross-site subrequests.
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.served_over_https)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(SESSION_IDLE_MINUTES),
        ));

    let mut router = Router::new()
        .merge(pages::routes(&state))
        .merge(health::routes(&state))
        .merge(api::routes(&state))
        .merge(embed::routes(&state))
        .merge(host_api::routes(&state))
        .merge(openapi::routes())
        .fallback_service(static_files(&state));
    if let Some(outbox) = state.outbox.clone() {
        router = router.merge(dev_outbox::routes(outbox));
    }
    router
        .route_layer(axum::middleware::from_fn(access::note_route))
        .layer(sessions)
        // Outside the sessions: a session is read after the lock is taken, and saved
        // before it is freed.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(flow_lock::FlowLocks::new(
                state.store.clone(),
                state.after_answers.clone(),
            )),
            flow_lock::one_at_a_time,
        ))
        .layer(axum::middleware::map_response(
            transport_errors_are_bad_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(hardening::ResponsePolicy::new(&state.settings)),
            hardening::security_headers,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            access::log,
        ))
        .layer(axum::middleware::from_fn(unowned::without_owner))
}

/// The built front end, precompressed, and cached for as long as its names allow.
fn static_files(state: &AppState) -> Router {
    Router::new()
        .fallback_service(assets::files(&state.leptos_options.site_root))
        .layer(axum::middleware::from_fn_with_state(
            state.assets.clone(),
            assets::cache_policy,
        ))
}

/// No request may hold a connection longer; above the upstream timeout so that one
/// gets its own, clearer answer.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A server-function request whose body cannot be decoded (a missing form, an unknown
/// channel) never reaches our code, and server_fn answers it with a 500. It is the
/// client's mistake, so say 400.
async fn transport_errors_are_bad_requests(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if matches!(
        serde_json::from_slice(&bytes),
        Ok(VerifyError::Transport(_))
    ) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Error bodies are a few hundred bytes; anything bigger is passed on empty.
const MAX_ERROR_BODY: usize = 64 * 1024;
