//! What the widget hands down to its steps: the server actions behind their forms,
//! the live region, the language's texts, and moving focus.
use leptos::prelude::*;

use crate::api::{CheckCode, ResendCode, RestartVerification, StartVerification};
use crate::i18n::{Lang, Texts};

/// The server actions behind the forms of all steps.
#[derive(Clone, Copy)]
pub struct FlowActions {
    pub start: ServerAction<StartVerification>,
    pub check: ServerAction<CheckCode>,
    pub resend: ServerAction<ResendCode>,
    pub restart: ServerAction<RestartVerification>,
}

impl FlowActions {
    pub fn new() -> Self {
        Self {
            start: ServerAction::new(),
            check: ServerAction::new(),
            resend: ServerAction::new(),
            restart: ServerAction::new(),
        }
    }
}

impl Default for FlowActions {
    fn default() -> Self {
        Self::new()
    }
}

/// What the widget's polite live region says next ("Code sent", "You can send a new
/// code now"). Errors are announced by their own `role="alert"`.
#[derive(Clone, Copy)]
pub struct Announcer(pub RwSignal<String>);

impl Announcer {
    pub fn say(&self, text: impl Into<String>) {
        self.0.set(text.into());
    }
}

/// The texts of the language the widget was rendered in (English outside a widget).
pub(crate) fn texts() -> &'static Texts {
    use_context::<Lang>().unwrap_or_default().texts()
}

/// Moves keyboard focus to the element with `id`, if it is on the page.
pub(crate) fn focus(id: &str) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(element) = document().get_element_by_id(id)
        && let Ok(element) = element.dyn_into::<leptos::web_sys::HtmlElement>()
    {
        let _ = element.focus();
    }
}
