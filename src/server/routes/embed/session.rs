//! The API layer that hands a server-function call its embed session.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error_page::frame_error;
use crate::i18n::Lang;
use crate::server::embed::{EmbedSlot, requested_id};
use crate::server::{AppState, hardening};
use crate::verify::VerifyError;

/// Finds the embed session an API call names (in its address
/// `/embed/s/<id>/api/…`, or an `X-PV-Session` header) and hands it to the server
/// function; the address is rewritten to `/api/…`. Runs after the body has been read
/// within its deadline.
pub async fn attach_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, hardening::API_BODY_LIMIT).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path().to_owned();
    let in_path = path
        .strip_prefix("/embed/s/")
        .and_then(|rest| rest.split_once('/'));
    let id = match in_path {
        Some((id, _)) => Some(id.to_owned()),
        None => requested_id(&parts.headers),
    };
    if let Some(id) = id {
        let plain_form = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        match EmbedSlot::open(state.store.clone(), &id).await {
            Ok(Some(slot)) => {
                parts.extensions.insert(Arc::new(slot));
            }
            Ok(None) if plain_form => {
                return frame_error(StatusCode::GONE, &VerifyError::SessionLost, Lang::default());
            }
            Ok(None) => return hardening::refuse(VerifyError::SessionLost),
            Err(error) => return hardening::refuse(error),
        }
        if let Some((_, rest)) = in_path {
            let query = parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            match format!("/{rest}{query}").parse() {
                Ok(uri) => parts.uri = uri,
                Err(_) => return StatusCode::BAD_REQUEST.into_response(),
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
