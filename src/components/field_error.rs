use leptos::prelude::*;

use crate::verify::VerifyError;

/// The error under a form, referenced by its field's `aria-describedby`.
#[component]
pub fn FieldError(id: &'static str, error: RwSignal<Option<VerifyError>>) -> impl IntoView {
    view! {
        <p id=id class="pv-error" role="alert" data-testid="error">
            {move || error.get().map(|e| e.message())}
        </p>
    }
}
