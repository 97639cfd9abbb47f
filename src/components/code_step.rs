use leptos::prelude::*;

use super::code_input::CodeInput;
use super::context::texts;
use super::context::{Announcer, FlowActions};
use super::countdown::{ResendCountdown, use_countdown};
use super::field_error::FieldError;
use crate::verify::{CodeEntry, VerifyError};

/// Step 2: type the code that went to `entry.phone`. Says how long the code works and how many
/// tries are left, counts down to the resend, and after repeated texts offers a call.
#[component]
pub fn CodeStep(
    entry: CodeEntry,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
    dev_outbox: bool,
) -> impl IntoView {
    let CodeEntry {
        phone,
        channel,
        code_length,
        resend_in,
        expires_in,
        tries_left,
        offer_call,
    } = entry;
    let t = texts();
    let checking = actions.check.pending();
    let resending = actions.resend.pending();
    let (before, after) = (t.code_lead)(channel, code_length);
    let (resend_left, live) = use_countdown(resend_in);
    let (expires_left, _) = use_countdown(expires_in);
    let tries = RwSignal::new(tries_left);
    Effect::new(move |_| {
        if let Some(VerifyError::WrongCode { tries_left }) = error.get() {
            tries.set(tries_left);
        }
    });
    if let Some(announcer) = use_context::<Announcer>() {
        // Entering this step (or a resend) says where the code went; the wait is
        // announced twice more, near its end and at it: often enough to follow, not
        // a voice counting every second.
        let sent = format!("{before}{phone}{after}");
        Effect::new(move |_| announcer.say(sent.clone()));
        Effect::new(move |was: Option<u32>| {
            let now = resend_left.get();
            match (was, now) {
                (Some(was), 0) if was > 0 => announcer.say(t.resend_ready),
                (Some(was), RESEND_SOON) if was > RESEND_SOON => {
                    announcer.say((t.resend_soon)(RESEND_SOON))
                }
                _ => {}
            }
            now
        });
    }
    view! {
        <div class="pv-step pv-code-step">
            <h2 class="pv-title">{t.code_title}</h2>
            <p class="pv-lead" id="pv-code-lead">
                {before}
                <strong class="pv-number" dir="ltr" data-testid="sent-to">{phone}</strong>
                {after}
            </p>
            <ActionForm action=actions.check attr:class="pv-code-form">
                <label class="pv-label" for="pv-code">{t.code_label}</label>
                <CodeInput code_length channel error checking/>
                <p id="pv-code-hint" class="pv-hint" data-testid="code-hint">
                    {move || match expires_left.get() {
                        0 => t.code_expired.to_owned(),
                        secs => format!("{} {}", (t.code_expires_in)(secs), (t.tries_left)(tries.get())),
                    }}
                </p>
                <FieldError id="pv-code-error" error/>
                <button type="submit" class="pv-button" disabled=move || checking.get()>{t.verify}</button>
            </ActionForm>
            <div class="pv-secondary">
                <ActionForm action=actions.resend attr:class="pv-inline-form">
                    <ResendCountdown remaining=resend_left live busy=resending/>
                </ActionForm>
                {offer_call.then(|| view! {
                    <ActionForm action=actions.resend attr:class="pv-inline-form">
                        <input type="hidden" name="channel" value="voice"/>
                        <button
                            type="submit"
                            class="pv-link"
                            data-testid="call-instead"
                            disabled=move || resending.get() || (live.get() && resend_left.get() > 0)
                        >
                            {t.call_instead}
                        </button>
                    </ActionForm>
                })}
                <ActionForm action=actions.restart attr:class="pv-inline-form">
                    <button type="submit" class="pv-link">{t.change_number}</button>
                </ActionForm>
            </div>
            {dev_outbox.then(|| view! {
                <p class="pv-dev-note">
                    {t.dev_note.0}
                    <a href="/dev/outbox" target="_blank">{t.dev_note.1}</a>
                    {t.dev_note.2}
                </p>
            })}
        </div>
    }
}

/// Seconds before the end of the resend wait at which it is announced.
const RESEND_SOON: u32 = 10;
