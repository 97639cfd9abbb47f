use serde::{Deserialize, Serialize};

use super::Channel;

/// The step a visitor is on, as the server sees it from their session.
///
/// Times are relative seconds, computed by the server when it answers, so that a
/// client clock that is off does not move the countdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Enter a number. `phone` is what the visitor typed last, so nothing is lost;
    /// `country` is the picker's ISO code (empty when unknown).
    EnterPhone {
        phone: String,
        country: String,
        channel: Channel,
    },
    /// A code is on its way to `to` (formatted for display).
    EnterCode {
        to: String,
        channel: Channel,
        code_length: u8,
        /// Seconds until the server accepts a resend.
        resend_in: u32,
        /// Seconds until the code stops working.
        expires_in: u32,
        /// Wrong codes still allowed for this code.
        tries_left: u32,
        /// Codes went by SMS more than once: offer a call instead.
        offer_call: bool,
    },
    /// `phone` (formatted for display) is verified.
    Verified { phone: String, e164: String },
}

impl Default for Step {
    fn default() -> Self {
        Step::EnterPhone {
            phone: String::new(),
            country: String::new(),
            channel: Channel::Sms,
        }
    }
}
