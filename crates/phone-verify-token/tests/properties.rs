//! Whatever a host backend is handed as a token, the check answers with claims or an
//! error, never a panic; and a signed token changed in any one character is refused.
use phone_verify_token::{Claims, Expected, JwkSet, SigningKey, verify};
use proptest::prelude::*;

const ISSUER: &str = "https://verify.example";
const SITE: &str = "pk_test_shop";
const NOW: u64 = 1_800_000_000;

fn claims() -> Claims {
    Claims {
        iss: ISSUER.into(),
        aud: SITE.into(),
        sub: "+447911123456".into(),
        phone_number: "+447911123456".into(),
        phone_number_verified: true,
        amr: vec!["sms".into()],
        auth_time: NOW,
        iat: NOW,
        nbf: NOW,
        exp: NOW + 300,
        jti: "j1".into(),
        vid: "v1".into(),
        origin: None,
        action: None,
        cdata: None,
        nonce: None,
        reference: None,
    }
}

proptest! {
    #[test]
    fn any_text_is_refused_without_a_panic(
        text in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,90}",
        ],
    ) {
        let key = SigningKey::generate();
        let keys = JwkSet { keys: vec![key.jwk().clone()] };
        prop_assert!(verify(&text, &keys, &Expected::new(ISSUER, SITE), NOW).is_err());
    }

    #[test]
    fn a_token_changed_anywhere_is_refused(at in any::<prop::sample::Index>(), to in "[A-Za-z0-9_\\-.]") {
        let key = SigningKey::generate();
        let keys = JwkSet { keys: vec![key.jwk().clone()] };
        let token = key.sign(&claims());
        let position = at.index(token.len());
        let original = &token[position..=position];
        prop_assume!(original != to);
        let changed = format!("{}{}{}", &token[..position], to, &token[position + 1..]);
        prop_assert!(verify(&changed, &keys, &Expected::new(ISSUER, SITE), NOW).is_err(), "{}", changed);
    }
}
