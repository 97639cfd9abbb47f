use leptos::prelude::*;

use super::context::FlowActions;
use super::context::texts;
use super::country_picker::CountrySelect;
use super::field_error::FieldError;
use super::phone_input::PhoneInput;
use crate::verify::{Channel, CountryOption, VerifyError};

/// Step 1: the country, the number, and how to send the code; or, when the host's
/// backend chose the number (`locked`, masked), only how to send the code.
#[component]
pub fn PhoneStep(
    phone: String,
    country: String,
    channel: Channel,
    locked: Option<String>,
    countries: RwSignal<Vec<CountryOption>>,
    error: RwSignal<Option<VerifyError>>,
    actions: FlowActions,
) -> impl IntoView {
    let t = texts();
    let pending = actions.start.pending();
    let country = RwSignal::new(country);
    // The server renders the plain select; once the widget is interactive, the
    // searchable picker takes its place, and follows the country a number names.
    #[cfg(feature = "hydrate")]
    if locked.is_none() {
        use super::country_picker::enhance::{Picker, listed};
        // The browser's copy of the list: read off the select the server rendered
        // (hydrating this step), or, when this step is built in the browser with no
        // copy yet (the page came on another step), asked of the server.
        if countries.with_untracked(Vec::is_empty) {
            match listed() {
                Some(list) => countries.set(list),
                None => leptos::task::spawn_local(async move {
                    if let Ok(flow) = crate::api::current_flow().await {
                        countries.try_set(flow.countries);
                    }
                }),
            }
        }
        let picker = StoredValue::new_local(None::<Picker>);
        Effect::new(move |_| {
            let list = countries.get();
            if list.is_empty() {
                return;
            }
            let on_pick = move |iso: String| {
                country.set(iso);
                super::context::focus("pv-phone");
            };
            // The old picker goes first: dropping it shows the select again.
            picker.set_value(None);
            let current = country.get_untracked();
            picker.set_value(Picker::new(list, &current, t, on_pick));
        });
        Effect::new(move |_| {
            let iso = country.get();
            picker.with_value(|p| {
                if let Some(p) = p {
                    p.show(&iso);
                }
            });
        });
        on_cleanup(move || picker.set_value(None));
    }
    // The server renders the options from its own copy (see `CountrySelect`).
    #[cfg(not(feature = "hydrate"))]
    let _ = countries;
    view! {
        <ActionForm action=actions.start attr:class="pv-step pv-phone-step">
            <h2 class="pv-title">{t.phone_title}</h2>
            <label class="pv-label" for="pv-phone">{t.phone_label}</label>
            <p id="pv-phone-hint" class="pv-hint">
                {if locked.is_some() { t.locked_lead } else { t.phone_hint }}
            </p>
            // Numbers read left to right in every language. A number the host chose
            // is shown masked in a read-only field, without the country picker (the
            // same elements as ever: a second layout would cost the bundle 2 KB).
            <div class=if locked.is_some() { "pv-phone-row pv-locked" } else { "pv-phone-row" } dir="ltr">
                <CountrySelect selected=country/>
                <PhoneInput value=locked.clone().unwrap_or(phone) readonly=locked.is_some() country error/>
            </div>
            <fieldset class="pv-channels">
                <legend class="pv-label">{t.send_by}</legend>
                <label class="pv-choice">
                    <input type="radio" name="channel" value="sms" checked=channel == Channel::Sms/>
                    " "
                    {t.text_me}
                </label>
                <label class="pv-choice">
                    <input type="radio" name="channel" value="voice" checked=channel == Channel::Voice/>
                    " "
                    {t.call_me}
                </label>
            </fieldset>
            <FieldError id="pv-phone-error" error/>
            <button type="submit" class="pv-button" disabled=move || pending.get()>
                {t.send_code}
            </button>
        </ActionForm>
    }
}
