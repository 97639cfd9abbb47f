use leptos::prelude::*;

use super::verify_widget::FlowActions;

/// Step 3: done.
#[component]
pub fn SuccessStep(phone: String, actions: FlowActions) -> impl IntoView {
    view! {
        <div class="pv-step pv-success-step" role="status">
            <p class="pv-success-mark" aria-hidden="true">"✓"</p>
            <h2 class="pv-title">"Phone number verified"</h2>
            <p class="pv-lead">
                <strong class="pv-number" dir="ltr">{phone}</strong>
                " is verified."
            </p>
            <ActionForm action=actions.restart attr:class="pv-inline-form">
                <button type="submit" class="pv-link">"Verify another number"</button>
            </ActionForm>
        </div>
    }
}
