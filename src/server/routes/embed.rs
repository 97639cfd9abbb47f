//! The embed surface: the loader script host pages include (`/embed.js`), the frame
//! it opens (`/embed?sitekey=…` starts a session and sends the frame on to
//! `/embed/s/<id>`), the frame's bridge script, and the layer that finds the embed
//! session an API call names.
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::render_app_async_with_context;

use crate::app::{FramePage, embed_shell};
use crate::i18n::Lang;
use crate::server::embed::{
    EmbedContext, EmbedQuery, EmbedSlot, ParamProblem, requested_id, tickets,
};
use crate::server::request::page_lang;
use crate::server::session::{LockedPhone, VerifySession};
use crate::server::{AppState, hardening};
use crate::verify::{VerifyError, mask_e164};

/// Hand-written, no build step: see `embed/README.md`.
const LOADER: &str = include_str!("../../../embed/loader.js");
const BRIDGE: &str = include_str!("../../../embed/frame.js");

pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/embed", get(start_frame))
        .route("/hosted", get(start_hosted))
        .route("/embed/s/{id}", get(frame_page))
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

/// `GET /embed?sitekey=…`: checks what the host page asks for, starts an embed
/// session, and sends the frame to its address.
async fn start_frame(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EmbedQuery>,
) -> Response {
    start(&state, &headers, query, Mode::Frame).await
}

/// `GET /hosted?sitekey=…&return_url=…&state=…`: the same widget as a page of its
/// own, for host pages without JavaScript; it ends by sending the visitor to
/// `return_url` with the token.
async fn start_hosted(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EmbedQuery>,
) -> Response {
    start(&state, &headers, query, Mode::Hosted).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Frame,
    Hosted,
}

async fn start(state: &AppState, headers: &HeaderMap, query: EmbedQuery, mode: Mode) -> Response {
    let lang = query
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default();
    // Browsers say what a request is for: a frame must be in a frame, and a hosted
    // page must not be (it may not be framed at all).
    let destination = headers.get("sec-fetch-dest").and_then(|v| v.to_str().ok());
    let wanted = match mode {
        Mode::Frame => "iframe",
        Mode::Hosted => "document",
    };
    if destination.is_some_and(|d| d != wanted) {
        return frame_error(
            StatusCode::BAD_REQUEST,
            &VerifyError::OriginNotAllowed,
            lang,
        );
    }
    let params = match query.parse() {
        Ok(params) => params,
        Err(ParamProblem::MissingSitekey) => {
            return frame_error(StatusCode::BAD_REQUEST, &VerifyError::UnknownSite, lang);
        }
        Err(ParamProblem::Bad(name)) => {
            tracing::info!(parameter = name, "embed request refused");
            return frame_error(StatusCode::BAD_REQUEST, &VerifyError::UnknownSite, lang);
        }
    };
    let Some(site) = state.settings.sites.find(&params.sitekey) else {
        tracing::info!("embed request for an unknown sitekey");
        return frame_error(StatusCode::BAD_REQUEST, &VerifyError::UnknownSite, lang);
    };
    let origin = match mode {
        Mode::Frame => {
            if params
                .origin
                .as_deref()
                .is_some_and(|origin| !site.allows_origin(origin))
            {
                tracing::info!(sitekey = %site.sitekey, "embed request from an origin the site does not allow");
                return frame_error(StatusCode::FORBIDDEN, &VerifyError::OriginNotAllowed, lang);
            }
            site.bound_origin(params.origin.as_deref())
        }
        Mode::Hosted => match params
            .return_url
            .as_deref()
            .filter(|url| site.allows_return_url(url))
        {
            Some(url) => reqwest::Url::parse(url)
                .ok()
                .map(|u| u.origin().ascii_serialization()),
            None => {
                tracing::info!(sitekey = %site.sitekey, "hosted page without a return URL of the site");
                return frame_error(StatusCode::FORBIDDEN, &VerifyError::OriginNotAllowed, lang);
            }
        },
    };
    let hosted = mode == Mode::Hosted;
    // A session the host's backend made for a number it knows: used up here.
    let mut initial = VerifySession::default();
    let mut reference = None;
    let mut action = params.action;
    if let Some(id) = &params.ticket {
        let ticket = match tickets::redeem(&state.store, id).await {
            Ok(Some(ticket)) if ticket.sitekey == site.sitekey => ticket,
            Ok(_) => return frame_error(StatusCode::GONE, &VerifyError::SessionLost, lang),
            Err(error) => {
                tracing::error!(%error, "cannot read a host session");
                return frame_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &VerifyError::Internal,
                    lang,
                );
            }
        };
        initial.locked = Some(LockedPhone {
            masked: mask_e164(&ticket.e164),
            e164: ticket.e164,
        });
        reference = ticket.reference;
        action = ticket.action.or(action);
    }
    let context = EmbedContext {
        origin,
        sitekey: params.sitekey,
        widget_id: if hosted {
            "hosted".into()
        } else {
            params.widget_id
        },
        action,
        cdata: params.cdata,
        nonce: params.nonce,
        return_url: if hosted { params.return_url } else { None },
        state: if hosted { params.state } else { None },
        reference,
        theme: params.theme,
        vars: params.vars,
    };
    let slot = match EmbedSlot::create(state.store.clone(), context, initial).await {
        Ok(slot) => slot,
        Err(error) => return frame_error(StatusCode::INTERNAL_SERVER_ERROR, &error, lang),
    };
    let mut location = slot.page_path();
    if let Some(lang) = params.lang {
        location.push_str("?lang=");
        location.push_str(lang.code());
    }
    Redirect::to(&location).into_response()
}

/// `GET /embed/s/<id>`: the frame, rendered for its session.
async fn frame_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let lang = page_lang_of(&request);
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
    let render = render_app_async_with_context(provide, move || {
        hardening::set_page_csp(Some(&ancestors), return_to.as_deref());
        embed_shell(options.clone(), page_lang(), frame.clone())
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

fn page_lang_of(request: &Request) -> Lang {
    request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("lang=")))
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// Tells the loader that this frame shows an error (the code only: the page's origin
/// is not known to be the site's, so the message goes to any parent).
const ERROR_SCRIPT: &str = "(function(){var e=document.querySelector('[data-pv-error]');\
var w=new URLSearchParams(location.search).get('wid');if(parent!==window&&e)parent.postMessage(\
{pv:1,wid:w,type:'error',code:e.getAttribute('data-pv-error'),\
height:Math.ceil(document.body.getBoundingClientRect().height)},'*')})()";

/// What a frame shows when it cannot run: one sentence, framable by anyone (it holds
/// nothing), so the host page's visitor reads why instead of a blank box.
fn frame_error(status: StatusCode, error: &VerifyError, lang: Lang) -> Response {
    use base64::Engine;
    use sha2::Digest;
    let message = error.message_in(lang);
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\" dir=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:0;padding:1rem;color:#b00020}}</style></head>\
         <body><main><h1 style=\"font-size:1rem;margin:0\" role=\"alert\" data-pv-error=\"{}\">{}</h1></main>\
         <script>{ERROR_SCRIPT}</script></body></html>",
        lang.code(),
        lang.dir(),
        message,
        error_code(error),
        message
    );
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(ERROR_SCRIPT));
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors *"
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The `pv-error` code the loader reports for each error a frame can show.
fn error_code(error: &VerifyError) -> &'static str {
    match error {
        VerifyError::UnknownSite => "site_unknown",
        VerifyError::OriginNotAllowed => "origin_not_allowed",
        VerifyError::SessionLost => "session_lost",
        _ => "internal",
    }
}

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
