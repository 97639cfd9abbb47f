//! Login with a second factor: the password, then a code to the account's number.
//! The token is checked offline against phone-verify's published keys (no request
//! per login): this site, this page's origin, `login`, the account's number,
//! verified in the last two minutes, this session's nonce, this account's `ref`, and
//! never seen before (its `jti` is kept until it expires).
use std::sync::LazyLock;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use rusqlite::params;
use serde::Deserialize;

use super::{Returned, ThisSite, TokenForm, Visitor, WidgetForm, account_ref, internal, see};
use crate::accounts::{Account, Accounts, Email, Password, password_matches};
use crate::pages::{self, field, form_error};
use crate::phone_verify::Refusal;
use crate::session::{LOGIN_STEP_SECS, PendingLogin};
use crate::state::AppState;

const ACTION: &str = "login";
/// How recently the code must have been accepted.
pub const MAX_AGE_SECS: u64 = 120;
/// Compared against when the email is unknown, so that a wrong email takes as long
/// as a wrong password.
static NO_ACCOUNT_HASH: LazyLock<String> = LazyLock::new(|| {
    Password::parse("no account has this password")
        .map(|p| p.hash())
        .unwrap_or_default()
});

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    if visitor.session.data.account.is_some() {
        return visitor.finish(&state, see("/account")).await;
    }
    let page = form(&mut visitor, "", None);
    visitor.finish(&state, page).await
}

fn form(visitor: &mut Visitor, email: &str, error: Option<&str>) -> Response {
    let t = visitor.t();
    let main = format!(
        r#"<form method="post" action="/login">
{error}{email}{password}
<button>{submit}</button>
</form>"#,
        error = form_error(error),
        email = field("email", t.email, "email", email, "username", None),
        password = field(
            "password",
            t.password,
            "password",
            "",
            "current-password",
            None
        ),
        submit = t.log_in,
    );
    visitor.page("/login", t.login_title, None, &main, error.is_some())
}

pub async fn submit(
    State(state): State<AppState>,
    _: ThisSite,
    mut visitor: Visitor,
    Form(input): Form<LoginForm>,
) -> Response {
    let t = visitor.t();
    let account = match Email::parse(&input.email) {
        Ok(email) => match Accounts(state.db.clone()).by_email(&email).await {
            Ok(account) => account,
            Err(error) => return internal(&error),
        },
        Err(_) => None,
    };
    let password = input.password;
    let hash = account
        .as_ref()
        .map_or_else(|| NO_ACCOUNT_HASH.clone(), |a| a.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || password_matches(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(account) = account.filter(|_| matches) else {
        let page = form(&mut visitor, &input.email, Some(t.error_login));
        return visitor.finish(&state, page).await;
    };
    if !account.phone_verified {
        // No second factor yet: signed in to verify the number first.
        return sign_in(state, visitor, account.id, false, "/verify-phone").await;
    }
    visitor.session.data.pending_login = Some(PendingLogin {
        account: account.id,
        started_at: state.now(),
    });
    visitor.finish(&state, see("/login/second-factor")).await
}

/// The account whose password was just accepted; else the login form (again).
async fn pending_account(state: &AppState, visitor: &mut Visitor) -> Result<Account, Response> {
    let Some(pending) = visitor.session.data.pending_login.clone() else {
        return Err(see("/login"));
    };
    let account = if state.now() < pending.started_at + LOGIN_STEP_SECS {
        Accounts(state.db.clone())
            .by_id(pending.account)
            .await
            .map_err(|e| internal(&e))?
    } else {
        None
    };
    account.ok_or_else(|| {
        visitor.session.data.pending_login = None;
        let t = visitor.t();
        form(visitor, "", Some(t.error_login_expired))
    })
}

pub async fn factor_page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    let page = match pending_account(&state, &mut visitor).await {
        Ok(account) => factor_form(&state, &mut visitor, &account, None).await,
        Err(elsewhere) => elsewhere,
    };
    visitor.finish(&state, page).await
}

async fn factor_form(
    state: &AppState,
    visitor: &mut Visitor,
    account: &Account,
    error: Option<&str>,
) -> Response {
    let t = visitor.t();
    let path = ("/login", t.second_factor_title);
    let session = match visitor.session_for(state, account, ACTION, path).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let form = WidgetForm {
        action: ACTION,
        post_to: "/login/second-factor",
        return_path: "/login/return",
        session: Some(&session),
        channel: None,
        submit: t.log_in,
    };
    let main = format!(
        "<p>{}</p>\n{}",
        t.second_factor_lead,
        visitor.widget_form(state, &form, error)
    );
    visitor.page(
        path.0,
        path.1,
        Some(&state.config.widget_url),
        &main,
        error.is_some(),
    )
}

pub async fn factor_submit(
    State(state): State<AppState>,
    _: ThisSite,
    visitor: Visitor,
    Form(input): Form<TokenForm>,
) -> Response {
    second_factor(state, visitor, Ok(input.token)).await
}

pub async fn factor_returned(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(back): Query<Returned>,
) -> Response {
    let token = back.token(&visitor.session.data.nonce).map(str::to_owned);
    second_factor(state, visitor, token).await
}

async fn second_factor(
    state: AppState,
    mut visitor: Visitor,
    token: Result<String, Refusal>,
) -> Response {
    let t = visitor.t();
    let account = match pending_account(&state, &mut visitor).await {
        Ok(account) => account,
        Err(page) => return visitor.finish(&state, page).await,
    };
    match check(&state, &visitor, &account, token).await {
        Ok(()) => sign_in(state, visitor, account.id, true, "/account").await,
        Err(refusal) => {
            tracing::info!(account = account.id, ?refusal, "second factor refused");
            let page = factor_form(
                &state,
                &mut visitor,
                &account,
                Some(pages::refusal_message(t, refusal)),
            )
            .await;
            visitor.finish(&state, page).await
        }
    }
}

/// Every check of the second factor, in the order that gives the clearest message.
async fn check(
    state: &AppState,
    visitor: &Visitor,
    account: &Account,
    token: Result<String, Refusal>,
) -> Result<(), Refusal> {
    let token = token?;
    let now = state.now();
    let claims = state
        .phone_verify
        .verify_offline(
            &token,
            &state.config.public_url,
            ACTION,
            &account.phone,
            MAX_AGE_SECS,
            now,
        )
        .await?;
    let jti = claims.jti.clone();
    let seen = state
        .db
        .call(move |conn| {
            conn.query_row(
                "SELECT count(*) FROM used_tokens WHERE jti = ?1",
                params![jti],
                |row| row.get::<_, i64>(0),
            )
        })
        .await
        .map_err(|_| Refusal::Unavailable)?;
    if seen > 0 {
        return Err(Refusal::Replayed);
    }
    if claims.nonce.as_deref() != Some(visitor.session.data.nonce.as_str()) {
        return Err(Refusal::OtherSession);
    }
    // A session made for another account (of the same number, say).
    if claims.reference.as_deref() != Some(account_ref(account).as_str()) {
        return Err(Refusal::Invalid);
    }
    // Kept until the token could no longer pass the checks above anyway.
    let (jti, keep_until) = (claims.jti, claims.exp + 60);
    let first_use = state
        .db
        .call(move |conn| {
            conn.execute("DELETE FROM used_tokens WHERE expires_at < ?1", params![now])?;
            conn.execute(
                "INSERT INTO used_tokens (jti, expires_at) VALUES (?1, ?2) ON CONFLICT (jti) DO NOTHING",
                params![jti, keep_until],
            )
        })
        .await
        .map_err(|_| Refusal::Unavailable)?;
    if first_use == 1 {
        Ok(())
    } else {
        Err(Refusal::Replayed)
    }
}

/// A new session id for the signed-in visitor, then on to `next`; `factor`: the
/// account's number was proven just now.
async fn sign_in(
    state: AppState,
    mut visitor: Visitor,
    account: i64,
    factor: bool,
    next: &str,
) -> Response {
    if let Err(error) = visitor.session.renew(&state.db).await {
        return internal(&error);
    }
    visitor.session.data.pending_login = None;
    visitor.session.data.account = Some(account);
    visitor.session.data.factor_at = factor.then(|| state.now());
    tracing::info!(account, "signed in");
    visitor.finish(&state, see(next)).await
}
