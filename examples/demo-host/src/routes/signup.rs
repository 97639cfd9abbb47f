//! The classic tutorial's order: create the account with an unverified number, then
//! verify it on the next page. The number is this backend's, so it creates the
//! widget's session for it (`POST /api/v1/sessions`): the widget shows it masked and
//! sends the code to it and to no other; its resend is the widget's own.
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Returned, ThisSite, TokenForm, Visitor, WidgetForm, confirm_by_text, internal, see};
use crate::accounts::{Account, Accounts, E164, Email, InputError, NewAccount, Password};
use crate::pages::{self, field, form_error};
use crate::phone_verify::Refusal;
use crate::session::Notice;
use crate::state::AppState;

const ACTION: &str = "verify_phone";

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    phone: String,
}

pub async fn page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    if visitor.session.data.account.is_some() {
        return visitor.finish(&state, see("/account")).await;
    }
    let page = form(&mut visitor, "", "", None);
    visitor.finish(&state, page).await
}

fn form(visitor: &mut Visitor, email: &str, phone: &str, error: Option<&str>) -> Response {
    let t = visitor.t();
    let main = format!(
        r#"<p>{lead}</p>
<form method="post" action="/signup">
{error}{credentials}{phone}
<button>{submit}</button>
</form>"#,
        lead = t.signup_lead,
        error = form_error(error),
        credentials = pages::new_credentials(t, email),
        phone = field("phone", t.phone, "tel", phone, "tel", Some(t.phone_hint)),
        submit = t.create_account,
    );
    visitor.page("/signup", t.signup_title, None, &main, error.is_some())
}

pub async fn submit(
    State(state): State<AppState>,
    _: ThisSite,
    mut visitor: Visitor,
    Form(input): Form<SignupForm>,
) -> Response {
    let t = visitor.t();
    let parsed = Email::parse(&input.email).and_then(|email| {
        Ok((
            email,
            Password::parse(&input.password)?,
            E164::parse(&input.phone)?,
        ))
    });
    let (email, password, phone) = match parsed {
        Ok(valid) => valid,
        Err(error) => {
            let page = form(
                &mut visitor,
                &input.email,
                &input.phone,
                Some(pages::input_message(t, error)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    let new = NewAccount {
        email,
        password_hash: password.hash(),
        phone: phone.as_str().to_owned(),
        verified_at: None,
    };
    let id = match Accounts(state.db.clone()).create(new, state.now()).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            let message = pages::input_message(t, InputError::EmailTaken);
            let page = form(&mut visitor, &input.email, &input.phone, Some(message));
            return visitor.finish(&state, page).await;
        }
        Err(error) => return internal(&error),
    };
    if let Err(error) = visitor.session.renew(&state.db).await {
        return internal(&error);
    }
    visitor.session.data.account = Some(id);
    visitor.notice(Notice::Created);
    visitor.finish(&state, see("/verify-phone")).await
}

/// The signed-in account whose number is not verified yet; else where to go.
async fn unverified_account(state: &AppState, visitor: &Visitor) -> Result<Account, Response> {
    match visitor.account(state).await? {
        None => Err(see("/login")),
        Some(account) if account.phone_verified => Err(see("/account")),
        Some(account) => Ok(account),
    }
}

pub async fn verify_page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    let account = match unverified_account(&state, &visitor).await {
        Ok(account) => account,
        Err(elsewhere) => return visitor.finish(&state, elsewhere).await,
    };
    let page = verify_form(&state, &mut visitor, &account, None).await;
    visitor.finish(&state, page).await
}

/// The widget for the account's number, in a session this backend creates for it.
async fn verify_form(
    state: &AppState,
    visitor: &mut Visitor,
    account: &Account,
    error: Option<&str>,
) -> Response {
    let t = visitor.t();
    let path = ("/verify-phone", t.verify_title);
    let session = match visitor.session_for(state, account, ACTION, path).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let form = WidgetForm {
        action: ACTION,
        post_to: "/verify-phone",
        return_path: "/verify-phone/return",
        session: Some(&session),
        channel: None,
        submit: t.verify_submit,
    };
    let main = format!(
        r#"<p>{} <strong dir="ltr">{}</strong></p>
{}"#,
        t.verify_lead,
        pages::escape(&account.masked_phone()),
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

pub async fn verify_submit(
    State(state): State<AppState>,
    _: ThisSite,
    visitor: Visitor,
    Form(input): Form<TokenForm>,
) -> Response {
    accept(state, visitor, Ok(input.token)).await
}

pub async fn verify_returned(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(back): Query<Returned>,
) -> Response {
    let token = back.token(&visitor.session.data.nonce).map(str::to_owned);
    accept(state, visitor, token).await
}

/// Marks the account's number verified if `token` proves it, and has phone-verify
/// text a confirmation.
async fn accept(state: AppState, mut visitor: Visitor, token: Result<String, Refusal>) -> Response {
    let t = visitor.t();
    let account = match unverified_account(&state, &visitor).await {
        Ok(account) => account,
        Err(elsewhere) => return visitor.finish(&state, elsewhere).await,
    };
    let nonce = visitor.session.data.nonce.clone();
    let checked = match token {
        Ok(token) => state.phone_verify.siteverify(&token, ACTION, &nonce).await,
        Err(refusal) => Err(refusal),
    };
    let answer = match checked {
        Ok(answer) if answer.phone_number == account.phone => answer,
        refused => {
            let refusal = refused.err().unwrap_or(Refusal::OtherNumber);
            let page = verify_form(
                &state,
                &mut visitor,
                &account,
                Some(pages::refusal_message(t, refusal)),
            )
            .await;
            return visitor.finish(&state, page).await;
        }
    };
    let accounts = Accounts(state.db.clone());
    if let Err(error) = accounts
        .set_verified_phone(account.id, answer.phone_number, state.now())
        .await
    {
        return internal(&error);
    }
    visitor.session.data.factor_at = Some(state.now());
    visitor.notice(Notice::Verified);
    visitor.notice(confirm_by_text(&state, &answer.vid, t.sms_number_verified).await);
    visitor.finish(&state, see("/account")).await
}
