//! The server functions under `/api/` (and, for an embedded widget, under its
//! session's `/embed/s/<id>/api/`), behind the CSRF check, the body size limit, the
//! body read deadline and the embed session lookup.
use axum::Router;
use axum::extract::Request;
use axum::routing::post;
use leptos::prelude::provide_context;
use leptos_axum::handle_server_fns_with_context;
use tower_http::limit::RequestBodyLimitLayer;

use crate::server::{AppState, hardening};

pub fn routes(state: &AppState) -> Router {
    let provide_state = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let server_fns =
        move |request: Request| handle_server_fns_with_context(provide_state.clone(), request);
    Router::new()
        .route("/api/{*server_fn}", post(server_fns.clone()))
        // The embedded widget's calls, named by their session (see `embed`).
        .route("/embed/s/{id}/api/{*server_fn}", post(server_fns))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::embed::attach_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.connections.body_read,
            hardening::read_body_in_time,
        ))
        .layer(RequestBodyLimitLayer::new(hardening::API_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hardening::reject_cross_site,
        ))
}
