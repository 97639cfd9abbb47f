//! The frame's page, rendered for its session.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use leptos_axum::render_app_async_with_context;

use super::error_page::frame_error;
use crate::app::{FramePage, embed_shell};
use crate::server::embed::EmbedSlot;
use crate::server::request::{lang_in_query, page_lang};
use crate::server::{AppState, hardening};
use crate::verify::VerifyError;

/// `GET /embed/s/<id>`: the frame, rendered for its session.
pub(super) async fn frame_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let lang = request
        .uri()
        .query()
        .and_then(lang_in_query)
        .unwrap_or_default();
    let slot = match EmbedSlot::open(state.store.clone(), &id).await {
        Ok(Some(slot)) => Arc::new(slot),
        Ok(None) => return frame_error(StatusCode::GONE, &VerifyError::SessionLost, lang),
        Err(error) => return frame_error(StatusCode::INTERNAL_SERVER_ERROR, &error, lang),
    };
    let Some(site) = state.settings.sites.find(&slot.context().sitekey) else {
        return frame_error(StatusCode::BAD_REQUEST, &VerifyError::UnknownSite, lang);
    };
    let context = slot.context();
    // A hosted page is a page of its own, never in a frame, whose last form sends
    // the visitor back to the host's origin.
    let (ancestors, return_to) = match context.return_url {
        Some(_) => ("'none'".to_owned(), context.origin.clone()),
        None => (site.frame_ancestors(), None),
    };
    let session_path = slot.page_path();
    let frame = FramePage {
        session: slot.id().to_owned(),
        widget_id: context.widget_id.clone(),
        parent_origin: context.origin.clone().unwrap_or_default(),
        return_url: context.return_url.clone(),
        state: context.state.clone(),
        theme_class: context.theme.class(),
        theme_css: context.vars.css(),
    };
    let provide = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context(slot.clone());
        }
    };
    let options = state.leptos_options.clone();
    let stylesheet = state.assets.stylesheet.clone();
    let render = render_app_async_with_context(provide, move || {
        hardening::set_page_csp(Some(&ancestors), return_to.as_deref());
        embed_shell(
            options.clone(),
            page_lang(),
            stylesheet.clone(),
            frame.clone(),
        )
    });
    let page = render(request).await.into_response();
    point_forms_at(page, &session_path).await
}

/// The largest page a frame renders is a few dozen kilobytes.
const MAX_PAGE: usize = 1024 * 1024;

/// Sends the page's forms to the session's address (`/embed/s/<id>/api/…`), so that
/// they work without JavaScript and without a cookie. The widget renders the plain
/// `/api/…` server-function addresses, the same in every page; doing this here, not
/// in the widget, costs the browser bundle nothing.
async fn point_forms_at(page: Response, session_path: &str) -> Response {
    let (mut parts, body) = page.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let html = String::from_utf8_lossy(&bytes).replace(
        r#"action="/api/"#,
        &format!(r#"action="{session_path}/api/"#),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}
