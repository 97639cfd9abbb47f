//! What a host site's backend calls: the public keys of the result tokens,
//! `siteverify`, which checks and redeems one, `sessions`, which prepares a
//! widget for a number the host already knows, and `notify`, which sends a
//! confirmation text to a number just verified.
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use serde::Deserialize;
use serde_json::json;

use crate::server::embed::tickets::{self, TICKET_TTL, Ticket};
use crate::server::notify::{NotifyError, NotifyRequest};
use crate::server::siteverify::{SiteverifyRequest, siteverify};
use crate::server::{AppState, hardening};
use crate::verify::PhoneNumber;

pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/api/v1/siteverify", post(verify))
        .route("/api/v1/sessions", post(create_session))
        .route("/api/v1/notify", post(notify))
        .layer(RequestBodyLimitLayer::new(hardening::API_BODY_LIMIT))
        .with_state(state.clone())
}

/// Hosts may cache the keys five minutes; a new key is published long before it signs.
async fn jwks(State(state): State<AppState>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(state.issuer.jwks()),
    )
        .into_response()
}

/// Why a request body was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyProblem {
    /// Neither form-encoded nor JSON: 415.
    Unsupported,
    /// Not the fields asked for: `bad-request`.
    Unreadable,
}

impl BodyProblem {
    fn response(self) -> Response {
        match self {
            Self::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response(),
            Self::Unreadable => refused(StatusCode::BAD_REQUEST, "bad-request"),
        }
    }
}

/// A request body, form-encoded or JSON.
fn parse_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, BodyProblem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|_| BodyProblem::Unreadable)
    } else if content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.is_empty()
    {
        serde_urlencoded::from_bytes(body).map_err(|_| BodyProblem::Unreadable)
    } else {
        Err(BodyProblem::Unsupported)
    }
}

fn refused(status: StatusCode, code: &'static str) -> Response {
    answer(status, json!({"success": false, "error-codes": [code]}))
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `POST /api/v1/siteverify`, form-encoded or JSON. Always 200 with a JSON answer
/// (as Turnstile's), except for a body that is neither (415).
async fn verify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match parse_body::<SiteverifyRequest>(&headers, &body) {
        Ok(request) => {
            siteverify(
                &state.settings.sites,
                &state.issuer,
                &request,
                state.clock.unix_secs(),
            )
            .await
        }
        Err(BodyProblem::Unsupported) => return BodyProblem::Unsupported.response(),
        Err(BodyProblem::Unreadable) => crate::server::siteverify::bad_request(),
    };
    state.metrics.siteverify(match result.error_codes.first() {
        None if result.success => "success",
        None => "failure",
        Some(code) => code,
    });
    ([(header::CACHE_CONTROL, "no-store")], Json(result)).into_response()
}

#[derive(Deserialize)]
struct SessionRequest {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    phone_number: String,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// `POST /api/v1/sessions` (`secret`, `phone_number`, optional `ref` and `action`):
/// a single-use session for the element's `session` attribute, in which the widget
/// verifies that number only, shown masked. 201 with `{session, expires_at}`.
async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match parse_body::<SessionRequest>(&headers, &body) {
        Ok(request) => request,
        Err(problem) => return problem.response(),
    };
    if request.secret.is_empty() {
        return refused(StatusCode::UNAUTHORIZED, "missing-input-secret");
    }
    let Some(site) = state.settings.sites.by_secret(&request.secret) else {
        return refused(StatusCode::UNAUTHORIZED, "invalid-input-secret");
    };
    let Ok(number) = PhoneNumber::parse(&request.phone_number, None) else {
        return refused(StatusCode::BAD_REQUEST, "invalid-phone-number");
    };
    let fits = |value: &Option<String>, max: usize, extra: &[u8]| {
        value.as_deref().is_none_or(|v| {
            (1..=max).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b) || extra.contains(&b))
        })
    };
    if !fits(&request.reference, 128, b".:@") {
        return refused(StatusCode::BAD_REQUEST, "invalid-ref");
    }
    if !fits(&request.action, 32, b"") {
        return refused(StatusCode::BAD_REQUEST, "invalid-action");
    }
    let ticket = Ticket {
        sitekey: site.sitekey.clone(),
        e164: number.e164().to_owned(),
        reference: request.reference,
        action: request.action,
    };
    match tickets::issue(&state.store, &ticket).await {
        Ok(id) => {
            state.metrics.session_created("host");
            answer(
                StatusCode::CREATED,
                json!({"success": true, "session": id, "expires_at": state.clock.unix_secs() + TICKET_TTL.as_secs()}),
            )
        }
        Err(error) => {
            tracing::error!(%error, "cannot store a host session");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "internal-error")
        }
    }
}

/// `POST /api/v1/notify` (`secret`, `response` or `vid`, `text`), form-encoded or
/// JSON: sends `text` once to the number of a verification of the site's from the
/// last ten minutes (`server::notify` has the rules). 200 `{success, sent}`, else
/// the status and code of the refusal, with `Retry-After` when waiting helps.
async fn notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match parse_body::<NotifyRequest>(&headers, &body) {
        Ok(request) => {
            state
                .notifier()
                .notify(&request, state.clock.unix_secs())
                .await
        }
        Err(BodyProblem::Unsupported) => return BodyProblem::Unsupported.response(),
        Err(BodyProblem::Unreadable) => Err(NotifyError::BadRequest),
    };
    let provider = state.messenger.name();
    match result {
        Ok(()) => {
            state.metrics.notification(provider, "sent");
            answer(StatusCode::OK, json!({"success": true, "sent": true}))
        }
        Err(error) => {
            state.metrics.notification(provider, error.code());
            let mut response = refused(error.status(), error.code());
            if let Some(wait) = error.retry_after() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, wait.into());
            }
            response
        }
    }
}
