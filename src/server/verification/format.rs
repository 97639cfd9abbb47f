//! The as-you-type number check: the same reading `start` makes, sending nothing.
use crate::api::FormattedPhone;
use crate::verify::{CountryCode, PhoneNumber};

/// Reads a number being typed as `start` would, laid out the way it was typed:
/// nationally when it belongs to the picked `country` and was typed without `+`,
/// internationally otherwise.
pub fn format_phone(phone: &str, country: &str) -> FormattedPhone {
    let region = country.parse::<CountryCode>().ok();
    match PhoneNumber::parse(phone, region) {
        Ok(number) => {
            let typed = phone.trim_start();
            let own_country = number.country() == Some(country);
            let international = typed.starts_with('+') || typed.starts_with("00") || !own_country;
            FormattedPhone {
                formatted: if international {
                    number.international().to_owned()
                } else {
                    number.national()
                },
                country: number.country().unwrap_or_default().to_owned(),
                problem: None,
            }
        }
        Err(problem) => FormattedPhone {
            problem: Some(problem),
            ..FormattedPhone::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::PhoneProblem;

    #[test]
    fn a_number_is_laid_out_as_it_was_typed() {
        let national = format_phone("07400123456", "GB");
        assert_eq!(
            (national.formatted.as_str(), national.country.as_str()),
            ("07400 123456", "GB")
        );
        let international = format_phone("+4915123456789", "GB");
        assert_eq!(international.formatted, "+49 1512 3456789");
        assert_eq!(international.country, "DE", "a +49 number moves the picker");
        assert_eq!(international.problem, None);
    }

    #[test]
    fn a_number_that_is_not_one_yet_says_why() {
        assert_eq!(format_phone("", "GB").problem, Some(PhoneProblem::Empty));
        assert_eq!(
            format_phone("0740", "GB").problem,
            Some(PhoneProblem::Invalid)
        );
        assert!(format_phone("0740", "GB").formatted.is_empty());
    }
}
