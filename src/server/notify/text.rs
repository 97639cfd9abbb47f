//! The two things a host hands to notify besides its secret: the text, and the
//! verification's id; each parsed into a type that cannot hold anything else.

/// The most characters a confirmation text may have: two SMS of the GSM alphabet,
/// five of Unicode. Enough for "your account has been created", not for a newsletter.
pub const MAX_TEXT_CHARS: usize = 320;

/// A confirmation text: plain text of 1 to [`MAX_TEXT_CHARS`] characters, not only
/// white space, with no control characters but the newline (`\r\n` counts as one)
/// and no bidirectional overrides or isolates (which make a text read otherwise
/// than it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyText(String);

/// Why a text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextProblem {
    Empty,
    TooLong,
    ControlCharacter,
}

impl NotifyText {
    /// # Errors
    /// What makes `raw` no confirmation text.
    pub fn parse(raw: &str) -> Result<Self, TextProblem> {
        let text = raw.replace("\r\n", "\n");
        if text.trim().is_empty() {
            return Err(TextProblem::Empty);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(TextProblem::TooLong);
        }
        if text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
        {
            return Err(TextProblem::ControlCharacter);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// U+202A–U+202E (embeddings, overrides) and U+2066–U+2069 (isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A verification's id as siteverify answers it (`vid`): 1 to 64 of
/// `A-Z a-z 0-9 _ -` (ours are 22). Anything else names no verification, and never
/// reaches the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationId(String);

impl VerificationId {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        ((1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_plain_text_in_any_script_with_newlines() {
        for text in [
            "Your account has been created.",
            "Willkommen!\nIhr Konto ist angelegt.",
            "تم إنشاء حسابك",
            "🎉 Welcome",
        ] {
            assert_eq!(NotifyText::parse(text).unwrap().as_str(), text);
        }
        assert_eq!(
            NotifyText::parse("one\r\ntwo").unwrap().as_str(),
            "one\ntwo",
            "a form's line break is a newline"
        );
        let longest = "é".repeat(MAX_TEXT_CHARS);
        assert!(NotifyText::parse(&longest).is_ok(), "characters, not bytes");
    }

    #[test]
    fn refuses_what_is_not_a_short_plain_text() {
        for (text, problem) in [
            ("", TextProblem::Empty),
            (" \n\t ", TextProblem::Empty),
            (&"x".repeat(MAX_TEXT_CHARS + 1), TextProblem::TooLong),
            ("tab\there", TextProblem::ControlCharacter),
            ("bell\u{7}", TextProblem::ControlCharacter),
            ("nul\0", TextProblem::ControlCharacter),
            ("carriage\rreturn", TextProblem::ControlCharacter),
            ("escape\u{1b}[31m", TextProblem::ControlCharacter),
            ("next line\u{85}", TextProblem::ControlCharacter),
            (
                "pay \u{202E}0001\u{202C} now",
                TextProblem::ControlCharacter,
            ),
            ("\u{2066}isolate\u{2069}", TextProblem::ControlCharacter),
        ] {
            assert_eq!(NotifyText::parse(text), Err(problem), "{text:?}");
        }
    }

    #[test]
    fn verification_ids_are_short_tokens() {
        let ours = crate::server::random::id::<16>();
        assert_eq!(VerificationId::parse(&ours).unwrap().as_str(), ours);
        for bad in ["", "a b", "x:y", "../x", &"a".repeat(65), "é"] {
            assert_eq!(VerificationId::parse(bad), None, "{bad:?}");
        }
    }
}
