use leptos::prelude::*;

use super::field_error::FieldError;
use super::resend_countdown::ResendCountdown;
use super::verify_widget::FlowActions;
use crate::verify::{Channel, VerifyError};

/// Step 2: type the code that went to `to`.
#[component]
pub fn CodeStep(
    to: String,
    channel: Channel,
    code_length: u8,
    resend_in: u32,
    expires_in: u32,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
    dev_outbox: bool,
) -> impl IntoView {
    let checking = actions.check.pending();
    let resending = actions.resend.pending();
    let (before, after) = match channel {
        Channel::Sms => (
            format!("We texted a {code_length}-digit code to "),
            ".".to_owned(),
        ),
        Channel::Voice => (
            "We're calling ".to_owned(),
            format!(" now. A voice will read out your {code_length}-digit code."),
        ),
    };
    let expiry = match expires_in {
        0 => "This code has expired; send a new one.".to_owned(),
        secs => format!("The code works for {} minutes.", secs.div_ceil(60)),
    };
    view! {
        <div class="pv-step pv-code-step">
            <h2 class="pv-title">"Enter the code"</h2>
            <p class="pv-lead">
                {before}
                <strong class="pv-number" dir="ltr" data-testid="sent-to">{to}</strong>
                {after}
            </p>
            <ActionForm action=actions.check attr:class="pv-code-form">
                <label class="pv-label" for="pv-code">"Code"</label>
                <input
                    id="pv-code"
                    class="pv-input pv-code-input"
                    name="code"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    dir="ltr"
                    required
                    maxlength=usize::from(code_length) * 2 + 2
                    aria-describedby="pv-code-hint pv-code-error"
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                />
                <p id="pv-code-hint" class="pv-hint">{expiry}</p>
                <FieldError id="pv-code-error" error/>
                <button type="submit" class="pv-button" disabled=move || checking.get()>"Verify"</button>
            </ActionForm>
            <div class="pv-secondary">
                <ActionForm action=actions.resend attr:class="pv-inline-form">
                    <ResendCountdown seconds=resend_in busy=resending/>
                </ActionForm>
                <ActionForm action=actions.restart attr:class="pv-inline-form">
                    <button type="submit" class="pv-link">"Change number"</button>
                </ActionForm>
            </div>
            {dev_outbox.then(|| view! {
                <p class="pv-dev-note">
                    "Development mode: codes go to the "
                    <a href="/dev/outbox" target="_blank">"dev outbox"</a>
                    ", not to a phone."
                </p>
            })}
        </div>
    }
}
