//! The account page: the number and whether it is verified, and a new number
//! verified by a voice call (the widget starts on "call me", so a landline works).
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Returned, ThisSite, TokenForm, Visitor, WidgetForm, internal, see};
use crate::accounts::{Account, Accounts};
use crate::pages;
use crate::phone_verify::Refusal;
use crate::session::Notice;
use crate::state::AppState;

const ACTION: &str = "profile";
const CHANNEL: &str = "voice";

pub async fn page(State(state): State<AppState>, mut visitor: Visitor) -> Response {
    let page = match visitor.account(&state).await {
        Ok(Some(account)) if account.phone_verified => render(&state, &mut visitor, &account, None),
        // An account is used only once its number is verified.
        Ok(Some(_)) => see("/verify-phone"),
        Ok(None) => see("/login"),
        Err(response) => return response,
    };
    visitor.finish(&state, page).await
}

fn when(unix: u64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    i64::try_from(unix)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.format(format).ok())
        .unwrap_or_default()
}

fn render(
    state: &AppState,
    visitor: &mut Visitor,
    account: &Account,
    error: Option<&str>,
) -> Response {
    let t = visitor.t();
    let verified_at = account
        .verified_at
        .map(|at| format!("<dt>{}</dt><dd>{}</dd>", t.verified_at, when(at)))
        .unwrap_or_default();
    // Whoever holds the session may not move the account to their own number: the
    // current number must have been proven in the last minutes.
    let recent = visitor.session.data.factor_is_recent(state.now());
    let change = if recent {
        let form = WidgetForm {
            action: ACTION,
            post_to: "/account/phone",
            return_path: "/account/return",
            session: None,
            channel: Some(CHANNEL),
            submit: t.change_submit,
        };
        format!(
            "<p>{}</p>\n{}",
            t.change_lead,
            visitor.widget_form(state, &form, error)
        )
    } else {
        format!(
            r#"<p data-testid="change-needs-factor">{}</p>"#,
            t.change_needs_factor
        )
    };
    let main = format!(
        r#"<dl>
<dt>{email_label}</dt><dd>{email}</dd>
<dt>{phone_label}</dt><dd><span dir="ltr">{phone}</span> <span class="flag" data-testid="phone-state" data-state="verified">({flag})</span></dd>
<dt>{created_label}</dt><dd>{created}</dd>
{verified_at}
</dl>
<h2>{change_title}</h2>
{change}"#,
        email_label = t.email,
        email = pages::escape(&account.email),
        phone_label = t.phone,
        phone = pages::escape(&account.phone),
        created_label = t.created,
        created = when(account.created_at),
        change_title = t.change_title,
        flag = t.verified_yes,
    );
    visitor.page(
        "/account",
        t.account_title,
        recent.then_some(state.config.widget_url.as_str()),
        &main,
        error.is_some(),
    )
}

pub async fn phone_submit(
    State(state): State<AppState>,
    _: ThisSite,
    visitor: Visitor,
    Form(input): Form<TokenForm>,
) -> Response {
    change(state, visitor, Ok(input.token)).await
}

pub async fn phone_returned(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(back): Query<Returned>,
) -> Response {
    let token = back.token(&visitor.session.data.nonce).map(str::to_owned);
    change(state, visitor, token).await
}

/// Replaces the account's number with the one `token` proves.
async fn change(state: AppState, mut visitor: Visitor, token: Result<String, Refusal>) -> Response {
    let t = visitor.t();
    let account = match visitor.account(&state).await {
        Ok(Some(account)) if account.phone_verified => account,
        Ok(Some(_)) => return visitor.finish(&state, see("/verify-phone")).await,
        Ok(None) => return visitor.finish(&state, see("/login")).await,
        Err(response) => return response,
    };
    if !visitor.session.data.factor_is_recent(state.now()) {
        let page = render(&state, &mut visitor, &account, None);
        return visitor.finish(&state, page).await;
    }
    let nonce = visitor.session.data.nonce.clone();
    let checked = match token {
        Ok(token) => state.phone_verify.siteverify(&token, ACTION, &nonce).await,
        Err(refusal) => Err(refusal),
    };
    let answer = match checked {
        Ok(answer) => answer,
        Err(refusal) => {
            let page = render(
                &state,
                &mut visitor,
                &account,
                Some(pages::refusal_message(t, refusal)),
            );
            return visitor.finish(&state, page).await;
        }
    };
    if let Err(error) = Accounts(state.db.clone())
        .set_verified_phone(account.id, answer.phone_number, state.now())
        .await
    {
        return internal(&error);
    }
    visitor.notice(Notice::Changed);
    visitor.finish(&state, see("/account")).await
}
