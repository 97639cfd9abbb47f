//! A server-function call, turned into the verification core's inputs (the
//! [`Caller`], the session, the time) and its result into a response. This is the
//! only place that reads Leptos' request context for the flow.
use std::sync::Arc;

use axum::http::{header, request::Parts};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::AppState;
use super::embed::{EmbedContext, EmbedSlot};
use super::error_response;
use super::limits::{self, SiteBudget};
use super::session::{CookieSession, SessionSlot};
use super::tokens::Grant;
use super::verification::{Caller, Verifier};
use crate::i18n::Lang;
use crate::verify::{Step, VerifiedPhone, VerifyError};

/// Where the caller's session is kept.
enum Slot {
    /// The cookie of the widget's own page.
    Cookie(CookieSession),
    /// A widget framed by another site (see `server::embed`).
    Embed(Arc<EmbedSlot>),
}

/// One server-function call: the app, the visitor's session, and who is calling how.
pub struct ServerCall {
    state: AppState,
    session: Slot,
    /// A plain HTML form post (no JavaScript): errors go to the session for the next
    /// page render, because the response is a redirect back to the page.
    plain_form: bool,
    pub caller: Caller,
}

impl ServerCall {
    /// Gathers the call from Leptos' server-function context.
    pub async fn from_context() -> Result<Self, VerifyError> {
        let state = expect_context::<AppState>();
        let parts = use_context::<Parts>();
        // The embed page's render provides its session; the API layer attaches the
        // one a call names (`attach_session`, in the embed routes).
        let client = parts.as_ref().map_or_else(
            || "unknown".to_owned(),
            |parts| limits::client_key(parts, &state.settings.limits.trusted_proxies),
        );
        let embedded = use_context::<Arc<EmbedSlot>>()
            .or_else(|| parts.as_ref()?.extensions.get::<Arc<EmbedSlot>>().cloned());
        let session = match embedded {
            Some(slot) => Slot::Embed(slot),
            None => Slot::Cookie(CookieSession {
                session: leptos_axum::extract::<Session>().await.map_err(|error| {
                    tracing::error!(%error, "no session layer in front of the server functions");
                    VerifyError::Internal
                })?,
                store: state.store.clone(),
                client: client.clone(),
                settings: state.settings.clone(),
                metrics: state.metrics.clone(),
                now: state.clock.unix_secs(),
                counted: std::sync::atomic::AtomicBool::new(false),
                renewed: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        // A form post that wants a page back; the page's own render (a GET) is not one.
        let plain_form = parts.as_ref().is_some_and(|parts| {
            parts.method == axum::http::Method::POST && wants_html(&parts.headers)
        });
        let mut caller = match &parts {
            Some(parts) => Caller {
                client,
                accept_language: accept_language(parts)
                    .chars()
                    .take(MAX_ACCEPT_LANGUAGE)
                    .collect(),
                chosen_lang: query_lang(parts).or_else(|| cookie_lang(parts)),
                sitekey: None,
                site: None,
            },
            None => Caller {
                client,
                ..Caller::default()
            },
        };
        if let (Slot::Cookie(_), Some(lang)) = (&session, parts.as_ref().and_then(query_lang)) {
            remember_lang(lang, state.settings.served_over_https);
        }
        if let Slot::Embed(slot) = &session {
            caller.sitekey = Some(slot.context().sitekey.clone());
            caller.site = state
                .settings
                .sites
                .find(&slot.context().sitekey)
                .and_then(|site| site.sends_per_day)
                .map(|per_day| SiteBudget {
                    sitekey: slot.context().sitekey.clone(),
                    per_day: u32::try_from(per_day).unwrap_or(u32::MAX),
                });
        }
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
        match &self.session {
            Slot::Cookie(session) => session,
            Slot::Embed(slot) => slot.as_ref(),
        }
    }

    /// Puts a fresh result token into a verified step, while the verification is
    /// younger than the site's maximum age: for an embedded widget, its site's; on
    /// the widget's own page, `VERIFY_PAGE_SITEKEY`'s, if set (for a Leptos app's own
    /// server functions to check).
    pub async fn with_token(&self, step: Step) -> Step {
        let Step::Verified(phone) = step else {
            return step;
        };
        let token = self.mint_token().await;
        Step::Verified(VerifiedPhone { token, ..phone })
    }

    async fn mint_token(&self) -> Option<String> {
        let settings = &self.state.settings;
        let (sitekey, origin, framed) = match &self.session {
            Slot::Embed(slot) => {
                let context = slot.context();
                (
                    context.sitekey.as_str(),
                    context.origin.as_deref(),
                    Some(context),
                )
            }
            Slot::Cookie(_) => (
                settings.page_sitekey.as_deref()?,
                Some(settings.public_url.as_str()),
                None,
            ),
        };
        let site = settings.sites.find(sitekey)?;
        let verified = self.session().load().await.ok()?.verified?;
        let now = self.now();
        if now > verified.at + site.max_age.as_secs() {
            return None;
        }
        let host =
            |value: fn(&EmbedContext) -> &Option<String>| framed.and_then(|c| value(c).as_deref());
        let grant = Grant {
            sitekey,
            e164: &verified.e164,
            channel: verified.channel,
            verified_at: verified.at,
            verification_id: &verified.id,
            origin,
            action: host(|c| &c.action),
            cdata: host(|c| &c.cdata),
            nonce: host(|c| &c.nonce),
            reference: host(|c| &c.reference),
        };
        // The site may ask for a confirmation text by the verification's id.
        if let Err(error) = crate::server::notify::remember(
            self.state.store.as_ref(),
            sitekey,
            &verified.e164,
            verified.at,
            &verified.id,
            now,
        )
        .await
        {
            tracing::warn!(%error, "cannot keep a verification for notify");
        }
        self.state.metrics.token_issued(sitekey);
        Some(self.state.issuer.mint(&grant, now))
    }

    pub fn now(&self) -> u64 {
        self.state.clock.unix_secs()
    }

    /// As [`Self::finish`], and a hosted page's plain form that verified the number
    /// sends the visitor back to the host with the token.
    pub async fn finish_step(
        &self,
        result: Result<Step, VerifyError>,
    ) -> Result<Step, VerifyError> {
        let result = self.finish(result).await;
        if let (
            true,
            Slot::Embed(slot),
            Ok(Step::Verified(VerifiedPhone {
                token: Some(token), ..
            })),
        ) = (self.plain_form, &self.session, &result)
            && let Some(location) = slot.context().return_location(token)
        {
            leptos_axum::redirect(&location);
        }
        result
    }

    /// Hands the result back, giving an error its HTTP status, or, for a form posted
    /// without JavaScript, keeping it for the page the browser is sent back to.
    pub async fn finish<T>(&self, result: Result<T, VerifyError>) -> Result<T, VerifyError> {
        // A framed page sends no Referer (its policy is no-referrer), so a plain form
        // is told where to go back to.
        if let (true, Slot::Embed(slot)) = (self.plain_form, &self.session) {
            leptos_axum::redirect(&slot.page_path());
        }
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

/// The page's language before the session is read: the switch's `?lang=` or its
/// cookie, else the browser's; the widget itself also honours a choice remembered in
/// an embedded widget's session.
pub fn page_lang() -> Lang {
    let Some(parts) = use_context::<Parts>() else {
        return Lang::default();
    };
    query_lang(&parts)
        .or_else(|| cookie_lang(&parts))
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

/// The cookie that keeps the switch's choice for the widget's own page, so that a
/// visitor who only picked a language has no stored session.
const LANG_COOKIE: &str = "pv_lang";

fn cookie_lang(parts: &Parts) -> Option<Lang> {
    cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse)
}

/// The value of the request's cookie `name`.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find_map(|(cookie, value)| (cookie == name).then_some(value))
}

/// Sets the language cookie on this response. It says nothing secret, but only the
/// server reads it.
fn remember_lang(lang: Lang, https: bool) {
    let Some(response) = use_context::<ResponseOptions>() else {
        return;
    };
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}",
        lang.code()
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        response.append_header(header::SET_COOKIE, value);
    }
}

fn query_lang(parts: &Parts) -> Option<Lang> {
    lang_in_query(parts.uri.query()?)
}

/// The switch's `?lang=` in a query string.
pub fn lang_in_query(query: &str) -> Option<Lang> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// Whether the client asks for a page (a browser's form post or navigation), not JSON.
pub fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Enough for any real `Accept-Language`; the rest is ignored.
const MAX_ACCEPT_LANGUAGE: usize = 256;
