//! Tries at a code are counted one by one, however many arrive at once: a burst of
//! guesses from one session gets the tries one code allows and no more, on every
//! provider and both state stores (docs/security.md §5, the attempts rows).

use crate::support::{Backend, TestApp, Upstream, spawn_on};
use serde_json::{Value, json};

const BURST: usize = 100;

/// The tries a code gets by default (`VERIFY_MAX_ATTEMPTS`).
const TRIES: usize = 5;

async fn started(upstream: Upstream, backend: Backend) -> (TestApp, crate::support::Browser) {
    let app = spawn_on(
        upstream,
        backend,
        &[("VERIFY_LIMIT_FAILED_CHECKS_PER_HOUR", "100")],
    )
    .await;
    let browser = app.browser();
    let answer = browser
        .call("start", &[("phone", "+44 7400 123456"), ("channel", "sms")])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    (app, browser)
}

/// A code that is not `code` (every digit changed).
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// Sends `codes` as checks all at once from one session; returns the answers' bodies.
async fn burst(browser: &crate::support::Browser, codes: &[String]) -> Vec<(u16, Value)> {
    let answers = futures::future::join_all(
        codes
            .iter()
            .map(|code| async move { browser.call("check", &[("code", code.as_str())]).await }),
    )
    .await;
    answers.into_iter().map(|a| (a.status, a.body)).collect()
}

fn wrong_code_answers(answers: &[(u16, Value)]) -> usize {
    answers
        .iter()
        .filter(|(_, body)| body.get("WrongCode").is_some())
        .count()
}

async fn a_burst_of_wrong_codes_gets_one_codes_tries(upstream: Upstream, backend: Backend) {
    let (app, browser) = started(upstream, backend).await;
    let code = app.latest_code().await;
    let upstream_before = app.upstream_requests().await;
    let answers = burst(&browser, &vec![wrong(&code); BURST]).await;
    // Four wrong codes leave tries; the fifth uses the last; every other is refused
    // (too many tries, or, at worst, told to come back) without a provider call.
    assert_eq!(wrong_code_answers(&answers), TRIES - 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, body)| body.get("WrongCode").is_some()
                || *body == json!("TooManyAttempts")
                || body.get("ServiceBusy").is_some()
                || *status == 503),
        "{answers:?}"
    );
    if upstream != Upstream::Local {
        assert_eq!(
            app.upstream_requests().await - upstream_before,
            TRIES as u64,
            "only the allowed tries reached the provider"
        );
    }
    // The right code is refused now, and the session shows no tries left.
    let right = browser.call("check", &[("code", &code)]).await;
    assert_eq!(right.body, json!("TooManyAttempts"));
    let state = browser.call("state", &[]).await;
    assert_eq!(
        state.body["step"]["EnterCode"]["tries_left"],
        json!(0),
        "{}",
        state.body
    );
}

async fn the_right_code_in_a_burst_verifies_at_most_once(upstream: Upstream, backend: Backend) {
    let (app, browser) = started(upstream, backend).await;
    let code = app.latest_code().await;
    let upstream_before = app.upstream_requests().await;
    let mut codes = vec![wrong(&code); BURST - 1];
    codes.insert(BURST / 2, code);
    let answers = burst(&browser, &codes).await;
    // Checks after the success show it again (a double submit); none is a new try.
    let verified = answers
        .iter()
        .any(|(status, body)| *status == 200 && body.get("Verified").is_some());
    let wrong = wrong_code_answers(&answers);
    if verified {
        assert!(
            wrong < TRIES,
            "the right code came within the tries: {answers:?}"
        );
    } else {
        assert_eq!(wrong, TRIES - 1, "{answers:?}");
    }
    if upstream != Upstream::Local {
        assert!(
            app.upstream_requests().await - upstream_before <= TRIES as u64,
            "no more checks reached the provider than one code's tries"
        );
    }
}

macro_rules! on_every_provider_and_store {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::{Backend, Upstream};
                #[tokio::test]
                async fn local_on_sqlite() { super::$name(Upstream::Local, Backend::Sqlite).await }
                #[tokio::test]
                async fn local_on_redis() { super::$name(Upstream::Local, Backend::Redis).await }
                #[tokio::test]
                async fn messagebird_on_sqlite() { super::$name(Upstream::MessageBird, Backend::Sqlite).await }
                #[tokio::test]
                async fn twilio_on_redis() { super::$name(Upstream::Twilio, Backend::Redis).await }
            }
        )*
    };
}

on_every_provider_and_store!(
    a_burst_of_wrong_codes_gets_one_codes_tries,
    the_right_code_in_a_burst_verifies_at_most_once,
);
