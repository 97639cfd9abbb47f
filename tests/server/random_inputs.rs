//! A time-boxed run of random requests against the real app: random fields and
//! values (any Unicode, number-like and code-like text), and random bytes as form
//! bodies, to every server function, for `RANDOM_INPUT_SECS` seconds (5 unless set;
//! `scripts/test.sh` sets 30). Every answer must be an answer: a step or a clear
//! error, never a 5xx, and the app must serve a page afterwards. It is random
//! testing, not coverage-guided fuzzing; a failure prints the input that caused it.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::support::spawn_app;

const ENDPOINTS: [&str; 6] = ["start", "check", "resend", "restart", "format", "state"];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9+ ()\\-]{0,24}",
        "[0-9]{4,10}",
        "[\\u{0660}-\\u{0669} ]{0,12}",
        Just("+44 7400 123456".to_owned()),
        prop::sample::select(vec!["sms", "voice", "fax", "", "GB", "XX"]).prop_map(str::to_owned),
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["phone", "code", "channel", "country"]).prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ]
}

#[tokio::test]
async fn random_requests_get_answers_never_failures() {
    let seconds = std::env::var("RANDOM_INPUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let app = spawn_app(&[
        ("VERIFY_LIMIT_IP_PER_HOUR", "100000"),
        ("VERIFY_LIMIT_PREFIX_PER_HOUR", "100000"),
    ])
    .await;
    let mut runner = TestRunner::default();
    let endpoint = prop::sample::select(ENDPOINTS.to_vec());
    let form = prop::collection::vec((field(), value()), 0..5);
    let bytes = prop::collection::vec(any::<u8>(), 0..300);
    let mut browser = app.browser();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let endpoint = endpoint.new_tree(&mut runner).unwrap().current();
        let (status, input) = if sent % 4 == 3 {
            // Not a form at all, though it says so.
            let body = bytes.new_tree(&mut runner).unwrap().current();
            let response = browser
                .client
                .post(app.url(&format!("/api/verify/{endpoint}")))
                .header("sec-fetch-site", "same-origin")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), format!("{body:?}"))
        } else {
            let form = form.new_tree(&mut runner).unwrap().current();
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            (
                browser.call(endpoint, &pairs).await.status,
                format!("{form:?}"),
            )
        };
        assert!(status < 500, "{endpoint} with {input} answered {status}");
        sent += 1;
        if sent.is_multiple_of(50) {
            browser = app.browser();
        }
    }
    println!("{sent} random requests in {seconds} s, every one answered without a failure");
    assert!(sent > 0);
    assert!(app.browser().page().await.contains("<main"));
}
