use serde::{Deserialize, Serialize};

use super::{Channel, CountryOption, VerifyError};
use crate::i18n::Lang;

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

/// What a page load needs: the step, plus the error of a form posted without
/// JavaScript, which the server keeps for one render.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub step: Step,
    pub error: Option<VerifyError>,
    /// Codes go to the development outbox (the built-in local provider), so the
    /// widget can say where to read them.
    pub dev_outbox: bool,
    /// The language the visitor reads, hears and gets the SMS in.
    pub lang: Lang,
    /// The country picker's list, named in `lang`.
    pub countries: Vec<CountryOption>,
}

/// What the server makes of a number being typed (see `api::check_phone`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneCheck {
    /// The number laid out for reading (`07400 123456`, `+49 151 23456789`); empty
    /// while it is not yet a valid number.
    pub formatted: String,
    /// The country the number belongs to, when it names one (`+49…` → `DE`).
    pub country: String,
    /// Why it is not a valid number yet; `None` once it is.
    pub problem: Option<super::PhoneProblem>,
}
