//! Properties of the parsers at the edge, over generated inputs: whatever arrives,
//! they answer with a value or a clear problem, never a panic, and what they accept
//! is well formed.

use phone_verify::server::embed::ThemeVars;
use phone_verify::server::proxies::TrustedProxies;
use phone_verify::verify::{OtpCode, PhoneNumber};
use proptest::prelude::*;

/// Arabic-Indic digits, which phones with an Arabic keyboard type.
fn arabic_indic(digits: &str) -> String {
    digits
        .chars()
        .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
        .collect()
}

proptest! {
    #[test]
    fn a_code_typed_with_separators_or_other_digits_is_the_code(
        digits in "[0-9]{6}",
        separator in prop::sample::select(vec!["", " ", "-", "  "]),
    ) {
        let spaced = format!("{}{separator}{}", &digits[..3], &digits[3..]);
        let code = OtpCode::parse(&spaced, 6).unwrap();
        prop_assert_eq!(code.as_str(), digits.as_str());
        let arabic = OtpCode::parse(&arabic_indic(&digits), 6).unwrap();
        prop_assert_eq!(arabic.as_str(), digits.as_str());
    }

    #[test]
    fn any_text_is_a_code_of_the_length_or_a_problem(text in any::<String>(), length in 6u8..=10) {
        if let Ok(code) = OtpCode::parse(&text, length) {
            prop_assert_eq!(code.as_str().len(), usize::from(length));
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn a_number_accepted_once_is_accepted_again_as_itself(
        text in prop_oneof![any::<String>(), "\\+[1-9][0-9]{6,14}", "\\+44 ?7[0-9]{3} ?[0-9]{6}"],
    ) {
        if let Ok(number) = PhoneNumber::parse(&text, None) {
            let e164 = number.e164();
            prop_assert!(e164.starts_with('+'), "{}", e164);
            prop_assert!((8..=16).contains(&e164.len()), "E.164 has at most 15 digits: {}", e164);
            prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{}", e164);
            let again = PhoneNumber::parse(e164, None).unwrap();
            prop_assert_eq!(again.e164(), e164);
        }
    }

    #[test]
    fn a_proxy_range_holds_its_own_addresses(address in any::<u32>(), bits in 0u8..=32) {
        let keep = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
        let network = std::net::Ipv4Addr::from(address & keep);
        let range = TrustedProxies::parse(&format!("{network}/{bits}")).unwrap();
        prop_assert!(range.contains(&std::net::IpAddr::from(std::net::Ipv4Addr::from(address))));
    }

    #[test]
    fn proxy_lists_and_host_colours_never_panic(text in any::<String>()) {
        let _ = TrustedProxies::parse(&text);
        let _ = ThemeVars::parse(&text);
    }
}
