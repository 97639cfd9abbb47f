//! What a host site's backend calls: the public keys of the result tokens, and
//! `siteverify`, which checks and redeems one.
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::server::siteverify::{SiteverifyRequest, siteverify};
use crate::server::{AppState, hardening};

pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/api/v1/siteverify",
            post(verify).layer(RequestBodyLimitLayer::new(hardening::API_BODY_LIMIT)),
        )
        .with_state(state.clone())
}

/// Hosts may cache the keys five minutes; a new key is published long before it signs.
async fn jwks(State(state): State<AppState>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(state.issuer.jwks()),
    )
        .into_response()
}

/// `POST /api/v1/siteverify`, form-encoded or JSON. Always 200 with a JSON answer,
/// except for a body that is neither (415) or unreadable (400).
async fn verify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request: Result<SiteverifyRequest, ()> = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|_| ())
    } else if content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.is_empty()
    {
        serde_urlencoded::from_bytes(&body).map_err(|_| ())
    } else {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    };
    let answer = match request {
        Ok(request) => {
            siteverify(
                &state.settings.sites,
                &state.issuer,
                &request,
                state.clock.unix_secs(),
            )
            .await
        }
        Err(()) => crate::server::siteverify::bad_request(),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response()
}
