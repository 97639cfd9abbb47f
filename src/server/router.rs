//! The axum application: pages, server functions, the dev outbox, sessions.
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use leptos_axum::{handle_server_fns_with_context, render_app_async_with_context};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use super::store::Sessions;
use super::{AppState, hardening, outbox};
use crate::app::shell;
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
        .with_name(if state.settings.cookie_secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        })
        .with_path("/")
        .with_http_only(true)
        // Lax: the cookie rides on top-level navigation (the no-JS form posts
        // redirect back to the page) but not on cross-site subrequests.
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.cookie_secure)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(SESSION_IDLE_MINUTES),
        ));

    let provide_state = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let options = state.leptos_options.clone();
    // Async rendering: the page waits for the session's step before the first byte,
    // so the session is settled (and saved) with the response.
    let page = render_app_async_with_context(provide_state.clone(), move || shell(options.clone()));
    let server_fns =
        move |request: Request| handle_server_fns_with_context(provide_state.clone(), request);
    let api = Router::new()
        .route("/api/{*server_fn}", post(server_fns))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.connections.body_read,
            hardening::read_body_in_time,
        ))
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hardening::reject_cross_site,
        ));
    let mut router = Router::new()
        .route("/", get(page))
        .merge(api)
        .fallback_service(ServeDir::new(&*state.leptos_options.site_root));
    if let Some(outbox) = state.outbox.clone() {
        router = router.merge(dev_outbox_routes(outbox));
    }
    router
        .layer(sessions)
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
        .layer(TraceLayer::new_for_http())
}

/// The API takes a phone number or a code: a few hundred bytes. Anything bigger is
/// refused unread.
pub(super) const API_BODY_LIMIT: usize = 8 * 1024;

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

fn dev_outbox_routes<S>(outbox: Arc<outbox::Outbox>) -> Router<S> {
    Router::new()
        .route("/dev/outbox", get(outbox::page))
        .route("/dev/outbox.json", get(outbox::json))
        .with_state(outbox)
}
