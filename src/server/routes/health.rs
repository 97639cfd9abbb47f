//! What a load balancer and an orchestrator ask: is the process alive (`/healthz`),
//! and should it get visitors (`/readyz`: the state store answers and can write its
//! file, and shutdown has not begun).
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::server::AppState;

/// A store that takes longer than this to answer is not ready.
const STORE_DEADLINE: Duration = Duration::from_secs(2);

pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
        .with_state(state.clone())
}

async fn alive() -> Response {
    answer(StatusCode::OK, r#"{"alive":true}"#)
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"ready":false,"reason":"shutting down"}"#,
        );
    }
    match tokio::time::timeout(STORE_DEADLINE, state.store.ready()).await {
        Ok(Ok(())) => answer(
            StatusCode::OK,
            &format!(r#"{{"ready":true,"provider":"{}"}}"#, state.provider.name()),
        ),
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the state store fails");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"ready":false,"reason":"state store"}"#,
            )
        }
        Err(_) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"ready":false,"reason":"state store too slow"}"#,
        ),
    }
}

fn answer(status: StatusCode, body: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_owned(),
    )
        .into_response()
}
