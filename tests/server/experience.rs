//! The server side of the widget's experience: languages carried to the
//! providers, the as-you-type number check, "call me instead", national numbers
//! with a picked country, and the origin-bound SMS line.

use crate::support::{Browser, TestApp, Upstream, spawn_app, spawn_with};
use serde_json::json;

const NUMBER: &str = "+44 7400 123456";

/// A browser whose language preference is `accept_language`.
fn browser_speaking(app: &TestApp, accept_language: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", accept_language.parse().unwrap());
    Browser {
        app: app.url(""),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
    }
}

async fn language_reaches_the_provider(upstream: Upstream) {
    let app = spawn_with(upstream, &[]).await;
    let (expected_de, expected_ar) = match upstream {
        Upstream::MessageBird => ("de-de", "ar-sa"),
        Upstream::Twilio => ("de", "ar"),
        Upstream::Local => unreachable!(),
    };
    let german = browser_speaking(&app, "de-AT,de;q=0.9,en;q=0.5");
    let answer = german
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(answer.status, 200);
    let sent = app.fake_get("/_fake/messages").await;
    assert_eq!(sent[0]["locale"], expected_de);
    if upstream == Upstream::MessageBird {
        assert!(
            sent[0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Dein phone-verify-Code lautet")
        );
    }

    // The switch (`?lang=ar` on the page) wins over the browser for the session.
    let page = german
        .client
        .get(app.url("/?lang=ar"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<html lang="ar" dir="rtl""#),
        "{}",
        &page[..200]
    );
    assert!(page.contains("أدخل الرمز"), "the code step, in Arabic");
    let answer = german
        .call(
            "start",
            &[("phone", "+44 7400 654321"), ("channel", "voice")],
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        app.fake_get("/_fake/messages").await[0]["locale"],
        expected_ar
    );
}

both!(language_reaches_the_provider);

#[tokio::test]
async fn the_local_provider_writes_each_language_and_the_origin_bound_line() {
    let app = spawn_app(&[("VERIFY_OTP_DOMAIN", "Shop.Example")]).await;
    let answer = app
        .browser()
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(answer.status, 200);
    let text = app.outbox().await[0]["text"].as_str().unwrap().to_owned();
    let code = app.latest_code().await;
    assert_eq!(
        text,
        format!("Your phone-verify code is {code}.\n\n@shop.example #{code}")
    );

    let arabic = browser_speaking(&app, "ar-EG");
    arabic
        .call(
            "start",
            &[("phone", "+44 7400 222333"), ("channel", "voice")],
        )
        .await;
    let text = app.outbox().await[0]["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("رمز الأمان الخاص بك هو "), "{text}");
    assert!(!text.contains('@'), "calls have no origin-bound line");
}

#[tokio::test]
async fn the_number_check_formats_like_start_and_sends_nothing() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let cases = [
        (
            ("07400123456", "GB"),
            json!({"formatted": "07400 123456", "country": "GB", "problem": null}),
        ),
        (
            ("447400123456", "GB"),
            json!({"formatted": "07400 123456", "country": "GB", "problem": null}),
        ),
        (
            ("+4915123456789", "GB"),
            json!({"formatted": "+49 1512 3456789", "country": "DE", "problem": null}),
        ),
        (
            ("07400 12", "GB"),
            json!({"formatted": "", "country": "", "problem": "Invalid"}),
        ),
        (
            ("07400123456", ""),
            json!({"formatted": "", "country": "", "problem": "MissingCountryCode"}),
        ),
        (
            ("call me", "GB"),
            json!({"formatted": "", "country": "", "problem": "NotANumber"}),
        ),
        (
            (&"9".repeat(5_000) as &str, "GB"),
            json!({"formatted": "", "country": "", "problem": "NotANumber"}),
        ),
    ];
    for ((phone, country), expected) in cases {
        let answer = browser
            .call("format", &[("phone", phone), ("country", country)])
            .await;
        assert_eq!((answer.status, answer.body), (200, expected), "{phone}");
    }
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn a_national_number_is_placed_in_the_picked_country() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let answer = browser
        .call(
            "start",
            &[
                ("phone", "07400 123456"),
                ("country", "GB"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(answer.body["EnterCode"]["phone"], NUMBER);
    // An unknown country code is no country: the number needs its +.
    let answer = app
        .browser()
        .call(
            "start",
            &[
                ("phone", "07400 123457"),
                ("country", "XX"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.body),
        (422, json!({"InvalidPhone": "MissingCountryCode"}))
    );
}

#[tokio::test]
async fn after_two_texts_a_call_is_offered_and_taken() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let first = browser
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(first.body["EnterCode"]["offer_call"], false);
    app.advance(30);
    // Not offered yet, so not made: the server holds the same rule as the widget.
    let early = browser.call("resend", &[("channel", "voice")]).await;
    assert_eq!(early.status, 422, "{}", early.body);
    assert_eq!(early.body, serde_json::json!("ChannelUnavailable"));
    assert_eq!(app.sent().await.len(), 1, "no call was made");
    let second = browser.call("resend", &[]).await;
    assert_eq!(second.body["EnterCode"]["offer_call"], true);
    assert_eq!(second.body["EnterCode"]["channel"], "sms");
    app.advance(60);
    let call = browser.call("resend", &[("channel", "voice")]).await;
    assert_eq!(call.status, 200);
    assert_eq!(call.body["EnterCode"]["channel"], "voice");
    assert_eq!(call.body["EnterCode"]["offer_call"], false);
    let sent = app.sent().await;
    assert_eq!(sent[0], ("+447400123456".to_owned(), "voice".to_owned()));
    assert_eq!(sent.len(), 3);
}

#[tokio::test]
async fn the_page_guesses_the_country_from_the_language() {
    let app = spawn_app(&[]).await;
    let state = browser_speaking(&app, "de-CH, de;q=0.9")
        .call("state", &[])
        .await;
    assert_eq!(state.body["step"]["EnterPhone"]["country"], "CH");
    assert_eq!(state.body["lang"], "De");
    assert!(state.body["countries"].as_array().unwrap().len() > 230);
    let configured = spawn_app(&[("VERIFY_DEFAULT_COUNTRY", "NL")]).await;
    let state = browser_speaking(&configured, "de-CH")
        .call("state", &[])
        .await;
    assert_eq!(state.body["step"]["EnterPhone"]["country"], "NL");
}

#[tokio::test]
async fn the_page_carries_the_country_list_once_as_the_selects_options() {
    let app = spawn_app(&[]).await;
    let browser = browser_speaking(&app, "de-CH");
    let listed = phone_verify::server::countries::options(phone_verify::i18n::Lang::De).len();
    let page = browser.page().await;
    // Once, in the select, named in the visitor's language and with theirs chosen;
    // the data handed to the browser for hydration does not repeat it.
    assert_eq!(page.matches("Schweiz").count(), 1, "{page}");
    assert_eq!(page.matches("<option ").count(), 1 + listed);
    assert!(page.contains(r#"<option value="CH" selected>🇨🇭 Schweiz +41</option>"#));
    assert_eq!(page.matches(" selected").count(), 1);
    // The code step has no select: no list at all.
    let started = browser
        .call(
            "start",
            &[("phone", "+41 79 123 45 67"), ("channel", "sms")],
        )
        .await;
    assert_eq!(started.status, 200);
    let page = browser.page().await;
    assert!(page.contains(r#"data-step="code""#));
    assert_eq!(page.matches("Schweiz").count(), 0, "{page}");
    // The widget's own server function still answers the whole list.
    let state = browser.call("state", &[]).await;
    assert_eq!(state.body["countries"].as_array().unwrap().len(), listed);
}
