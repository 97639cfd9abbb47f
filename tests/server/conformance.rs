//! One behaviour, three providers, two state backends: the same scenarios run
//! against the local provider and against MessageBird and Twilio as spoken by the
//! fake upstream, with state in SQLite and in a real redis-server, all through the
//! app's server functions over HTTP.

use crate::support::{Backend, Upstream, spawn_on};
use serde_json::json;

const NUMBER: &str = "+44 7400 123456";
const E164: &str = "+447400123456";

macro_rules! for_each_provider {
    ($($scenario:ident),* $(,)?) => {
        for_each_provider!(@mod local, Local, Sqlite; $($scenario),*);
        for_each_provider!(@mod messagebird, MessageBird, Sqlite; $($scenario),*);
        for_each_provider!(@mod twilio, Twilio, Sqlite; $($scenario),*);
        for_each_provider!(@mod local_redis, Local, Redis; $($scenario),*);
        for_each_provider!(@mod messagebird_redis, MessageBird, Redis; $($scenario),*);
        for_each_provider!(@mod twilio_redis, Twilio, Redis; $($scenario),*);
    };
    (@mod $name:ident, $upstream:ident, $backend:ident; $($scenario:ident),*) => {
        mod $name {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Upstream::$upstream, super::Backend::$backend).await
                }
            )*
        }
    };
}

for_each_provider!(
    send_and_verify_by_sms,
    send_and_verify_by_voice,
    wrong_code_counts_down_then_right_code_works,
    too_many_wrong_codes_stop_checking,
    expired_codes_are_refused_without_an_upstream_call,
    resend_waits_then_sends_a_working_code,
    bad_input_never_reaches_the_provider,
);

async fn send_and_verify_by_sms(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    let sent = browser
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body["EnterCode"]["phone"], NUMBER);
    assert_eq!(app.sent().await, [(E164.to_owned(), "sms".to_owned())]);
    let checked = browser
        .call("check", &[("code", &app.latest_code().await)])
        .await;
    assert_eq!(
        checked.body,
        json!({"Verified": {"phone": NUMBER, "e164": E164}})
    );
}

async fn send_and_verify_by_voice(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    let sent = browser
        .call("start", &[("phone", NUMBER), ("channel", "voice")])
        .await;
    assert_eq!(sent.body["EnterCode"]["channel"], "voice", "{}", sent.body);
    assert_eq!(app.sent().await, [(E164.to_owned(), "voice".to_owned())]);
    assert_eq!(
        browser
            .call("check", &[("code", &app.latest_code().await)])
            .await
            .status,
        200
    );
}

async fn wrong_code_counts_down_then_right_code_works(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    for tries_left in [4, 3] {
        let answer = browser.call("check", &[("code", &wrong(&code))]).await;
        assert_eq!(
            (answer.status, answer.body),
            (422, json!({"WrongCode": {"tries_left": tries_left}}))
        );
    }
    assert_eq!(browser.call("check", &[("code", &code)]).await.status, 200);
}

async fn too_many_wrong_codes_stop_checking(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    for _ in 0..4 {
        browser.call("check", &[("code", &wrong(&code))]).await;
    }
    let fifth = browser.call("check", &[("code", &wrong(&code))]).await;
    assert_eq!((fifth.status, fifth.body), (429, json!("TooManyAttempts")));
    let before = app.upstream_requests().await;
    let right = browser.call("check", &[("code", &code)]).await;
    assert_eq!((right.status, right.body), (429, json!("TooManyAttempts")));
    assert_eq!(
        app.upstream_requests().await,
        before,
        "no upstream call once locked"
    );
}

async fn expired_codes_are_refused_without_an_upstream_call(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    app.advance_all(600).await;
    let before = app.upstream_requests().await;
    let answer = browser.call("check", &[("code", &code)]).await;
    assert_eq!((answer.status, answer.body), (410, json!("CodeExpired")));
    assert_eq!(app.upstream_requests().await, before);
}

async fn resend_waits_then_sends_a_working_code(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let early = browser.call("resend", &[]).await;
    assert_eq!(
        (early.status, early.body),
        (429, json!({"ResendTooSoon": {"retry_after": 30}}))
    );
    assert_eq!(app.sent().await.len(), 1);
    app.advance_all(30).await;
    let resent = browser.call("resend", &[]).await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert_eq!(app.sent().await.len(), 2);
    assert_eq!(
        browser
            .call("check", &[("code", &app.latest_code().await)])
            .await
            .status,
        200
    );
}

async fn bad_input_never_reaches_the_provider(upstream: Upstream, backend: Backend) {
    let app = spawn_on(upstream, backend, &[]).await;
    let browser = app.browser();
    let bad_phone = browser.call("start", &[("phone", "+44 7400 12")]).await;
    assert_eq!(
        (bad_phone.status, bad_phone.body),
        (422, json!({"InvalidPhone": "Invalid"}))
    );
    let no_pending = browser.call("check", &[("code", "123456")]).await;
    assert_eq!(no_pending.status, 409);
    browser.call("start", &[("phone", NUMBER)]).await;
    let before = app.upstream_requests().await;
    let bad_code = browser.call("check", &[("code", "12-34x6")]).await;
    assert_eq!(
        (bad_code.status, bad_code.body),
        (422, json!({"InvalidCode": "NotDigits"}))
    );
    assert_eq!(app.upstream_requests().await, before);
    assert_eq!(app.sent().await.len(), 1);
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}
