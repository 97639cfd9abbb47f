use leptos::prelude::*;

use super::context::FlowActions;
use super::context::texts;

/// Step 3: done.
#[component]
pub fn SuccessStep(phone: String, actions: FlowActions) -> impl IntoView {
    let t = texts();
    view! {
        <div class="pv-step pv-success-step" role="status">
            <p class="pv-success-mark" aria-hidden="true">"✓"</p>
            <h2 class="pv-title" id="pv-success-title" tabindex="-1">{t.verified_title}</h2>
            <p class="pv-lead">
                <strong class="pv-number" dir="ltr">{phone}</strong>
                {t.verified_lead}
            </p>
            <ActionForm action=actions.restart attr:class="pv-inline-form">
                <button type="submit" class="pv-link">{t.verify_another}</button>
            </ActionForm>
        </div>
    }
}
