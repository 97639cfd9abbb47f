use std::fmt;
use std::str::FromStr;

use phonenumber::{Mode, country};

use super::PhoneProblem;

/// An ISO 3166 country (e.g. `GB`) used to place numbers typed without a `+` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountryCode(country::Id);

impl FromStr for CountryCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        country::Id::from_str(&s.trim().to_ascii_uppercase())
            .map(CountryCode)
            .map_err(|_| format!("{s:?} is not a two-letter ISO country code"))
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A phone number that libphonenumber's metadata says is valid, held in E.164 form.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    international: String,
    /// The parsed number, for the formats only some callers ask for.
    parsed: phonenumber::PhoneNumber,
    /// ISO 3166 code of the number's country, e.g. `GB`.
    country: Option<String>,
    kind: NumberKind,
    /// The country calling code (`44`; `979` for international premium rate).
    calling_code: u16,
}

/// What kind of line a number is, as libphonenumber's metadata says. Verification
/// needs mobiles and, for a call, fixed lines; the others are how toll fraud pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumberKind {
    Mobile,
    FixedLine,
    /// Where the number itself does not tell (the USA, Canada).
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    PersonalNumber,
    Voip,
    Pager,
    Uan,
    Voicemail,
    Other,
}

impl NumberKind {
    /// Every kind, with its name in `VERIFY_REFUSED_NUMBER_TYPES`.
    pub const NAMES: &[(&str, NumberKind)] = &[
        ("mobile", NumberKind::Mobile),
        ("fixed_line", NumberKind::FixedLine),
        ("fixed_line_or_mobile", NumberKind::FixedLineOrMobile),
        ("toll_free", NumberKind::TollFree),
        ("premium_rate", NumberKind::PremiumRate),
        ("shared_cost", NumberKind::SharedCost),
        ("personal_number", NumberKind::PersonalNumber),
        ("voip", NumberKind::Voip),
        ("pager", NumberKind::Pager),
        ("uan", NumberKind::Uan),
        ("voicemail", NumberKind::Voicemail),
        ("other", NumberKind::Other),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("other", |(name, _)| name)
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, kind)| *kind)
    }

    fn of(kind: phonenumber::Type) -> Self {
        use phonenumber::Type;
        match kind {
            Type::Mobile => Self::Mobile,
            Type::FixedLine => Self::FixedLine,
            Type::FixedLineOrMobile => Self::FixedLineOrMobile,
            Type::TollFree => Self::TollFree,
            Type::PremiumRate => Self::PremiumRate,
            Type::SharedCost => Self::SharedCost,
            Type::PersonalNumber => Self::PersonalNumber,
            Type::Voip => Self::Voip,
            Type::Pager => Self::Pager,
            Type::Uan => Self::Uan,
            Type::Voicemail => Self::Voicemail,
            _ => Self::Other,
        }
    }
}

/// The longest input worth parsing; anything longer is not a phone number.
const MAX_INPUT_CHARS: usize = 40;

impl PhoneNumber {
    /// Parses what a visitor typed. Numbers with a leading `+` or `00` are read as
    /// international; others are placed in `default_country`, if one is configured.
    ///
    /// # Errors
    /// A [`PhoneProblem`] the visitor can act on.
    pub fn parse(input: &str, default_country: Option<CountryCode>) -> Result<Self, PhoneProblem> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneProblem::Empty);
        }
        if input.chars().count() > MAX_INPUT_CHARS || input.chars().any(|c| c.is_alphabetic()) {
            return Err(PhoneProblem::NotANumber);
        }
        let international = input.starts_with('+') || input.starts_with("00");
        let digits = input.chars().filter(char::is_ascii_digit).count();
        if digits < 4 {
            return Err(PhoneProblem::NotANumber);
        }
        let (input, region) = match (international, default_country) {
            (true, _) => (normalise_international_prefix(input), None),
            (false, Some(CountryCode(id))) => (input.to_owned(), Some(id)),
            (false, None) => return Err(PhoneProblem::MissingCountryCode),
        };
        let number = phonenumber::parse(region, &input).map_err(|_| PhoneProblem::NotANumber)?;
        let (number, kind) = match classify(&number) {
            Some(known) => (number, known),
            // Autofill often drops the "+" of a full number (`447911123456`). Read it as
            // international only if it is not valid as a national one.
            None if region.is_some() => {
                let number = phonenumber::parse(None, format!("+{input}"))
                    .map_err(|_| PhoneProblem::Invalid)?;
                let known = classify(&number).ok_or(PhoneProblem::Invalid)?;
                (number, known)
            }
            None => return Err(PhoneProblem::Invalid),
        };
        Ok(Self {
            // What the library's E.164 mode writes, without the search for a
            // national format that its formatter makes first in every mode.
            e164: format!("+{}{}", number.code().value(), number.national()),
            international: number.format().mode(Mode::International).to_string(),
            country: number.country().id().map(|id| id.as_ref().to_owned()),
            kind: NumberKind::of(kind),
            calling_code: number.code().value(),
            parsed: number,
        })
    }

    /// Loads the numbering metadata, which the library otherwise reads on the first
    /// parse (0.15 s in a release build, 0.8 s in a debug one), so that no visitor
    /// waits for it. Called once at start-up.
    pub fn warm_up() {
        let _ = Self::parse("+44 7911 123456", None);
    }

    /// `+447911123456`: what providers are given and what a host backend stores.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// `+44 7911 123456`: what the visitor sees.
    pub fn international(&self) -> &str {
        &self.international
    }

    /// `07911 123456`: how it is dialled within its country.
    pub fn national(&self) -> String {
        self.parsed.format().mode(Mode::National).to_string()
    }

    /// ISO 3166 code of the number's country (`GB`), when the metadata knows it.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The country calling code, `44` for `+44…`.
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// `+44******123`: enough to tell numbers apart in a log line, not enough to call.
    pub fn masked(&self) -> String {
        mask_e164(&self.e164)
    }
}

/// Masks an E.164 number already stored as text, without parsing it again.
pub fn mask_e164(e164: &str) -> String {
    let keep_tail = 3;
    let head: String = e164.chars().take(3).collect();
    let tail: String = e164
        .chars()
        .skip(e164.len().saturating_sub(keep_tail))
        .collect();
    let hidden = e164.len().saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "*".repeat(hidden))
}

/// A valid number's type (`Unknown` for some valid ones); `None` when the number is
/// not valid. The library's `is_valid` checks that the type of the national number
/// with its leading zeros is known, while its type lookup drops those zeros. Without
/// leading zeros the two read the same digits, so a known type is validity and one
/// lookup serves both; with them (Italian landlines) `is_valid` decides.
fn classify(number: &phonenumber::PhoneNumber) -> Option<phonenumber::Type> {
    let kind = number.number_type(&phonenumber::metadata::DATABASE);
    if number.national().zeros() == 0 {
        (kind != phonenumber::Type::Unknown).then_some(kind)
    } else {
        phonenumber::is_valid(number).then_some(kind)
    }
}

/// `0044 …` means `+44 …` when dialled from most of the world.
fn normalise_international_prefix(input: &str) -> String {
    match input.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => input.to_owned(),
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> Option<CountryCode> {
        Some("gb".parse().unwrap())
    }

    #[test]
    fn valid_means_what_the_library_calls_valid() {
        for input in [
            "+44 7911 123456",
            "+44 20 7946 0000",
            "+1 201 555 0123",
            "+49 30 1234567",
            "+44 7911 12345",
            "+44 1234",
            "+999 1234567",
            "+1 555 555 5555",
            "+800 1234 5678",
            "+7 912 345 67 89",
            "+39 06 6982 1234",
            "+39 06 12",
        ] {
            let library = phonenumber::parse(None, input).is_ok_and(|n| phonenumber::is_valid(&n));
            assert_eq!(PhoneNumber::parse(input, None).is_ok(), library, "{input}");
        }
    }

    #[test]
    fn e164_and_national_are_what_the_library_writes() {
        // Italian landlines keep their leading zero; shared calling codes (+1, +7,
        // +44 with the Crown dependencies) and a 001 region included.
        for input in [
            "+39 06 6982 1234",
            "+39 335 123 4567",
            "+1 201 555 0123",
            "+7 912 345 67 89",
            "+44 1624 612345",
            "+800 1234 5678",
            "+49 30 1234567",
        ] {
            let library = phonenumber::parse(None, input).unwrap();
            let number = PhoneNumber::parse(input, None).expect(input);
            assert_eq!(
                number.e164(),
                library.format().mode(Mode::E164).to_string(),
                "{input}"
            );
            assert_eq!(
                number.national(),
                library.format().mode(Mode::National).to_string(),
                "{input}"
            );
        }
    }

    #[test]
    fn parses_international_numbers_to_e164() {
        for input in [
            "+44 7911 123456",
            "+447911123456",
            "+44 (0)7911-123456",
            "0044 7911 123456",
        ] {
            let number = PhoneNumber::parse(input, None).unwrap();
            assert_eq!(number.e164(), "+447911123456", "{input}");
            assert_eq!(number.international(), "+44 7911 123456");
        }
        assert_eq!(
            PhoneNumber::parse("+1 (201) 555-0123", None)
                .unwrap()
                .e164(),
            "+12015550123"
        );
    }

    #[test]
    fn places_national_numbers_in_the_default_country() {
        assert_eq!(
            PhoneNumber::parse("07911 123456", gb()).unwrap().e164(),
            "+447911123456"
        );
        assert_eq!(
            PhoneNumber::parse("07911 123456", None),
            Err(PhoneProblem::MissingCountryCode)
        );
    }

    #[test]
    fn takes_the_shapes_autofill_produces() {
        let us = Some("us".parse().unwrap());
        for (input, country, e164) in [
            ("+44 7400 123456", gb(), "+447400123456"),
            ("447400123456", gb(), "+447400123456"),
            ("07400 123456", gb(), "+447400123456"),
            ("7400 123456", gb(), "+447400123456"),
            // A US number is not misread as a Dutch +31 one.
            ("3105550123", us, "+13105550123"),
            ("+4915123456789", gb(), "+4915123456789"),
        ] {
            assert_eq!(
                PhoneNumber::parse(input, country).unwrap().e164(),
                e164,
                "{input}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("44 7400 1234", gb()),
            Err(PhoneProblem::Invalid)
        );
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        assert_eq!(PhoneNumber::parse("", None), Err(PhoneProblem::Empty));
        assert_eq!(PhoneNumber::parse("   ", None), Err(PhoneProblem::Empty));
        assert_eq!(
            PhoneNumber::parse("call me", None),
            Err(PhoneProblem::NotANumber)
        );
        assert_eq!(
            PhoneNumber::parse("+44", None),
            Err(PhoneProblem::NotANumber)
        );
        assert_eq!(
            PhoneNumber::parse(&"1".repeat(200), None),
            Err(PhoneProblem::NotANumber)
        );
    }

    #[test]
    fn refuses_numbers_invalid_for_their_country() {
        assert_eq!(
            PhoneNumber::parse("+44 7911 1234", None),
            Err(PhoneProblem::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse("+1 555 0123", None),
            Err(PhoneProblem::Invalid)
        );
    }

    #[test]
    fn knows_the_country() {
        assert_eq!(
            PhoneNumber::parse("+447400123456", None).unwrap().country(),
            Some("GB")
        );
        assert_eq!(
            PhoneNumber::parse("+447911123456", None).unwrap().country(),
            Some("GG"),
            "Guernsey shares +44"
        );
        assert_eq!(
            PhoneNumber::parse("+4915123456789", None)
                .unwrap()
                .country(),
            Some("DE")
        );
    }

    #[test]
    fn masks_the_middle_for_logs() {
        let number = PhoneNumber::parse("+447911123456", None).unwrap();
        assert_eq!(number.masked(), "+44*******456");
        assert!(!format!("{number:?}").contains("7911123"));
    }

    #[test]
    fn country_codes_parse_case_insensitively() {
        assert!("de".parse::<CountryCode>().is_ok());
        assert!("XX".parse::<CountryCode>().is_err());
    }
}
