//! The embed surface: the loader script host pages include (`/embed.js`), the frame
//! it opens (`/embed?sitekey=…` starts a session and sends the frame on to
//! `/embed/s/<id>`; `/hosted` is the same as a page of its own), the frame's bridge
//! script, and the layer that finds the embed session an API call names.
//!
//! - `start`: checking a frame's or hosted page's request and starting its session;
//! - `page`: the frame's page, rendered for its session;
//! - `error_page`: what a frame shows when it cannot run;
//! - `session`: the API layer that hands a call its embed session.
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod error_page;
mod page;
mod session;
mod start;

pub use session::attach_session;

use crate::server::AppState;

/// Hand-written, no build step: see `embed/README.md`.
const LOADER: &str = include_str!("../../../../embed/loader.js");
const BRIDGE: &str = include_str!("../../../../embed/frame.js");

pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/embed", get(start::frame))
        .route("/hosted", get(start::hosted))
        .route("/embed/s/{id}", get(page::frame_page))
        .route("/embed.js", get(|| async { script(LOADER) }))
        .route("/embed/frame.js", get(|| async { script(BRIDGE) }))
        .with_state(state.clone())
}

/// Scripts at stable addresses: cached for an hour, then checked again.
fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Host pages that isolate themselves (COEP) may still load it.
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        source,
    )
        .into_response()
}
