//! The API layer that hands a server-function call its embed session.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error_page::frame_error;
use crate::i18n::Lang;
use crate::server::embed::{EmbedSlot, requested_id};
use crate::server::request::wants_html;
use crate::server::{AppState, hardening};
use crate::verify::VerifyError;

/// Finds the embed session an API call names (in its address
/// `/embed/s/<id>/api/…`, or an `X-PV-Session` header) and hands it to the server
/// function; the address is rewritten to `/api/…`.
pub async fn attach_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let in_path = path
        .strip_prefix("/embed/s/")
        .and_then(|rest| rest.split_once('/'));
    let id = match in_path {
        Some((id, _)) => Some(id.to_owned()),
        None => requested_id(request.headers()),
    };
    let Some(id) = id else {
        return next.run(request).await;
    };
    match EmbedSlot::open(state.store.clone(), &id).await {
        Ok(Some(slot)) => {
            request.extensions_mut().insert(Arc::new(slot));
        }
        Ok(None) if wants_html(request.headers()) => {
            return frame_error(StatusCode::GONE, &VerifyError::SessionLost, Lang::default());
        }
        Ok(None) => return hardening::refuse(VerifyError::SessionLost),
        Err(error) => return hardening::refuse(error),
    }
    if let Some((_, rest)) = in_path {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        match format!("/{rest}{query}").parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    }
    next.run(request).await
}
