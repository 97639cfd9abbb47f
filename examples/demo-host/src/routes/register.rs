//! Sign-up in one form: email, password and the widget. The account is created only
//! once `siteverify` has confirmed a token for its number, made on this site for
//! `signup` in this visitor's session; then phone-verify texts the number "your
//! account has been created". Without JavaScript the form takes the number itself
//! and the visitor verifies it on the hosted page, coming back to `/register/return`.
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Returned, ThisSite, Visitor, confirm_by_text, internal, see};
use crate::accounts::{Accounts, E164, Email, InputError, NewAccount, Password};
use crate::pages::{self, Widget, field, form_error};
use crate::phone_verify::{Hosted, Refusal};
use crate::session::{Notice, PendingSignup, VerifiedNumber};
use crate::state::AppState;

const ACTION: &str = "signup";
/// How long a number verified on this form stays good for the account: as long as
/// phone-verify sends a confirmation for it.
const VERIFIED_FOR_SECS: u64 = 600;

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// Only without JavaScript (the field is in `<noscript>`).
    phone: Option<String>,
    #[serde(default, rename = "phone-verify-token")]
    token: String,
}

pub async fn page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    if visitor.session.data.account.is_some() {
        return visitor.finish(&state, see("/account")).await;
    }
    let page = form(&state, &mut visitor, "", None);
    visitor.finish(&state, page).await
}

fn form(state: &AppState, visitor: &mut Visitor, email: &str, error: Option<&str>) -> Response {
    let t = visitor.t();
    let now = state.now();
    let verified = visitor
        .session
        .data
        .signup_phone
        .as_ref()
        .filter(|v| now < v.at + VERIFIED_FOR_SECS)
        .map(|v| v.e164.clone());
    let phone = match &verified {
        Some(e164) => format!(
            r#"<p class="field" data-testid="verified-number">{} <strong dir="ltr">{}</strong></p>"#,
            t.number_verified,
            pages::escape(e164)
        ),
        None => format!(
            "{}\n<noscript><p>{}</p>{}</noscript>",
            Widget {
                sitekey: state.phone_verify.sitekey(),
                action: ACTION,
                nonce: &visitor.session.data.nonce,
                lang: visitor.lang,
                session: None,
                channel: None,
            }
            .render(),
            t.register_no_js,
            field("phone", t.phone, "tel", "", "tel", Some(t.phone_hint)),
        ),
    };
    let main = format!(
        r#"<p>{lead}</p>
<form method="post" action="/register">
{error}{credentials}{phone}
<button>{submit}</button>
</form>"#,
        lead = t.register_lead,
        error = form_error(error),
        credentials = pages::new_credentials(t, email),
        submit = t.create_account,
    );
    let widget = verified
        .is_none()
        .then_some(state.config.widget_url.as_str());
    visitor.page(
        "/register",
        t.register_title,
        widget,
        &main,
        error.is_some(),
    )
}

pub async fn submit(
    State(state): State<AppState>,
    _: ThisSite,
    mut visitor: Visitor,
    Form(input): Form<RegisterForm>,
) -> Response {
    let t = visitor.t();
    let now = state.now();
    // The number first: once confirmed it is kept, whatever else is wrong.
    if !input.token.is_empty() {
        match state
            .phone_verify
            .siteverify(&input.token, ACTION, &visitor.session.data.nonce)
            .await
        {
            Ok(answer) => {
                visitor.session.data.signup_phone = Some(VerifiedNumber {
                    e164: answer.phone_number,
                    vid: answer.vid,
                    at: now,
                });
            }
            Err(refusal) => {
                let page = form(
                    &state,
                    &mut visitor,
                    &input.email,
                    Some(pages::refusal_message(t, refusal)),
                );
                return visitor.finish(&state, page).await;
            }
        }
    }
    let accounts = Accounts(state.db.clone());
    let parsed = match (Email::parse(&input.email), Password::parse(&input.password)) {
        (Ok(email), Ok(password)) => match accounts.email_taken(&email).await {
            Ok(true) => Err(InputError::EmailTaken),
            Ok(false) => Ok((email, password)),
            Err(error) => return internal(&error),
        },
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let (email, password) = match parsed {
        Ok(valid) => valid,
        Err(error) => {
            let page = form(
                &state,
                &mut visitor,
                &input.email,
                Some(pages::input_message(t, error)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    let verified = visitor
        .session
        .data
        .signup_phone
        .clone()
        .filter(|v| now < v.at + VERIFIED_FOR_SECS);
    let Some(verified) = verified else {
        // No token: a browser without JavaScript, which sent the number itself.
        let Some(phone) = input.phone.as_deref() else {
            let page = form(
                &state,
                &mut visitor,
                &input.email,
                Some(t.error_missing_token),
            );
            return visitor.finish(&state, page).await;
        };
        return to_hosted_page(state, visitor, email, password, phone).await;
    };
    let new = NewAccount {
        email,
        password_hash: password.hash(),
        phone: verified.e164,
        verified_at: Some(verified.at),
    };
    create(state, visitor, new, &verified.vid, &input.email).await
}

/// Keeps the sign-up aside and sends the visitor to verify `phone` on the hosted
/// page, in a session this backend creates for that number.
async fn to_hosted_page(
    state: AppState,
    mut visitor: Visitor,
    email: Email,
    password: Password,
    phone: &str,
) -> Response {
    let t = visitor.t();
    let phone = match E164::parse(phone) {
        Ok(phone) => phone,
        Err(error) => {
            let page = form(
                &state,
                &mut visitor,
                email.as_str(),
                Some(pages::input_message(t, error)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    let session = match state
        .phone_verify
        .create_session(phone.as_str(), "signup", ACTION)
        .await
    {
        Ok(session) => session,
        Err(refusal) => {
            let page = form(
                &state,
                &mut visitor,
                email.as_str(),
                Some(pages::refusal_message(t, refusal)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    visitor.session.data.pending_signup = Some(PendingSignup {
        email: email.as_str().to_owned(),
        password_hash: password.hash(),
        phone: phone.as_str().to_owned(),
    });
    let return_url = format!("{}/register/return", state.config.public_url);
    let url = state.phone_verify.hosted_url(&Hosted {
        return_url: &return_url,
        state: &visitor.session.data.nonce,
        action: ACTION,
        lang: visitor.lang.code(),
        session: Some(&session),
        channel: None,
    });
    visitor.finish(&state, see(&url)).await
}

/// Back from the hosted page: the token must be for the number kept aside.
pub async fn returned(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Query(back): Query<Returned>,
) -> Response {
    let t = visitor.t();
    let Some(pending) = visitor.session.data.pending_signup.clone() else {
        return visitor.finish(&state, see("/register")).await;
    };
    let nonce = visitor.session.data.nonce.clone();
    let checked = match back.token(&nonce) {
        Ok(token) => state.phone_verify.siteverify(token, ACTION, &nonce).await,
        Err(refusal) => Err(refusal),
    };
    let answer = match checked {
        Ok(answer) if answer.phone_number == pending.phone => answer,
        refused => {
            let refusal = refused.err().unwrap_or(Refusal::OtherNumber);
            let page = form(
                &state,
                &mut visitor,
                &pending.email,
                Some(pages::refusal_message(t, refusal)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    let Ok(email) = Email::parse(&pending.email) else {
        return visitor.finish(&state, see("/register")).await;
    };
    visitor.session.data.pending_signup = None;
    // Kept like a number verified on the form: if the email was taken meanwhile, the
    // visitor picks another without verifying again.
    visitor.session.data.signup_phone = Some(VerifiedNumber {
        e164: answer.phone_number.clone(),
        vid: answer.vid.clone(),
        at: state.now(),
    });
    let new = NewAccount {
        email,
        password_hash: pending.password_hash,
        phone: answer.phone_number,
        verified_at: Some(state.now()),
    };
    create(state, visitor, new, &answer.vid, &pending.email).await
}

/// Creates the account, signs the visitor in, and has the confirmation texted.
async fn create(
    state: AppState,
    mut visitor: Visitor,
    new: NewAccount,
    vid: &str,
    typed_email: &str,
) -> Response {
    let t = visitor.t();
    let id = match Accounts(state.db.clone()).create(new, state.now()).await {
        Ok(Some(id)) => id,
        // Taken between the check and now: the number stays verified in the session.
        Ok(None) => {
            let page = form(&state, &mut visitor, typed_email, Some(t.error_email_taken));
            return visitor.finish(&state, page).await;
        }
        Err(error) => return internal(&error),
    };
    tracing::info!(account = id, "account created with a verified number");
    if let Err(error) = visitor.session.renew(&state.db).await {
        return internal(&error);
    }
    visitor.session.data.account = Some(id);
    visitor.session.data.factor_at = Some(state.now());
    visitor.session.data.signup_phone = None;
    visitor.notice(Notice::Created);
    visitor.notice(confirm_by_text(&state, vid, t.sms_account_created).await);
    visitor.finish(&state, see("/account")).await
}
