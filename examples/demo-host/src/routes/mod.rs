//! The site's routes, one module per flow, and what they share: the visitor's
//! session and language, the answer with its cookie and headers, the same-origin
//! check for posts.
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::accounts::{Account, Accounts};
use crate::i18n::{Lang, Texts};
use crate::pages::{self, Frame, Widget};
use crate::phone_verify::{Hosted, Refusal};
use crate::session::{Loaded, Notice};
use crate::state::AppState;

mod account;
mod home;
mod login;
mod register;
mod signup;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::page))
        .route("/register", get(register::page).post(register::submit))
        .route("/register/return", get(register::returned))
        .route("/signup", get(signup::page).post(signup::submit))
        .route(
            "/verify-phone",
            get(signup::verify_page).post(signup::verify_submit),
        )
        .route("/verify-phone/return", get(signup::verify_returned))
        .route("/login", get(login::page).post(login::submit))
        .route(
            "/login/second-factor",
            get(login::factor_page).post(login::factor_submit),
        )
        .route("/login/return", get(login::factor_returned))
        .route("/account", get(account::page))
        .route("/account/phone", post(account::phone_submit))
        .route("/account/return", get(account::phone_returned))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_language))
        .route("/style.css", get(style))
        .with_state(state)
}

/// One request's visitor: their session and language.
pub struct Visitor {
    pub session: Loaded,
    pub lang: Lang,
}

impl Visitor {
    /// (Handlers take it as an extractor.)
    ///
    /// # Errors
    /// A 500 page when the database fails.
    async fn load(state: &AppState, headers: &HeaderMap) -> Result<Self, Response> {
        let session = Loaded::load(&state.db, headers, state.now())
            .await
            .map_err(|e| internal(&e))?;
        let lang = session.data.lang.or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        });
        Ok(Self {
            session,
            lang: lang.unwrap_or_default(),
        })
    }

    pub fn t(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// The signed-in account, if any.
    ///
    /// # Errors
    /// A 500 page when the database fails.
    pub async fn account(&self, state: &AppState) -> Result<Option<Account>, Response> {
        match self.session.data.account {
            None => Ok(None),
            Some(id) => Accounts(state.db.clone())
                .by_id(id)
                .await
                .map_err(|e| internal(&e)),
        }
    }

    /// A page of this site, with the notices waiting for it (which it uses up); a
    /// 422 when it shows a form again because of an error.
    pub fn page(
        &mut self,
        path: &str,
        title: &str,
        widget: Option<&str>,
        main: &str,
        failed: bool,
    ) -> Response {
        let notices = std::mem::take(&mut self.session.data.notices);
        let html = Html(pages::layout(
            &Frame {
                lang: self.lang,
                path,
                signed_in: self.session.data.account.is_some(),
                widget,
                notices: &notices,
            },
            title,
            main,
        ));
        let status = if failed {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        (status, html).into_response()
    }

    pub fn notice(&mut self, notice: Notice) {
        self.session.data.notices.push(notice);
    }

    /// Stores the session and answers with `response`, the cookie and the headers
    /// every page has.
    pub async fn finish(self, state: &AppState, response: impl IntoResponse) -> Response {
        if let Err(error) = self.session.save(&state.db, state.now()).await {
            return internal(&error);
        }
        let mut response = response.into_response();
        let secure = state.config.public_url.starts_with("https://");
        if let Ok(cookie) = HeaderValue::from_str(&self.session.set_cookie(secure)) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        protect(state, response.headers_mut());
        response
    }
}

/// Pages are private to their visitor, never framed, and send no Referer to other
/// sites: a return from the hosted page has the token in its address.
fn protect(state: &AppState, headers: &mut HeaderMap) {
    let widget = &state.config.widget_url;
    let policy = format!(
        "default-src 'self'; script-src {widget}; frame-src {widget}; style-src 'self'; img-src 'self'; \
         form-action 'self' {widget}; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
    );
    for (name, value) in [
        ("content-security-policy", policy.as_str()),
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
}

/// A form post from one of this site's own pages. The session cookie is
/// SameSite=Lax, and this checks where the browser says the post came from:
/// `Sec-Fetch-Site` where the browser sends it, else `Origin`, which this site's own
/// pages send in full (`Referrer-Policy: same-origin`; under `no-referrer` it would
/// be `null`). `Origin: null` is a page that hides where it is. Anything else gets
/// a 403.
pub struct ThisSite;

impl FromRequestParts<AppState> for ThisSite {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let foreign = match header("sec-fetch-site") {
            Some(site) => !matches!(site, "same-origin" | "none"),
            None => header(ORIGIN.as_str()).is_some_and(|o| o != state.config.public_url),
        };
        if foreign {
            Err((
                StatusCode::FORBIDDEN,
                "This form was posted from another site.",
            )
                .into_response())
        } else {
            Ok(Self)
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Self::load(state, &parts.headers).await
    }
}

pub fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(pages::escape(crate::i18n::EN.error_internal)),
    )
        .into_response()
}

/// Has phone-verify text `text` to the number of verification `vid`, just
/// verified; what to tell the visitor about it.
pub async fn confirm_by_text(state: &AppState, vid: &str, text: &str) -> Notice {
    match state.phone_verify.notify(vid, text).await {
        Ok(()) => Notice::ConfirmationSent,
        Err(code) => {
            tracing::warn!(%code, "no confirmation text");
            Notice::ConfirmationFailed
        }
    }
}

/// See other: where a form post continues.
pub fn see(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// A form around the widget, posting its token to this site, with a link to the
/// hosted page for a browser without JavaScript that comes back to `return_path`.
pub struct WidgetForm<'a> {
    /// The widget's `action`, signed into the token.
    pub action: &'a str,
    pub post_to: &'a str,
    pub return_path: &'a str,
    /// A session this backend created for a number it knows.
    pub session: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub submit: &'a str,
}

impl Visitor {
    pub fn widget_form(
        &self,
        state: &AppState,
        form: &WidgetForm<'_>,
        error: Option<&str>,
    ) -> String {
        let nonce = &self.session.data.nonce;
        let return_url = format!("{}{}", state.config.public_url, form.return_path);
        let hosted = state.phone_verify.hosted_url(&Hosted {
            return_url: &return_url,
            state: nonce,
            action: form.action,
            lang: self.lang.code(),
            session: form.session,
            channel: form.channel,
        });
        let widget = Widget {
            sitekey: state.phone_verify.sitekey(),
            action: form.action,
            nonce,
            lang: self.lang,
            session: form.session,
            channel: form.channel,
        };
        format!(
            r#"<form method="post" action="{post_to}">
{error}{widget}
<noscript><p><a href="{hosted}">{no_js}</a></p></noscript>
<button>{submit}</button>
</form>"#,
            post_to = form.post_to,
            error = pages::form_error(error),
            widget = widget.render(),
            hosted = pages::escape(&hosted),
            no_js = self.t().verify_no_js,
            submit = form.submit,
        )
    }

    /// A widget session for `account`'s number, made by this backend
    /// (`POST /api/v1/sessions`), with `ref` naming the account; else the page
    /// `path` saying that phone-verify cannot be reached.
    pub async fn session_for(
        &mut self,
        state: &AppState,
        account: &Account,
        action: &str,
        (path, title): (&str, &str),
    ) -> Result<String, Response> {
        let reference = account_ref(account);
        state
            .phone_verify
            .create_session(&account.phone, &reference, action)
            .await
            .map_err(|refusal| {
                let main = pages::form_error(Some(pages::refusal_message(self.t(), refusal)));
                let mut page = self.page(path, title, None, &main, true);
                *page.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                page
            })
    }
}

/// The `ref` of the sessions made for an account's number.
pub fn account_ref(account: &Account) -> String {
    format!("account:{}", account.id)
}

/// A form whose only field is the widget's token.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default, rename = "phone-verify-token")]
    pub token: String,
}

/// The query a visitor comes back from the hosted page with.
#[derive(Deserialize)]
pub struct Returned {
    #[serde(default)]
    pv_token: String,
    #[serde(default)]
    state: String,
}

impl Returned {
    /// The token, if the return belongs to the session whose nonce is `nonce`.
    ///
    /// # Errors
    /// [`Refusal::OtherSession`] when `state` is another session's.
    pub fn token(&self, nonce: &str) -> Result<&str, Refusal> {
        if self.state == nonce {
            Ok(&self.pv_token)
        } else {
            Err(Refusal::OtherSession)
        }
    }
}

/// The pages a language switch may return to.
const PAGES: [&str; 7] = [
    "/",
    "/register",
    "/signup",
    "/verify-phone",
    "/login",
    "/login/second-factor",
    "/account",
];

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn switch_language(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Path(code): Path<String>,
    Query(back): Query<Back>,
) -> Response {
    if let Some(lang) = Lang::parse(&code) {
        visitor.session.data.lang = Some(lang);
    }
    // Only one of this site's pages: never an open redirect.
    let back = back
        .back
        .filter(|b| PAGES.contains(&b.as_str()))
        .unwrap_or_else(|| "/".into());
    visitor.finish(&state, see(&back)).await
}

async fn logout(State(state): State<AppState>, _: ThisSite, mut visitor: Visitor) -> Response {
    let lang = visitor.session.data.lang;
    if let Err(error) = visitor.session.renew(&state.db).await {
        return internal(&error);
    }
    visitor.session.data = crate::session::HostSession {
        lang,
        nonce: visitor.session.data.nonce.clone(),
        ..Default::default()
    };
    visitor.finish(&state, see("/")).await
}

async fn style() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLE,
    )
        .into_response()
}
