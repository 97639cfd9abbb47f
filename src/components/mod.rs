//! The widget and its steps. Components hold signals and forms only; every request
//! goes through the server functions in [`crate::api`]. What the steps share is in
//! `context`, so the widget and its steps do not import each other.

mod code_input;
mod code_step;
mod context;
mod countdown;
mod country_picker;
mod field_error;
mod language_switch;
mod phone_input;
mod phone_step;
mod success_step;
mod verify_widget;

pub use context::{Announcer, FlowActions};
pub use countdown::{ResendCountdown, use_countdown};
#[cfg(feature = "ssr")]
pub use country_picker::rendered_options as rendered_country_options;
pub use phone_input::caret_after_digits;
pub use verify_widget::{StepView, VerifyWidget};
