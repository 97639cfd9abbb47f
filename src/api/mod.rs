//! The server functions the widget calls, at fixed URLs so that host pages, tests and
//! proxies can rely on them. All take `application/x-www-form-urlencoded` bodies
//! (so plain HTML forms work without JavaScript) and answer JSON.
//!
//! | URL | fields | answer |
//! |---|---|---|
//! | `POST /api/verify/state` | | [`Flow`] |
//! | `POST /api/verify/start` | `phone`, `country` (ISO code, for numbers without `+`), `channel` (`sms`/`voice`) | [`Step`] |
//! | `POST /api/verify/check` | `code` | [`Step`] |
//! | `POST /api/verify/resend` | `channel` (optional: switch to `voice`) | [`Step`] |
//! | `POST /api/verify/format` | `phone`, `country` | [`FormattedPhone`] |
//! | `POST /api/verify/restart` | | [`Step`] |
//!
//! Errors are a JSON [`VerifyError`] with a 4xx status for anything the visitor can
//! fix, 503 when the provider is down. A form posted without JavaScript is answered
//! with a redirect back to the page, which then shows the error.
use leptos::prelude::*;

mod answers;

pub use answers::{Flow, FormattedPhone};

use crate::verify::{Channel, Step, VerifyError};

#[cfg(feature = "ssr")]
use crate::server::{countries, request::ServerCall, verification::StartInput};

/// The step the session is on, plus a pending error from a no-JavaScript form post.
#[server(endpoint = "verify/state")]
pub async fn current_flow() -> Result<Flow, VerifyError> {
    read_flow(true).await
}

/// What the widget's page is rendered from: [`current_flow`] without the country
/// list, which the page carries once, as the select's options (serialising it for
/// hydration too was half the page, and a third of the no-JS path's server CPU).
pub async fn page_flow() -> Result<Flow, VerifyError> {
    #[cfg(feature = "ssr")]
    return read_flow(false).await;
    #[cfg(not(feature = "ssr"))]
    current_flow().await
}

#[cfg(feature = "ssr")]
async fn read_flow(with_countries: bool) -> Result<Flow, VerifyError> {
    let call = ServerCall::from_context().await?;
    let result = call
        .verifier()
        .current(call.session(), &call.caller, call.now())
        .await
        .map(|current| Flow {
            step: current.step,
            error: current.error,
            dev_outbox: call.state().outbox.is_some(),
            lang: current.lang,
            countries: match with_countries {
                true => countries::options(current.lang).to_vec(),
                false => Vec::new(),
            },
        });
    let result = match result {
        Ok(flow) => Ok(Flow {
            step: call.with_token(flow.step).await,
            ..flow
        }),
        Err(error) => Err(error),
    };
    call.finish(result).await
}

/// Sends a code to `phone` by `channel`.
#[server(endpoint = "verify/start")]
pub async fn start_verification(
    #[server(default)] phone: String,
    #[server(default)] country: String,
    #[server(default)] channel: Channel,
) -> Result<Step, VerifyError> {
    let call = ServerCall::from_context().await?;
    let input = StartInput {
        phone: &phone,
        country: &country,
        channel,
    };
    let result = call
        .verifier()
        .start(call.session(), &call.caller, call.now(), input)
        .await;
    call.finish(result).await
}

/// Checks and formats a number as it is typed, with the same rules `start` applies,
/// so the browser needs no phone-number metadata of its own. Sends nothing.
#[server(endpoint = "verify/format")]
pub async fn format_phone(
    #[server(default)] phone: String,
    #[server(default)] country: String,
) -> Result<FormattedPhone, VerifyError> {
    Ok(crate::server::verification::format_phone(&phone, &country))
}

/// Checks the code the visitor typed.
#[server(endpoint = "verify/check")]
pub async fn check_code(#[server(default)] code: String) -> Result<Step, VerifyError> {
    let call = ServerCall::from_context().await?;
    let result = call
        .verifier()
        .check(call.session(), &call.caller, call.now(), &code)
        .await;
    let result = match result {
        Ok(step) => Ok(call.with_token(step).await),
        Err(error) => Err(error),
    };
    call.finish_step(result).await
}

/// Sends a new code to the same number, once the resend countdown is over; by
/// `channel` when given ("call me instead").
#[server(endpoint = "verify/resend")]
pub async fn resend_code(#[server(default)] channel: Option<Channel>) -> Result<Step, VerifyError> {
    let call = ServerCall::from_context().await?;
    let result = call
        .verifier()
        .resend(call.session(), &call.caller, call.now(), channel)
        .await;
    call.finish(result).await
}

/// Goes back to the phone step, keeping the number for editing.
#[server(endpoint = "verify/restart")]
pub async fn restart_verification() -> Result<Step, VerifyError> {
    let call = ServerCall::from_context().await?;
    let result = call
        .verifier()
        .restart(call.session(), &call.caller, call.now())
        .await;
    call.finish(result).await
}
