//! `GET /metrics` for Prometheus: served on the metrics listener (`METRICS_ADDR`,
//! `serve::serve_metrics`), never beside the app, so it is not public by accident.
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::server::metrics::{self, Metrics};

pub fn routes(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        metrics.encode(),
    )
        .into_response()
}
