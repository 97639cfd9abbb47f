//! The widget and its steps. Components hold signals and forms only; every request
//! goes through the server functions in [`crate::api`].

mod code_input;
mod code_step;
mod countdown;
mod country_picker;
mod field_error;
mod language_switch;
mod phone_input;
mod phone_step;
mod success_step;
mod verify_widget;

pub use countdown::{ResendCountdown, use_countdown};
pub use phone_input::caret_after_digits;
pub use verify_widget::{Announcer, FlowActions, StepView, VerifyWidget};

use crate::i18n::{Lang, Texts};

/// The texts of the language the widget was rendered in (English outside a widget).
pub(crate) fn texts() -> &'static Texts {
    leptos::prelude::use_context::<Lang>()
        .unwrap_or_default()
        .texts()
}

/// Moves keyboard focus to the element with `id`, if it is on the page.
pub(crate) fn focus(id: &str) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(element) = leptos::prelude::document().get_element_by_id(id)
        && let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>()
    {
        let _ = element.focus();
    }
}
