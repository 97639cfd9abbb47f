//! Checking what a host page asks for, and starting the embed session.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::error_page::frame_error;
use crate::i18n::Lang;
use crate::server::AppState;
use crate::server::embed::{EmbedContext, EmbedQuery, EmbedSlot, ParamProblem, tickets};
use crate::server::session::{LockedPhone, VerifySession};
use crate::verify::{VerifyError, mask_e164};

/// `GET /embed?sitekey=…`: checks what the host page asks for, starts an embed
/// session, and sends the frame to its address.
pub(super) async fn frame(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<EmbedQuery>,
) -> Response {
    start(&state, &parts, query, Mode::Frame).await
}

/// `GET /hosted?sitekey=…&return_url=…&state=…`: the same widget as a page of its
/// own, for host pages without JavaScript; it ends by sending the visitor to
/// `return_url` with the token.
pub(super) async fn hosted(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<EmbedQuery>,
) -> Response {
    start(&state, &parts, query, Mode::Hosted).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Frame,
    Hosted,
}

async fn start(state: &AppState, parts: &Parts, query: EmbedQuery, mode: Mode) -> Response {
    let headers = &parts.headers;
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
    // Every frame is a stored session: a page that frames the widget in a loop gets
    // no more of them per hour than the limit.
    let limits = &state.settings.limits;
    let client = crate::server::limits::client_key(parts, &limits.trusted_proxies);
    let now = state.clock.unix_secs();
    if let Err(refusal) =
        crate::server::limits::admit_new_session(state.store.as_ref(), limits, &client, now).await
    {
        let refused = refusal.counted(&state.metrics);
        return frame_error(StatusCode::TOO_MANY_REQUESTS, &refused, lang);
    }
    let hosted = mode == Mode::Hosted;
    // A session the host's backend made for a number it knows: used up here.
    // The host's preferred channel, unless it is switched off (`VERIFY_CHANNELS`).
    let mut initial = VerifySession::default();
    if limits.channels.contains(&params.channel) {
        initial.channel = params.channel;
    }
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
    state
        .metrics
        .session_created(if hosted { "hosted" } else { "embed" });
    let mut location = slot.page_path();
    if let Some(lang) = params.lang {
        location.push_str("?lang=");
        location.push_str(lang.code());
    }
    Redirect::to(&location).into_response()
}
