//! The widget and its steps. Components hold signals and forms only; every request
//! goes through the server functions in [`crate::api`].

mod code_step;
mod field_error;
mod phone_step;
mod resend_countdown;
mod success_step;
mod verify_widget;

pub use resend_countdown::{ResendCountdown, countdown_label};
pub use verify_widget::{FlowActions, StepView, VerifyWidget};
