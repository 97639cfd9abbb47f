//! Abuse limits (docs/security.md §5, rows 7, 12–13, 18–21, 36): each refuses with 429 (or
//! 422 for a country) and the wait, before anything reaches the provider, and holds
//! across sessions, IP spoofing, restarts and instances.

use crate::support::{Backend, Upstream, fresh_data_dir, spawn_app, spawn_on, spawn_with};
use serde_json::{Value, json};

fn number(n: u32) -> String {
    format!("+44 7400 12{n:04}")
}

fn retry_after(body: &Value) -> u64 {
    body["RateLimited"]["retry_after"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a rate limit: {body}"))
}

#[tokio::test]
async fn numbers_outside_the_allowed_countries_are_refused_unsent() {
    let app = spawn_with(
        Upstream::MessageBird,
        &[("VERIFY_ALLOWED_COUNTRIES", "DE, at")],
    )
    .await;
    let browser = app.browser();
    let answer = browser.call("start", &[("phone", &number(1))]).await;
    assert_eq!(
        (answer.status, answer.body),
        (422, json!("CountryNotAllowed"))
    );
    assert_eq!(app.upstream_requests().await, 0);
    let german = browser
        .call("start", &[("phone", "+49 151 23456789")])
        .await;
    assert_eq!(german.status, 200, "{}", german.body);
}

#[tokio::test]
async fn one_number_gets_at_most_five_codes_an_hour_across_sessions() {
    let app = spawn_with(Upstream::MessageBird, &[]).await;
    for _ in 0..5 {
        assert_eq!(
            app.browser()
                .call("start", &[("phone", &number(1))])
                .await
                .status,
            200
        );
    }
    let sixth = app.browser().call("start", &[("phone", &number(1))]).await;
    assert_eq!(sixth.status, 429);
    assert!((1..=3600).contains(&retry_after(&sixth.body)));
    assert_eq!(
        app.upstream_requests().await,
        5,
        "the sixth never reached the provider"
    );
    assert_eq!(
        app.browser()
            .call("start", &[("phone", &number(2))])
            .await
            .status,
        200,
        "other numbers still work"
    );
}

#[tokio::test]
async fn one_ip_is_limited_and_spoofed_forwarded_for_does_not_help() {
    let app = spawn_app(&[("VERIFY_LIMIT_IP_PER_HOUR", "3")]).await;
    for n in 0..3 {
        assert_eq!(
            app.browser()
                .call("start", &[("phone", &number(n))])
                .await
                .status,
            200
        );
    }
    let spoofed = app
        .browser()
        .client
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .header("x-forwarded-for", "203.0.113.77")
        .form(&[("phone", number(9).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429);
    assert_eq!(app.outbox().await.len(), 3);
}

/// A start request through the trusted proxy at 127.0.0.1 for `client`.
async fn forwarded(app: &crate::support::TestApp, client: &str, n: u32) -> reqwest::Response {
    app.browser()
        .client
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .header("x-forwarded-for", client)
        .form(&[("phone", number(n))])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = spawn_app(&[
        ("VERIFY_LIMIT_IP_PER_HOUR", "1"),
        // A range, as a load balancer's pool is.
        ("TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    assert_eq!(forwarded(&app, "198.51.100.1", 1).await.status(), 200);
    assert_eq!(forwarded(&app, "198.51.100.2", 2).await.status(), 200);
    assert_eq!(forwarded(&app, "198.51.100.1", 3).await.status(), 429);
    // IPv6 clients share a budget per /64.
    assert_eq!(forwarded(&app, "2001:db8:1:2::1", 4).await.status(), 200);
    assert_eq!(
        forwarded(&app, "2001:db8:1:2:ffff::9", 5).await.status(),
        429
    );
}

#[tokio::test]
async fn one_ipv6_network_is_not_a_crowd_of_clients() {
    let app = spawn_app(&[
        ("VERIFY_LIMIT_IP_PER_HOUR", "1"),
        ("VERIFY_LIMIT_NETWORK_PER_HOUR", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    // Each of these is its own /64, all in one /48.
    for n in 0..3 {
        let status = forwarded(&app, &format!("2001:db8:7:{n}::1"), n)
            .await
            .status();
        assert_eq!(status, 200, "/64 number {n}");
    }
    assert_eq!(forwarded(&app, "2001:db8:7:99::1", 9).await.status(), 429);
    // Another /48 is another network.
    assert_eq!(forwarded(&app, "2001:db8:8:1::1", 10).await.status(), 200);
    assert_eq!(app.outbox().await.len(), 4);
}

#[tokio::test]
async fn sequential_numbers_in_one_prefix_are_limited() {
    let app = spawn_app(&[("VERIFY_LIMIT_PREFIX_PER_HOUR", "3")]).await;
    for n in 1..=3 {
        assert_eq!(
            app.browser()
                .call("start", &[("phone", &number(n))])
                .await
                .status,
            200
        );
    }
    assert_eq!(
        app.browser()
            .call("start", &[("phone", &number(4))])
            .await
            .status,
        429
    );
    assert_eq!(
        app.browser()
            .call("start", &[("phone", "+44 7400 555555")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_resend_wait_grows_and_a_session_sends_at_most_three_codes() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    let first = browser.call("start", &[("phone", &number(1))]).await;
    assert_eq!(first.body["EnterCode"]["resend_in"], 30);
    app.advance(30);
    assert_eq!(
        browser.call("resend", &[]).await.body["EnterCode"]["resend_in"],
        60
    );
    app.advance(60);
    assert_eq!(
        browser.call("resend", &[]).await.body["EnterCode"]["resend_in"],
        120
    );
    app.advance(120);
    let fourth = browser.call("resend", &[]).await;
    assert_eq!(fourth.status, 429);
    assert_eq!(
        retry_after(&fourth.body),
        600 - 210,
        "until the first send leaves the 10-minute window"
    );
    assert_eq!(app.outbox().await.len(), 3);
}

#[tokio::test]
async fn wrong_codes_are_capped_across_resends() {
    let app = spawn_app(&[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", &number(1))]).await;
    let wrong = |code: &str| {
        code.chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect::<String>()
    };
    for (advance, tries) in [(30, 4), (60, 4)] {
        let code = app.latest_code().await;
        for _ in 0..tries {
            browser.call("check", &[("code", &wrong(&code))]).await;
        }
        app.advance(advance);
        assert_eq!(
            browser.call("resend", &[]).await.status,
            200,
            "a resend gives a new code…"
        );
    }
    let code = app.latest_code().await;
    for _ in 0..2 {
        assert_eq!(
            browser
                .call("check", &[("code", &wrong(&code))])
                .await
                .status,
            422
        );
    }
    let right = browser.call("check", &[("code", &code)]).await;
    assert_eq!(
        right.status, 429,
        "…but not ten more guesses: {}",
        right.body
    );
}

#[tokio::test]
async fn limits_survive_a_restart() {
    let data_dir = fresh_data_dir().display().to_string();
    let vars = [
        ("DATA_DIR", data_dir.as_str()),
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "1"),
    ];
    let before = spawn_app(&vars).await;
    assert_eq!(
        before
            .browser()
            .call("start", &[("phone", &number(1))])
            .await
            .status,
        200
    );
    before.kill().await;
    let after = spawn_app(&vars).await;
    assert_eq!(
        after
            .browser()
            .call("start", &[("phone", &number(1))])
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn a_limit_hit_through_one_instance_holds_on_the_other() {
    let first = spawn_on(
        Upstream::Local,
        Backend::Redis,
        &[("VERIFY_LIMIT_NUMBER_PER_HOUR", "1")],
    )
    .await;
    let redis_url = first.redis.as_ref().unwrap().url.clone();
    let second = spawn_app(&[
        ("REDIS_URL", &redis_url),
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "1"),
    ])
    .await;
    assert_eq!(
        first
            .browser()
            .call("start", &[("phone", &number(1))])
            .await
            .status,
        200
    );
    let elsewhere = second
        .browser()
        .call("start", &[("phone", &number(1))])
        .await;
    assert_eq!(elsewhere.status, 429);
    assert!(second.outbox().await.is_empty());
}

#[tokio::test]
async fn toll_fraud_numbers_never_reach_the_provider() {
    let app = spawn_with(Upstream::MessageBird, &[]).await;
    let browser = app.browser();
    for number in ["+44 909 879 0000", "+979 123456789", "+881 631234567"] {
        let refused = browser
            .call("start", &[("phone", number), ("channel", "voice")])
            .await;
        assert_eq!(refused.status, 422, "{number}: {}", refused.body);
        assert_eq!(refused.body, json!("NumberUnreachable"));
    }
    let landline = browser
        .call(
            "start",
            &[("phone", "+44 20 7946 0018"), ("channel", "sms")],
        )
        .await;
    assert_eq!(landline.status, 422);
    assert_eq!(landline.body, json!("LandlineNeedsCall"));
    let state = browser.call("state", &[]).await;
    assert_eq!(
        state.body["step"]["EnterPhone"]["phone"], "+44 20 7946 0018",
        "the number is kept"
    );
    assert_eq!(
        app.upstream_requests().await,
        0,
        "no provider call for any of them"
    );
    let called = browser
        .call(
            "start",
            &[("phone", "+44 20 7946 0018"), ("channel", "voice")],
        )
        .await;
    assert_eq!(
        called.status, 200,
        "a landline takes a call: {}",
        called.body
    );
}

#[tokio::test]
async fn hourly_send_budgets_stop_every_sender_before_the_provider() {
    let app = spawn_with(
        Upstream::MessageBird,
        &[
            ("VERIFY_LIMIT_GLOBAL_PER_HOUR", "3"),
            ("VERIFY_LIMIT_COUNTRY_PER_HOUR", "100,GB=2"),
            ("VERIFY_LIMIT_IP_PER_HOUR", "100"),
        ],
    )
    .await;
    let start = |phone: &'static str| {
        let browser = app.browser();
        async move { browser.call("start", &[("phone", phone)]).await }
    };
    assert_eq!(start("+44 7400 100001").await.status, 200);
    assert_eq!(start("+44 7400 100002").await.status, 200);
    // The British budget is used up; other countries still get codes.
    let third_british = start("+44 7400 100003").await;
    assert_eq!(third_british.status, 429);
    assert!((1..=3600).contains(&retry_after(&third_british.body)));
    assert_eq!(start("+49 151 23456789").await.status, 200);
    // Then the global budget is used up: nobody gets a code this hour.
    assert_eq!(start("+33 6 12 34 56 78").await.status, 429);
    assert_eq!(
        app.upstream_requests().await,
        3,
        "refusals never reached the provider"
    );
}

#[tokio::test]
async fn a_switched_off_channel_sends_nothing() {
    let app = spawn_with(Upstream::Twilio, &[("VERIFY_CHANNELS", "sms")]).await;
    let browser = app.browser();
    let call = browser
        .call("start", &[("phone", &number(1)), ("channel", "voice")])
        .await;
    assert_eq!((call.status, call.body), (422, json!("ChannelUnavailable")));
    assert_eq!(app.upstream_requests().await, 0);
    // The number is kept for the visitor to pick another channel.
    let state = browser.call("state", &[]).await;
    assert_eq!(state.body["step"]["EnterPhone"]["phone"], json!(number(1)));
    let text = browser
        .call("start", &[("phone", &number(1)), ("channel", "sms")])
        .await;
    assert_eq!(text.status, 200, "{}", text.body);
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_numbers_owner_out() {
    let app = spawn_app(&[
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "2"),
        ("VERIFY_LIMIT_NUMBER_PER_DAY", "2"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let stranger = "198.51.100.66";
    for _ in 0..2 {
        assert_eq!(forwarded(&app, stranger, 7).await.status(), 200);
    }
    assert_eq!(forwarded(&app, stranger, 7).await.status(), 429);
    // The owner, elsewhere, still gets a code.
    assert_eq!(forwarded(&app, "203.0.113.5", 7).await.status(), 200);
    // A crowd is bounded by the number's own ceiling: three requesters' worth a day.
    assert_eq!(forwarded(&app, "203.0.113.5", 7).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(forwarded(&app, "203.0.113.6", 7).await.status(), 200);
    }
    assert_eq!(forwarded(&app, "203.0.113.7", 7).await.status(), 429);
    assert_eq!(app.outbox().await.len(), 6);
}

#[tokio::test]
async fn one_client_stores_a_bounded_number_of_sessions() {
    let app = spawn_app(&[("VERIFY_LIMIT_SESSIONS_PER_HOUR", "3")]).await;
    let first = app.browser();
    // A refused number is kept for the visitor, so each makes a stored session.
    assert_eq!(first.call("start", &[("phone", "12")]).await.status, 422);
    for _ in 0..2 {
        let answer = app.browser().call("start", &[("phone", "12")]).await;
        assert_eq!(answer.status, 422);
    }
    let fourth = app.browser().call("start", &[("phone", "12")]).await;
    assert_eq!(fourth.status, 429, "{}", fourth.body);
    assert!((1..=3600).contains(&retry_after(&fourth.body)));
    // Sessions that exist go on as before.
    let again = first.call("start", &[("phone", &number(1))]).await;
    assert_eq!(again.status, 200, "{}", again.body);
    // An embedded widget's session counts too.
    let frame = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/embed?sitekey=pk_test_local&origin=http://localhost:3100"))
        .send()
        .await
        .unwrap();
    assert_eq!(frame.status(), 429);
}

/// A first send that would make one session too many is refused whole: none of the
/// send's counters move, so the client's sends are left for the sessions it has.
async fn a_new_session_over_the_limit_counts_nothing_of_its_send(app: crate::support::TestApp) {
    let first = app.browser();
    let sent = first.call("start", &[("phone", &number(1))]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let newcomer = app.browser().call("start", &[("phone", &number(2))]).await;
    assert_eq!(newcomer.status, 429, "{}", newcomer.body);
    assert_eq!(app.outbox().await.len(), 1, "nothing sent to the newcomer");
    let again = first.call("start", &[("phone", &number(3))]).await;
    assert_eq!(
        again.status, 200,
        "the client's second send of two: {}",
        again.body
    );
}

const ONE_SESSION_TWO_SENDS: [(&str, &str); 2] = [
    ("VERIFY_LIMIT_SESSIONS_PER_HOUR", "1"),
    ("VERIFY_LIMIT_IP_PER_HOUR", "2"),
];

#[tokio::test]
async fn a_new_session_over_the_limit_counts_nothing_of_its_send_on_sqlite() {
    let app = spawn_app(&ONE_SESSION_TWO_SENDS).await;
    a_new_session_over_the_limit_counts_nothing_of_its_send(app).await;
}

#[tokio::test]
async fn a_new_session_over_the_limit_counts_nothing_of_its_send_on_redis() {
    let app = spawn_on(Upstream::Local, Backend::Redis, &ONE_SESSION_TWO_SENDS).await;
    a_new_session_over_the_limit_counts_nothing_of_its_send(app).await;
}

/// A code with every digit changed.
fn wrong_code(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

#[tokio::test]
async fn one_client_gets_the_tries_of_the_codes_it_may_ask_for_and_no_more() {
    // One code an hour per client, five tries each: a client gets five tries an hour,
    // even at codes that other clients asked for.
    let app = spawn_app(&[
        ("VERIFY_LIMIT_IP_PER_HOUR", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let call =
        |browser: &crate::support::Browser, client: &str, call: &str, form: &[(&str, &str)]| {
            browser
                .client
                .post(app.url(&format!("/api/verify/{call}")))
                .header("sec-fetch-site", "same-origin")
                .header("accept", "application/json")
                .header("x-forwarded-for", client.to_owned())
                .form(form)
                .send()
        };
    let (first, second) = (app.browser(), app.browser());
    let one = number(1);
    let sent = call(&first, "198.51.100.1", "start", &[("phone", &one)])
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let first_guess = wrong_code(&app.latest_code().await);
    let two = number(2);
    let sent = call(&second, "198.51.100.2", "start", &[("phone", &two)])
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let second_guess = wrong_code(&app.latest_code().await);

    let guesser = "203.0.113.9";
    for _ in 0..4 {
        let answer = call(&first, guesser, "check", &[("code", &first_guess)])
            .await
            .unwrap();
        assert_eq!(answer.status(), 422);
    }
    let fifth = call(&second, guesser, "check", &[("code", &second_guess)])
        .await
        .unwrap();
    assert_eq!(fifth.status(), 422, "the second code's first try");
    let sixth = call(&second, guesser, "check", &[("code", &second_guess)])
        .await
        .unwrap();
    assert_eq!(sixth.status(), 429);
    let body: Value = sixth.json().await.unwrap();
    assert!((1..=3600).contains(&retry_after(&body)), "{body}");
    // The code itself still has tries: from its own client, it is checked.
    let own = call(&second, "198.51.100.2", "check", &[("code", &second_guess)])
        .await
        .unwrap();
    assert_eq!(own.status(), 422);
}
