//! A server-function call, turned into the verification core's inputs (the
//! [`Caller`], the session, the time) and its result into a response. This is the
//! only place that reads Leptos' request context for the flow.
use axum::http::{header, request::Parts};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::AppState;
use super::error_response;
use super::limits;
use super::session::SessionSlot;
use super::verification::{Caller, Verifier};
use crate::i18n::Lang;
use crate::verify::VerifyError;

/// One server-function call: the app, the visitor's session, and who is calling how.
pub struct ServerCall {
    state: AppState,
    session: Session,
    /// A plain HTML form post (no JavaScript): errors go to the session for the next
    /// page render, because the response is a redirect back to the page.
    plain_form: bool,
    pub caller: Caller,
}

impl ServerCall {
    /// Gathers the call from Leptos' server-function context.
    pub async fn from_context() -> Result<Self, VerifyError> {
        let state = expect_context::<AppState>();
        let session = leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer in front of the server functions");
            VerifyError::Internal
        })?;
        let parts = use_context::<Parts>();
        let plain_form = parts
            .as_ref()
            .and_then(|parts| parts.headers.get(header::ACCEPT)?.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        let caller = match &parts {
            Some(parts) => Caller {
                client: limits::client_key(parts, &state.settings.limits.trusted_proxies),
                accept_language: accept_language(parts)
                    .chars()
                    .take(MAX_ACCEPT_LANGUAGE)
                    .collect(),
                chosen_lang: query_lang(parts),
            },
            None => Caller {
                client: "unknown".to_owned(),
                ..Caller::default()
            },
        };
        Ok(Self {
            state,
            session,
            plain_form,
            caller,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn verifier(&self) -> Verifier<'_> {
        self.state.verifier()
    }

    pub fn session(&self) -> &dyn SessionSlot {
        &self.session
    }

    pub fn now(&self) -> u64 {
        self.state.clock.unix_secs()
    }

    /// Hands the result back, giving an error its HTTP status, or, for a form posted
    /// without JavaScript, keeping it for the page the browser is sent back to.
    pub async fn finish<T>(&self, result: Result<T, VerifyError>) -> Result<T, VerifyError> {
        let Err(error) = result else { return result };
        if self.plain_form {
            let mut stored = self.session().load().await?;
            stored.flash = Some(error.clone());
            self.session().save(&stored).await?;
        } else if let Some(response) = use_context::<ResponseOptions>() {
            let (status, retry_after) = error_response::status_of(&error);
            response.set_status(status);
            if let Some(wait) = retry_after {
                response.insert_header(header::RETRY_AFTER, wait);
            }
        }
        Err(error)
    }
}

/// The page's language before the session is read: the switch's `?lang=`, else the
/// browser's; the widget itself also honours a choice remembered in the session.
pub fn page_lang() -> Lang {
    let Some(parts) = use_context::<Parts>() else {
        return Lang::default();
    };
    query_lang(&parts)
        .or_else(|| Lang::from_accept_language(accept_language(&parts)))
        .unwrap_or_default()
}

fn accept_language(parts: &Parts) -> &str {
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn query_lang(parts: &Parts) -> Option<Lang> {
    parts
        .uri
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// Enough for any real `Accept-Language`; the rest is ignored.
const MAX_ACCEPT_LANGUAGE: usize = 256;
