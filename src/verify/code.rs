use serde::{Deserialize, Serialize};

/// Why a typed code was refused before it reached a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeProblem {
    Empty,
    /// Something other than digits, spaces or dashes.
    NotDigits,
    WrongLength {
        expected: u8,
    },
}

/// A one-time code as the visitor typed it, normalised to ASCII digits.
///
/// Visitors paste codes with spaces or dashes ("123 456", "123-456") and type them on
/// keyboards that produce Arabic-Indic (٠-٩), Persian (۰-۹) or full-width (０-９)
/// digits; all of those mean the same code.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    /// Parses `input` into a code of exactly `length` digits.
    ///
    /// # Errors
    /// A [`CodeProblem`] saying what is wrong with the input.
    pub fn parse(input: &str, length: u8) -> Result<Self, CodeProblem> {
        let mut digits = String::with_capacity(usize::from(length));
        for c in input.chars() {
            if let Some(d) = ascii_digit(c) {
                digits.push(d);
            } else if !is_separator(c) {
                return Err(CodeProblem::NotDigits);
            }
        }
        if digits.is_empty() {
            return Err(CodeProblem::Empty);
        }
        if digits.len() != usize::from(length) {
            return Err(CodeProblem::WrongLength { expected: length });
        }
        Ok(Self(digits))
    }

    /// The code as ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a code field should hold after the visitor typed or pasted `input`: its
/// digits in ASCII, at most `length` of them. Spaces, dashes and anything else are
/// dropped, so a pasted `123-456` or `١٢٣ ٤٥٦` becomes `123456`.
pub fn code_digits(input: &str, length: u8) -> String {
    input
        .chars()
        .filter_map(ascii_digit)
        .take(usize::from(length))
        .collect()
}

/// Never print a code by accident: it is a secret until used.
impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// Maps every decimal digit a phone keyboard may produce to its ASCII form.
fn ascii_digit(c: char) -> Option<char> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}', // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}', // Extended Arabic-Indic (Persian, Urdu)
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}', // full-width
        _ => return None,
    };
    char::from_digit(c as u32 - zero as u32, 10)
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '.' | '\u{2212}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_field_keeps_digits_only() {
        assert_eq!(code_digits(" 123-456 ", 6), "123456");
        assert_eq!(code_digits("١٢٣٤٥٦", 6), "123456");
        assert_eq!(code_digits("۱۲۳", 6), "123");
        assert_eq!(code_digits("１２３４５６７", 6), "123456");
        assert_eq!(code_digits("Your code is 654321.", 6), "654321");
    }

    #[test]
    fn accepts_plain_digits() {
        assert_eq!(OtpCode::parse("123456", 6).unwrap().as_str(), "123456");
    }

    #[test]
    fn strips_spaces_and_dashes_from_pasted_codes() {
        for pasted in [
            " 123 456 ",
            "123-456",
            "12 34 56\n",
            "123\u{2013}456",
            "123.456",
        ] {
            assert_eq!(
                OtpCode::parse(pasted, 6).unwrap().as_str(),
                "123456",
                "{pasted:?}"
            );
        }
    }

    #[test]
    fn normalises_non_ascii_digits() {
        assert_eq!(OtpCode::parse("١٢٣٤٥٦", 6).unwrap().as_str(), "123456");
        assert_eq!(OtpCode::parse("۱۲۳۴۵۶", 6).unwrap().as_str(), "123456");
        assert_eq!(
            OtpCode::parse("１２３４５６", 6).unwrap().as_str(),
            "123456"
        );
        assert_eq!(OtpCode::parse("٠٩۰۹０９", 6).unwrap().as_str(), "090909");
    }

    #[test]
    fn refuses_letters_and_wrong_lengths() {
        assert_eq!(OtpCode::parse("", 6), Err(CodeProblem::Empty));
        assert_eq!(OtpCode::parse(" - ", 6), Err(CodeProblem::Empty));
        assert_eq!(OtpCode::parse("12345a", 6), Err(CodeProblem::NotDigits));
        assert_eq!(
            OtpCode::parse("12345", 6),
            Err(CodeProblem::WrongLength { expected: 6 })
        );
        assert_eq!(
            OtpCode::parse("1234567", 6),
            Err(CodeProblem::WrongLength { expected: 6 })
        );
        assert!(OtpCode::parse("12345678", 8).is_ok());
    }

    #[test]
    fn debug_output_hides_the_code() {
        let code = OtpCode::parse("123456", 6).unwrap();
        assert!(!format!("{code:?}").contains("123456"));
    }
}
