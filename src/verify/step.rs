use serde::{Deserialize, Serialize};

use super::Channel;

/// The step a visitor is on, as the server sees it from their session.
///
/// Times are relative seconds, computed by the server when it answers, so that a
/// client clock that is off does not move the countdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    EnterPhone(PhoneEntry),
    EnterCode(CodeEntry),
    Verified(VerifiedPhone),
}

/// Enter a number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneEntry {
    /// What the visitor typed last, so nothing is lost.
    pub phone: String,
    /// The picker's ISO code (empty when unknown).
    pub country: String,
    pub channel: Channel,
    /// A number the host's backend chose (a second factor): shown masked, not
    /// editable, and the only one a code can go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<String>,
}

/// A code is on its way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeEntry {
    /// The number it went to, formatted for display.
    pub phone: String,
    pub channel: Channel,
    pub code_length: u8,
    /// Seconds until the server accepts a resend.
    pub resend_in: u32,
    /// Seconds until the code stops working.
    pub expires_in: u32,
    /// Wrong codes still allowed for this code.
    pub tries_left: u32,
    /// Codes went by SMS more than once: offer a call instead.
    pub offer_call: bool,
}

/// The number is verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedPhone {
    /// Formatted for display.
    pub phone: String,
    pub e164: String,
    /// The signed result for the site that embedded the widget (see
    /// `docs/embedding.md`); none on the widget's own page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Default for Step {
    fn default() -> Self {
        Step::EnterPhone(PhoneEntry {
            locked: None,
            phone: String::new(),
            country: String::new(),
            channel: Channel::Sms,
        })
    }
}
