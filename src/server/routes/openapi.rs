//! `GET /api/openapi.json`: the API description kept in the repository
//! (`docs/openapi.json`), written by hand and held to the real answers by
//! `tests/server/openapi.rs`.
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The document, as committed.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub fn routes() -> Router {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response() }),
    )
}
