use leptos::prelude::*;

use super::context::FlowActions;
use super::context::texts;

/// Step 3: done. `token` is the signed result of an embedded widget.
#[component]
pub fn SuccessStep(phone: String, token: Option<String>, actions: FlowActions) -> impl IntoView {
    let t = texts();
    view! {
        <div class="pv-step pv-success-step" role="status">
            <p class="pv-success-mark" aria-hidden="true">"✓"</p>
            <h2 class="pv-title" id="pv-success-title" tabindex="-1">{t.verified_title}</h2>
            <p class="pv-lead">
                <strong class="pv-number" dir="ltr">{phone}</strong>
                {t.verified_lead}
            </p>
            // An embedded widget's result, which the frame's bridge hands to the host.
            {token.map(|token| view! { <input type="hidden" name="pv-token" value=token/> })}
            <ActionForm action=actions.restart attr:class="pv-inline-form">
                <button type="submit" class="pv-link">{t.verify_another}</button>
            </ActionForm>
        </div>
    }
}
