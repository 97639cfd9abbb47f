use serde::{Deserialize, Serialize};

use super::{Channel, VerifyError};

/// The step a visitor is on, as the server sees it from their session.
///
/// Times are relative seconds, computed by the server when it answers, so that a
/// client clock that is off does not move the countdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Enter a number. `phone` is what the visitor typed last, so nothing is lost.
    EnterPhone { phone: String, channel: Channel },
    /// A code is on its way to `to` (formatted for display).
    EnterCode {
        to: String,
        channel: Channel,
        code_length: u8,
        /// Seconds until the server accepts a resend.
        resend_in: u32,
        /// Seconds until the code stops working.
        expires_in: u32,
    },
    /// `phone` (formatted for display) is verified.
    Verified { phone: String, e164: String },
}

impl Default for Step {
    fn default() -> Self {
        Step::EnterPhone {
            phone: String::new(),
            channel: Channel::Sms,
        }
    }
}

/// What a page load needs: the step, plus the error of a form posted without
/// JavaScript, which the server keeps for one render.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub step: Step,
    pub error: Option<VerifyError>,
    /// Codes go to the development outbox (the built-in local provider), so the
    /// widget can say where to read them.
    pub dev_outbox: bool,
}
