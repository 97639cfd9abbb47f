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
