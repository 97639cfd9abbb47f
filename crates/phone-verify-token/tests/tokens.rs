//! Tokens signed as phone-verify signs them, checked as a host backend checks them.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phone_verify_token::{Claims, Expected, JwkSet, RemoteJwks, SigningKey, TokenError, verify};
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
        auth_time: NOW - 10,
        iat: NOW - 10,
        nbf: NOW - 10,
        exp: NOW + 290,
        jti: "j1".into(),
        vid: "v1".into(),
        origin: Some("https://shop.example".into()),
        action: Some("signup".into()),
        cdata: None,
        nonce: Some("n0nce".into()),
        reference: None,
    }
}

fn keys(signing: &[&SigningKey]) -> JwkSet {
    JwkSet {
        keys: signing.iter().map(|k| k.jwk().clone()).collect(),
    }
}

fn expected() -> Expected {
    Expected::new(ISSUER, SITE)
}

#[test]
fn a_signed_token_verifies_and_says_what_was_verified() {
    let key = SigningKey::generate();
    let token = key.sign(&claims());
    let got = verify(
        &token,
        &keys(&[&key]),
        &expected().origin("https://shop.example").action("signup"),
        NOW,
    )
    .unwrap();
    assert_eq!(got, claims());
}

#[test]
fn the_header_pins_algorithm_type_and_key() {
    let key = SigningKey::generate();
    let token = key.sign(&claims());
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "pv+jwt");
    assert_eq!(header["kid"], key.kid());
    assert_eq!(
        key.jwk().kid.as_deref(),
        Some(key.jwk().thumbprint().as_str())
    );
}

#[test]
fn a_tampered_token_is_refused() {
    let key = SigningKey::generate();
    let token = key.sign(&claims());
    let mut forged = claims();
    forged.phone_number = "+15550100000".into();
    let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(
        verify(&tampered, &keys(&[&key]), &expected(), NOW),
        Err(TokenError::BadSignature)
    );
    let mut signature = B64.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], B64.encode(signature));
    assert_eq!(
        verify(&flipped, &keys(&[&key]), &expected(), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let (ours, theirs) = (SigningKey::generate(), SigningKey::generate());
    let token = theirs.sign(&claims());
    assert_eq!(
        verify(&token, &keys(&[&ours]), &expected(), NOW),
        Err(TokenError::UnknownKey)
    );
    // The same kid with another key's coordinates: the signature gives it away.
    let mut impostor = ours.jwk().clone();
    impostor.kid = Some(theirs.kid().to_owned());
    let set = JwkSet {
        keys: vec![impostor],
    };
    assert_eq!(
        verify(&token, &set, &expected(), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn unsigned_and_foreign_algorithms_are_refused() {
    let payload = B64.encode(serde_json::to_vec(&claims()).unwrap());
    let key = SigningKey::generate();
    for header in [
        format!(r#"{{"alg":"none","typ":"pv+jwt","kid":"{}"}}"#, key.kid()),
        format!(r#"{{"alg":"HS256","typ":"pv+jwt","kid":"{}"}}"#, key.kid()),
        format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#, key.kid()),
    ] {
        let token = format!("{}.{payload}.{}", B64.encode(header), B64.encode([0u8; 64]));
        assert_eq!(
            verify(&token, &keys(&[&key]), &expected(), NOW),
            Err(TokenError::WrongAlgorithm)
        );
    }
    for junk in ["", "a.b", "a.b.c", &"x".repeat(10_000)] {
        assert!(verify(junk, &keys(&[&key]), &expected(), NOW).is_err());
    }
}

#[test]
fn the_claims_must_match_the_host() {
    let key = SigningKey::generate();
    let set = keys(&[&key]);
    let token = key.sign(&claims());
    let check = |e: Expected, now| verify(&token, &set, &e, now);
    assert_eq!(
        check(Expected::new("https://other.example", SITE), NOW),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        check(Expected::new(ISSUER, "pk_test_other"), NOW),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(expected().origin("https://evil.example"), NOW),
        Err(TokenError::WrongOrigin)
    );
    assert_eq!(
        check(expected().action("login"), NOW),
        Err(TokenError::WrongAction)
    );
    assert_eq!(
        check(expected().phone_number("+15550100000"), NOW),
        Err(TokenError::WrongNumber)
    );
    assert!(check(expected().phone_number("+447911123456"), NOW).is_ok());
    // Expiry and start, with the 60 s leeway for clock skew.
    assert!(check(expected(), NOW + 290 + 59).is_ok());
    assert_eq!(check(expected(), NOW + 290 + 60), Err(TokenError::Expired));
    assert_eq!(
        check(expected().leeway(0), NOW + 290),
        Err(TokenError::Expired)
    );
    assert_eq!(
        check(expected(), NOW - 10 - 61),
        Err(TokenError::NotYetValid)
    );
    // Age of the verification itself, for a second factor.
    assert!(check(expected().max_age(60), NOW).is_ok());
    assert_eq!(
        check(expected().max_age(60).leeway(0), NOW + 51),
        Err(TokenError::TooOld)
    );
    // An issuer URL with a trailing slash is the same issuer.
    assert!(check(Expected::new("https://verify.example/", SITE), NOW).is_ok());
}

#[test]
fn keys_survive_a_round_trip_through_their_secret_bytes() {
    let key = SigningKey::generate();
    let again = SigningKey::from_secret_bytes(&key.secret_bytes()).unwrap();
    assert_eq!(again.jwk(), key.jwk());
    assert!(SigningKey::from_secret_bytes(&[0u8; 32]).is_none());
    assert!(SigningKey::from_secret_bytes(&[1u8; 5]).is_none());
}

/// A JWKS endpoint that serves whatever `keys` holds and counts its fetches.
async fn jwks_server(keys: Arc<std::sync::Mutex<JwkSet>>, fetches: Arc<AtomicUsize>) -> String {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let keys = keys.lock().unwrap().clone();
            fetches.fetch_add(1, Ordering::SeqCst);
            async move { ([("cache-control", "public, max-age=600")], axum::Json(keys)) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn live_claims(issuer: &str) -> Claims {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        iss: issuer.into(),
        auth_time: now,
        iat: now,
        nbf: now,
        exp: now + 300,
        ..claims()
    }
}

#[tokio::test]
async fn remote_keys_are_cached_and_fetched_again_for_a_new_kid() {
    let first = SigningKey::generate();
    let published = Arc::new(std::sync::Mutex::new(keys(&[&first])));
    let fetches = Arc::new(AtomicUsize::new(0));
    let issuer = jwks_server(published.clone(), fetches.clone()).await;
    let jwks = RemoteJwks::new(&issuer)
        .unwrap()
        .with_refetch_cooldown(std::time::Duration::ZERO);
    let expected = Expected::new(&issuer, SITE);

    for _ in 0..3 {
        jwks.verify(&first.sign(&live_claims(&issuer)), &expected)
            .await
            .unwrap();
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "cached for max-age");

    // The issuer rotates: a token from the new key causes one fetch, then verifies.
    let second = SigningKey::generate();
    *published.lock().unwrap() = keys(&[&first, &second]);
    jwks.verify(&second.sign(&live_claims(&issuer)), &expected)
        .await
        .unwrap();
    jwks.verify(&second.sign(&live_claims(&issuer)), &expected)
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn made_up_kids_do_not_cause_a_fetch_each() {
    let key = SigningKey::generate();
    let fetches = Arc::new(AtomicUsize::new(0));
    let issuer = jwks_server(
        Arc::new(std::sync::Mutex::new(keys(&[&key]))),
        fetches.clone(),
    )
    .await;
    let jwks = RemoteJwks::new(&issuer).unwrap();
    let expected = Expected::new(&issuer, SITE);
    jwks.verify(&key.sign(&live_claims(&issuer)), &expected)
        .await
        .unwrap();
    let stranger = SigningKey::generate();
    for _ in 0..5 {
        let refused = jwks
            .verify(&stranger.sign(&live_claims(&issuer)), &expected)
            .await;
        assert_eq!(refused, Err(TokenError::UnknownKey));
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the cooldown holds refetches back"
    );
}

#[tokio::test]
async fn unreachable_keys_are_an_error_not_a_pass() {
    let jwks = RemoteJwks::new("http://127.0.0.1:9").unwrap();
    let token = SigningKey::generate().sign(&claims());
    assert!(matches!(
        jwks.verify(&token, &expected()).await,
        Err(TokenError::Keys(_))
    ));
}

// Whatever a host backend is handed as a token, the check answers with claims or an
// error, never a panic; and a signed token changed in any one character is refused.
proptest! {
    #[test]
    fn any_text_is_refused_without_a_panic(
        text in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,90}",
        ],
    ) {
        let key = SigningKey::generate();
        let keys = keys(&[&key]);
        prop_assert!(verify(&text, &keys, &expected(), NOW).is_err());
    }

    #[test]
    fn a_token_changed_anywhere_is_refused(at in any::<prop::sample::Index>(), to in "[A-Za-z0-9_\\-.]") {
        let key = SigningKey::generate();
        let keys = keys(&[&key]);
        let token = key.sign(&claims());
        let position = at.index(token.len());
        let original = &token[position..=position];
        prop_assume!(original != to);
        let changed = format!("{}{}{}", &token[..position], to, &token[position + 1..]);
        prop_assert!(verify(&changed, &keys, &expected(), NOW).is_err(), "{}", changed);
    }
}
