//! The texts of the messages sent, and how codes are made: what the providers need
//! to send a code.
use std::time::Duration;

use crate::i18n::Lang;
use crate::verify::Channel;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplates {
    /// `VERIFY_SMS_TEMPLATE`, default `Your phone-verify code is %token.`: the English
    /// SMS (other languages use the widget's own translations).
    pub sms: String,
    /// `VERIFY_VOICE_TEMPLATE`, default `Your security code is %token.`; the code is
    /// read out digit by digit.
    pub voice: String,
    /// `VERIFY_OTP_DOMAIN`, unset by default: the site's host (`example.com`). When set,
    /// every SMS ends with the origin-bound line `@example.com #123456`, which lets
    /// browsers offer the code on that site only (WebOTP, Safari AutoFill).
    pub otp_domain: Option<String>,
}

impl Default for MessageTemplates {
    fn default() -> Self {
        let english = Lang::En.texts();
        Self {
            sms: english.sms_template.into(),
            voice: english.voice_template.into(),
            otp_domain: None,
        }
    }
}

impl MessageTemplates {
    /// The message for `channel` in `lang`, `%token` still in it.
    pub fn template(&self, channel: Channel, lang: Lang) -> String {
        let texts = lang.texts();
        match (channel, lang) {
            (Channel::Voice, Lang::En) => self.voice.clone(),
            (Channel::Voice, _) => texts.voice_template.into(),
            (Channel::Sms, _) => {
                let text = match lang {
                    Lang::En => self.sms.as_str(),
                    _ => texts.sms_template,
                };
                match &self.otp_domain {
                    // The spec wants it as the last line, after a blank one.
                    Some(domain) => format!("{text}\n\n@{domain} #%token"),
                    None => text.to_owned(),
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    /// Digits per code, 6 to 10 (`VERIFY_CODE_LENGTH`, default 6).
    pub length: u8,
    /// How long a code works (`VERIFY_CODE_LIFETIME_SECS`, default 600: NIST's 10 minutes).
    pub lifetime: Duration,
    /// Wrong tries before a code is dead (`VERIFY_MAX_ATTEMPTS`, default 5).
    pub max_attempts: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            length: 6,
            lifetime: Duration::from_secs(600),
            max_attempts: 5,
        }
    }
}
