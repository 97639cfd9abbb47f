use leptos::prelude::*;

use super::context::texts;
use crate::verify::VerifyError;

/// The error under a form, referenced by its field's `aria-describedby`, and
/// announced by screen readers as it appears.
#[component]
pub fn FieldError(id: &'static str, error: RwSignal<Option<VerifyError>>) -> impl IntoView {
    let t = texts();
    view! {
        <p id=id class="pv-error" role="alert" data-testid="error">
            {move || error.get().map(|e| (t.error)(&e))}
        </p>
    }
}
