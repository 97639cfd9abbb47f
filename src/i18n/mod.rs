//! The widget's languages: every word a visitor reads or hears comes from here.
//!
//! Each language is one [`Texts`] value, checked by the compiler: a missing string is
//! a build error, not an English word in a German page. The server picks the language
//! (see `server::flow`) and sends it with the flow, so the page, the browser and the
//! SMS or call all speak the same one.
use serde::{Deserialize, Serialize};

use crate::verify::{Channel, VerifyError};

mod ar;
mod de;
mod en;

/// A language the widget speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    De,
    Ar,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Ar];

    /// The BCP 47 tag: `en`, `de`, `ar`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Ar => "ar",
        }
    }

    /// Writing direction, for the `dir` attribute.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En | Lang::De => "ltr",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Ar => "العربية",
        }
    }

    /// Reads a language tag (`de`, `de-AT`, `AR_eg`); `None` for other languages.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.code() == primary)
    }

    /// The visitor's most preferred language we speak, from an `Accept-Language`
    /// header such as `fr-CH, fr;q=0.9, de;q=0.8, *;q=0.5`.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut choices: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let quality = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (quality > 0.0).then_some((quality, lang))
            })
            .collect();
        // Stable: among equal weights the header's order wins.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map(|(_, lang)| *lang)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &en::TEXTS,
            Lang::De => &de::TEXTS,
            Lang::Ar => &ar::TEXTS,
        }
    }
}

/// Everything the widget says, in one language. Functions build the sentences that
/// carry numbers, so that each language can place them where its grammar wants.
pub struct Texts {
    pub widget_label: &'static str,
    pub loading: &'static str,
    pub language: &'static str,

    pub phone_title: &'static str,
    pub phone_label: &'static str,
    pub phone_hint: &'static str,
    /// Before a number the host chose, shown masked: "We'll send a code to".
    pub locked_lead: &'static str,
    pub country_label: &'static str,
    /// Placeholder and label of the country search.
    pub country_search: &'static str,
    pub country_none: &'static str,
    pub country_count: fn(usize) -> String,
    pub send_by: &'static str,
    pub text_me: &'static str,
    pub call_me: &'static str,
    pub send_code: &'static str,

    pub code_title: &'static str,
    /// The lead of the code step: the text before and after the number.
    pub code_lead: fn(Channel, u8) -> (String, String),
    pub code_label: &'static str,
    pub code_expires_in: fn(u32) -> String,
    pub code_expired: &'static str,
    pub tries_left: fn(u32) -> String,
    pub verify: &'static str,
    pub resend: &'static str,
    pub resend_in: fn(u32) -> String,
    pub resend_ready: &'static str,
    /// Announced as the wait nears its end.
    pub resend_soon: fn(u32) -> String,
    pub call_instead: &'static str,
    pub change_number: &'static str,
    pub dev_note: (&'static str, &'static str, &'static str),

    pub verified_title: &'static str,
    pub verified_lead: &'static str,
    pub verify_another: &'static str,

    /// The message of each error the visitor can meet.
    pub error: fn(&VerifyError) -> String,
    /// The SMS text (`%token` stands for the code), and what the voice reads out.
    pub sms_template: &'static str,
    pub voice_template: &'static str,
}

impl VerifyError {
    /// The sentence shown to the visitor, in `lang`.
    pub fn message_in(&self, lang: Lang) -> String {
        (lang.texts().error)(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{CodeProblem, PhoneProblem};

    #[test]
    fn tags_and_headers_pick_a_language() {
        assert_eq!(Lang::parse("de-AT"), Some(Lang::De));
        assert_eq!(Lang::parse("AR_eg"), Some(Lang::Ar));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(
            Lang::from_accept_language("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7"),
            Some(Lang::De)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, ar-EG"),
            Some(Lang::Ar)
        );
        assert_eq!(Lang::from_accept_language("de;q=0, fr"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn every_language_has_every_message_with_its_numbers() {
        let errors = [
            VerifyError::InvalidPhone(PhoneProblem::Empty),
            VerifyError::InvalidCode(CodeProblem::WrongLength { expected: 6 }),
            VerifyError::WrongCode { tries_left: 3 },
            VerifyError::ResendTooSoon { retry_after: 17 },
            VerifyError::RateLimited { retry_after: 45 },
            VerifyError::ServiceBusy { retry_after: 29 },
        ];
        for lang in Lang::ALL {
            let t = lang.texts();
            let numbers = ["6", "3", "17", "45", "29"];
            for (error, number) in errors[1..].iter().zip(numbers) {
                let message = error.message_in(lang);
                assert!(message.contains(number), "{lang:?}: {message}");
            }
            assert!(!errors[0].message_in(lang).is_empty());
            assert!(t.sms_template.contains("%token") && t.voice_template.contains("%token"));
            assert!((t.resend_in)(75).contains("1:15"), "{lang:?}");
            assert!((t.tries_left)(4).contains('4'));
            assert!((t.resend_soon)(10).contains("10"));
            let (before, after) = (t.code_lead)(Channel::Sms, 6);
            assert!(format!("{before}{after}").contains('6'));
        }
        assert_ne!(Lang::De.texts().send_code, Lang::En.texts().send_code);
        assert_ne!(Lang::Ar.texts().send_code, Lang::En.texts().send_code);
    }
}
