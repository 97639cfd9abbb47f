use leptos::prelude::*;

use super::field_error::FieldError;
use super::verify_widget::FlowActions;
use crate::verify::{Channel, VerifyError};

/// Step 1: the number, and how to send the code.
#[component]
pub fn PhoneStep(
    phone: String,
    channel: Channel,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
) -> impl IntoView {
    let pending = actions.start.pending();
    view! {
        <ActionForm action=actions.start attr:class="pv-step pv-phone-step">
            <h2 class="pv-title">"Verify your phone number"</h2>
            <label class="pv-label" for="pv-phone">"Phone number"</label>
            <p id="pv-phone-hint" class="pv-hint">"Include your country code, for example +44 7700 900123."</p>
            <input
                id="pv-phone"
                class="pv-input"
                name="phone"
                type="tel"
                inputmode="tel"
                autocomplete="tel"
                required
                value=phone
                aria-describedby="pv-phone-hint pv-phone-error"
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
            />
            <fieldset class="pv-channels">
                <legend class="pv-label">"Send the code by"</legend>
                <label class="pv-choice">
                    <input type="radio" name="channel" value="sms" checked=channel == Channel::Sms/>
                    " Text me"
                </label>
                <label class="pv-choice">
                    <input type="radio" name="channel" value="voice" checked=channel == Channel::Voice/>
                    " Call me"
                </label>
            </fieldset>
            <FieldError id="pv-phone-error" error/>
            <button type="submit" class="pv-button" disabled=move || pending.get()>
                "Send code"
            </button>
        </ActionForm>
    }
}
